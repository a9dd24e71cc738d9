"""Figures of chapter 12 (spectral normalization): the power iteration converging, and a GAN's samples over training.

* :func:`plot_power_iteration` — relative error of the power-iteration estimate of σ(W) against the
  number of iterations;
* :func:`gan_animation` — generated samples over training, without and with spectral normalization in
  the discriminator, side by side, as a kernel-free player that runs in the static page.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch

from ..book.i18n import _
from . import style

__all__ = ["plot_power_iteration", "gan_animation"]


def plot_power_iteration(errors: Mapping[str, Sequence[float]], ax=None):
    """Relative error of σ's estimate (log scale) against the iteration number, one line per matrix.

    Args:
        errors: ``{label: [error after 1, 2, … iterations]}``; labels are shown through the catalogue.
        ax: axes to draw on (a new figure if ``None``).

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.subplots(figsize=(5.5, 3.2))[1]
    dashes = ["-", "--", ":", "-."]
    for i, (label, err) in enumerate(errors.items()):
        it = range(1, len(err) + 1)
        ax.semilogy(it, [max(float(e), 1e-17) for e in err], color=style.color("spectral"),
                    linestyle=dashes[i % len(dashes)], label=_(label))
    ax.set_xlabel(_("power iterations"))
    ax.set_ylabel(_("relative error of the estimate of σ(W)"))
    ax.legend()
    ax.figure.tight_layout()
    return ax


def gan_animation(runs: Mapping[str, "GANRun"], centers: torch.Tensor, *, name: str,  # noqa: F821
                  lim: float = 3.0, figsize=(7.0, 3.5), dpi: float = 60, fps: float = 3.0, **options):
    """Generated samples over training, one panel per run, as a :class:`normcode.book.animation.Player`.

    Args:
        runs: ``{style key: GANRun}``, e.g. ``{"none": run, "spectral": run}``; each panel is titled and
            coloured with :mod:`~normcode.plotting.style`. All runs must share their snapshot steps.
        centers: ``(K, 2)`` mode centres, drawn as crosses.
        name: the player's name (its HTML id).
        lim: the axes span ``[-lim, lim]`` in both directions in every frame.

    Returns:
        A :class:`normcode.book.animation.Player`, one frame per snapshot.
    """
    from ..book import animation

    first = next(iter(runs.values()))
    steps = first.steps
    if any(r.steps != steps for r in runs.values()):
        raise ValueError("gan_animation: every run needs the same snapshot steps (train them with the same "
                         "steps and snapshot_every).")
    c = centers.numpy()

    def draw(i, axes):
        for ax, (key, run) in zip(axes, runs.items()):
            x = run.samples[i].numpy()
            ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.4, color=style.color(key))
            ax.scatter(c[:, 0], c[:, 1], marker="x", s=30, color="black")
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_title(_("{label}: {k} of {n} modes").format(label=style.label(key), k=run.modes[i],
                                                               n=len(c)), fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0].figure.tight_layout()

    labels = [_("step") + f" {s}" for s in steps]
    return animation.animate(draw, len(steps), name=name, fps=fps, labels=labels, figsize=figsize, dpi=dpi,
                             subplots={"ncols": len(runs)}, **options)
