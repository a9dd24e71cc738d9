"""The figures of chapter 5 draw what they claim to draw."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from normcode.experiments.training import History  # noqa: E402
from normcode.plotting import layernorm  # noqa: E402


def test_cubes_shade_a_column_for_bn_and_an_example_for_ln():
    fig, masks = layernorm.plot_bn_ln_cubes(shape=(4, 6, 5), index=(0, 2, 0))
    assert int(masks["batch"].sum()) == 4 * 5 and bool(masks["batch"][:, 2].all())
    assert int(masks["layer"].sum()) == 6 * 5 and bool(masks["layer"][0].all())
    assert len(fig.axes) == 2


def test_learning_curves_one_line_per_seed():
    h = History(step=list(range(1, 41)), loss=[1.0] * 40, eval_step=[0, 40], test_accuracy=[0.1, 0.9])
    fig = layernorm.plot_learning_curves({"none": [h, h], "layer": [h]}, window=10)
    left, right = fig.axes
    assert len(left.lines) == 3 and len(right.lines) == 3
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["no normalization", "layer norm"]


def test_smoothing_checks_its_window():
    assert layernorm.smoothed([1.0, 3.0, 5.0], window=3).tolist() == [3.0]
    with pytest.raises(ValueError, match="window"):
        layernorm.smoothed([1.0], window=0)


def test_state_sizes_one_panel_per_scale():
    import torch
    fig = layernorm.plot_state_sizes({1.0: {"none": torch.rand(8), "layer": torch.rand(8)},
                                      4.0: {"none": torch.rand(8), "layer": torch.rand(8)}})
    assert len(fig.axes) == 2 and all(len(ax.lines) == 2 for ax in fig.axes)
