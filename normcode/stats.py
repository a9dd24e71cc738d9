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

:func:`normalize_affine` is the shared computation of the four core layers,
:math:`y = \gamma\hat{x} + \beta`, with two interchangeable backward passes:
autograd through the plain formula (the readable reference, twice
differentiable) or the hand-derived :class:`NormalizeAffine` (the fast default).
Without the mean (:func:`mean_square`) the same core is RMS normalization.
It also holds what makes the layers drop-ins for PyTorch's: statistics of
float16/bfloat16 inputs in float32 (:func:`compute_dtype`), ``torch.func`` and
forward-mode AD (:func:`normalize_affine`), accurate sums over very long rows
(:func:`_sum_of_squares`).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch

__all__ = [
    "reduction_dims",
    "moments",
    "centred_moments",
    "mean_square",
    "normalize",
    "count",
    "unbiased",
    "update_running",
    "scale_and_shift",
    "normalize_affine",
    "normalize_with_estimates",
    "compute_dtype",
    "NormalizeAffine",
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


def mean_square(x: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
    r"""The mean square :math:`\frac{1}{m}\sum x^2` over ``dims`` (kept): RMS normalization's statistic.

    It is the variance of :func:`centred_moments` without the centring
    (:math:`\mu` taken as 0), so RMS normalization is the core without the mean.
    """
    dims = tuple(dims)
    return x.square().sum(dim=dims, keepdim=True) / count(x, dims)


def _statistics(x: torch.Tensor, dims: tuple[int, ...], centre: bool):
    """``(x_c, mean, var)`` of :func:`centred_moments`; without ``centre``, ``(x, 0, mean square)``."""
    if centre:
        return centred_moments(x, dims)
    var = mean_square(x, dims)
    return x, torch.zeros_like(var), var


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


def update_running(
    running: torch.Tensor, batch_value: torch.Tensor, momentum: float
) -> None:
    r"""Exponential moving average, in place and outside autograd.

    .. math:: \text{running} \leftarrow (1 - \text{momentum})\,\text{running} + \text{momentum}\cdot\text{batch}

    This is PyTorch's convention; Keras writes the same average with
    ``momentum_keras = 1 - momentum`` (PyTorch's 0.1 is Keras's 0.9, and Keras's
    default 0.99 is PyTorch's 0.01). A cumulative average is the special case
    ``momentum = 1 / number_of_batches_seen``.

    Computed as one linear interpolation, ``running.lerp_(batch, momentum)``
    (:math:`\text{running} + \text{momentum}\,(\text{batch} - \text{running})`, the same
    average); ``batch`` is detached, so autograd records nothing.
    """
    running.lerp_(batch_value.detach().to(running.dtype), momentum)


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


# --------------------------------------------------------------------------- the fast path


def scale_and_shift(xc: torch.Tensor, var: torch.Tensor, eps: float, weight: Optional[torch.Tensor],
                    bias: Optional[torch.Tensor]) -> torch.Tensor:
    r""":math:`y = \gamma\,x_c / \sqrt{\sigma^2+\epsilon} + \beta`, through autograd (the readable reference).

    ``xc`` is the centred input :math:`x-\mu`; ``var``, ``weight`` (γ) and ``bias`` (β)
    broadcast against it (either parameter may be ``None``). The factor
    :math:`\gamma/\sqrt{\sigma^2+\epsilon}` is formed first, so the large tensor is
    touched by one multiply-add.
    """
    scale = torch.rsqrt(var + eps)  # 1 / sqrt(var + eps), eps inside the square root
    if weight is not None:
        scale = scale * weight
    if bias is None:
        return xc * scale
    return torch.addcmul(bias, xc, scale)


def _sum(t: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """Sum over ``dims`` keeping them; over no axes, ``t`` itself (``t.sum(dim=())`` would sum everything)."""
    return t.sum(dim=dims, keepdim=True) if dims else t


#: Length of the blocks in which :func:`_sum_of_squares` sums a long row (see there).
_ROW_BLOCK = 4096


def _sum_of_squares(xc: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    r""":math:`\sum x_c^2` over ``dims`` (kept).

    When the last (contiguous) axis is among ``dims`` it is reduced first, as
    squared Euclidean norms of the rows (one fast pass, no input-sized
    :math:`x_c^2`), and the few remaining sums run on the small result. Otherwise
    (batch norm on ``(N, C)``) ``vector_norm`` would walk a strided axis, which is
    slow: the plain sum of squares is used.

    ``vector_norm`` accumulates a row in a few running float32 sums, so on a very
    long row (millions of values) it loses digits: the relative error grows with
    the row's length (4e-4 on 9.4M values). A row longer than ``_ROW_BLOCK``
    values is therefore cut into blocks of that length; each block's norm is
    accurate, and the few block sums are added by ``torch.sum``, whose pairwise
    summation keeps the float32 error at about 1e-7 — as accurate as PyTorch's own
    kernels, at the same speed.
    """
    last = xc.dim() - 1
    if last not in dims:
        return xc.square().sum(dim=dims, keepdim=True)
    length = xc.shape[-1]
    if length <= _ROW_BLOCK:
        per_row = torch.linalg.vector_norm(xc, dim=-1, keepdim=True).square()
    else:
        head = length - length % _ROW_BLOCK  # whole blocks, then the remainder
        blocks = xc[..., :head].unflatten(-1, (-1, _ROW_BLOCK))
        per_row = torch.linalg.vector_norm(blocks, dim=-1).square().sum(-1, keepdim=True)
        if head < length:
            per_row = per_row + torch.linalg.vector_norm(xc[..., head:], dim=-1, keepdim=True).square()
    return _sum(per_row, tuple(d for d in dims if d != last))


def _sum_product(a: torch.Tensor, b: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    r""":math:`\sum a\,b` over ``dims`` (kept); ``b`` is small and broadcasts against ``a``.

    For a matrix ``a`` (layer norm's ``(N, D)`` view) and a column or row vector
    ``b`` this is a matrix-vector product, which needs no ``a``-sized temporary.
    """
    if a.dim() == 2 and dims == (0,) and b.shape == (a.shape[0], 1):
        return b.mT @ a                      # (1, N) @ (N, D): sum over the rows, weighted by b
    if a.dim() == 2 and dims == (1,) and b.numel() == a.shape[1] and b.shape[-1] == a.shape[1]:
        return a @ b.reshape(-1, 1)          # (N, D) @ (D, 1): sum over the columns, weighted by b
    return _sum(a * b, dims)


def _times_gamma_s(t: torch.Tensor, inv_std: torch.Tensor, weight: Optional[torch.Tensor],
                   out: Optional[torch.Tensor] = None) -> torch.Tensor:
    r""":math:`t\cdot\gamma s` (into ``out`` if given), with :math:`s = 1/\sqrt{\sigma^2+\epsilon}`.

    When :math:`\gamma s` is small (per channel, or per example and channel) it is
    formed first and ``t`` is multiplied once; when it would be as large as ``t``
    (layer norm: γ per element, s per example) ``t`` is multiplied by each in turn.
    """
    if weight is None:
        return torch.mul(t, inv_std, out=out)
    if _broadcast_numel(weight, inv_std) < t.numel():
        return torch.mul(t, weight * inv_std, out=out)
    return torch.mul(t, inv_std, out=out).mul_(weight)


def _broadcast_numel(a: torch.Tensor, b: torch.Tensor) -> int:
    """Number of elements of ``a * b`` (shapes aligned from the right, as broadcasting does)."""
    n = max(a.dim(), b.dim())
    sa, sb = (1,) * (n - a.dim()) + tuple(a.shape), (1,) * (n - b.dim()) + tuple(b.shape)
    return math.prod(max(p, q) for p, q in zip(sa, sb))


def _param_dims(weight: Optional[torch.Tensor], bias: Optional[torch.Tensor], ndim: int) -> tuple[int, ...]:
    """Axes along which γ and β are broadcast (their gradients sum over these)."""
    p = weight if weight is not None else bias
    if p is None:
        return ()
    shape = (1,) * (ndim - p.dim()) + tuple(p.shape)  # broadcasting aligns shapes from the right
    return tuple(d for d in range(ndim) if shape[d] == 1)


class NormalizeAffine(torch.autograd.Function):
    r""":math:`y = \gamma\hat{x} + \beta` over any reduction axes, with a hand-derived backward pass.

    Forward: :math:`\mu`, :math:`x_c = x-\mu`, :math:`\sigma^2 = \frac{1}{m}\sum x_c^2`,
    :math:`s = 1/\sqrt{\sigma^2+\epsilon}` and :math:`y = x_c\,(\gamma s) + \beta`; only
    :math:`x_c` and :math:`s` are kept for the backward pass (:math:`\hat{x} = x_c s`).

    Backward, with :math:`g = \partial L/\partial y`, sums :math:`\sum_{\mathcal{S}}`
    over the :math:`m` values that share a statistic and :math:`\sum_{\text{params}}`
    over the axes along which γ and β are broadcast:

    .. math::

        \frac{\partial L}{\partial\beta} = \sum_{\text{params}} g,\qquad
        \frac{\partial L}{\partial\gamma} = \sum_{\text{params}} g\,\hat{x},\qquad
        \frac{\partial L}{\partial x} = A\,g + B\,x_c + C,

    .. math::

        A = \gamma s,\qquad
        B = -\frac{s^2}{m}\sum_{\mathcal{S}}\gamma g\hat{x} = -\frac{s^3}{m}\sum_{\mathcal{S}}\gamma g\,x_c,\qquad
        C = -\frac{s}{m}\sum_{\mathcal{S}}\gamma g,

    which is :math:`s\,(\gamma g - \overline{\gamma g} - \hat{x}\,\overline{\gamma g\hat{x}})`
    (:class:`NormalizeManualBackward`, for :math:`g = \partial L/\partial\hat{x}`)
    with γ folded in. :math:`A, B, C` are small (per channel for batch norm, per
    example and channel for instance and group norm, per example for layer norm),
    so :math:`\partial L/\partial x` costs one multiply and two in-place updates.
    The sums are taken first over the axes shared by the statistics and the
    parameters (``inner``), once, and reused for both.

    Without centring (``centre=False``, RMS normalization) :math:`\mu = 0`,
    :math:`x_c = x`, :math:`\sigma^2` is the mean square and :math:`C = 0`: the
    same equations without the mean.

    Usage: ``y, mean, var = NormalizeAffine.apply(x, weight, bias, dims, eps, double_backward, centre)``.
    ``weight`` and ``bias`` (or ``None``) must already broadcast against ``x``
    (aligned from the right, e.g. ``(C,)`` against ``(N, C)``);
    ``dims`` are non-negative axes. ``mean`` and ``var`` (biased) are outputs
    without gradient. The hand-derived backward treats :math:`x_c` and :math:`s`
    as constants, so it has no derivative of its own: with
    ``double_backward=False`` a second derivative raises an error; with ``True``
    a backward pass that must itself be differentiable (``create_graph=True``)
    is done by autograd through :func:`scale_and_shift` instead, so double
    backward works as on the readable path.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, dims, eps, double_backward, centre=True):
        m = count(x, dims)
        if centre:
            mean = x.mean(dim=dims, keepdim=True)                # mu = sum(x) / m
            xc = x - mean                                        # x_c = x - mu
        else:                                                    # RMS normalization: mu = 0, x_c = x
            xc = x
        var = _sum_of_squares(xc, dims) / m                      # sigma^2 = sum(x_c^2) / m (biased)
        if not centre:
            mean = torch.zeros_like(var)
        inv_std = torch.rsqrt(var + eps)                         # s = 1 / sqrt(sigma^2 + eps)
        y = _times_gamma_s(xc, inv_std, weight)                  # gamma s x_c = gamma x_hat
        if bias is not None:
            y.add_(bias)                                         # + beta
        ctx.dims, ctx.m, ctx.eps, ctx.double_backward, ctx.centre = dims, m, eps, double_backward, centre
        ctx.param_dims = _param_dims(weight, bias, x.dim())
        ctx.save_for_backward(x, weight, bias, xc, inv_std)      # x and bias: only for double backward
        ctx.mark_non_differentiable(mean, var)
        ctx.set_materialize_grads(False)  # no zero-filled gradients for mean and var
        return y, mean, var

    @staticmethod
    def backward(ctx, grad_y, _grad_mean, _grad_var):
        if grad_y is None:  # y did not reach the loss (gradients are not materialised as zeros)
            return None, None, None, None, None, None, None
        if ctx.double_backward and torch.is_grad_enabled():     # create_graph=True: a 2nd derivative follows
            return _backward_through_autograd(ctx, grad_y)
        return _hand_derived_backward(ctx, grad_y)


@torch.autograd.function.once_differentiable  # x_c and s are used as constants: no second derivatives
def _hand_derived_backward(ctx, g):
    """The backward pass of :class:`NormalizeAffine` (equations in its docstring)."""
    _, weight, bias, xc, s = ctx.saved_tensors
    dims, m = ctx.dims, ctx.m
    inner = tuple(d for d in dims if d in ctx.param_dims)        # axes shared by statistics and parameters
    outer_params = tuple(d for d in ctx.param_dims if d not in inner)
    outer_stats = tuple(d for d in dims if d not in inner)
    buf = torch.mul(g, xc)                                       # g x_c; its storage becomes dx below
    sum_g = _sum(g, inner)                                       # partial sums of g
    sum_gxc = _sum(buf, inner)                                   # partial sums of g x_c
    grad_weight = grad_bias = None
    if bias is not None and ctx.needs_input_grad[2]:
        grad_bias = _sum(sum_g, outer_params).reshape(bias.shape)                   # dbeta = sum g
    if weight is not None and ctx.needs_input_grad[1]:
        grad_weight = _sum_product(sum_gxc, s, outer_params).reshape(weight.shape)  # dgamma = sum g x_hat
    if not ctx.needs_input_grad[0]:
        return None, grad_weight, grad_bias, None, None, None, None
    if weight is None:
        sum_gamma_g, sum_gamma_gxc = _sum(sum_g, outer_stats), _sum(sum_gxc, outer_stats)
    else:
        sum_gamma_g = _sum_product(sum_g, weight, outer_stats)                      # sum_S gamma g
        sum_gamma_gxc = _sum_product(sum_gxc, weight, outer_stats)                  # sum_S gamma g x_c
    coef_xc = sum_gamma_gxc * (s * s * s * (-1.0 / m))           # B = -(s^2/m) sum_S gamma g x_hat
    const = sum_gamma_g * (s * (-1.0 / m))                       # C = -(s/m) sum_S gamma g
    # under vmap (batched gradients: torch.func, gradcheck's check_batched_grad) `g` is a batched tensor,
    # and vmap has no rule for writing into `out=`: a fresh tensor then receives A g
    batched = (torch._C._are_functorch_transforms_active() or torch._C._functorch.is_batchedtensor(g)
               or torch._C._functorch.is_legacy_batchedtensor(g))
    out = None if batched else buf
    grad_x = _times_gamma_s(g, s, weight, out=out)               # A g = gamma s g
    grad_x.addcmul_(xc, coef_xc)                                 # + B x_c
    if ctx.centre:
        grad_x.add_(const)                                       # + C (0 without centring: no mean)
    return grad_x, grad_weight, grad_bias, None, None, None, None


def _backward_through_autograd(ctx, grad_y):
    """Gradients by autograd through the readable formula, recomputed from the saved input (twice differentiable)."""
    x, weight, bias, _, _ = ctx.saved_tensors
    needs = ctx.needs_input_grad[:3]
    inputs = [t for t, need in zip((x, weight, bias), needs) if need]
    xc, _, var = _statistics(x, ctx.dims, ctx.centre)
    y = scale_and_shift(xc, var, ctx.eps, weight, bias)
    grads = iter(torch.autograd.grad(y, inputs, grad_y, create_graph=True))
    return tuple(next(grads) if need else None for need in needs) + (None, None, None, None)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the statistics are computed in: float32 for float16 and bfloat16 inputs, else the input's own.

    A float16 sum of a few thousand values overflows (its largest value is
    65504) and bfloat16 keeps 8 significant bits, so a mean or a variance
    accumulated in either loses most of its digits. PyTorch's kernels accumulate
    in float32 and round only the output; normcode does the same.
    """
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _composable_path_needed(*tensors: Optional[torch.Tensor]) -> bool:
    """True under a ``torch.func`` transform or when a tensor carries a forward-mode tangent.

    The hand-derived backward of :class:`NormalizeAffine` is a reverse-mode rule
    only: it has no forward-mode (``jvp``) rule and no batching rule for its
    forward. In those cases the plain formula, which every PyTorch transform
    understands, is used instead (same values).
    """
    if torch._C._are_functorch_transforms_active():
        return True
    if torch.autograd.forward_ad._current_level < 0:  # no dual_level open: no tangents anywhere
        return False
    return any(t is not None and torch.autograd.forward_ad.unpack_dual(t).tangent is not None for t in tensors)


def normalize_affine(x: torch.Tensor, weight: Optional[torch.Tensor], bias: Optional[torch.Tensor],
                     dims: Sequence[int], eps: float, manual_backward: Optional[bool] = None,
                     centre: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r""":math:`y = \gamma\,(x-\mu)/\sqrt{\sigma^2+\epsilon} + \beta` with statistics over ``dims``; returns ``(y, mean, var)``.

    ``weight`` and ``bias`` (or ``None``) broadcast against ``x``; ``mean`` and
    ``var`` (biased) keep the reduced axes. ``manual_backward`` picks the backward pass:

    * ``None`` (default): the hand-derived :class:`NormalizeAffine` (fast); a
      second derivative is still available, by autograd on the plain formula;
    * ``True``: the hand-derived backward only (a second derivative raises);
    * ``False``: autograd through :func:`centred_moments` and :func:`scale_and_shift`,
      the readable reference.

    ``centre=False`` normalises by the root mean square instead (RMS
    normalization): :math:`\mu = 0` and :math:`\sigma^2 = \frac{1}{m}\sum x^2`
    (:func:`mean_square`); ``mean`` is then zeros.

    Two things the layers need beyond the formula are handled here, once:

    * **Precision.** float16 and bfloat16 inputs (and parameters) are computed
      in float32 (:func:`compute_dtype`), as PyTorch does; ``y`` is returned in
      the input's dtype, ``mean`` and ``var`` in float32. So a bfloat16 input
      to a float32 layer (mixed precision) gives a bfloat16 output, and the
      gradients flow back in the dtypes of the input and of the parameters.
    * **torch.func and forward-mode AD.** Under a ``torch.func`` transform
      (``vmap``, ``grad``, ``jvp``, ``jacfwd``, ...) or with forward-mode dual
      tensors, the plain formula is used (:func:`_composable_path_needed`); the
      hand-derived backward itself also runs under ``vmap`` (batched gradients).
    """
    dims = tuple(d % x.dim() for d in dims)
    xs, ws, bs = _in_compute_dtype(x, weight, bias)
    if manual_backward is False or _composable_path_needed(x, weight, bias):
        xc, mean, var = _statistics(xs, dims, centre)
        y = scale_and_shift(xc, var, eps, ws, bs)
    else:
        y, mean, var = NormalizeAffine.apply(xs, ws, bs, dims, eps, manual_backward is None, centre)
    return (y if y.dtype == x.dtype else y.to(x.dtype)), mean, var


def _in_compute_dtype(*tensors: Optional[torch.Tensor]) -> tuple[Optional[torch.Tensor], ...]:
    """The tensors (``None`` kept) cast to :func:`compute_dtype` of the first one; as they are if all have it."""
    acc = compute_dtype(tensors[0].dtype)
    if all(t is None or t.dtype == acc for t in tensors):  # float32/float64: nothing to cast (the common case)
        return tensors
    return tuple(None if t is None else t.to(acc) for t in tensors)


def normalize_with_estimates(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, eps: float,
                             weight: Optional[torch.Tensor], bias: Optional[torch.Tensor]) -> torch.Tensor:
    r""":math:`y = \gamma\,(x-\hat\mu)/\sqrt{\hat\sigma^2+\epsilon} + \beta` with given statistics (evaluation).

    ``mean``, ``var`` (the running estimates), ``weight`` and ``bias`` broadcast
    against ``x``. Computed in :func:`compute_dtype` (float32 for float16 and
    bfloat16) and returned in ``x``'s dtype, like :func:`normalize_affine`.
    """
    xs, mean, var, ws, bs = _in_compute_dtype(x, mean, var, weight, bias)
    y = scale_and_shift(xs - mean, var, eps, ws, bs)
    return y if y.dtype == x.dtype else y.to(x.dtype)
