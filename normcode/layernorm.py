"""Layer normalization as a module, with ``torch.nn.LayerNorm``'s arguments and parameter names."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from torch import nn

from . import _checks
from ._params import init_affine
from .functional import layer_norm

__all__ = ["LayerNorm"]


class LayerNorm(nn.Module):
    r"""Layer normalization over the last ``len(normalized_shape)`` axes.

    .. math::

        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \odot \gamma + \beta

    Mean and biased variance are taken per example over the trailing axes;
    training and evaluation compute the same thing, and an example's output does
    not depend on the other examples of its batch.

    Args:
        normalized_shape: trailing shape to normalise over (an int for one axis).
        eps: added to the variance inside the square root. Default: ``1e-5``.
        elementwise_affine: learn γ (init 1) and β (init 0), each of shape
            ``normalized_shape``. Default: ``True``.
        bias: learn β (only when ``elementwise_affine``). Default: ``True``.
        device, dtype: where γ and β are created, and their floating-point
            type (as in PyTorch).
        manual_backward: which backward pass: ``None`` (default) the fast
            hand-derived one, ``True`` the hand-derived one only (once
            differentiable), ``False`` autograd through the readable formula; see
            :class:`normcode.BatchNorm`.

    Shape:
        - Input: ``(*, *normalized_shape)``.
        - Output: same shape as the input.

    Example:
        >>> ln = LayerNorm(10)
        >>> tuple(ln(torch.randn(4, 7, 10)).shape)
        (4, 7, 10)
    """

    def __init__(self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device=None, dtype=None, *,
                 manual_backward: Optional[bool] = None) -> None:
        super().__init__()
        _checks.check_eps(eps)
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.manual_backward = manual_backward
        init_affine(self, shape, elementwise_affine, bias, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps,
                          manual_backward=self.manual_backward)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
