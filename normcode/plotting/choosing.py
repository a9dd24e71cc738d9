"""Figures of chapter 13 (choosing a normalization): every technique on one task, and the textbook variance.

* :func:`plot_technique_sweep` — test accuracy against the batch size :math:`m` for
  every technique of a :class:`~normcode.experiments.small_batches.BatchSizeSweep`
  (mean over seeds as a line, the range over seeds shaded), in the book's style;
* :func:`plot_cancellation` — relative error of the textbook variance
  :math:`E[x^2] - E[x]^2` and of the two-pass variance as the mean grows
  against the spread (:func:`normcode.experiments.choosing.cancellation`).
"""
from __future__ import annotations

from typing import Optional, Sequence

import matplotlib.pyplot as plt

from ..book.i18n import _
from . import style

__all__ = ["plot_technique_sweep", "plot_cancellation"]


def _figure_and_axes(ax, figsize):
    """``(fig, ax)``: the given axes and their figure, or a new figure of ``figsize``."""
    if ax is None:
        return plt.subplots(figsize=figsize)
    return ax.figure, ax


def plot_technique_sweep(sweep, norms: Optional[Sequence[str]] = None, ax=None):
    """Accuracy against the batch size, one line per technique (mean over seeds), range over seeds shaded.

    Args:
        sweep: a :class:`~normcode.experiments.small_batches.BatchSizeSweep`.
        norms: the techniques to draw (default: all of ``sweep``), keys of :mod:`~normcode.plotting.style`.
        ax: the axes to draw on (default: a new figure).

    Returns:
        ``(fig, ax)``.
    """
    fig, ax = _figure_and_axes(ax, (6.4, 3.8))
    sizes = sweep.batch_sizes
    for norm in norms or sweep.norms:
        ax.plot(sizes, sweep.mean(norm), **style.line(norm, marker=True))
        ax.fill_between(sizes, sweep.worst(norm), sweep.best(norm), color=style.color(norm), alpha=0.12)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(m) for m in sizes])
    ax.minorticks_off()
    ax.set_xlabel(_("batch size m"))
    ax.set_ylabel(_("test accuracy"))
    ax.set_title(_("every technique on one task ({n} seeds: mean, range shaded)").format(n=len(sweep.seeds)))
    ax.legend(loc="lower right", ncol=2)
    fig.tight_layout()
    return fig, ax


def plot_cancellation(offsets: Sequence[float], errors: dict, ax=None):
    r"""Relative error of the variance formulas against the mean/spread ratio, log-log.

    Args:
        offsets: the means :math:`\\mu` of the data (spread 1).
        errors: ``{"textbook": [...], "two_pass": [...]}`` from
            :func:`normcode.experiments.choosing.cancellation`.
        ax: the axes to draw on (default: a new figure).

    Returns:
        ``(fig, ax)``.
    """
    fig, ax = _figure_and_axes(ax, (6.0, 3.4))
    floor = 1e-9   # a relative error of exactly 0 has no place on a log axis
    ax.plot(offsets, [max(e, floor) for e in errors["textbook"]], "o-", color="#d62728",
            label=_("textbook: E[x²] − E[x]²"))
    ax.plot(offsets, [max(e, floor) for e in errors["two_pass"]], "s--", color="#1f77b4",
            label=_("two passes: mean, then squared deviations"))
    ax.axhline(1.0, color="0.4", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_("mean of the data / its standard deviation"))
    ax.set_ylabel(_("relative error of the float32 variance"))
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig, ax
