r"""Weight normalization and mean-only batch normalization (Salimans & Kingma, 2016, arXiv:1602.07868).

Batch normalization normalises the *activations* :math:`y = w \cdot x + b`;
weight normalization normalises the *weights* instead. Each output unit's weight
vector is rewritten as a magnitude times a direction,

.. math::

    w = g\,\frac{v}{\lVert v \rVert},

and the network is trained with respect to :math:`g` (a scalar per output unit)
and :math:`v` (a vector of the same shape as :math:`w`). The norm of :math:`w` is
now :math:`|g|`, whatever :math:`v` is, so the optimiser can change the length
and the direction of a weight vector separately. Nothing depends on the batch:
training and inference compute the same thing, a batch of one is fine, and the
cost is that of normalising the *weights*, which are usually far fewer than the
activations.

The gradient with respect to :math:`v` is

.. math::

    \nabla_v L = \frac{g}{\lVert v\rVert}\Bigl(I - \frac{v v^\top}{\lVert v\rVert^2}\Bigr)\nabla_w L,

the gradient for :math:`w`, scaled by :math:`g/\lVert v\rVert` and projected
away from :math:`v`. It is orthogonal to :math:`v`, so (for plain gradient
descent) :math:`\lVert v\rVert` can only grow, which automatically lowers the
effective learning rate of a noisy direction.

**Data-dependent initialisation.** Because nothing normalises the activations,
the paper initialises :math:`g` and :math:`b` from one batch so that every
pre-activation starts with mean 0 and variance 1 (:func:`data_dependent_init_`):
with :math:`t = v\cdot x/\lVert v\rVert`,

.. math::

    g \leftarrow \frac{1}{\sigma[t]}, \qquad b \leftarrow -\frac{\mu[t]}{\sigma[t]}.

**Mean-only batch normalization.** The paper pairs weight normalization with a
batch normalization that only subtracts the batch mean (and adds a bias),
:math:`y = x - \mu_B + \beta` (:class:`MeanOnlyBatchNorm`). Centring needs no
division by a noisy standard deviation, so the noise it adds is gentler than
full batch normalization's.

The parametrization here is registered with
:func:`torch.nn.utils.parametrize.register_parametrization`, exactly like
``torch.nn.utils.parametrizations.weight_norm``, and keeps PyTorch's names
(``parametrizations.weight.original0`` is :math:`g`, ``original1`` is :math:`v`),
so a ``state_dict`` moves between the two.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torch.nn.utils import parametrize

from . import _checks
from .functional import affine
from .stats import count, moments, reduction_dims, update_running

__all__ = ["WeightNorm", "weight_norm", "data_dependent_init_", "MeanOnlyBatchNorm"]


def _resolve_dim(dim: Optional[int], ndim: int) -> Optional[int]:
    """``dim`` made non-negative (Python's convention: -1 is the last axis), or ``None``."""
    if dim is None:
        return None
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"weight normalization dim={dim} is out of range for a weight with {ndim} dimensions; "
            f"expected an integer in [{-ndim}, {ndim - 1}] (the axis that indexes output units, 0 for "
            f"Linear and Conv, 1 for ConvTranspose) or None for one norm over the whole tensor."
        )
    return dim % ndim


def norm_except_dim(v: torch.Tensor, dim: Optional[int]) -> torch.Tensor:
    r"""Euclidean norm of ``v`` over every axis except ``dim`` (over all axes when ``dim`` is ``None``).

    The result keeps the reduced axes with size 1, so it broadcasts against ``v``:
    for a Linear weight ``(out, in)`` and ``dim=0`` it has shape ``(out, 1)``, one
    norm per output unit; for ``dim=None`` it is a 0-d tensor.
    """
    d = _resolve_dim(dim, v.dim())
    if d is None:
        return torch.linalg.vector_norm(v)
    others = tuple(i for i in range(v.dim()) if i != d)
    if not others:  # a 1-D weight with dim=0: every entry is its own "vector"
        return v.abs()
    return torch.linalg.vector_norm(v, dim=others, keepdim=True)


