"""normcode.plotting.groupnorm: accuracy against batch size beside Wu & He's numbers."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from normcode.experiments.small_batches import BatchSizeSweep  # noqa: E402
from normcode.plotting import groupnorm, style  # noqa: E402


def fake_sweep():
    acc = {"batch": torch.tensor([[0.3, 0.9], [0.5, 0.95]]), "group": torch.tensor([[0.7, 0.9], [0.8, 0.92]])}
    return BatchSizeSweep([2, 64], [0, 1], acc)


def test_figure_has_the_paper_panel_and_one_panel_per_sweep_in_the_shared_colours():
    fig = groupnorm.plot_batch_size_sweep([fake_sweep(), fake_sweep()], ["a", "b"])
    axes = fig.axes
    assert len(axes) == 3
    paper_colours = [line.get_color() for line in axes[0].get_lines()]
    assert paper_colours == [style.color("batch"), style.color("group")]
    means = [list(line.get_ydata()) for line in axes[1].get_lines()]
    assert means == [[0.4, 0.925], [0.75, 0.91]]
    assert axes[1].get_title() == "a" and axes[1].xaxis_inverted()
    plt.close(fig)


def test_without_the_paper_and_with_wrong_titles():
    fig = groupnorm.plot_batch_size_sweep([fake_sweep()], ["only"], paper=False)
    assert len(fig.axes) == 1
    plt.close(fig)
    with pytest.raises(ValueError, match="one title per sweep"):
        groupnorm.plot_batch_size_sweep([fake_sweep()], [])


def test_train_eval_gap_figure():
    fig = groupnorm.plot_train_eval_gap({2: 1.5, 8: 1.1, 64: 1.0}, {2: 0.5, 8: 0.8, 64: 0.9}, 0.7)
    left, right = fig.axes
    assert list(left.get_lines()[0].get_ydata()) == [1.5, 1.1, 1.0]
    assert [line.get_color() for line in right.get_lines()] == [style.color("batch")] * 2
    plt.close(fig)
