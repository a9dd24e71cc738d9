"""Group normalization as a module, with ``torch.nn.GroupNorm``'s arguments and parameter names."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from . import _checks
from ._params import init_affine
from .functional import group_norm

__all__ = ["GroupNorm"]


class GroupNorm(nn.Module):
    r"""Group normalization: each example's channels normalised in ``num_groups`` contiguous groups.

    .. math::

        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    with mean and biased variance over one group of ``C/G`` channels and all
    spatial positions of one example. ``num_groups=1`` is layer normalization
    over ``(C, *spatial)``; ``num_groups=C`` is instance normalization.

    Args:
        num_groups: ``G``; must divide ``num_channels``.
        num_channels: ``C``.
        eps: added to the variance inside the square root. Default: ``1e-5``.
        affine: learn per-channel γ (init 1) and β (init 0). Default: ``True``.
        device, dtype: where γ and β are created, and their floating-point
            type (as in PyTorch).
        bias: learn β (with ``affine``); ``False`` keeps γ only. Default: ``True``.
        manual_backward: which backward pass: ``None`` (default) the fast
            hand-derived one, ``True`` the hand-derived one only (once
            differentiable), ``False`` autograd through the readable formula; see
            :class:`normcode.BatchNorm`.

    Shape:
        - Input: ``(N, C, *spatial)``.
        - Output: same shape as the input.

    Example:
        >>> gn = GroupNorm(2, 6)
        >>> tuple(gn(torch.randn(4, 6, 5, 5)).shape)
        (4, 6, 5, 5)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device=None, dtype=None, *, bias: bool = True, manual_backward: Optional[bool] = None) -> None:
        super().__init__()
        _checks.check_eps(eps)
        _checks.check_groups(num_channels, num_groups)
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self.manual_backward = manual_backward
        init_affine(self, num_channels, affine, bias, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _checks.check_channels_first_input(x, self.num_channels, "GroupNorm")
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps,
                          manual_backward=self.manual_backward)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
