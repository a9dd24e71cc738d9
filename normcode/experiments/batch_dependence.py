r"""Does an example's output depend on the other examples of its batch? Probes for any model.

A network is a function of one example only if every layer treats the examples
of a batch separately. Batch normalization in training does not: its statistics
:math:`\mu_B, \sigma^2_B` mix the batch. Layer normalization does: its statistics
come from one example's own features. The two probes here measure the
difference on any model, in *training mode* (where batch normalization uses
batch statistics), on a copy, with PyTorch's global generator forked, so the
model, its running estimates and the random numbers of a training run are left
as they were:

* :func:`batch_mate_spread` — put one fixed example in batches with different
  random batch-mates and report how far its output moves;
* :func:`batch_size_change` — compare the example's output in batches of several
  sizes with its output in a batch of a reference size.

(:func:`normcode.experiments.sweeps.normalized_value_spread` measures the same
effect on batch normalization's :math:`\hat{x}` alone, as a function of :math:`m`.)
"""
from __future__ import annotations

import copy
from typing import Iterable

import torch
from torch import nn

__all__ = ["batch_mate_spread", "batch_size_change"]


def _others(n: int, example: int) -> torch.Tensor:
    if not 0 <= example < n:
        raise ValueError(f"example must index one of the N={n} inputs, got {example}")
    return torch.cat([torch.arange(example), torch.arange(example + 1, n)])


def _output_in(net: nn.Module, X: torch.Tensor, example: int, mates: torch.Tensor) -> torch.Tensor:
    return net(torch.cat([X[example:example + 1], X[mates]]))[0]


@torch.no_grad()
def batch_mate_spread(model: nn.Module, X: torch.Tensor, example: int = 0, batch_size: int = 16,
                      draws: int = 20, seed: int = 0) -> float:
    r"""How far example ``example``'s output moves when its batch-mates change, in training mode.

    ``draws`` batches are formed, each of ``X[example]`` followed by ``batch_size − 1``
    examples drawn at random (without replacement) from the rest of ``X``; the
    example's output :math:`f(x \mid B_d)` is kept from each. The spread is

    .. math::

        \max_{d}\ \max_k \big|f(x \mid B_d)_k - f(x \mid B_1)_k\big| ,

    zero (up to float rounding) for a network in which examples do not interact.

    Args:
        model: maps ``(B, *features)`` to ``(B, *outputs)``; not modified.
        X: ``(N, *features)`` pool of examples.
        example: index of the fixed example.
        batch_size: :math:`m`, at least 2 and at most ``N``.
        draws: number of batches.
        seed: seed of the choice of batch-mates.

    Returns:
        The largest absolute change of any output, a float ``>= 0``.

    Example:
        >>> from normcode.experiments.models import mlp
        >>> X = torch.rand(50, 64)
        >>> batch_mate_spread(mlp(norm="layer", seed=0), X) < 1e-5 < batch_mate_spread(mlp(norm="batch", seed=0), X)
        True
    """
    others = _others(X.shape[0], example)
    if not 2 <= batch_size <= X.shape[0]:
        raise ValueError(f"batch_size must lie between 2 and N={X.shape[0]}, got {batch_size}")
    if draws < 2:
        raise ValueError(f"draws must be at least 2 (a spread needs two batches), got {draws}")
    g = torch.Generator().manual_seed(seed)
    net = copy.deepcopy(model).train()
    with torch.random.fork_rng(devices=[]):
        outputs = torch.stack([_output_in(net, X, example, others[torch.randperm(len(others), generator=g)[:batch_size - 1]])
                               for _draw in range(draws)])
    return float((outputs - outputs[0]).abs().max())


@torch.no_grad()
def batch_size_change(model: nn.Module, X: torch.Tensor, batch_sizes: Iterable[int], example: int = 0,
                      reference: int = 1) -> dict[int, float]:
    r"""How far example ``example``'s output moves between batches of different sizes, in training mode.

    For each :math:`m` the batch is ``X[example]`` followed by the first :math:`m − 1`
    other examples of ``X``; the result is :math:`\max_k |f(x \mid m)_k - f(x \mid m_\text{ref})_k|`.
    With ``reference=1`` the example is compared with itself *alone*, which only a
    network without batch statistics can compute (batch normalization in training
    has no variance to divide by in a batch of one).

    Args:
        model: maps ``(B, *features)`` to ``(B, *outputs)``; not modified.
        X: ``(N, *features)``.
        batch_sizes: the sizes :math:`m` to compare, each between 1 and ``N``.
        example: index of the fixed example.
        reference: the size :math:`m_\text{ref}` every other size is compared with.

    Returns:
        ``{m: largest absolute change of any output}``.

    Example:
        >>> from normcode.experiments.models import mlp
        >>> change = batch_size_change(mlp(norm="layer", seed=0), torch.rand(50, 64), [2, 50])
        >>> max(change.values()) < 1e-5
        True
    """
    others = _others(X.shape[0], example)
    sizes = [int(m) for m in batch_sizes]
    for m in sizes + [reference]:
        if not 1 <= m <= X.shape[0]:
            raise ValueError(f"batch sizes must lie between 1 and N={X.shape[0]}, got {m}")
    net = copy.deepcopy(model).train()
    with torch.random.fork_rng(devices=[]):
        ref = _output_in(net, X, example, others[:reference - 1])
        return {m: float((_output_in(net, X, example, others[:m - 1]) - ref).abs().max()) for m in sizes}
