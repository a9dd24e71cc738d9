"""RMS normalization as a module, with ``torch.nn.RMSNorm``'s arguments and parameter names."""
from __future__ import annotations

import math
from typing import Optional, Sequence, Union

import torch
from torch import nn

from . import _checks
from ._params import init_affine
from .functional import rms_norm
from .stats import compute_dtype, normalize_affine

__all__ = ["RMSNorm", "ChannelRMSNorm"]


class RMSNorm(nn.Module):
    r"""Root-mean-square normalization (Zhang & Sennrich, 2019) over the last ``len(normalized_shape)`` axes.

    .. math::

        y = \frac{x}{\sqrt{\frac{1}{H}\sum_{i=1}^{H} x_i^2 + \epsilon}} \odot \gamma

    Layer normalization without the centring: each example is divided by the
    root mean square of its :math:`H` trailing values, then scaled element-wise
    by γ (there is no β). It is the statistics core of :mod:`normcode.stats` with
    :math:`\mu = 0`, so training and evaluation compute the same thing.

    Args:
        normalized_shape: trailing shape to normalise over (an int for one axis).
        eps: added to the mean square inside the square root; ``None`` (default):
            ``torch.finfo(dtype).eps`` of the dtype the statistics are computed in
            (float32 for float16 and bfloat16 inputs), as in PyTorch.
        elementwise_affine: learn γ (init 1) of shape ``normalized_shape``. Default: ``True``.
        device, dtype: where γ is created, and its floating-point type (as in PyTorch).
        manual_backward: which backward pass: ``None`` (default) the fast
            hand-derived one, ``True`` the hand-derived one only (once
            differentiable), ``False`` autograd through the readable formula; see
            :class:`normcode.BatchNorm`.

    Shape:
        - Input: ``(*, *normalized_shape)``.
        - Output: same shape as the input.

    Example:
        >>> rms = RMSNorm(10)
        >>> tuple(rms(torch.randn(4, 7, 10)).shape)
        (4, 7, 10)
    """

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: Optional[float] = None,
                 elementwise_affine: bool = True, device=None, dtype=None, *,
                 manual_backward: Optional[bool] = None) -> None:
        super().__init__()
        if eps is not None:
            _checks.check_eps(eps)
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.manual_backward = manual_backward
        init_affine(self, shape, elementwise_affine, bias=False, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.normalized_shape, self.weight, self.eps, manual_backward=self.manual_backward)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class ChannelRMSNorm(nn.Module):
    r"""RMS normalization of each example over its channels and positions, with per-channel γ.

    .. math::

        y_{n,c,s} = \frac{x_{n,c,s}}{\sqrt{\frac{1}{m}\sum_{c',s'} x_{n,c',s'}^2 + \epsilon}}\,\gamma_c,
        \qquad m = C\prod\text{spatial}

    What ``make_norm("rms", C)`` builds: like ``make_norm("layer", C)`` (group
    norm with one group), it takes any ``(N, C, *spatial)`` input, where
    :class:`RMSNorm` would need the spatial size at construction. On an ``(N, C)``
    input it is exactly ``RMSNorm(C)``.

    Args:
        num_channels: ``C``.
        eps: as in :class:`RMSNorm` (``None``: the machine epsilon of the compute dtype).
        affine: learn γ (init 1) per channel. Default: ``True``.
        device, dtype: where γ is created, and its floating-point type.
    """

    def __init__(self, num_channels: int, eps: Optional[float] = None, affine: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        if eps is not None:
            _checks.check_eps(eps)
        self.num_channels = num_channels
        self.eps = eps
        init_affine(self, num_channels, affine, bias=False, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        _checks.check_channels_first_input(x, self.num_channels, name)
        n, c = x.shape[:2]
        length = math.prod(x.shape[2:])
        eps = torch.finfo(compute_dtype(x.dtype)).eps if self.eps is None else self.eps
        weight = None if self.weight is None else self.weight.reshape(1, c, 1)
        y, _, ms = normalize_affine(x.reshape(n, c, length), weight, None, (1, 2), eps, centre=False)
        _checks.check_finite_stats(ms, ms, name)
        return y.reshape(x.shape)

    def extra_repr(self) -> str:
        return f"{self.num_channels}, eps={self.eps}, affine={self.weight is not None}"