class WeightNorm(nn.Module):
    r"""The parametrization :math:`w = g\,v/\lVert v\rVert` (use it through :func:`weight_norm`).

    ``forward(g, v)`` builds the weight from its two parameters; ``right_inverse(w)``
    splits a weight into :math:`g = \lVert w\rVert` (per ``dim``) and :math:`v = w`,
    so registering the parametrization leaves the weight, and the layer's outputs,
    unchanged.

    Args:
        dim: the axis that indexes output units; the norm is taken over every
            other axis. Negative values count from the end, as everywhere in
            Python. ``None``: one norm over the whole tensor (:math:`g` is a
            scalar). Default: ``0``.

    Shape:
        - :math:`v`: the weight's shape.
        - :math:`g`: the weight's shape with every axis but ``dim`` of size 1
          (``()`` when ``dim`` is ``None``).

    Example:
        >>> wn = WeightNorm(dim=0)
        >>> g, v = wn.right_inverse(torch.randn(4, 3))
        >>> tuple(g.shape), tuple(wn(g, v).shape)
        ((4, 1), (4, 3))
    """

    def __init__(self, dim: Optional[int] = 0) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, g: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        # w = g * v / ||v||, the norm taken per output unit (over every axis but `dim`)
        return v * (g / norm_except_dim(v, self.dim))

    def right_inverse(self, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # g = ||w|| and v = w reproduce w exactly: the layer is unchanged at creation
        return norm_except_dim(weight, self.dim), weight

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


def weight_norm(module: nn.Module, name: str = "weight", dim: Optional[int] = 0) -> nn.Module:
    r"""Reparametrise ``module.<name>`` as :math:`w = g\,v/\lVert v\rVert`, in place.

    After the call, ``module.<name>`` is computed on every access from two new
    parameters, ``module.parametrizations.<name>.original0`` (:math:`g`, initialised
    to the norm of the original weight) and ``...original1`` (:math:`v`, initialised
    to the original weight), so the module's outputs do not change. Works for any
    module with a weight tensor (``Linear``, ``Conv*d``, ``ConvTranspose*d``, ...).
    Undo it with ``torch.nn.utils.parametrize.remove_parametrizations(module, name)``.

    Same result as ``torch.nn.utils.parametrizations.weight_norm``, with one
    deliberate difference: PyTorch stores ``dim=None`` as ``-1`` internally, so
    its ``dim=-1`` also means "the whole tensor"; here ``dim=-1`` is the last axis,
    as in the rest of Python, and only ``None`` means the whole tensor.

    Args:
        module: the layer to modify.
        name: name of the weight tensor. Default: ``"weight"``.
        dim: axis indexing output units (``0`` for Linear/Conv, ``1`` for
            ConvTranspose); the norm is over all other axes. ``None``: one norm
            over the whole tensor. Default: ``0``.

    Returns:
        ``module``, modified.

    Example:
        >>> lin = weight_norm(nn.Linear(20, 40))
        >>> tuple(lin.parametrizations.weight.original0.shape)  # g, one per output unit
        (40, 1)
        >>> tuple(lin.parametrizations.weight.original1.shape)  # v
        (40, 20)
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(
            f"weight_norm: module {type(module).__name__} has no parameter or buffer named {name!r}; "
            f"pass name= one of {[n for n, _ in module.named_parameters(recurse=False)]}."
        )
    if weight.dim() == 0:
        raise ValueError(f"weight_norm needs a weight with at least 1 dimension, got a 0-d {name!r}.")
    _resolve_dim(dim, weight.dim())  # validate now, not at the first forward
    parametrize.register_parametrization(module, name, WeightNorm(dim))
    module._register_load_state_dict_pre_hook(_LegacyStateDict(name))
    return module


class _LegacyStateDict:
    """Load-state-dict hook: reads the ``<name>_g`` / ``<name>_v`` keys of ``torch.nn.utils.weight_norm``.

    The deprecated ``torch.nn.utils.weight_norm`` stores :math:`g` and :math:`v` as
    ``weight_g`` and ``weight_v``; the parametrization stores them as
    ``parametrizations.weight.original0`` and ``original1``. This hook renames the
    old keys before loading, so a checkpoint written with either loads (PyTorch's
    own parametrization does the same).
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs) -> None:
        g_key, v_key = f"{prefix}{self.name}_g", f"{prefix}{self.name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{self.name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{self.name}.original1"] = state_dict.pop(v_key)


