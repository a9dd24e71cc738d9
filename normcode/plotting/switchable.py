"""The learned importance weights of switchable normalization (chapter 11's small version of the paper's Figure).

:func:`plot_importance` draws, for the means and for the variances, one stacked bar per
(layer, batch size): the seed-averaged softmax weights of IN, LN and BN in their
techniques' colours, so a reader sees at a glance how the mixture moves with the batch size.
"""
from __future__ import annotations

from typing import Mapping

import torch

from ..book.i18n import _
from . import style

__all__ = ["plot_importance"]

_PARTS = ("instance", "layer", "batch")


def plot_importance(sweep: Mapping[int, torch.Tensor]):
    """Two panels (means, variances) of stacked bars: IN, LN, BN weight per layer and batch size.

    Args:
        sweep: ``{m: (seeds, layers, 2, 3)}`` as returned by
            :func:`normcode.experiments.switchable.importance_sweep`.

    Returns:
        ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt

    sizes = list(sweep)
    mean = {m: w.mean(0) for m, w in sweep.items()}               # (layers, 2, 3)
    layers = next(iter(mean.values())).shape[0]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for panel, (ax, title) in enumerate(zip(axes, (_("weights of the means"), _("weights of the variances")))):
        ticks, names = [], []
        for layer in range(layers):
            for j, m in enumerate(sizes):
                x = layer * (len(sizes) + 1) + j
                bottom = 0.0
                for k, part in enumerate(_PARTS):
                    height = float(mean[m][layer, panel, k])
                    ax.bar(x, height, bottom=bottom, color=style.color(part), width=0.8,
                           label=style.short_label(part) if layer == 0 and j == 0 else None)
                    bottom += height
                ticks.append(x)
                names.append(f"m={m}")
            ax.text(layer * (len(sizes) + 1) + (len(sizes) - 1) / 2, 1.03, _("layer {l}").format(l=layer + 1),
                    ha="center", fontsize=9)
        ax.set_xticks(ticks, names, fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.set_title(title, pad=16)
        ax.grid(False)
    axes[0].set_ylabel(_("importance weight (mean over seeds)"))
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig, axes
