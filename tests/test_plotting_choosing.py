"""Tests of normcode.plotting.choosing (chapter 13 figures)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from normcode.experiments.small_batches import BatchSizeSweep  # noqa: E402
from normcode.plotting import choosing, style  # noqa: E402


def test_plot_technique_sweep_one_line_per_technique_in_the_shared_style():
    sweep = BatchSizeSweep([2, 8, 64], [0, 1], {"batch": torch.tensor([[0.5, 0.9, 0.95], [0.7, 0.8, 0.97]]),
                                                 "group": torch.tensor([[0.8, 0.9, 0.95], [0.8, 0.9, 0.96]])})
    fig, ax = choosing.plot_technique_sweep(sweep)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == [style.label("batch"), style.label("group")]
    assert lines[0].get_color() == style.color("batch") and list(lines[0].get_xdata()) == [2, 8, 64]
    assert len(ax.collections) == 2                      # the shaded ranges over seeds
    plt.close(fig)


def test_plot_cancellation_puts_zero_errors_on_the_log_axis():
    fig, ax = choosing.plot_cancellation([1, 10], {"textbook": [0.0, 1.0], "two_pass": [1e-8, 0.0]})
    assert len(ax.get_lines()) == 3 and min(ax.get_lines()[0].get_ydata()) > 0   # two curves and the line at 1
    plt.close(fig)
