"""Chapter 9's figures: the clipping schedule of batch renormalization and accuracy curves on non-i.i.d. batches.

* :func:`plot_schedule` — :math:`r_{\\max}` and :math:`d_{\\max}` against the training step;
* :func:`plot_non_iid_curves` — test accuracy in inference mode (solid) and in training mode
  (dashed) during training, mean over seeds, one colour per technique.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch

from ..book.i18n import _
from . import style

__all__ = ["plot_schedule", "plot_non_iid_curves"]


def plot_schedule(schedule, steps: int, ax=None):
    """Draw :math:`r_{\\max}(t)` and :math:`d_{\\max}(t)` of a :class:`normcode.RenormSchedule` for ``t < steps``.

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.subplots(figsize=(6, 2.8))[1]
    t = list(range(steps))
    bounds = [schedule(s) for s in t]
    ax.plot(t, [b[0] for b in bounds], color=style.color("batch_renorm"), label=_("bound r_max"))
    ax.plot(t, [b[1] for b in bounds], color=style.color("batch_renorm"), linestyle="--", label=_("bound d_max"))
    ax.set_xlabel(_("training step"))
    ax.set_ylabel(_("clipping bound"))
    ax.legend()
    return ax


def plot_non_iid_curves(runs: Mapping[str, Sequence], ax=None):
    """Test accuracy during training, mean over seeds: inference mode solid, training mode dashed.

    Args:
        runs: ``{technique: [History, ...]}``; each history has ``eval_step``, ``test_accuracy``
            and ``records["train_mode"]`` (as :func:`normcode.experiments.renorm.non_iid_run` returns).

    Returns:
        The axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        ax = plt.subplots(figsize=(8.4, 3.6))[1]
    for name, histories in runs.items():
        steps = histories[0].eval_step
        infer = torch.tensor([h.test_accuracy for h in histories]).mean(0)
        train = torch.tensor([h.records["train_mode"] for h in histories]).mean(0)
        ax.plot(steps, infer, color=style.color(name), marker=style.technique(name).marker,
                label=_("{name}, inference mode").format(name=style.label(name)))
        ax.plot(steps, train, color=style.color(name), linestyle="--",
                label=_("{name}, training mode").format(name=style.label(name)))
    ax.set_xlabel(_("training step"))
    ax.set_ylabel(_("test accuracy (mean of 3 seeds)"))
    ax.set_ylim(0, 1)
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))   # outside: the curves fill the box
    ax.figure.tight_layout()
    return ax
