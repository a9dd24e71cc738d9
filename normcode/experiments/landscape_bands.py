r"""The loss landscape along the gradient, as bands over training (Santurkar et al., 2018, Figure 4).

At a training step with parameters :math:`\theta` and gradient :math:`g = \nabla L(\theta)`,
:func:`~normcode.experiments.probes.loss_landscape` walks to :math:`\theta - \eta g` for
several step sizes :math:`\eta` and measures

.. math::

    L(\theta - \eta g) \quad\text{(loss landscape)}, \qquad
    \|\nabla L(\theta - \eta g) - g\| \quad\text{(gradient predictiveness)} .

Santurkar et al. (arXiv 1805.11604, Figure 4) draw, at every step, the *range* of
each quantity over :math:`\eta \in [0.05, 0.4]` as a shaded band: a wide loss band
means the loss changes a lot (or erratically) along the very direction the
optimizer follows; a high gradient band means the gradient at the start of a step
says little about the gradient at its end. :func:`landscape_band_probe` records
the lower and upper edge of both bands, ready for ``train(record=...)``, and
:func:`band` turns a :class:`~normcode.experiments.training.History` into arrays
for ``fill_between``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .probes import loss_landscape
from .training import History

__all__ = ["landscape_bands", "landscape_band_probe", "band"]

ETAS = (0.05, 0.1, 0.2, 0.3, 0.4)


def landscape_bands(model: nn.Module, X: torch.Tensor, y: torch.Tensor, etas: Sequence[float] = ETAS,
                    loss_fn=F.cross_entropy) -> dict[str, float]:
    r"""The edges of the loss and gradient-change bands at the model's current parameters.

    Args:
        model: any module; not modified (see :func:`~normcode.experiments.probes.loss_landscape`).
        X, y: the probe batch, ``(B, *features)`` and ``(B,)``.
        etas: step sizes :math:`\eta` along :math:`-g`.
        loss_fn: ``loss_fn(logits, labels)``.

    Returns:
        ``{"loss", "loss_min", "loss_max", "grad_change_min", "grad_change_max", "beta_smoothness"}``:
        the loss :math:`L(\theta)` where the walk starts, :math:`\min_\eta, \max_\eta L(\theta-\eta g)`, :math:`\min_\eta, \max_\eta
        \|\nabla L(\theta-\eta g) - g\|`, and the effective β-smoothness
        :math:`\max_\eta \|\nabla L(\theta-\eta g) - g\| / (\eta \|g\|)`.

    Example:
        >>> from normcode.experiments.models import mlp
        >>> b = landscape_bands(mlp(norm="batch", seed=0), torch.rand(60, 64), torch.randint(0, 10, (60,)))
        >>> b["loss_min"] <= b["loss_max"] and b["grad_change_min"] <= b["grad_change_max"]
        True
    """
    land = loss_landscape(model, X, y, etas, loss_fn)
    return {"loss": land.start_loss, "loss_min": float(land.losses.min()), "loss_max": float(land.losses.max()),
            "grad_change_min": float(land.gradient_change.min()),
            "grad_change_max": float(land.gradient_change.max()),
            "beta_smoothness": land.beta_smoothness}


def landscape_band_probe(X: torch.Tensor, y: torch.Tensor, etas: Sequence[float] = ETAS,
                         loss_fn=F.cross_entropy) -> Callable[[nn.Module], dict]:
    """:func:`landscape_bands` on a fixed batch as a function of the model, for ``train(record=...)``.

    Recorded under a name ``"land"`` the series are ``"land.loss_min"``, ``"land.loss_max"``, ...
    """
    return lambda model: landscape_bands(model, X, y, etas, loss_fn)


def band(history: History, quantity: str = "loss", name: str = "land",
         since: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(steps, lower, upper)`` of one band recorded by :func:`landscape_band_probe`, from step ``since`` on.

    Args:
        history: from :func:`~normcode.experiments.training.train` with ``record={name: landscape_band_probe(...)}``.
        quantity: ``"loss"`` or ``"grad_change"``.
        name: the name the probe was recorded under.
        since: first step kept (step 0, before training, is left out by default).

    Returns:
        Three ``(K,)`` tensors.

    Example:
        >>> h = History(eval_step=[0, 10], records={"land.loss_min": [1.0, 0.5], "land.loss_max": [2.0, 0.75]})
        >>> [v.tolist() for v in band(h)]
        [[10], [0.5], [0.75]]
    """
    if quantity not in ("loss", "grad_change"):
        raise ValueError(f"quantity must be 'loss' or 'grad_change', got {quantity!r}")
    keep = [i for i, s in enumerate(history.eval_step) if s >= since]
    steps = torch.tensor(history.eval_step)[keep]
    lower = history.series(f"{name}.{quantity}_min")[keep]
    upper = history.series(f"{name}.{quantity}_max")[keep]
    return steps, lower, upper
