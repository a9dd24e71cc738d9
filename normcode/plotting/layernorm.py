"""Figures of the layer normalization chapter, on the book's shared style.

* :func:`plot_bn_ln_cubes` — the preface's N × C × (H·W) cube twice, for batch and
  layer normalization only: which values share their statistics with one chosen value;
* :func:`plot_learning_curves` — training loss (smoothed) and test accuracy of several
  techniques over several seeds, one colour per technique (:func:`normcode.plotting.style.line`);
* :func:`plot_state_sizes` — the size of a recurrent network's hidden state step by step, one
  panel per scale of the recurrent weights.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch

from . import style
from .cubes import draw_normalization_cube, shared_statistics_mask
from ..book.i18n import _

__all__ = ["plot_bn_ln_cubes", "smoothed", "plot_learning_curves", "plot_state_sizes"]


def plot_bn_ln_cubes(shape: Sequence[int] = (4, 6, 5), index: Sequence[int] = (0, 2, 0)):
    """Batch against layer normalization on the cube of the preface (after Wu & He, 2018, Fig. 2).

    Args:
        shape: ``(N, C, S)`` of the drawn tensor (``S = H·W``).
        index: the reference value whose statistics are shaded.

    Returns:
        ``(fig, masks)``: the figure and ``{"batch": mask, "layer": mask}``, the boolean
        ``(N, C, S)`` masks drawn (computed by :func:`normcode.plotting.cubes.shared_statistics_mask`).
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.2))
    masks = {}
    for ax, technique in zip(axes, ("batch", "layer")):
        masks[technique] = shared_statistics_mask(technique, shape, index)
        draw_normalization_cube(ax, masks[technique], style.label(technique), on=style.color(technique))
    fig.tight_layout()
    return fig, masks


def smoothed(values: Sequence[float], window: int = 20) -> torch.Tensor:
    """Means of consecutive, non-overlapping windows of ``window`` values (the last, shorter one dropped).

    Example:
        >>> smoothed([1.0, 3.0, 5.0, 7.0, 9.0], window=2).tolist()
        [2.0, 6.0]
    """
    if window < 1:
        raise ValueError(f"window must be a positive number of values, got {window}")
    v = torch.as_tensor(list(values), dtype=torch.float64)
    n = (len(v) // window) * window
    if n == 0:
        raise ValueError(f"need at least window={window} values, got {len(v)}")
    return v[:n].reshape(-1, window).mean(dim=1)


def plot_learning_curves(runs: Mapping[str, Sequence], window: int = 20, title: str = ""):
    """Training loss (left) and test accuracy (right) against steps, one thin line per seed.

    Args:
        runs: ``{technique: [History, ...]}`` (one :class:`~normcode.experiments.training.History`
            per seed), techniques named as in :mod:`normcode.plotting.style`.
        window: the training loss is averaged over windows of this many steps.
        title: a title above both panels (a translated string), or ``""``.

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    for technique, histories in runs.items():
        for k, h in enumerate(histories):
            look = style.line(technique)
            if k:
                look.pop("label")
            loss = smoothed(h.loss, window)
            steps = window * (torch.arange(len(loss)) + 0.5)
            left.plot(steps, loss, alpha=0.8, lw=1.2, **look)
            right.plot(h.eval_step, h.test_accuracy, alpha=0.8, lw=1.2, **look)
    left.set(xlabel=_("training step"), ylabel=_("training loss (mean of {n} steps)").format(n=window))
    right.set(xlabel=_("training step"), ylabel=_("test accuracy"), ylim=(0, 1))
    left.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_state_sizes(sizes: Mapping[float, Mapping[str, Sequence[float]]]):
    """One panel per recurrent-weight scale: the hidden state's size at steps 1 … T, one line per technique.

    Args:
        sizes: ``{scale: {technique: (T,) sizes}}``, e.g. from
            :func:`normcode.experiments.recurrent.hidden_state_rms`.

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sizes), figsize=(3.2 * len(sizes), 3.0), sharey=True, squeeze=False)
    for ax, (scale, curves) in zip(axes[0], sizes.items()):
        for technique, values in curves.items():
            ax.plot(range(1, len(values) + 1), [float(v) for v in values], **style.line(technique, marker=True))
        ax.set(title=_("recurrent weights x {scale}").format(scale=scale), xlabel=_("time step"), ylim=(0, 1))
    axes[0][0].set_ylabel(_("size of the hidden state (RMS)"))
    axes[0][0].legend()
    fig.tight_layout()
    return fig
