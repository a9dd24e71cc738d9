r"""Batch, layer, instance and group normalization as functions.

Each function mirrors the signature of its ``torch.nn.functional`` namesake and
is written with plain tensor operations on the statistics core
(:mod:`normcode.stats`); none calls a normalization routine of PyTorch. The
modules (:mod:`normcode.batchnorm`, :mod:`normcode.layernorm`,
:mod:`normcode.instancenorm`, :mod:`normcode.groupnorm`) hold the parameters and
buffers and call these.

All inputs are laid out as ``(N, C, *spatial)``: a batch of ``N`` examples with
``C`` channels (features) and any number of spatial axes (none for an MLP).

Two backward passes, one forward result. Each function takes ``manual_backward``:

* ``None`` (default): the fast path, :class:`normcode.stats.NormalizeAffine`,
  whose backward pass is derived by hand (a second derivative, when asked for
  with ``create_graph=True``, is computed by autograd on the plain formula);
* ``True``: the hand-derived backward only (a second derivative raises an error);
* ``False``: autograd through the formula as written here, step by step: the
  readable reference the book shows.

What a drop-in for ``torch.nn.functional`` needs beyond the formula lives in the
statistics core, not here: float16/bfloat16 statistics computed in float32, and
``torch.func``/forward-mode AD (:func:`normcode.stats.normalize_affine`), and the
evaluation path with running estimates (:func:`normcode.stats.normalize_with_estimates`).
An empty batch gives an empty output (:func:`_empty_batch`).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch

from . import _checks
from .stats import (
    centred_moments,
    compute_dtype,
    count,
    normalize_affine,
    normalize_with_estimates,
    reduction_dims,
    scale_and_shift,
    unbiased,
    update_running,
)

__all__ = ["batch_norm", "layer_norm", "instance_norm", "group_norm", "rms_norm", "affine"]


def affine(xhat: torch.Tensor, weight: Optional[torch.Tensor], bias: Optional[torch.Tensor],
           channel_dim: int = 1) -> torch.Tensor:
    r"""Per-channel scale and shift :math:`y = \gamma \hat{x} + \beta`.

    ``weight`` (γ) and ``bias`` (β) have shape ``(C,)`` and are broadcast along
    ``channel_dim`` of ``xhat`` (shape ``(N, C, *spatial)``). Either may be ``None``.
    """
    shape = [1] * xhat.dim()
    shape[channel_dim] = -1
    if weight is not None and bias is not None:
        return torch.addcmul(bias.reshape(shape), xhat, weight.reshape(shape))  # β + γ·x̂ in one pass
    if weight is not None:
        return xhat * weight.reshape(shape)
    if bias is not None:
        return xhat + bias.reshape(shape)
    return xhat


def _scale_and_shift(xc: torch.Tensor, var: torch.Tensor, eps: float, weight: Optional[torch.Tensor],
                     bias: Optional[torch.Tensor], param_shape: Sequence[int]) -> torch.Tensor:
    r""":math:`y = \gamma\,\frac{x_c}{\sqrt{\sigma^2+\epsilon}} + \beta`, computed as :math:`y = x_c\,s + \beta`.

    ``xc`` is the centred input :math:`x - \mu`; the per-channel factor
    :math:`s = \gamma / \sqrt{\sigma^2+\epsilon}` is formed on the small statistics
    tensors first, so the large input is touched once (and, in the backward pass,
    a few times fewer than with separate steps for :math:`\hat{x}` and for γ).
    ``weight`` and ``bias`` are reshaped to ``param_shape`` to broadcast against ``xc``
    (:func:`normcode.stats.scale_and_shift` does the rest).
    """
    weight = None if weight is None else weight.reshape(param_shape)
    bias = None if bias is None else bias.reshape(param_shape)
    return scale_and_shift(xc, var, eps, weight, bias)


def _channels_view(x: torch.Tensor, *params: Optional[torch.Tensor]):
    r"""``x`` as ``(N, C, L)`` with ``L = prod(spatial)``, and ``(C,)`` parameters as ``(1, C, 1)``.

    The fast path reduces over the contiguous last axis first; the view changes
    no value. An ``(N, C)`` input and its ``(C,)`` parameters, which already
    broadcast, are returned as they are (a view costs a little on small inputs).
    """
    if x.dim() == 2:
        return (x,) + params
    n, c = x.shape[:2]
    length = math.prod(x.shape[2:])  # not -1: an empty batch (N = 0) would leave it undetermined
    return (x.reshape(n, c, length),) + tuple(None if p is None else p.reshape(1, c, 1) for p in params)


def _empty_batch(x: torch.Tensor, weight: Optional[torch.Tensor], bias: Optional[torch.Tensor]) -> torch.Tensor:
    """The output for an input without values (an empty batch): empty, as in PyTorch.

    There are no statistics to compute and nothing to record; the empty output
    still depends on γ and β, so their gradients are zeros rather than ``None``.
    """
    if x.dim() < 2:
        return x.clone()
    shape = [1, -1] + [1] * (x.dim() - 2)
    var = torch.zeros((), dtype=compute_dtype(x.dtype), device=x.device)
    return normalize_with_estimates(x, var, var, 1.0, *(None if p is None else p.reshape(shape) for p in (weight, bias)))


def batch_norm(
    x: torch.Tensor,
    running_mean: Optional[torch.Tensor],
    running_var: Optional[torch.Tensor],
    weight: Optional[torch.Tensor] = None,
    bias: Optional[torch.Tensor] = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
    manual_backward: Optional[bool] = None,
) -> torch.Tensor:
    r"""Batch normalization (Ioffe & Szegedy, 2015, arXiv:1502.03167).

    .. math::

        \mu_c = \frac{1}{m}\sum_{n,s} x_{n,c,s},\quad
        \sigma^2_c = \frac{1}{m}\sum_{n,s}(x_{n,c,s}-\mu_c)^2,\quad
        y_{n,c,s} = \gamma_c\,\frac{x_{n,c,s}-\mu_c}{\sqrt{\sigma^2_c+\epsilon}} + \beta_c

    with :math:`m = N \cdot \prod \text{spatial}` values per channel.

    In training (``training=True``) the batch statistics normalise the input and,
    if running buffers are given, update them in place with the *unbiased*
    variance :math:`\frac{m}{m-1}\sigma^2_c`. In evaluation the running
    estimates normalise the input instead (or the batch statistics, when the
    buffers are ``None``, as with ``track_running_stats=False``).

    Args:
        x: input ``(N, C, *spatial)``, floating point.
        running_mean, running_var: buffers ``(C,)`` or ``None``.
        weight, bias: γ and β, ``(C,)`` or ``None``.
        training: use (and record) batch statistics.
        momentum: factor of the moving average,
            ``running = (1 - momentum) * running + momentum * batch``.
        eps: added to the variance inside the square root; must be positive.
        manual_backward: ``None`` (default): fast hand-derived backward pass
            (:class:`normcode.stats.NormalizeAffine`), twice differentiable;
            ``True``: the hand-derived pass only (once differentiable);
            ``False``: autograd through the formula below (the readable path).

    Returns:
        Tensor of the same shape as ``x``.
    """
    _checks.check_floating(x, "batch_norm")
    if x.numel() == 0:  # an empty batch: an empty output, running estimates untouched (as in PyTorch)
        return _empty_batch(x, weight, bias)
    _checks.check_min_dims(x, 2, "batch_norm", "(N, C, *spatial)")
    _checks.check_eps(eps)
    dims = reduction_dims("batch", x.dim())
    shape = [1, -1] + [1] * (x.dim() - 2)  # (C,) parameters and statistics broadcast along dim 1
    use_batch_stats = training or running_mean is None or running_var is None
    if use_batch_stats:
        m = count(x, dims)
        if training and m <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training: batch normalization needs them to "
                f"compute a variance, got input of shape {tuple(x.shape)}; use a batch of at least 2 examples, "
                f"call model.eval() to normalise with the running estimates, or use a per-example "
                f"normalization (layer or group norm) that does not depend on the batch."
            )
        if manual_backward is False:  # the readable path: autograd through each step
            xc, mean, var = centred_moments(x, dims)  # mu_c, sigma^2_c (biased), x - mu_c
            y = _scale_and_shift(xc, var, eps, weight, bias, shape)
        else:  # the fast path: the same statistics on an (N, C, L) view, hand-derived backward
            view, w, b = _channels_view(x, weight, bias)
            view_dims = (0,) if view.dim() == 2 else (0, 2)  # N (and L): all but the channel axis
            y, mean, var = normalize_affine(view, w, b, view_dims, eps, manual_backward)
            y = y if view is x else y.reshape(x.shape)
        _checks.check_finite_stats(mean, var, "batch_norm")
        if training and running_mean is not None and running_var is not None:
            update_running(running_mean, mean.flatten(), momentum)
            update_running(running_var, unbiased(var.flatten(), m), momentum)
        return y
    _checks.check_finite_input(x, "batch_norm")
    return normalize_with_estimates(x, running_mean.reshape(shape), running_var.reshape(shape), eps,
                                    *(None if p is None else p.reshape(shape) for p in (weight, bias)))


def instance_norm(
    x: torch.Tensor,
    running_mean: Optional[torch.Tensor] = None,
    running_var: Optional[torch.Tensor] = None,
    weight: Optional[torch.Tensor] = None,
    bias: Optional[torch.Tensor] = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
    manual_backward: Optional[bool] = None,
) -> torch.Tensor:
    r"""Instance normalization (Ulyanov et al., 2016, arXiv:1607.08022).

    .. math::

        \mu_{n,c} = \frac{1}{m}\sum_{s} x_{n,c,s},\quad
        y_{n,c,s} = \gamma_c\,\frac{x_{n,c,s}-\mu_{n,c}}{\sqrt{\sigma^2_{n,c}+\epsilon}} + \beta_c

    with :math:`m = \prod \text{spatial}`: each example's channel is normalised
    on its own. When ``use_input_stats`` and buffers are given, the buffers
    track the per-instance statistics averaged over the batch (unbiased
    variance), as PyTorch does; with ``use_input_stats=False`` they normalise.

    Args:
        x: input ``(N, C, *spatial)`` with at least one spatial axis.
        running_mean, running_var: optional buffers ``(C,)``.
        weight, bias: optional γ, β ``(C,)``.
        use_input_stats: normalise with this input's statistics.
        momentum, eps, manual_backward: as in :func:`batch_norm`.

    Returns:
        Tensor of the same shape as ``x``.
    """
    _checks.check_floating(x, "instance_norm")
    _checks.check_min_dims(x, 3, "instance_norm", "(N, C, *spatial) with at least one spatial axis")
    _checks.check_eps(eps)
    if x.numel() == 0:  # an empty batch: an empty output, running estimates untouched
        return _empty_batch(x, weight, bias)
    dims = reduction_dims("instance", x.dim())
    shape = [1, -1] + [1] * (x.dim() - 2)
    if use_input_stats or running_mean is None or running_var is None:
        m = count(x, dims)
        if use_input_stats and m <= 1:
            raise ValueError(
                f"Expected more than 1 spatial element when training: instance normalization normalises each "
                f"channel of each example over its spatial positions, got input of shape "
                f"{tuple(x.shape)}; each (example, channel) pair is normalised over its spatial positions, so "
                f"with one position every output would be 0. Use batch or layer normalization for inputs "
                f"without spatial extent."
            )
        if manual_backward is False:  # the readable path: autograd through each step
            xc, mean, var = centred_moments(x, dims)  # one (mu, sigma^2) per (example, channel)
            y = _scale_and_shift(xc, var, eps, weight, bias, shape)
        else:  # the fast path: statistics over the last axis of an (N, C, L) view, hand-derived backward
            view, w, b = _channels_view(x, weight, bias)
            y, mean, var = normalize_affine(view, w, b, (2,), eps, manual_backward)
            y = y.reshape(x.shape)
        _checks.check_finite_stats(mean, var, "instance_norm")
        if use_input_stats and running_mean is not None and running_var is not None:
            n, c = x.shape[:2]
            update_running(running_mean, mean.reshape(n, c).mean(0), momentum)
            update_running(running_var, unbiased(var.reshape(n, c), m).mean(0), momentum)
        return y
    _checks.check_finite_input(x, "instance_norm")
    return normalize_with_estimates(x, running_mean.reshape(shape), running_var.reshape(shape), eps,
                                    *(None if p is None else p.reshape(shape) for p in (weight, bias)))


def layer_norm(
    x: torch.Tensor,
    normalized_shape: Union[int, Sequence[int]],
    weight: Optional[torch.Tensor] = None,
    bias: Optional[torch.Tensor] = None,
    eps: float = 1e-5,
    manual_backward: Optional[bool] = None,
) -> torch.Tensor:
    r"""Layer normalization (Ba, Kiros & Hinton, 2016, arXiv:1607.06450).

    .. math::

        \mu = \frac{1}{H}\sum_{i=1}^{H} x_i,\quad
        \sigma^2 = \frac{1}{H}\sum_{i=1}^{H}(x_i-\mu)^2,\quad
        y_i = \gamma_i\,\frac{x_i-\mu}{\sqrt{\sigma^2+\epsilon}} + \beta_i

    over the last ``len(normalized_shape)`` axes, :math:`H` values per example.
    Unlike the other layers, γ and β are element-wise, of shape ``normalized_shape``.
    Training and evaluation compute the same thing.

    Args:
        x: input ``(*, *normalized_shape)``.
        normalized_shape: trailing shape to normalise over.
        weight, bias: optional γ, β of shape ``normalized_shape``.
        eps: added to the variance inside the square root.
        manual_backward: as in :func:`batch_norm`.

    Returns:
        Tensor of the same shape as ``x``.
    """
    _checks.check_floating(x, "layer_norm")
    _checks.check_eps(eps)
    shape = _checks.check_normalized_shape(x, normalized_shape, "layer_norm", weight)
    k = len(shape)
    if manual_backward is not False:  # the fast path: an (examples, H) matrix, one row per example
        h = count(x, range(x.dim() - k, x.dim()))
        # gamma, beta as vectors of length H (already 1-D: used as they are, which saves a view node)
        w, b = (p if p is None or p.dim() == 1 else p.reshape(h) for p in (weight, bias))
        rows = x if x.dim() == 2 and k == 1 else x.reshape(-1, h)
        y, mean, var = normalize_affine(rows, w, b, (1,), eps, manual_backward)
        _checks.check_finite_stats(mean, var, "layer_norm")
        return y if rows is x else y.reshape(x.shape)
    # the readable path: autograd through each step
    dims = tuple(range(x.dim() - k, x.dim()))
    xc, mean, var = centred_moments(x, dims)
    _checks.check_finite_stats(mean, var, "layer_norm")
    xhat = xc * torch.rsqrt(var + eps)
    if weight is not None and bias is not None:
        return torch.addcmul(bias, xhat, weight)  # element-wise gamma, beta of shape normalized_shape
    if weight is not None:
        return xhat * weight
    if bias is not None:
        return xhat + bias
    return xhat


def group_norm(
    x: torch.Tensor,
    num_groups: int,
    weight: Optional[torch.Tensor] = None,
    bias: Optional[torch.Tensor] = None,
    eps: float = 1e-5,
    manual_backward: Optional[bool] = None,
) -> torch.Tensor:
    r"""Group normalization (Wu & He, 2018, arXiv:1803.08494).

    The ``C`` channels are split into ``num_groups`` contiguous blocks of
    ``C/G`` channels; each example's block is normalised over its channels and
    spatial positions:

    .. math::

        \mu_{n,g} = \frac{1}{m}\sum_{c\in g,\,s} x_{n,c,s},\quad
        y_{n,c,s} = \gamma_c\,\frac{x_{n,c,s}-\mu_{n,g(c)}}{\sqrt{\sigma^2_{n,g(c)}+\epsilon}} + \beta_c

    with :math:`m = (C/G)\prod\text{spatial}`. ``G = 1`` is layer normalization
    over ``(C, *spatial)`` (with per-channel γ, β) and ``G = C`` is instance
    normalization.

    Args:
        x: input ``(N, C, *spatial)``.
        num_groups: ``G``; must divide ``C``.
        weight, bias: optional γ, β ``(C,)``.
        eps: added to the variance inside the square root.
        manual_backward: as in :func:`batch_norm`.

    Returns:
        Tensor of the same shape as ``x``.
    """
    _checks.check_floating(x, "group_norm")
    _checks.check_min_dims(x, 2, "group_norm", "(N, C, *spatial)")
    _checks.check_eps(eps)
    n, c = x.shape[:2]
    _checks.check_groups(c, num_groups, x.shape)
    length = math.prod(x.shape[2:])
    if n * (c // num_groups) * length == 1:  # PyTorch's rule: one value in all, in training or not
        raise ValueError(
            f"Expected more than 1 value per channel when training: group_norm with num_groups={num_groups} "
            f"got input of shape {tuple(x.shape)}, whose only group holds one value (its output would be "
            f"beta); use fewer groups (num_groups divides C={c}), a larger batch, or more positions."
        )
    # (N, G, C/G, prod(spatial)): contiguous blocks of C/G channels, statistics over the last two axes
    grouped = x.reshape(n, num_groups, c // num_groups, length)
    param_shape = (1, num_groups, c // num_groups, 1)
    if manual_backward is False:  # the readable path: autograd through each step
        xc, mean, var = centred_moments(grouped, (2, 3))
        y = _scale_and_shift(xc, var, eps, weight, bias, param_shape)
    else:  # the fast path: same view and statistics, hand-derived backward
        w, b = (None if p is None else p.reshape(param_shape) for p in (weight, bias))
        y, mean, var = normalize_affine(grouped, w, b, (2, 3), eps, manual_backward)
    _checks.check_finite_stats(mean, var, "group_norm")
    return y.reshape(x.shape)


def rms_norm(
    x: torch.Tensor,
    normalized_shape: Union[int, Sequence[int]],
    weight: Optional[torch.Tensor] = None,
    eps: Optional[float] = None,
    manual_backward: Optional[bool] = None,
) -> torch.Tensor:
    r"""Root-mean-square normalization (Zhang & Sennrich, 2019, arXiv:1910.07467).

    .. math::

        \mathrm{RMS}(x) = \sqrt{\frac{1}{H}\sum_{i=1}^{H} x_i^2 + \epsilon},\qquad
        y_i = \frac{x_i}{\mathrm{RMS}(x)}\,\gamma_i

    over the last ``len(normalized_shape)`` axes, :math:`H` values per example:
    layer normalization without the mean (no centring, no β). It is the
    statistics core with :math:`\mu = 0` (:func:`normcode.stats.mean_square`).

    Args:
        x: input ``(*, *normalized_shape)``.
        normalized_shape: trailing shape to normalise over.
        weight: optional γ of shape ``normalized_shape``.
        eps: added to the mean square inside the square root; ``None`` (default)
            is ``torch.finfo(dtype).eps`` of the dtype the statistics are computed
            in (float32 for float16 and bfloat16 inputs), as in PyTorch.
        manual_backward: as in :func:`batch_norm`.

    Returns:
        Tensor of the same shape as ``x``.
    """
    _checks.check_floating(x, "rms_norm")
    shape = _checks.check_normalized_shape(x, normalized_shape, "rms_norm", weight)
    if eps is None:
        eps = torch.finfo(compute_dtype(x.dtype)).eps
    _checks.check_eps(eps)
    k = len(shape)
    if manual_backward is not False:  # the fast path: an (examples, H) matrix, one row per example
        h = math.prod(shape)
        w = weight if weight is None or weight.dim() == 1 else weight.reshape(h)
        rows = x if x.dim() == 2 and k == 1 else x.reshape(-1, h)
        y, _, ms = normalize_affine(rows, w, None, (1,), eps, manual_backward, centre=False)
        _checks.check_finite_stats(ms, ms, "rms_norm")
        return y if rows is x else y.reshape(x.shape)
    # the readable path: autograd through each step
    dims = tuple(range(x.dim() - k, x.dim()))
    ms = x.square().sum(dim=dims, keepdim=True) / count(x, dims)   # mean square over the last k axes
    _checks.check_finite_stats(ms, ms, "rms_norm")
    xhat = x * torch.rsqrt(ms + eps)
    return xhat if weight is None else xhat * weight
