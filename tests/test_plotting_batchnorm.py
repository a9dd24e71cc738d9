"""normcode.plotting.batchnorm: the activation-input figure and the seeded sweep figure."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from normcode.plotting import batchnorm, style  # noqa: E402


def test_activation_inputs_has_two_panels_each_with_a_density_and_an_output_axis():
    fig = batchnorm.plot_activation_inputs(torch.randn(500, 10))
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["ReLU", "sigmoid"]
    assert len(fig.axes) == 4                                   # a twin axis per panel: density | output
    assert all(ax.get_ylabel() for ax in fig.axes)              # no unlabelled y axis
    assert {"density of the normalized values", "output of the activation"} == {ax.get_ylabel() for ax in fig.axes}
    plt.close(fig)


def test_sweeps_draw_the_seed_mean_in_each_techniques_colour():
    runs = {"none": [[0.2, 0.4], [0.4, 0.6]], "batch": [[0.9, 0.9], [0.9, 0.7]]}
    fig = batchnorm.plot_sweeps([("learning rate", [0.1, 1.0], runs)], ylabel="test accuracy")
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {style.label("none"), style.label("batch")}
    assert [round(float(v), 9) for v in lines[style.label("none")].get_ydata()] == [0.3, 0.5]
    assert lines[style.label("batch")].get_color() == style.color("batch")
    assert ax.get_xlabel() == "learning rate" and ax.get_ylabel() == "test accuracy"
    plt.close(fig)
