r"""Measure a network *as it trains*: batch statistics and injected noise switched on.

:func:`~normcode.experiments.training.evaluate` and the probes of
:mod:`~normcode.experiments.probes` look at a network in evaluation mode: batch
normalization uses its running estimates and the noise of
:class:`~normcode.experiments.noisy.NoisyNorm` is off. That is the right view of
a finished model, but not of what the layers *see during training*. For noisy BN
(Santurkar et al., 2018, arXiv 1805.11604, Section 2.1) the two differ a lot: the
running estimates are averaged while the noise is on, so they do not describe the
noise-free network that evaluation mode runs.

The functions here run a *copy* of the model in training mode, on consecutive
batches of a fixed probe set, with PyTorch's global random generator forked, so
the network, its running estimates and the random numbers of the training run it
observes are left exactly as they were:

* :func:`train_mode_accuracy` — accuracy computed batch by batch with batch
  statistics (and noise, if the model injects any);
* :func:`train_mode_values`, :func:`train_mode_percentiles` — the values of one
  unit as the next layer receives them during training (Santurkar et al.'s
  Figure 2 plots these distributions over time);
* :func:`train_mode_accuracy_probe`, :func:`train_mode_percentile_probe` — the same
  as functions of the model, for ``train(record=...)``.
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
from torch import nn

from .models import Net, record

__all__ = ["train_mode_accuracy", "train_mode_values", "train_mode_percentiles",
           "train_mode_accuracy_probe", "train_mode_percentile_probe"]


def _batches(n: int, batch_size: int) -> list[slice]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive number of examples, got {batch_size}")
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


@torch.no_grad()
def train_mode_accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 60) -> float:
    r"""Accuracy of ``model`` in training mode, on ``X`` cut into consecutive batches of ``batch_size``.

    Each batch is normalized with its own statistics, and a model that injects
    noise draws it, as in a training step. The model is copied first (its running
    estimates stay untouched) and the global random generator is restored
    afterwards.

    .. math::

        \text{acc} = \frac{1}{N}\sum_{n=1}^{N} \mathbf{1}\big[\arg\max_k f_\text{train}(x_n)_k = y_n\big]

    Args:
        model: maps ``(B, *features)`` to ``(B, num_classes)`` logits.
        X: ``(N, *features)`` probe inputs.
        y: ``(N,)`` integer labels.
        batch_size: examples per forward pass (the training batch size).

    Returns:
        A float in [0, 1].

    Example:
        >>> from normcode.experiments.models import mlp
        >>> 0.0 <= train_mode_accuracy(mlp(norm="batch", seed=0), torch.rand(90, 64), torch.randint(0, 10, (90,))) <= 1.0
        True
    """
    net = copy.deepcopy(model).train()
    correct = 0
    with torch.random.fork_rng(devices=[]):
        for s in _batches(X.shape[0], batch_size):
            correct += int((net(X[s]).argmax(dim=1) == y[s]).sum())
    return correct / X.shape[0]


@torch.no_grad()
def train_mode_values(model: Net, X: torch.Tensor, layer: int = -1, unit: int = 0,
                      point: str = "pre_activation") -> torch.Tensor:
    """The values one unit takes on the batch ``X`` in training mode (one forward pass, noise included).

    Args:
        model: a :class:`~normcode.experiments.models.Net`; not modified.
        X: ``(N, *features)``, normalized as one batch.
        layer: index into ``model.blocks`` (``-1``: last hidden layer).
        unit: which unit (channel).
        point: ``"pre_activation"`` (the input of the activation: for noisy BN, BN's
            output *after* the noise), ``"linear"`` or ``"output"``.

    Returns:
        ``(N,)`` for an MLP layer (``(N·H·W,)`` for a conv channel).

    Example:
        >>> from normcode.experiments.models import mlp
        >>> tuple(train_mode_values(mlp(norm="batch", seed=0), torch.rand(50, 64)).shape)
        (50,)
    """
    net = copy.deepcopy(model).train()
    with torch.random.fork_rng(devices=[]), record(net, layers=layer, point=point) as seen:
        net(X)
    return seen[layer][:, unit].flatten()


def train_mode_percentiles(model: Net, X: torch.Tensor, layer: int = -1, unit: int = 0,
                           q: Sequence[float] = (15, 50, 85), point: str = "pre_activation") -> torch.Tensor:
    """Percentiles ``q`` (0–100) of :func:`train_mode_values`; shape ``(len(q),)``.

    Example:
        >>> from normcode.experiments.models import mlp
        >>> p = train_mode_percentiles(mlp(norm="batch", seed=0), torch.rand(50, 64))
        >>> bool(p[0] <= p[1] <= p[2])
        True
    """
    values = train_mode_values(model, X, layer, unit, point)
    return torch.quantile(values, torch.tensor(q, dtype=values.dtype) / 100)


def train_mode_accuracy_probe(X: torch.Tensor, y: torch.Tensor,
                              batch_size: int = 60) -> Callable[[nn.Module], float]:
    """:func:`train_mode_accuracy` on a fixed probe set, as a function of the model, for ``train(record=...)``."""
    return lambda model: train_mode_accuracy(model, X, y, batch_size)


def train_mode_percentile_probe(X: torch.Tensor, layer: int = -1, unit: int = 0,
                                q: Sequence[float] = (15, 50, 85),
                                point: str = "pre_activation") -> Callable[[Net], torch.Tensor]:
    """:func:`train_mode_percentiles` on a fixed batch, as a function of the model, for ``train(record=...)``."""
    return lambda model: train_mode_percentiles(model, X, layer, unit, q, point)
