"""Figures of chapter 6 (instance normalization), also used by chapter 10.

* :func:`plot_image_rows` — rows of small grey images: one digit under several
  styles, and what a normalization layer makes of each (the small-scale version
  of Ulyanov et al.'s Fig. 2: the output does not depend on the content image's
  contrast);
* :func:`plot_style_task_accuracies` — test accuracy of each technique on the
  style tasks of :mod:`normcode.experiments.style_tasks`, one dot per seed;
* :func:`plot_contrast_sweep` — accuracy against the contrast of the test images,
  with the training range shaded.

Every label goes through the message catalogue (:func:`normcode.book._`).
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import torch

from . import style
from ..book.i18n import N_, _

__all__ = ["plot_image_rows", "plot_style_task_accuracies", "plot_contrast_sweep", "STYLE_TASK_GROUPS"]

#: The three groups of :func:`plot_style_task_accuracies`: ``(StyleRuns attribute, label, chance level)``.
STYLE_TASK_GROUPS = (
    ("nuisance_in_range", N_("digit, styles as in training"), 0.1),
    ("nuisance_shifted", N_("digit, shifted styles"), 0.1),
    ("label", N_("style is the label"), 0.25),
)


def plot_image_rows(rows: Mapping[str, torch.Tensor], column_titles: Optional[Sequence[str]] = None,
                    same_scale: bool = False, size: float = 1.1):
    """Draw each row of ``rows`` as a strip of images, one row label per strip.

    Args:
        rows: ``{row label: (K, H, W) tensor}``, the same ``K`` for every row; labels
            are shown as given (pass them through ``_`` first).
        column_titles: ``K`` titles of the columns (e.g. the style of each image).
        same_scale: draw every image of a row on the row's common grey scale (so a
            faint image looks faint); otherwise each image is stretched to its own
            minimum and maximum.
        size: inches per image.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    labels = list(rows)
    k = {tuple(v.shape)[0] for v in rows.values()}
    if len(k) != 1:
        raise ValueError(f"every row needs the same number of images, got {sorted(k)}")
    k = k.pop()
    if column_titles is not None and len(column_titles) != k:
        raise ValueError(f"need {k} column titles, got {len(column_titles)}")
    fig, axes = plt.subplots(len(labels), k, figsize=(size * k + 1.4, size * len(labels) + 0.3), squeeze=False)
    for r, name in enumerate(labels):
        images = rows[name].detach().float()
        lo, hi = (float(images.min()), float(images.max())) if same_scale else (None, None)
        for c in range(k):
            ax = axes[r][c]
            ax.imshow(images[c].numpy(), cmap="gray_r", vmin=lo, vmax=hi)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if r == 0 and column_titles is not None:
                ax.set_title(column_titles[c], fontsize=8)
        axes[r][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig


def plot_style_task_accuracies(runs, norms: Sequence[str] = ("none", "batch", "instance"), ax=None):
    """Grouped bars: mean test accuracy of each technique on each style task, one dot per seed.

    Args:
        runs: a :class:`normcode.experiments.style_tasks.StyleRuns`.
        norms: the techniques to show, in order (colours from :mod:`~normcode.plotting.style`).
        ax: axes to draw on; a new figure when omitted.

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.subplots(figsize=(6.4, 3.4))[1]
    width = 0.8 / len(norms)
    for g, (attr, title, chance) in enumerate(STYLE_TASK_GROUPS):
        ax.hlines(chance, g - 0.45, g + 0.45, colors="0.4", linestyles=":", linewidth=1,
                  label=_("chance level") if g == 0 else None)
        for i, norm in enumerate(norms):
            values = getattr(runs, attr)[norm]
            x = g - 0.4 + width * (i + 0.5)
            ax.bar(x, sum(values) / len(values), width * 0.9, color=style.color(norm),
                   label=style.label(norm) if g == 0 else None, alpha=0.85)
            ax.plot([x] * len(values), values, "o", color="black", markersize=2.5)
    ax.set_xticks(range(len(STYLE_TASK_GROUPS)))
    ax.set_xticklabels([_(title) for _attr, title, _c in STYLE_TASK_GROUPS], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(_("test accuracy"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=len(norms) + 1, frameon=False)
    return ax


def plot_contrast_sweep(contrasts: Sequence[float], accuracies: Mapping[str, Sequence[float]],
                        train_range: Optional[tuple[float, float]] = None, chance: Optional[float] = None, ax=None):
    """Accuracy against the contrast :math:`a` of the test images (log axis), one line per technique.

    Args:
        contrasts: the contrasts tried.
        accuracies: ``{technique name: accuracy at each contrast}``.
        train_range: ``(low, high)`` contrasts seen in training, shaded.
        chance: a dotted line at chance level.
        ax: axes to draw on; a new figure when omitted.

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.subplots()[1]
    if train_range is not None:
        ax.axvspan(*train_range, color="0.85", label=_("contrasts seen in training"))
    for norm, acc in accuracies.items():
        ax.plot(list(contrasts), [float(v) for v in acc], **style.line(norm, marker=True), markersize=4)
    if chance is not None:
        ax.axhline(chance, color="0.4", linestyle=":", linewidth=1, label=_("chance level"))
    ax.set_xscale("log")
    ax.set_xlabel(_("contrast a of the test images"))
    ax.set_ylabel(_("test accuracy"))
    ax.set_ylim(0, 1.02)
    ax.legend()
    return ax
