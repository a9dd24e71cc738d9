r"""Dynamic tanh (DyT): a normalization layer's place without normalization statistics.

Zhu, Chen, He, LeCun & Liu (2025, "Transformers without Normalization",
arXiv 2503.10622) observe that a trained Transformer's layer normalization maps
its inputs along S-shaped, tanh-like curves, and replace it by the element-wise

.. math::

    y = \gamma \odot \tanh(\alpha x) + \beta

with one learned scalar :math:`\alpha` (initialised to 0.5 in the paper) and the
same per-feature :math:`\gamma`, :math:`\beta` as layer normalization. No mean,
no variance, nothing computed across the features or the batch: the output of
one value depends on that value alone, and training and evaluation are the same
computation. :math:`\alpha x` squashes large inputs towards ±1 as a normalization
would bound them; small inputs pass almost linearly (:math:`\tanh(u) \approx u`).
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import nn

__all__ = ["DynamicTanh", "dynamic_tanh"]


def dynamic_tanh(x: torch.Tensor, alpha: torch.Tensor, weight=None, bias=None) -> torch.Tensor:
    r"""``weight * tanh(alpha * x) + bias`` (:math:`\gamma \odot \tanh(\alpha x) + \beta`).

    Args:
        x: any shape ``(*, *normalized_shape)``.
        alpha: a scalar tensor (shape ``()`` or ``(1,)``).
        weight, bias: ``normalized_shape`` (broadcast over the leading axes) or ``None``.

    Returns:
        A tensor of the shape of ``x``.
    """
    y = torch.tanh(alpha * x)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


class DynamicTanh(nn.Module):
    r"""Dynamic tanh over the last ``len(normalized_shape)`` axes, a drop-in for :class:`normcode.LayerNorm`.

    .. math::

        y = \gamma \odot \tanh(\alpha x) + \beta

    Args:
        normalized_shape: the trailing shape of γ and β (an int for one axis), as for ``LayerNorm``.
        alpha_init: initial value of the scalar α. Default: ``0.5`` (the paper's default for
            non-LLM Transformers).
        elementwise_affine: learn γ (init 1) and β (init 0) of shape ``normalized_shape``.
            Default: ``True``.
        bias: learn β (only when ``elementwise_affine``). Default: ``True``.
        channels_last: ``True`` (default): γ and β act on the last axes, as in a Transformer's
            ``(N, L, d)``. ``False``: ``normalized_shape`` is ``(C,)`` and γ, β act per channel of an
            ``(N, C, *spatial)`` input, as the paper's code does for convolutional networks.
        device, dtype: of the parameters.

    Shape:
        - Input: ``(*, *normalized_shape)``, or ``(N, C, *spatial)`` with ``channels_last=False``.
        - Output: same shape as the input.

    Example:
        >>> dyt = DynamicTanh(8)
        >>> tuple(dyt(torch.randn(2, 5, 8)).shape)
        (2, 5, 8)
    """

    def __init__(self, normalized_shape: Union[int, Sequence[int]], alpha_init: float = 0.5,
                 elementwise_affine: bool = True, bias: bool = True, channels_last: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if not shape or any(not isinstance(s, int) or s <= 0 for s in shape):
            raise ValueError(f"normalized_shape must be positive integers, got {normalized_shape!r}")
        if not isinstance(alpha_init, (int, float)) or not torch.isfinite(torch.tensor(float(alpha_init))):
            raise ValueError(f"alpha_init must be a finite number, got {alpha_init!r}")
        if not channels_last and len(shape) != 1:
            raise ValueError(f"with channels_last=False, normalized_shape is the number of channels, got {shape}")
        factory = {"device": device, "dtype": dtype}
        self.channels_last = channels_last
        self.normalized_shape = shape
        self.alpha_init = float(alpha_init)
        self.elementwise_affine = elementwise_affine
        self.alpha = nn.Parameter(torch.full((1,), float(alpha_init), **factory))
        self.weight = nn.Parameter(torch.ones(shape, **factory)) if elementwise_affine else None
        self.bias = nn.Parameter(torch.zeros(shape, **factory)) if elementwise_affine and bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_floating_point(x):
            raise TypeError(f"DynamicTanh needs a floating-point input, got {x.dtype}; convert it with x.float()")
        if not self.channels_last:
            if x.dim() < 2 or x.shape[1] != self.normalized_shape[0]:
                raise ValueError(f"DynamicTanh(channels_last=False) expects (N, {self.normalized_shape[0]}, *spatial), "
                                 f"got shape {tuple(x.shape)}; the second axis must be the channels")
            shape = (-1,) + (1,) * (x.dim() - 2)
            weight = None if self.weight is None else self.weight.reshape(shape)
            bias = None if self.bias is None else self.bias.reshape(shape)
            return dynamic_tanh(x, self.alpha, weight, bias)
        n = len(self.normalized_shape)
        if x.dim() < n or tuple(x.shape[-n:]) != self.normalized_shape:
            raise ValueError(f"DynamicTanh expects an input whose last {n} axes are {self.normalized_shape}, "
                             f"got shape {tuple(x.shape)}; give normalized_shape the trailing shape of the input")
        return dynamic_tanh(x, self.alpha, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, alpha_init={self.alpha_init}, "
                f"elementwise_affine={self.elementwise_affine}, channels_last={self.channels_last}")
