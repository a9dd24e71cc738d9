"""Figures of the batch normalization chapter (chapter 3), on the book's shared style.

* :func:`plot_activation_inputs` — the distribution of normalized pre-activations
  against a ReLU (the half cut to zero) and a sigmoid (the near-linear middle);
* :func:`plot_sweeps` — test accuracy across the values of one setting (learning
  rate, initialisation scale, ...), one line per normalization, with the spread over
  seeds shaded.

Every label goes through the message catalogue (:func:`normcode.book._`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from ..book.i18n import _
from . import style

__all__ = ["plot_activation_inputs", "plot_sweeps"]

_HIST = "#c8d6e5"      # the distribution of values: a neutral grey-blue, not a technique's colour
_CURVE = "#333333"     # the activation function
_TANGENT = "#777777"


def plot_activation_inputs(values: torch.Tensor, limit: float = 4.0):
    r"""Two panels: normalized values under a ReLU and under a sigmoid with its tangent :math:`\tfrac12 + \tfrac t4`.

    Args:
        values: any tensor of normalized pre-activations (flattened), e.g. ``(N, units)``.
        limit: the horizontal range is ``[-limit, limit]``.

    Returns:
        The matplotlib figure (two axes: ReLU, sigmoid). Each axis has two y-axes: the
        density of the values on the left, the activation's output on the right.
    """
    import matplotlib.pyplot as plt

    v = values.detach().flatten().double().numpy()
    t = np.linspace(-limit, limit, 801)
    sigmoid = 1 / (1 + np.exp(-t))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    curves = (("ReLU", np.maximum(t, 0), (-0.1, limit)), (_("sigmoid"), sigmoid, (-0.2, 1.2)))
    for ax, (name, curve, ylim) in zip(axes, curves):
        ax.hist(v, bins=80, range=(-limit, limit), density=True, color=_HIST, label=_("normalized values"))
        ax.set_ylabel(_("density of the normalized values"))
        ax.set_xlabel(_("input of the activation"))
        ax.set_title(name)
        out = ax.twinx()
        out.plot(t, curve, color=_CURVE, label=name)
        out.set_ylim(*ylim)
        out.set_ylabel(_("output of the activation"))
        out.grid(False)
        if name == "ReLU":
            out.axvspan(-limit, 0, color="#e07a5f", alpha=0.15, label=_("output 0"))
        else:
            out.plot(t, 0.5 + t / 4, "--", color=_TANGENT, label=_("tangent 1/2 + t/4"))
            out.axvspan(-1, 1, color="#81b29a", alpha=0.2, label="±1")
        handles = ax.get_legend_handles_labels()
        more = out.get_legend_handles_labels()
        out.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left")
    fig.tight_layout()
    return fig


def plot_sweeps(panels: Sequence[tuple[str, Sequence[float], Mapping[str, Sequence[Sequence[float]]]]],
                ylabel: str):
    """One panel per sweep: mean test accuracy over seeds against the swept value, the range over seeds shaded.

    Args:
        panels: ``(x label, values, runs)`` per panel, where ``runs`` is the output of
            :func:`normcode.experiments.sweeps.seeded_sweep`: ``{norm: [[accuracy per value] per seed]}``.
            The x label is shown as given (translate it with ``_`` first). Values are shown on a log axis.
        ylabel: the y axis label, shown as given (translated with ``_`` by the caller).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.4), squeeze=False)
    for ax, (xlabel, values, runs) in zip(axes[0], panels):
        for norm, per_seed in runs.items():
            acc = np.asarray(per_seed, dtype=float)
            ax.plot(values, acc.mean(axis=0), **style.line(norm, marker=True))
            ax.fill_between(values, acc.min(axis=0), acc.max(axis=0), color=style.color(norm), alpha=0.2)
        ax.set_xscale("log")
        ax.set_xticks(values, [f"{v:g}" for v in values])   # plain labels: no minus sign for a font to miss
        ax.minorticks_off()
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_ylim(0, 1.02)
        ax.legend()
    fig.tight_layout()
    return fig
