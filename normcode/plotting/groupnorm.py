"""Figures of the group-normalization chapter: accuracy against the batch size, beside Wu & He's.

:func:`plot_batch_size_sweep` draws one panel per sweep (a
:class:`~normcode.experiments.small_batches.BatchSizeSweep`): the mean test
accuracy over seeds for each normalization against the batch size :math:`m`, with
a band from the worst to the best seed, and, when asked, a first panel with the
ImageNet error of Wu & He (2018, arXiv 1803.08494, Table 2). Every technique keeps
its colour from :mod:`~normcode.plotting.style`; every label goes through the
message catalogue. :func:`plot_train_eval_gap` shows how far a batch-normalized
network's training-mode outputs lie from its evaluation-mode outputs as the batch
shrinks.
"""
from __future__ import annotations

from typing import Optional, Sequence

from . import style
from ..book.i18n import _

__all__ = ["plot_paper_batch_sizes", "plot_sweep_panel", "plot_batch_size_sweep", "plot_train_eval_gap"]


def plot_paper_batch_sizes(ax, table: Optional[dict] = None) -> None:
    """Wu & He's ImageNet ResNet-50 error (%) against images per GPU, for BN and GN, on ``ax``.

    Args:
        ax: a matplotlib axes.
        table: ``{"batch_sizes": [...], "batch": [...], "group": [...]}``; default
            :data:`normcode.experiments.small_batches.WU_HE_2018_TABLE2`.
    """
    from ..experiments.small_batches import WU_HE_2018_TABLE2

    table = table or WU_HE_2018_TABLE2
    sizes = table["batch_sizes"]
    for norm in ("batch", "group"):
        ax.plot(sizes, table[norm], **style.line(norm, marker=True))
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(m) for m in sizes])
    ax.invert_xaxis()
    ax.set_xlabel(_("images per GPU (batch size m)"))
    ax.set_ylabel(_("top-1 error (%)"))
    ax.set_title(_("Wu & He 2018: ResNet-50 on ImageNet"))
    ax.legend()


def plot_sweep_panel(ax, sweep, title: str, norms: Optional[Sequence[str]] = None) -> None:
    """One sweep on ``ax``: mean accuracy over seeds per normalization, band from worst to best seed.

    Args:
        ax: a matplotlib axes.
        sweep: a :class:`~normcode.experiments.small_batches.BatchSizeSweep`.
        title: the panel's title (already translated).
        norms: which normalizations to draw; default all of the sweep's.
    """
    sizes = sweep.batch_sizes
    for norm in norms or sweep.norms:
        look = style.line(norm, marker=True)
        ax.plot(sizes, sweep.mean(norm), **look)
        ax.fill_between(sizes, sweep.worst(norm), sweep.best(norm), color=look["color"], alpha=0.15, linewidth=0)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(m) for m in sizes])
    ax.invert_xaxis()
    ax.set_ylim(0, 1)
    ax.set_xlabel(_("batch size m"))
    ax.set_ylabel(_("test accuracy"))
    ax.set_title(title)
    ax.legend()


def plot_batch_size_sweep(sweeps: Sequence, titles: Sequence[str], paper: bool = True):
    """Accuracy against batch size for each sweep, optionally after a panel with Wu & He's numbers.

    The batch-size axis runs from large to small, as in Wu & He's Figure 1, so
    "worse to the right" reads the same way in every panel (error goes up, accuracy down).

    Args:
        sweeps: :class:`~normcode.experiments.small_batches.BatchSizeSweep` objects.
        titles: one translated title per sweep.
        paper: draw the paper's panel first.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    if len(sweeps) != len(titles):
        raise ValueError(f"give one title per sweep: {len(sweeps)} sweeps, {len(titles)} titles")
    panels = len(sweeps) + int(paper)
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.4), squeeze=False)
    axes = list(axes[0])
    if paper:
        plot_paper_batch_sizes(axes.pop(0))
    for ax, sweep, title in zip(axes, sweeps, titles):
        plot_sweep_panel(ax, sweep, title)
    fig.tight_layout()
    return fig


def plot_train_eval_gap(gap: dict, batch_accuracy: dict, eval_accuracy: float):
    """A batch-normalized network run in training mode on test batches of several sizes.

    Left: the mean absolute difference between training-mode and evaluation-mode
    logits against the batch size :math:`m` (from
    :func:`normcode.experiments.sweeps.train_eval_gap`). Right: the accuracy with
    batch statistics against :math:`m` (from
    :func:`normcode.experiments.sweeps.train_mode_accuracy`), with the accuracy in
    evaluation mode (running estimates) as a horizontal line.

    Args:
        gap: ``{m: mean |logit gap|}``.
        batch_accuracy: ``{m: accuracy in training mode}``.
        eval_accuracy: accuracy in evaluation mode.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    sizes = sorted(gap)
    look = style.line("batch", marker=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 3.2))
    left.plot(sizes, [gap[m] for m in sizes], **look)
    left.set_ylim(bottom=0)
    left.set_ylabel(_("mean |logit gap|"))
    left.set_title(_("training vs evaluation mode"))
    right.plot(sizes, [batch_accuracy[m] for m in sizes], **{**look, "label": _("batch statistics")})
    right.axhline(eval_accuracy, color=look["color"], linestyle=":", label=_("running estimates"))
    right.set_ylabel(_("test accuracy"))
    right.set_ylim(0, 1)
    right.legend()
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(m) for m in sizes])
        ax.set_xlabel(_("batch size m"))
    fig.tight_layout()
    return fig
