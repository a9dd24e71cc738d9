r"""Measurements taken on a network during training: the evidence of chapters 2 and 4.

* :func:`unit_values`, :func:`unit_percentiles`, :func:`percentile_probe` — the
  distribution of one unit's pre-activation on a fixed probe batch (Ioffe & Szegedy
  2015, Figure 1 (b, c): the 15th, 50th and 85th percentiles of one sigmoid input of
  the last hidden layer, over training).
* :func:`internal_covariate_shift`, :func:`ics_probe` — Santurkar et al.'s measure of
  ICS (2018, arXiv 1805.11604, Definition 2.1): how much layer :math:`i`'s gradient
  changes when the layers before it take their step.
* :func:`loss_landscape`, :func:`landscape_probe` — the smoothness of the loss along
  the gradient (Santurkar et al., Figure 4): loss variation, gradient predictiveness
  and the "effective" :math:`\beta`-smoothness.

Every probe works on a copy of the model (or in evaluation mode without gradients)
and restores PyTorch's global random generator, so probing never changes the
training run it observes.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .models import Net, record, weight_layers

__all__ = [
    "unit_values",
    "unit_percentiles",
    "percentile_probe",
    "ICS",
    "internal_covariate_shift",
    "ics_probe",
    "Landscape",
    "loss_landscape",
    "landscape_probe",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# --------------------------------------------------------------------------- (a) one unit's distribution


@torch.no_grad()
def unit_values(model: Net, X: torch.Tensor, layer: int = -1, unit: int = 0,
                point: str = "pre_activation") -> torch.Tensor:
    """The values one unit takes on the batch ``X``, in evaluation mode.

    Args:
        model: a :class:`~normcode.experiments.models.Net`.
        X: ``(N, *features)`` probe batch (keep it fixed during training).
        layer: index into ``model.blocks`` (``-1``: last hidden layer).
        unit: which unit (channel) of that layer.
        point: ``"pre_activation"``, ``"linear"`` or ``"output"`` (see :func:`~normcode.experiments.models.record`).

    Returns:
        ``(N,)`` for an MLP layer; ``(N·H·W,)`` for a conv channel (all positions).

    Example:
        >>> from normcode.experiments.models import mlp
        >>> tuple(unit_values(mlp(seed=0), torch.rand(50, 64)).shape)
        (50,)
    """
    was_training = model.training
    model.eval()
    try:
        with record(model, layers=layer, point=point) as seen:
            model(X)
    finally:
        model.train(was_training)
    return seen[layer][:, unit].flatten()


def unit_percentiles(model: Net, X: torch.Tensor, layer: int = -1, unit: int = 0,
                     q: Sequence[float] = (15, 50, 85), point: str = "pre_activation") -> torch.Tensor:
    """Percentiles ``q`` (0–100, linear interpolation as ``numpy.percentile``) of :func:`unit_values`.

    Returns:
        ``(len(q),)``.

    Example:
        >>> from normcode.experiments.models import mlp
        >>> p = unit_percentiles(mlp(seed=0), torch.rand(50, 64))
        >>> bool(p[0] <= p[1] <= p[2])
        True
    """
    values = unit_values(model, X, layer, unit, point)
    return torch.quantile(values, torch.tensor(q, dtype=values.dtype) / 100)


def percentile_probe(X: torch.Tensor, layer: int = -1, unit: int = 0, q: Sequence[float] = (15, 50, 85),
                     point: str = "pre_activation") -> Callable[[Net], torch.Tensor]:
    """:func:`unit_percentiles` on a fixed batch, as a function of the model — for ``train(record=...)``.

    Example:
        >>> from normcode.experiments.models import mlp
        >>> probe = percentile_probe(torch.rand(50, 64), layer=-1, unit=0)
        >>> tuple(probe(mlp(seed=0)).shape)
        (3,)
    """
    return lambda model: unit_percentiles(model, X, layer, unit, q, point)


# --------------------------------------------------------------------------- (b) Santurkar's ICS


@dataclass(frozen=True)
class ICS:
    """Internal covariate shift of one layer at one step: ``l2`` = ‖G − G′‖₂, ``cosine`` = cos(G, G′)."""

    l2: float
    cosine: float


def _grad_norm_index(model: Net, layer: int) -> int:
    n = len(model.blocks) + 1
    if not -n <= layer < n:
        raise ValueError(f"layer must index the {n} weight layers (blocks then head), got {layer}")
    return layer % n


def internal_covariate_shift(model: Net, X: torch.Tensor, y: torch.Tensor, layer: int, lr: float,
                             loss_fn: LossFn = F.cross_entropy) -> ICS:
    r"""Santurkar et al.'s ICS of weight layer ``layer`` on the batch ``(X, y)``.

    .. math::

        G = \nabla_{W_i} L(W_1, \dots, W_{i-1}, W_i, \dots; x, y), \qquad
        G' = \nabla_{W_i} L(W_1', \dots, W_{i-1}', W_i, \dots; x, y)

    where :math:`W_j' = W_j - \eta\,\nabla_{W_j} L` is the SGD step (learning rate
    ``lr``) of every parameter of the earlier blocks (weights, biases and their norm's
    γ, β). :math:`G'` is the gradient layer :math:`i` would see if its input
    distribution had already moved; ‖G − G′‖ large and cos(G, G′) small mean
    much ICS. Both gradients are computed in training mode on a copy of the model,
    with the same random numbers (so injected noise does not count as shift).

    Args:
        model: a :class:`~normcode.experiments.models.Net`; not modified.
        X, y: the batch, ``(B, *features)`` and ``(B,)``.
        layer: index into :func:`~normcode.experiments.models.weight_layers` (blocks, then the head).
        lr: the learning rate of the earlier layers' step.
        loss_fn: ``loss_fn(logits, labels)``.

    Returns:
        :class:`ICS` (``l2 = 0`` and ``cosine = 1`` when ``lr = 0`` or ``layer = 0``).

    Example:
        >>> from normcode.experiments.models import mlp
        >>> ics = internal_covariate_shift(mlp(seed=0), torch.rand(60, 64), torch.randint(0, 10, (60,)), layer=2, lr=0.0)
        >>> ics.l2, round(ics.cosine, 6)
        (0.0, 1.0)
    """
    i = _grad_norm_index(model, layer)
    net = copy.deepcopy(model).train()
    weight = weight_layers(net)[i].weight
    earlier = [p for block in net.blocks[:i] for p in block.parameters() if p.requires_grad]
    with torch.random.fork_rng(devices=[]):
        rng = torch.get_rng_state()
        grads = torch.autograd.grad(loss_fn(net(X), y), [weight] + earlier)
        G = grads[0]
        with torch.no_grad():
            for p, g in zip(earlier, grads[1:]):
                p.sub_(lr * g)
        torch.set_rng_state(rng)          # replay the same noise, if the model draws any
        (G_moved,) = torch.autograd.grad(loss_fn(net(X), y), [weight])
    cosine = F.cosine_similarity(G.flatten(), G_moved.flatten(), dim=0, eps=1e-30)
    return ICS(l2=float(torch.linalg.vector_norm(G - G_moved)), cosine=float(cosine))


def ics_probe(X: torch.Tensor, y: torch.Tensor, layer: int, lr: float,
              loss_fn: LossFn = F.cross_entropy) -> Callable[[Net], dict]:
    """:func:`internal_covariate_shift` on a fixed batch as a function of the model, for ``train(record=...)``.

    Returns a function giving ``{"l2": ..., "cosine": ...}``.
    """
    def probe(model: Net) -> dict:
        ics = internal_covariate_shift(model, X, y, layer, lr, loss_fn)
        return {"l2": ics.l2, "cosine": ics.cosine}

    return probe


# --------------------------------------------------------------------------- (c) loss landscape


@dataclass(frozen=True, eq=False)  # == on tensor fields would be ambiguous
class Landscape:
    r"""The loss and its gradient along :math:`\theta - \eta\nabla L(\theta)` for the step sizes ``etas``.

    Attributes:
        etas: ``(K,)`` step sizes η.
        losses: ``(K,)`` :math:`L(\theta - \eta g)`, with :math:`g = \nabla L(\theta)`.
        gradient_change: ``(K,)`` :math:`\|\nabla L(\theta - \eta g) - g\|` (gradient predictiveness: small is predictive).
        gradient_norm: :math:`\|g\|`.
        loss_range: ``max(losses) − min(losses)`` (loss variation).
        max_gradient_change: ``max(gradient_change)``.
        beta_smoothness: :math:`\max_\eta \|\nabla L(\theta-\eta g) - g\| / (\eta\|g\|)`, the
            "effective" β-smoothness: a local Lipschitz constant of the gradient.
        start_loss: :math:`L(\theta)`, the loss where the walk starts.
    """

    etas: torch.Tensor
    losses: torch.Tensor
    gradient_change: torch.Tensor
    gradient_norm: float
    loss_range: float
    max_gradient_change: float
    beta_smoothness: float
    start_loss: float = float("nan")

    def summary(self) -> dict[str, float]:
        """The three scalar measures as a dict (what :func:`landscape_probe` records)."""
        return {"loss_range": self.loss_range, "gradient_change": self.max_gradient_change,
                "beta_smoothness": self.beta_smoothness}


def loss_landscape(model: nn.Module, X: torch.Tensor, y: torch.Tensor,
                   etas: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.4),
                   loss_fn: LossFn = F.cross_entropy) -> Landscape:
    r"""Walk from the current parameters along the negative gradient and measure the loss and its gradient.

    With :math:`g = \nabla L(\theta)` on the batch ``(X, y)``, for every η in ``etas``
    compute :math:`L(\theta - \eta g)` and :math:`\nabla L(\theta - \eta g)` (all
    trainable parameters move together, in training mode, on a copy of the model,
    with the same random numbers at every point).

    Args:
        model: any module; not modified.
        X, y: the batch.
        etas: step sizes (positive).
        loss_fn: ``loss_fn(model(X), y)`` is the loss.

    Returns:
        A :class:`Landscape`.

    Example:
        >>> from normcode.experiments.models import mlp
        >>> land = loss_landscape(mlp(norm="batch", seed=0), torch.rand(60, 64), torch.randint(0, 10, (60,)))
        >>> tuple(land.losses.shape), land.beta_smoothness > 0
        ((5,), True)
    """
    net = copy.deepcopy(model).train()
    params = [p for p in net.parameters() if p.requires_grad]
    etas_t = torch.tensor([float(e) for e in etas])
    if not (etas_t > 0).all():
        raise ValueError(f"etas must be positive step sizes, got {list(etas)}")

    with torch.random.fork_rng(devices=[]):
        rng = torch.get_rng_state()

        def loss_and_grad() -> tuple[float, torch.Tensor]:
            torch.set_rng_state(rng)
            loss = loss_fn(net(X), y)
            grads = torch.autograd.grad(loss, params)
            return loss.item(), torch.cat([g.flatten() for g in grads])

        start_loss, g0 = loss_and_grad()
        start = [p.detach().clone() for p in params]
        losses, changes = [], []
        for eta in etas_t.tolist():
            with torch.no_grad():
                offset = 0
                for p, p0 in zip(params, start):
                    n = p.numel()
                    p.copy_(p0 - eta * g0[offset:offset + n].view_as(p))
                    offset += n
            loss, g = loss_and_grad()
            losses.append(loss)
            changes.append(float(torch.linalg.vector_norm(g - g0)))

    losses_t, changes_t = torch.tensor(losses), torch.tensor(changes)
    g_norm = float(torch.linalg.vector_norm(g0))
    beta = float((changes_t / (etas_t * g_norm)).max()) if g_norm > 0 else 0.0
    return Landscape(etas=etas_t, losses=losses_t, gradient_change=changes_t, gradient_norm=g_norm,
                     loss_range=float(losses_t.max() - losses_t.min()),
                     max_gradient_change=float(changes_t.max()), beta_smoothness=beta,
                     start_loss=start_loss)


def landscape_probe(X: torch.Tensor, y: torch.Tensor, etas: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.4),
                    loss_fn: LossFn = F.cross_entropy) -> Callable[[nn.Module], dict]:
    """:func:`loss_landscape` on a fixed batch as a function of the model, for ``train(record=...)``.

    Returns a function giving :meth:`Landscape.summary`
    (``{"loss_range", "gradient_change", "beta_smoothness"}``).
    """
    return lambda model: loss_landscape(model, X, y, etas, loss_fn).summary()
