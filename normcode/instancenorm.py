"""Instance normalization as a module, with ``torch.nn.InstanceNorm*d``'s defaults and names."""
from __future__ import annotations

from typing import Optional

import torch

from . import _checks
from ._base import ChannelNorm
from .functional import instance_norm

__all__ = ["InstanceNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]


class InstanceNorm(ChannelNorm):
    r"""Instance normalization: each example's channel normalised over its spatial positions.

    .. math::

        y_{n,c} = \frac{x_{n,c} - \mathrm{E}[x_{n,c}]}{\sqrt{\mathrm{Var}[x_{n,c}] + \epsilon}} \cdot \gamma_c + \beta_c

    Designed for style transfer (Ulyanov et al., 2016): the per-image contrast
    and brightness of each channel are removed.

    Args:
        num_features: ``C``, the number of channels.
        eps: added to the variance inside the square root. Default: ``1e-5``.
        momentum: moving-average factor of the optional running estimates, or ``None``
            for a cumulative average. Default: ``0.1``.
        affine: learn γ, β per channel. Default: ``False`` (as in PyTorch).
        track_running_stats: keep running estimates and use them in evaluation.
            Default: ``False`` (as in PyTorch).
        device, dtype: where the parameters and buffers are created, and their
            floating-point type (as in PyTorch).
        bias: learn β (with ``affine``); ``False`` keeps γ only. Default: ``True``.
        manual_backward: which backward pass: ``None`` (default) the fast
            hand-derived one, ``True`` the hand-derived one only (once
            differentiable), ``False`` autograd through the readable formula; see
            :class:`normcode.BatchNorm`.

    Shape:
        - Input: ``(N, C, *spatial)``; the fixed-dimension subclasses also accept
          an unbatched ``(C, *spatial)`` input, as PyTorch does.
        - Output: same shape as the input.

    Unlike PyTorch, which only warns, a channel count different from
    ``num_features`` is an error even when ``affine=False``. And unlike PyTorch,
    whose InstanceNorm treats ``momentum=None`` as 0 (the running estimates never
    move), ``momentum=None`` is a cumulative average here, as in :class:`BatchNorm`;
    ``num_batches_tracked`` counts the batches for that average only (with a
    numeric momentum it stays 0, as in PyTorch's InstanceNorm).

    Example:
        >>> inorm = InstanceNorm2d(3)
        >>> tuple(inorm(torch.randn(2, 3, 8, 8)).shape)
        (2, 3, 8, 8)
    """

    #: Number of dimensions of a batched input, or None for any.
    batched_dims: Optional[int] = None

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None, dtype=None, *,
                 bias: bool = True, manual_backward: Optional[bool] = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.manual_backward = manual_backward

    def count_batch(self) -> float:
        """The moving-average factor; batches are counted only for ``momentum=None`` (PyTorch never counts)."""
        if self.momentum is None:
            return super().count_batch()
        return self.momentum if self.training and self.track_running_stats else 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        _checks.check_floating(x, name)
        unbatched = self.batched_dims is not None and x.dim() == self.batched_dims - 1
        if self.batched_dims is not None and x.dim() not in (self.batched_dims, self.batched_dims - 1):
            raise ValueError(
                f"{name} expects a {self.batched_dims}-D (batched) or {self.batched_dims - 1}-D (unbatched) "
                f"input, got shape {tuple(x.shape)}; use InstanceNorm1d for (N, C, L), InstanceNorm2d for "
                f"(N, C, H, W), InstanceNorm3d for (N, C, D, H, W)."
            )
        if unbatched:
            x = x.unsqueeze(0)
        _checks.check_min_dims(x, 3, name, "(N, C, *spatial)")
        _checks.check_channels(x, self.num_features, name)
        momentum = self.count_batch()  # momentum=None: cumulative average, as in BatchNorm
        y = instance_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            use_input_stats=self.training or not self.track_running_stats,
            momentum=momentum, eps=self.eps,
            manual_backward=self.manual_backward,
        )
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(InstanceNorm):
    """:class:`InstanceNorm` for ``(N, C, L)``; a 2-D input is read as one unbatched ``(C, L)`` example."""

    batched_dims = 3


class InstanceNorm2d(InstanceNorm):
    """:class:`InstanceNorm` for ``(N, C, H, W)`` (or unbatched ``(C, H, W)``)."""

    batched_dims = 4


class InstanceNorm3d(InstanceNorm):
    """:class:`InstanceNorm` for ``(N, C, D, H, W)`` (or unbatched ``(C, D, H, W)``)."""

    batched_dims = 5
