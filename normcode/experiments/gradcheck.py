r"""Checking a gradient by finite differences, the CS231n way: a relative error with its expected range.

:func:`numeric_gradient` estimates :math:`\partial f/\partial x` by central differences,

.. math::

    \frac{\partial f}{\partial x_k} \approx \frac{f(x + h e_k) - f(x - h e_k)}{2h},

whose error is :math:`O(h^2)`; :func:`relative_error` compares it with an analytic
gradient element by element, as the CS231n notes on gradient checks do
(https://cs231n.github.io/neural-networks-3/#gradcheck), and reports the worst element,

.. math::

    \text{rel}(a, b) = \max_k \frac{|a_k - b_k|}{\max\big(|a_k|,\ |b_k|,\ \text{tiny}\big)} ,

and :func:`verdict` reads the number as those notes do: below 1e-7 the gradient
is right; up to 1e-4 usually fine (acceptable near kinks such as ReLU's); above
1e-2 it is probably wrong. Use float64: in float32 rounding alone gives about 1e-3.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..book.i18n import N_, _

__all__ = ["numeric_gradient", "relative_error", "verdict", "expected_range", "check_batchnorm_backward",
           "EXPECTED_RANGES"]

#: (upper bound, reading) pairs, from the CS231n notes on gradient checking.
#: The readings are catalogue keys: print them as ``_(verdict(error))``.
EXPECTED_RANGES = (
    (1e-7, N_("correct")),
    (1e-4, N_("probably correct (fine near kinks)")),
    (1e-2, N_("suspicious")),
    (float("inf"), N_("probably wrong")),
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


def relative_error(a: torch.Tensor, b: torch.Tensor, tiny: float = 1e-12) -> float:
    r"""CS231n's relative error, element by element: :math:`\max_k |a_k-b_k| / \max(|a_k|, |b_k|)`.

    Each entry is compared with its own magnitude, so a gradient that is right where it
    is large but wrong where it is small is still caught (a single ratio of maxima would
    hide the small entries). ``tiny`` keeps an entry that is zero in both gradients from
    dividing 0 by 0; an entry smaller than ``tiny`` in both is compared on the scale ``tiny``.

    Args:
        a, b: two gradients of the same shape (e.g. analytic and numerical).
        tiny: the smallest scale an entry is compared on.

    Returns:
        The largest element-wise relative error, a float in [0, 2] (0 when ``a == b``).

    Example:
        >>> relative_error(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]))
        0.0
        >>> round(relative_error(torch.tensor([100.0, 0.01]), torch.tensor([100.0, 0.02])), 3)
        0.5
    """
    if a.shape != b.shape:
        raise ValueError(f"the gradients must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}; "
                         f"compare a gradient with an estimate of the same tensor")
    if a.numel() == 0:
        raise ValueError("the gradients are empty: there is nothing to compare")
    scale = torch.maximum(a.abs(), b.abs()).clamp_min(tiny)
    return float(((a - b).abs() / scale).max())


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


def expected_range(error: float) -> str:
    """The range of :data:`EXPECTED_RANGES` that ``error`` falls in, as text: ``"< 1e-07"``, ``"1e-07 ... 1e-04"``, ``"> 1e-02"``.

    A printable stand-in for the error itself, whose last digits depend on the
    floating-point path of the machine.

    Example:
        >>> expected_range(3e-10), expected_range(5e-6), expected_range(0.3)
        ('< 1e-07', '1e-07 ... 1e-04', '> 1e-02')
    """
    if error != error:
        raise ValueError("the relative error is NaN: one of the gradients contains NaN or inf")
    lower = 0.0
    for bound, _reading in EXPECTED_RANGES:
        if error < bound:
            if lower == 0.0:
                return f"< {bound:.0e}"
            return f"> {lower:.0e}" if bound == float("inf") else f"{lower:.0e} ... {bound:.0e}"
        lower = bound
    return f"> {lower:.0e}"


def check_batchnorm_backward(implementation: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
                             m: int = 10, channels: int = 4, eps: float = 1e-5, seed: int = 0,
                             verbose: bool = True) -> float:
    r"""Check a hand-written batch normalization backward pass, CS231n style.

    ``implementation(dy, x, gamma)`` must return :math:`\partial L/\partial x` for
    :math:`L = \sum dy \odot y`, :math:`y = \gamma\hat{x} + \beta`, with the statistics of
    ``x`` over dimension 0 (training mode, biased variance, ``eps`` inside the root).
    It is compared, on a random float64 batch, with the central-difference gradient of
    ``torch.nn.functional.batch_norm`` and with autograd through ``torch.nn.BatchNorm1d``;
    each relative error is printed beside its expected range.

    Args:
        implementation: the function to check; receives ``dy`` ``(m, C)``, ``x`` ``(m, C)``, ``gamma`` ``(C,)``.
        m, channels: the batch shape. eps: the ε of batch normalization. seed: seed of the batch.
        verbose: print one line per reference.

    Returns:
        The larger of the two relative errors (below 1e-7 for a correct implementation).

    Example:
        >>> wrong = lambda dy, x, gamma: gamma * dy          # ignores the statistics
        >>> check_batchnorm_backward(wrong, verbose=False) > 1e-2
        True
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(m, channels, generator=g, dtype=torch.float64) * 2 + 1
    dy = torch.randn(m, channels, generator=g, dtype=torch.float64)
    gamma = torch.rand(channels, generator=g, dtype=torch.float64) + 0.5
    mine = implementation(dy.clone(), x.clone(), gamma.clone())
    if not torch.is_tensor(mine) or mine.shape != x.shape:
        raise ValueError(f"the implementation must return a tensor of x's shape {tuple(x.shape)}, "
                         f"got {getattr(mine, 'shape', type(mine).__name__)}")
    numeric = numeric_gradient(
        lambda v: (dy * torch.nn.functional.batch_norm(v, None, None, gamma, None, training=True, eps=eps)).sum(), x)
    layer = torch.nn.BatchNorm1d(channels, eps=eps).double()
    with torch.no_grad():
        layer.weight.copy_(gamma)
    x_in = x.clone().requires_grad_()
    (dy * layer(x_in)).sum().backward()
    errors = []
    for name, other in ((N_("numerical gradient"), numeric), ("torch.nn.BatchNorm1d", x_in.grad)):
        error = relative_error(mine.detach().to(torch.float64), other)
        errors.append(error)
        if verbose:
            print(_("vs {name}: relative error {range} (correct: below 1e-07) -> {verdict}").format(
                name=_(name) if name != "torch.nn.BatchNorm1d" else name, range=expected_range(error),
                verdict=_(verdict(error))))
    return max(errors)
