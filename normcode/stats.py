r"""The statistics core: every normalization layer is one computation.

.. math::

    \hat{x}_i = \frac{x_i - \mu_{\mathcal{S}_i}}{\sqrt{\sigma^2_{\mathcal{S}_i} + \epsilon}},
    \qquad
    \mu_{\mathcal{S}} = \frac{1}{|\mathcal{S}|}\sum_{k\in\mathcal{S}} x_k,
    \qquad
    \sigma^2_{\mathcal{S}} = \frac{1}{|\mathcal{S}|}\sum_{k\in\mathcal{S}} (x_k - \mu_{\mathcal{S}})^2

The techniques differ only in the set :math:`\mathcal{S}_i` of values averaged
together with :math:`x_i`. For an input of shape ``(N, C, *spatial)``:

==============  ===========================================  ====================
technique       :math:`\mathcal{S}_i`: same ...              axes reduced
==============  ===========================================  ====================
batch norm      channel                                      ``(0, 2, 3, ...)``
layer norm      example                                      ``(1, 2, 3, ...)``
instance norm   example and channel                          ``(2, 3, ...)``
group norm      example and channel group                    ``(2, 3, ...)`` of a
                                                             ``(N, G, C/G, *)`` view
==============  ===========================================  ====================

This module owns that one idea: :func:`reduction_dims` names the axes,
:func:`moments` (or :func:`centred_moments`, which also returns :math:`x - \mu`)
computes the statistics, :func:`normalize` applies them and
:func:`update_running` keeps the exponential moving averages used at inference.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch

__all__ = [
    "reduction_dims",
    "moments",
    "centred_moments",
    "normalize",
    "count",
    "unbiased",
    "update_running",
    "NormalizeManualBackward",
]


def reduction_dims(technique: str, ndim: int) -> tuple[int, ...]:
    """Axes averaged over by ``technique`` for an input of ``ndim`` dimensions.

    Args:
        technique: ``"batch"``, ``"layer"`` or ``"instance"`` (group norm is
            instance norm on a ``(N, G, C/G * prod(spatial))`` view).
        ndim: number of dimensions of the input, laid out as ``(N, C, *spatial)``.

    Returns:
        The tuple of axes to reduce.

    Example:
        >>> reduction_dims("batch", 4)
        (0, 2, 3)
        >>> reduction_dims("layer", 4)
        (1, 2, 3)
        >>> reduction_dims("instance", 4)
        (2, 3)
    """
    spatial = tuple(range(2, ndim))
    if technique == "batch":
        return (0,) + spatial
    if technique == "layer":
        return (1,) + spatial
    if technique == "instance":
        return spatial
    raise ValueError(f"unknown technique {technique!r}; expected 'batch', 'layer' or 'instance'")


def count(x: torch.Tensor, dims: Sequence[int]) -> int:
    """Number of values averaged together, :math:`m = |\\mathcal{S}|` = product of ``x.shape[d]`` over ``dims``."""
    m = 1
    for d in dims:
        m *= x.shape[d]
    return m


def centred_moments(x: torch.Tensor, dims: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""The centred input :math:`x - \mu`, the mean and the *biased* variance over ``dims``.

    The two-pass algorithm: first the mean, then the average of the squared
    deviations from it,

    .. math::

        \mu = \frac{1}{m}\sum x, \qquad x_c = x - \mu, \qquad \sigma^2 = \frac{1}{m}\sum x_c^2 .

    Squaring *centred* values keeps the variance accurate when
    :math:`|\mu| \gg \sigma`, where the textbook shortcut :math:`E[x^2] - E[x]^2`
    cancels catastrophically (float32 data with mean 1e4 and standard deviation
    1 gives it a variance of 0, 8 or -8). The centred tensor is returned because
    every layer needs it next: :math:`\hat{x} = x_c / \sqrt{\sigma^2 + \epsilon}`.

    Args:
        x: input of any shape.
        dims: axes to average over.

    Returns:
        ``(x_c, mean, var)``; ``mean`` and ``var`` keep the reduced axes with size 1,
        so they broadcast against ``x``.
    """
    dims = tuple(dims)
    m = count(x, dims)
    # sums divided by m (not .mean()): the division then acts on the small statistics, also backwards
    mean = x.sum(dim=dims, keepdim=True) / m
    xc = x - mean
    var = xc.square().sum(dim=dims, keepdim=True) / m
    return xc, mean, var


