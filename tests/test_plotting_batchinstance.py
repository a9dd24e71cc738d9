"""normcode.plotting.batchinstance: histograms and means of BIN's learned gates."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from normcode.experiments.batchinstance_study import BinRuns  # noqa: E402
from normcode.plotting import batchinstance as fig  # noqa: E402
from normcode.plotting import style  # noqa: E402


def _runs():
    gates, acc = {}, {}
    for task, level in (("nuisance", 0.1), ("label", 0.9)):
        for mult in (10.0, 1.0):
            for s in (0, 1):
                gates[task, mult, s] = [torch.full((4,), level, dtype=torch.float64), torch.ones(6, dtype=torch.float64)]
                acc[task, mult, s] = 0.9
    return BinRuns(gates, acc, ("nuisance", "label"), (10.0, 1.0), (0, 1))


def test_gate_histograms_one_panel_per_layer_in_technique_colours():
    f, axes = fig.plot_gate_histograms(_runs())
    assert len(axes) == 2
    first = axes[0].patches[0]
    assert matplotlib.colors.to_hex(first.get_facecolor()[:3]) == style.color("instance")
    heights = sum(p.get_height() for p in axes[0].patches)
    assert abs(heights - 2.0) < 1e-6                   # each task's histogram sums to 1
    plt.close(f)


def test_gate_means_lines_per_multiplier():
    f, axes = fig.plot_gate_means(_runs())
    assert len(axes) == 2 and len(axes[0].get_lines()) == 2
    assert abs(axes[0].get_lines()[0].get_ydata()[0] - 0.1) < 1e-6
    plt.close(f)
