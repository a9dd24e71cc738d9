"""normcode.plotting.instancenorm: image rows, style-task accuracies, contrast sweep."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from normcode.experiments.style_tasks import StyleRuns  # noqa: E402
from normcode.plotting import instancenorm as fig  # noqa: E402
from normcode.plotting import style  # noqa: E402


def test_image_rows_grid_and_errors():
    f = fig.plot_image_rows({"a": torch.rand(3, 8, 8), "b": torch.rand(3, 8, 8)}, ["1", "2", "3"], same_scale=True)
    assert len(f.axes) == 6 and f.axes[0].get_title() == "1"
    plt.close(f)
    with pytest.raises(ValueError, match="same number"):
        fig.plot_image_rows({"a": torch.rand(3, 8, 8), "b": torch.rand(2, 8, 8)})
    with pytest.raises(ValueError, match="column titles"):
        fig.plot_image_rows({"a": torch.rand(3, 8, 8)}, ["1"])


def test_style_task_accuracies_uses_technique_colours():
    runs = StyleRuns({"batch": [0.5, 0.6], "instance": [0.9, 0.9]}, {"batch": [0.9, 0.9], "instance": [0.9, 0.9]},
                     {"batch": [1.0, 1.0], "instance": [0.25, 0.26]}, (0, 1))
    ax = fig.plot_style_task_accuracies(runs, norms=("batch", "instance"))
    bars = ax.patches
    assert len(bars) == 6
    assert matplotlib.colors.to_hex(bars[0].get_facecolor()) == style.color("batch")
    assert abs(bars[5].get_height() - 0.255) < 1e-9
    plt.close(ax.figure)


def test_contrast_sweep_plot():
    ax = fig.plot_contrast_sweep([0.1, 1.0, 10.0], {"instance": [0.9, 0.9, 0.9], "batch": [0.1, 0.9, 0.2]},
                                 train_range=(0.5, 2.0), chance=0.1)
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 3
    plt.close(ax.figure)
