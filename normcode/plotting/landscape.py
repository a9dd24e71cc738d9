r"""Figures of the chapter "Why does batch normalization work?": noisy BN and the loss landscape.

* :func:`plot_noisy_bn` — Santurkar et al.'s noisy-BN test (arXiv 1805.11604, Figures 2
  and 3 at small scale): training-mode test accuracy against steps for every run, then,
  for chosen runs, the 15th, 50th and 85th percentiles of one unit's input as the
  next layer receives it during training;
* :func:`plot_landscape` — the bands of Santurkar et al.'s Figure 4 (the range of the
  loss, and of the gradient change, over step sizes along the gradient) and
  gradient-based ICS :math:`\cos(G, G')`, for each run, against steps.

Each technique is drawn in its colour and line style of :mod:`normcode.plotting.style`
(BN orange, no normalization blue, noisy BN dashed) and every label goes through the
message catalogue, so one code cell draws the figure in either edition.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

from ..book.i18n import N_, _
from . import style

__all__ = ["plot_noisy_bn", "plot_landscape", "PERCENTILE_ALPHA"]

#: Opacity of the 15th, 50th and 85th percentile lines (the median is drawn solid).
PERCENTILE_ALPHA = {15: 0.45, 50: 1.0, 85: 0.45}
_PERCENTILE_LABELS = {15: N_("15th percentile"), 50: N_("median (50th percentile)"), 85: N_("85th percentile")}


def _history_arrays(history, name: str):
    """Steps and values of a recorded series, without the evaluations at which it was not recorded (NaN)."""
    values = history.series(name)
    rows = values.reshape(len(values), -1)
    keep = ~rows.isnan().any(dim=1)
    steps = [s for s, k in zip(history.eval_step, keep.tolist()) if k]
    return steps, values[keep]


def plot_noisy_bn(histories: Mapping[str, object], bands: Sequence[str] = ("batch", "noisy_batch"),
                  accuracy: str = "acc", percentiles: str = "pct", ylim: Optional[tuple] = (-4, 6),
                  unit_label: str = N_("input of a ReLU, layer 4"), figsize=(12, 3.4)):
    """Accuracy curves of every run, then the percentile bands of the watched unit for the runs in ``bands``.

    Args:
        histories: ``{technique: History}`` (registry names, e.g. ``"none"``, ``"batch"``,
            ``"noisy_batch"``, ``"noise_only"``), each recording ``accuracy`` (one float per
            evaluation) and ``percentiles`` (``(K, 3)``: 15th, 50th, 85th).
        bands: the techniques that get a percentile panel.
        ylim: the y range of the percentile panels (``None``: automatic).
        unit_label: y label of the percentile panels (a catalogue key).

    Returns:
        The figure (``1 + len(bands)`` panels).
    """
    import matplotlib.pyplot as plt

    missing = [b for b in bands if b not in histories]
    if missing:
        raise KeyError(f"no run for {missing}; runs given: {sorted(histories)}")
    fig, axes = plt.subplots(1, 1 + len(bands), figsize=figsize, squeeze=False)
    axes = axes[0]
    for norm, h in histories.items():
        steps, acc = _history_arrays(h, accuracy)
        axes[0].plot(steps, acc, **style.line(norm))
    axes[0].set(xlabel=_("step"), ylabel=_("test accuracy (training mode)"))
    axes[0].legend()
    for ax, norm in zip(axes[1:], bands):
        steps, pct = _history_arrays(histories[norm], percentiles)
        look = style.line(norm)
        for column, q in enumerate((15, 50, 85)):
            ax.plot(steps[1:], pct[1:, column], color=look["color"], linestyle=look["linestyle"],
                    alpha=PERCENTILE_ALPHA[q], linewidth=2.0 if q == 50 else 1.2, label=_(_PERCENTILE_LABELS[q]))
        ax.set(title=look["label"], xlabel=_("step"), ylabel=_(unit_label))
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_landscape(histories: Mapping[str, object], name: str = "land", ics: Optional[str] = "ics",
                   figsize=(12, 3.4)):
    """Loss band, gradient-change band (log scale) and ICS cosine against steps, one colour per technique.

    Args:
        histories: ``{technique: History}`` recorded with
            :func:`~normcode.experiments.landscape_bands.landscape_band_probe` under ``name``
            (and :func:`~normcode.experiments.probes.ics_probe` under ``ics``).
        ics: ``None`` draws the two band panels only.

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    from ..experiments.landscape_bands import band

    panels = 3 if ics is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=figsize)
    for norm, h in histories.items():
        look = style.line(norm)
        for ax, quantity in zip(axes[:2], ("loss", "grad_change")):
            steps, lower, upper = band(h, quantity, name=name)
            keep = ~(lower.isnan() | upper.isnan())
            steps, lower, upper = steps[keep], lower[keep], upper[keep]
            ax.fill_between(steps, lower, upper, color=look["color"], alpha=0.35, label=look["label"])
        if ics is not None:
            steps, cosine = _history_arrays(h, f"{ics}.cosine")
            axes[2].plot(steps[1:], cosine[1:], **look)
    axes[0].set(yscale="log", ylabel=_("loss along the gradient"))
    axes[1].set(yscale="log", ylabel=_("gradient change along the gradient"))
    if ics is not None:
        axes[2].set(ylabel=_("ICS: cos(G, G')"), ylim=(-1.05, 1.05))
    for ax in axes:
        ax.set_xlabel(_("step"))
        ax.legend()
    for ax in axes[:2]:
        ax.yaxis.set_major_formatter("{x:g}")   # 0.01 rather than 10^-2: plain labels in both editions' fonts
    fig.tight_layout()
    return fig