def moments(x: torch.Tensor, dims: Sequence[int], keepdim: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and *biased* variance of ``x`` over ``dims``.

    .. math::

        \mu = \frac{1}{m}\sum x, \qquad \sigma^2 = \frac{1}{m}\sum (x - \mu)^2

    The variance is the biased (``1/m``) one, as in Ioffe & Szegedy's Algorithm 1
    and in PyTorch. It is computed by the numerically careful two-pass algorithm
    of :func:`centred_moments`; the textbook shortcut :math:`E[x^2] - E[x]^2` is
    *not* used because it cancels catastrophically when :math:`|\mu| \gg \sigma`
    (float32 data with mean 1e4 and standard deviation 1 gives a variance of 0
    or a negative number). (``torch.var_mean``, a one-pass Welford algorithm, is
    as careful but on CPU several times slower than the two passes.)

    Args:
        x: input of any shape.
        dims: axes to average over.
        keepdim: keep the reduced axes with size 1, so the results broadcast
            against ``x``.

    Returns:
        ``(mean, var)``, each of ``x``'s shape with ``dims`` reduced.
    """
    _, mean, var = centred_moments(x, dims)
    if not keepdim:
        mean, var = mean.squeeze(tuple(dims)), var.squeeze(tuple(dims))
    return mean, var


def normalize(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, eps: float) -> torch.Tensor:
    r""":math:`\hat{x} = (x - \mu) / \sqrt{\sigma^2 + \epsilon}`, with ``eps`` inside the square root.

    ``mean`` and ``var`` must broadcast against ``x``.
    """
    return (x - mean) * torch.rsqrt(var + eps)


def unbiased(var: torch.Tensor, m: int) -> torch.Tensor:
    r"""Bessel's correction: :math:`\frac{m}{m-1}\sigma^2_{\text{biased}}` (the running estimate uses it)."""
    return var * (m / (m - 1)) if m > 1 else var


@torch.no_grad()
def update_running(
    running: torch.Tensor, batch_value: torch.Tensor, momentum: float
) -> None:
    r"""Exponential moving average, in place and outside autograd.

    .. math:: \text{running} \leftarrow (1 - \text{momentum})\,\text{running} + \text{momentum}\cdot\text{batch}

    This is PyTorch's convention; Keras writes the same average with
    ``momentum_keras = 1 - momentum`` (PyTorch's 0.1 is Keras's 0.9, and Keras's
    default 0.99 is PyTorch's 0.01). A cumulative average is the special case
    ``momentum = 1 / number_of_batches_seen``.
    """
    running.mul_(1.0 - momentum).add_(batch_value.detach().to(running.dtype), alpha=momentum)


class NormalizeManualBackward(torch.autograd.Function):
    r""":math:`\hat{x} = (x-\mu)/\sqrt{\sigma^2+\epsilon}` with a hand-derived backward pass.

    With :math:`g = \partial L / \partial \hat{x}`, :math:`s = 1/\sqrt{\sigma^2+\epsilon}`
    and means taken over the same set :math:`\mathcal{S}` as the statistics, the
    chain rule through :math:`\mu` and :math:`\sigma^2` collapses to

    .. math::

        \frac{\partial L}{\partial x} = s\left(g - \overline{g} - \hat{x}\,\overline{g\hat{x}}\right)

    (derived in the batch normalization chapter). Only ``xhat`` and ``s`` are
    saved, so the backward pass costs two reductions and a few element-wise
    operations. Forward returns ``(xhat, mean, var)``; the statistics are outputs
    without gradient (they feed the running estimates).

    Usage: ``xhat, mean, var = NormalizeManualBackward.apply(x, dims, eps)``.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, dims: tuple[int, ...], eps: float):
        xc, mean, var = centred_moments(x, dims)
        inv_std = torch.rsqrt(var + eps)
        xhat = xc.mul_(inv_std)  # x_c is not needed any more: scale it in place
        ctx.dims = dims
        ctx.save_for_backward(xhat, inv_std)
        ctx.mark_non_differentiable(mean, var)
        return xhat, mean, var

    @staticmethod
    @torch.autograd.function.once_differentiable  # xhat, s are saved as constants: no second derivatives
    def backward(ctx, grad_xhat: torch.Tensor, _grad_mean, _grad_var):
        xhat, inv_std = ctx.saved_tensors
        dims = ctx.dims
        mean_g = grad_xhat.mean(dim=dims, keepdim=True)
        mean_gx = (grad_xhat * xhat).mean(dim=dims, keepdim=True)
        # s * (g - mean(g) - xhat * mean(g xhat)), in three passes over the data
        grad_x = torch.addcmul(grad_xhat - mean_g, xhat, mean_gx, value=-1.0)
        return grad_x.mul_(inv_std), None, None
