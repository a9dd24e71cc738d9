"""Chapter 11's figure of learned importance weights."""
import torch


def test_plot_importance():
    import matplotlib
    matplotlib.use("Agg")
    from normcode.plotting import plot_importance
    sweep = {2: torch.full((2, 2, 2, 3), 1 / 3, dtype=torch.float64), 32: torch.full((2, 2, 2, 3), 1 / 3)}
    fig, axes = plot_importance(sweep)
    assert len(axes) == 2 and len(axes[0].patches) == 2 * 2 * 3
