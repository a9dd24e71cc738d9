r"""Checking a gradient by finite differences, the CS231n way: a relative error with its expected range.

:func:`numeric_gradient` estimates :math:`\partial f/\partial x` by central differences,

.. math::

    \frac{\partial f}{\partial x_k} \approx \frac{f(x + h e_k) - f(x - h e_k)}{2h},

whose error is :math:`O(h^2)`; :func:`relative_error` compares it with an analytic
gradient,

.. math::

    \text{rel}(a, b) = \frac{\max_k |a_k - b_k|}{\max\big(\max_k (|a_k| + |b_k|),\ \text{tiny}\big)},

and :func:`verdict` reads the number as CS231n's notes do: below 1e-7 the gradient
is right; up to 1e-4 usually fine (acceptable near kinks such as ReLU's); above
1e-2 it is probably wrong. Use float64: in float32 rounding alone gives about 1e-3.
"""
from __future__ import annotations

from typing import Callable

import torch

__all__ = ["numeric_gradient", "relative_error", "verdict", "EXPECTED_RANGES"]

#: (upper bound, reading) pairs, from the CS231n notes on gradient checking.
EXPECTED_RANGES = (
    (1e-7, "correct"),
    (1e-4, "probably correct (fine near kinks)"),
    (1e-2, "suspicious"),
    (float("inf"), "probably wrong"),
)


@torch.no_grad()
def numeric_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    r"""Central-difference estimate of the gradient of the scalar ``f`` at ``x``.

    Args:
        f: maps a tensor of ``x``'s shape to a scalar tensor.
        x: the point, any shape; float64 recommended. It is left unchanged.
        h: the step.

    Returns:
        A tensor of ``x``'s shape: :math:`(f(x + h e_k) - f(x - h e_k)) / 2h` for every entry ``k``.

    Example:
        >>> x = torch.tensor([1.0, 2.0], dtype=torch.float64)
        >>> [round(v, 6) for v in numeric_gradient(lambda v: (v ** 2).sum(), x).tolist()]
        [2.0, 4.0]
    """
    x = x.clone()
    grad = torch.empty_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    for k in range(flat.numel()):
        old = flat[k].item()
        flat[k] = old + h
        up = float(f(x))
        flat[k] = old - h
        down = float(f(x))
        flat[k] = old
        gflat[k] = (up - down) / (2 * h)
    return grad


def relative_error(a: torch.Tensor, b: torch.Tensor, tiny: float = 1e-300) -> float:
    r"""CS231n's relative error :math:`\max|a-b| / \max(|a|+|b|)` between two gradients of the same shape.

    Example:
        >>> relative_error(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]))
        0.0
    """
    if a.shape != b.shape:
        raise ValueError(f"the gradients must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    scale = (a.abs() + b.abs()).max().item()
    return (a - b).abs().max().item() / max(scale, tiny)


def verdict(error: float) -> str:
    """What a relative error means, by :data:`EXPECTED_RANGES`.

    Example:
        >>> verdict(3e-10)
        'correct'
    """
    for bound, reading in EXPECTED_RANGES:
        if error < bound:
            return reading
    return EXPECTED_RANGES[-1][1]
