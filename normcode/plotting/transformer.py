"""Figures of chapter 14 (normalization in Transformers): gradients at initialisation, training runs over seeds.

* :func:`plot_gradients_at_init` — the gradient norm of every block of a post-LN and a pre-LN
  Transformer at initialisation, and that of the last block against the depth;
* :func:`plot_runs` — a quantity recorded during training (test accuracy, the largest attention
  logit, ...) against the step, one thin line per seed and a thick line for their mean, one colour
  per setting.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

from ..book.i18n import _
from . import style

__all__ = ["plot_gradients_at_init", "plot_runs"]

_PLACEMENT = {"post": "--", "pre": "-"}


def plot_gradients_at_init(per_block: Mapping[str, Sequence[float]], depths: Sequence[int],
                           last_block: Mapping[str, Sequence[float]], norm: str = "layer"):
    """Two panels: gradient norm per block (left) and the last block's against the depth (right).

    Args:
        per_block: ``{"post": [norm of block 1, 2, …], "pre": [...]}`` for one depth.
        depths: the depths of the right panel.
        last_block: ``{"post": [last block's norm at each depth], "pre": [...]}``.
        norm: the technique whose colour both placements share (post-LN dashed, pre-LN solid).

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(8.0, 3.2))
    labels = {"post": _("post-LN"), "pre": _("pre-LN")}
    for placement, values in per_block.items():
        left.plot(range(1, len(values) + 1), values, color=style.color(norm), linestyle=_PLACEMENT[placement],
                  marker="o", markersize=3, label=labels[placement])
    for placement, values in last_block.items():
        right.plot(depths, values, color=style.color(norm), linestyle=_PLACEMENT[placement], marker="o",
                   markersize=3, label=labels[placement])
    left.set_xlabel(_("block (1 = next to the input)"))
    left.set_ylabel(_("gradient norm at initialisation"))
    right.set_xlabel(_("number of blocks"))
    right.set_ylabel(_("gradient norm of the last block"))
    for ax in (left, right):
        ax.set_ylim(bottom=0)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_runs(runs: Mapping[str, Sequence], keys: Mapping[str, str], series: str = "test_accuracy",
              ylabel: Optional[str] = None, linestyles: Optional[Mapping[str, str]] = None, ax=None):
    """``series`` of every run against the evaluation step: thin lines per seed, a thick line for the mean.

    Args:
        runs: ``{label: [History of seed 0, 1, …]}``; labels are catalogue keys shown through ``_``.
        keys: ``{label: technique}`` — the :mod:`~normcode.plotting.style` colour of each setting.
        series: ``"test_accuracy"`` or the name of a recorded statistic (``History.records``).
        ylabel: the y-axis label (a catalogue key); default: the name of the series.
        linestyles: ``{label: matplotlib line style}`` for settings that share a colour (default solid).
        ax: axes to draw on (a new figure if ``None``).

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt
    import torch

    if ax is None:
        ax = plt.subplots(figsize=(5.8, 3.3))[1]
    for label, histories in runs.items():
        steps = histories[0].eval_step
        values = torch.stack([h.series(series) for h in histories]).double()
        kwargs = {"color": style.color(keys[label]), "linestyle": (linestyles or {}).get(label, "-")}
        for row in values:
            ax.plot(steps, row.tolist(), linewidth=0.6, alpha=0.5, **kwargs)
        ax.plot(steps, values.mean(0).tolist(), linewidth=2.0, label=_(label), **kwargs)
    ax.set_xlabel(_("training step"))
    ax.set_ylabel(_(ylabel or series))
    ax.legend()
    ax.figure.tight_layout()
    return ax