def _output_axis(layer: nn.Module) -> tuple[int, int]:
    """(axis of the layer's *output* holding units, axis of its *weight* indexing them)."""
    if isinstance(layer, nn.Linear):
        return -1, 0
    if isinstance(layer, nn.modules.conv._ConvTransposeNd):
        return 1, 1
    if isinstance(layer, nn.modules.conv._ConvNd):
        return 1, 0
    raise TypeError(
        f"data_dependent_init_ supports nn.Linear and nn.Conv*d / nn.ConvTranspose*d layers, got "
        f"{type(layer).__name__}; it must know which output axis holds the units."
    )


@torch.no_grad()
def data_dependent_init_(layer: nn.Module, x: torch.Tensor, init_scale: float = 1.0,
                         eps: float = 1e-10) -> nn.Module:
    r"""The paper's data-dependent initialisation of a weight-normalised layer, in place.

    With :math:`t = v\cdot x/\lVert v\rVert` the pre-activation of one output unit
    on the batch ``x`` (before bias), :math:`\mu[t]` its mean and :math:`\sigma[t]`
    its *biased* standard deviation over the batch (and spatial positions for a
    convolution),

    .. math::

        g \leftarrow \frac{s}{\sigma[t]}, \qquad b \leftarrow -\frac{s\,\mu[t]}{\sigma[t]},

    so that every unit's pre-activation :math:`g\,t + b = s\,(t - \mu[t])/\sigma[t]`
    starts with mean 0 and standard deviation :math:`s` = ``init_scale`` on this
    batch. It is computed from the current output :math:`z = g\,t` as
    :math:`g \leftarrow g\,s/\sigma[z]`, :math:`b \leftarrow -s\,\mu[z]/\sigma[z]`, which
    is the same thing for any :math:`g > 0` (and is :math:`g \leftarrow s/\sigma[t]`
    for the paper's :math:`g = 1`).

    Args:
        layer: an ``nn.Linear``, ``nn.Conv*d`` or ``nn.ConvTranspose*d`` whose
            ``weight`` was reparametrised by :func:`weight_norm` with one
            :math:`g` per output unit (``dim=0``; ``dim=1`` for ConvTranspose),
            and which has a bias.
        x: a batch of inputs for ``layer``.
        init_scale: :math:`s`, the standard deviation the pre-activations start
            with. Default: ``1.0``.
        eps: added to the variance inside the square root, so a unit that is
            constant on the batch does not divide by zero (the paper's code uses
            ``1e-10``). Default: ``1e-10``.

    Returns:
        ``layer``, modified.

    Example:
        >>> lin = weight_norm(nn.Linear(5, 3))
        >>> x = torch.randn(64, 5) * 4 + 2
        >>> _ = data_dependent_init_(lin, x)
        >>> y = lin(x)
        >>> bool(y.mean(0).abs().max() < 1e-4), bool((y.std(0, correction=0) - 1).abs().max() < 1e-4)
        (True, True)
    """
    out_axis, weight_axis = _output_axis(layer)
    plist = getattr(getattr(layer, "parametrizations", None), "weight", None)
    if plist is None or not isinstance(plist[0], WeightNorm):
        raise ValueError(
            f"data_dependent_init_ needs a layer whose weight is weight-normalised by normcode.weight_norm; "
            f"call weight_norm({type(layer).__name__}(...)) first."
        )
    g = plist.original0
    if plist[0].dim is None or _resolve_dim(plist[0].dim, plist.original1.dim()) != weight_axis:
        raise ValueError(
            f"data_dependent_init_ sets one g per output unit, so the weight norm must be registered with "
            f"dim={weight_axis} for {type(layer).__name__}, got dim={plist[0].dim}."
        )
    if getattr(layer, "bias", None) is None:
        raise ValueError(
            f"data_dependent_init_ sets the bias b = -mu/sigma, but this {type(layer).__name__} has no bias; "
            f"build it with bias=True."
        )
    _checks.check_floating(x, "data_dependent_init_")
    y = layer(x)
    out_axis = out_axis % y.dim()
    shape = [1] * y.dim()
    shape[out_axis] = -1
    z = y - layer.bias.reshape(shape)                # z = g * v.x / ||v||, the output before bias
    dims = tuple(i for i in range(y.dim()) if i != out_axis)
    mu, var = moments(z, dims, keepdim=False)        # per output unit, biased variance
    scale = init_scale / torch.sqrt(var + eps)       # s / sigma
    g.mul_(scale.reshape(g.shape))                   # g <- g s / sigma
    layer.bias.copy_(-mu * scale)                    # b <- -s mu / sigma
    return layer


