r"""Figures of chapter 10: the learned gates :math:`\rho` of batch-instance normalization.

:func:`plot_gate_histograms` is the small version of Nam & Kim's histograms of
:math:`\rho`: one panel per BIN layer, the gates of all channels and seeds of
each task. :func:`plot_gate_means` shows the mean gate of each layer per seed,
with and without the larger learning rate for the gates. The two ends of the
gate's range carry the colours of the techniques they reduce to:
:math:`\rho = 1` is batch normalization, :math:`\rho = 0` instance normalization.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ..book.i18n import N_, _
from . import style

__all__ = ["TASK_LABELS", "plot_gate_histograms", "plot_gate_means"]

#: Legend of each style task (catalogue keys).
TASK_LABELS = {"nuisance": N_("style is a nuisance"), "label": N_("style is the label")}
#: Colour of each task: that of the technique BIN leans towards on it.
_TASK_COLOUR = {"nuisance": "instance", "label": "batch"}


def _pooled(runs, task: str, layer: int, multiplier: float) -> torch.Tensor:
    return torch.cat([runs.gates[task, multiplier, s][layer] for s in runs.seeds])


def plot_gate_histograms(runs, multiplier: float = 10.0, bins: int = 10):
    r"""One panel per BIN layer: histogram of the learned :math:`\rho` of all channels and seeds, per task.

    Args:
        runs: a :class:`~normcode.experiments.batchinstance_study.BinRuns`.
        multiplier: which gate learning-rate multiplier to show.
        bins: bins over :math:`[0, 1]`.

    Returns:
        ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt

    n_layers = len(runs.gates[runs.tasks[0], float(multiplier), runs.seeds[0]])
    fig, axes = plt.subplots(1, n_layers, figsize=(3.4 * n_layers, 3.0), sharey=True)
    axes = list(axes) if n_layers > 1 else [axes]
    width = 1.0 / bins
    for layer, ax in enumerate(axes):
        for k, task in enumerate(runs.tasks):              # side by side within each bin
            values = _pooled(runs, task, layer, float(multiplier))
            counts = torch.histc(values, bins=bins, min=0.0, max=1.0) / len(values)
            left = torch.arange(bins, dtype=torch.float64) * width + k * width / len(runs.tasks)
            ax.bar(left.tolist(), counts.tolist(), width=width / len(runs.tasks), align="edge",
                   color=style.color(_TASK_COLOUR[task]), label=_(TASK_LABELS[task]))
        ax.set_title(_("layer {k}").format(k=layer + 1))
        ax.set_xlabel(_("learned gate ρ (0 = IN, 1 = BN)"))
        ax.set_xlim(0, 1)
    axes[0].set_ylabel(_("fraction of channels"))
    axes[0].legend(loc="upper center")
    fig.tight_layout()
    return fig, axes


def plot_gate_means(runs, multipliers: Sequence[float] = (10.0, 1.0)):
    r"""Mean :math:`\rho` of each layer, one marker per seed, per task and gate learning-rate multiplier.

    Args:
        runs: a :class:`~normcode.experiments.batchinstance_study.BinRuns` trained with ``multipliers``.
        multipliers: the multipliers to show (first: solid line, others: dashed).

    Returns:
        ``(fig, axes)``, one panel per task.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs.tasks), figsize=(3.4 * len(runs.tasks), 3.0), sharey=True)
    axes = list(axes) if len(runs.tasks) > 1 else [axes]
    for ax, task in zip(axes, runs.tasks):
        for k, mult in enumerate(multipliers):
            n_layers = len(runs.gates[task, float(mult), runs.seeds[0]])
            layers = list(range(1, n_layers + 1))
            per_seed = torch.tensor([runs.mean_gate(task, layer, float(mult)) for layer in range(n_layers)])
            look = style.line("batch_instance", short=True, marker=True)
            look["linestyle"] = "-" if k == 0 else "--"
            look["color"] = style.color("batch_instance") if k == 0 else style.color("none")
            look["label"] = _("{bin}, gate learning rate x{m:g}").format(bin=look["label"], m=mult)
            ax.plot(layers, per_seed.mean(1).tolist(), **look)
            for s in range(per_seed.shape[1]):
                ax.scatter(layers, per_seed[:, s].tolist(), color=look["color"], s=12, alpha=0.6)
            ax.set_xticks(layers)
        ax.set_title(_(TASK_LABELS[task]))
        ax.set_xlabel(_("BIN layer"))
        ax.set_ylim(-0.03, 1.03)
    axes[0].set_ylabel(_("mean gate ρ"))
    axes[0].legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig, axes
