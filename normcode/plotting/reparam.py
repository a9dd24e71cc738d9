"""Training curves of several settings, each in its technique's style (chapter 8's small Figure 1).

:func:`plot_loss_curves` draws, for each learning rate, the training loss of every
setting averaged over seeds and smoothed over a window of steps; a run whose loss
became non-finite is drawn up to the step where it diverged and marked with a cross.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch

from ..book.i18n import _
from . import style

__all__ = ["smoothed_mean_loss", "plot_loss_curves"]


def smoothed_mean_loss(histories: Sequence, window: int = 10) -> torch.Tensor:
    """The per-step training loss averaged over ``histories`` (seeds), then over ``window`` steps.

    Returns:
        ``(steps - window + 1,)`` values; ``nan`` from the first window that contains a non-finite loss.
    """
    losses = torch.tensor([h.loss for h in histories], dtype=torch.float64).mean(0)
    kernel = torch.ones(1, 1, window, dtype=torch.float64) / window
    return torch.nn.functional.conv1d(losses.view(1, 1, -1), kernel).view(-1)


def plot_loss_curves(runs: Mapping[float, Mapping[str, Sequence]], window: int = 10):
    """One panel per learning rate: smoothed training loss of each setting (style by setting name).

    Args:
        runs: ``{learning_rate: {setting: [History, ...]}}``.
        window: smoothing window in steps.

    Returns:
        ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.4), sharey=True, squeeze=False)
    for ax, (lr, settings) in zip(axes[0], runs.items()):
        for setting, histories in settings.items():
            curve = smoothed_mean_loss(histories, window)
            steps = torch.arange(window, window + len(curve))
            finite = torch.isfinite(curve)
            ax.plot(steps[finite], curve[finite], **style.line(setting))
            if not bool(finite.all()):
                last = int(finite.nonzero().max()) if bool(finite.any()) else 0
                ax.plot(steps[last], curve[last] if bool(finite.any()) else 2.3, "x", color=style.color(setting),
                        markersize=9, markeredgewidth=2)
        ax.set_title(_("learning rate {lr}").format(lr=lr))
        ax.set_xlabel(_("training step"))
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter("{x:g}")
    axes[0][0].set_ylabel(_("training loss (mean of 3 seeds)"))
    axes[0][-1].legend()
    fig.tight_layout()
    return fig, axes[0]