class MeanOnlyBatchNorm(nn.Module):
    r"""Mean-only batch normalization: subtract the batch mean per channel, add a bias.

    .. math::

        y = x - \mu_B + \beta, \qquad \mu_B = \frac{1}{m}\sum_{n,s} x_{n,c,s}

    with :math:`m = N\cdot\prod\text{spatial}` values per channel. There is no
    division by the standard deviation and no scale γ: with weight normalization
    the scale is :math:`g`. In training the running mean is updated with

    .. math:: \hat{\mu} \leftarrow (1-\text{momentum})\,\hat{\mu} + \text{momentum}\cdot\mu_B

    (the paper's ``0.9 * avg + 0.1 * mean`` is ``momentum=0.1``) and in evaluation
    :math:`\hat{\mu}` is subtracted instead of :math:`\mu_B`. The gradient is that
    of centring: :math:`\partial L/\partial x = g - \bar{g}` per channel.

    Args:
        num_features: ``C``, the number of channels.
        momentum: factor of the moving average (PyTorch's convention), or
            ``None`` for a cumulative average over all batches. Default: ``0.1``.
        bias: learn β (init 0). Default: ``True``.
        track_running_stats: keep the running mean and use it in evaluation; if
            ``False``, the batch mean is used in evaluation too. Default: ``True``.

    Shape:
        - Input: ``(N, C, *spatial)``, any number of spatial axes (zero for an MLP).
        - Output: same shape as the input.

    Example:
        >>> mobn = MeanOnlyBatchNorm(3)
        >>> y = mobn(torch.randn(8, 3, 5, 5) + 4)
        >>> bool(y.mean((0, 2, 3)).abs().max() < 1e-5)
        True
    """

    def __init__(self, num_features: int, momentum: Optional[float] = 0.1, bias: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        _checks.check_momentum(momentum)
        self.num_features = num_features
        self.momentum = momentum
        self.track_running_stats = track_running_stats
        if bias:
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        _checks.check_channels_first_input(x, self.num_features, name)
        dims = reduction_dims("batch", x.dim())
        shape = [1, -1] + [1] * (x.dim() - 2)
        if self.training or not self.track_running_stats:
            if self.training and count(x, dims) <= 1:
                raise ValueError(
                    f"{name} in training needs more than 1 value per channel, got input of shape "
                    f"{tuple(x.shape)}; subtracting the mean of a single value gives 0 everywhere. Use a batch "
                    f"of at least 2 examples or call model.eval() to subtract the running mean."
                )
            mean = x.mean(dim=dims, keepdim=True)          # mu_B per channel (gradient flows through it)
            if self.training and self.track_running_stats:
                self.num_batches_tracked.add_(1)
                momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                update_running(self.running_mean, mean.flatten(), momentum)
        else:
            mean = self.running_mean.reshape(shape)
        return affine(x - mean, None, self.bias)          # y = x - mu + beta

    def extra_repr(self) -> str:
        return (f"{self.num_features}, momentum={self.momentum}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")
