r"""Batch normalization as a module, with PyTorch's parameters, buffers and semantics.

Parameter and buffer names match ``torch.nn.BatchNorm*d`` (``weight``, ``bias``,
``running_mean``, ``running_var``, ``num_batches_tracked``), so a ``state_dict``
moves between the two unchanged.
"""
from __future__ import annotations

from typing import Optional

import torch

from . import _checks
from ._base import ChannelNorm
from .functional import batch_norm

__all__ = ["BatchNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]


class BatchNorm(ChannelNorm):
    r"""Batch normalization over the channel axis of an ``(N, C, *spatial)`` input.

    .. math::

        y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \cdot \gamma + \beta

    The mean and (biased) variance are taken per channel over the batch and all
    spatial positions. In training the running estimates are updated with

    .. math::

        \hat{\mu} \leftarrow (1-\text{momentum})\,\hat{\mu} + \text{momentum}\cdot\mu_B,\qquad
        \hat{\sigma}^2 \leftarrow (1-\text{momentum})\,\hat{\sigma}^2 + \text{momentum}\cdot\tfrac{m}{m-1}\sigma^2_B

    and in evaluation (``model.eval()``) they normalise the input.

    Args:
        num_features: ``C``, the number of channels.
        eps: added to the variance inside the square root. Default: ``1e-5``.
        momentum: factor of the moving average (PyTorch's convention; Keras's
            ``momentum=0.99`` is ``0.01`` here), or ``None`` for a cumulative
            average over all batches seen. Default: ``0.1``.
        affine: learn γ (init 1) and β (init 0). Default: ``True``.
        track_running_stats: keep running estimates; if ``False``, batch
            statistics are used in evaluation too. Default: ``True``.
        device, dtype: where the parameters and buffers are created, and their
            floating-point type (as in PyTorch). Default: PyTorch's defaults.
        bias: learn β (with ``affine``); ``False`` keeps γ only. Default: ``True``.
        manual_backward: which backward pass. ``None`` (default): the fast
            hand-derived one (:class:`normcode.stats.NormalizeAffine`); second
            derivatives (``create_graph=True``) are still available, through
            autograd. ``True``: the hand-derived pass only (once differentiable:
            a second derivative raises). ``False``: autograd through the formula
            written out step by step (the readable reference).

    Shape:
        - Input: ``(N, C, *spatial)``, any number of spatial axes (zero for an MLP).
        - Output: same shape as the input.

    Example:
        >>> bn = BatchNorm(3)
        >>> y = bn(torch.randn(8, 3, 5, 5))
        >>> tuple(y.shape)
        (8, 3, 5, 5)
    """

    #: Number of input dimensions accepted, or None for any (checked by subclasses).
    expected_dims: Optional[tuple[int, ...]] = None

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True, manual_backward: Optional[bool] = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.manual_backward = manual_backward

    def _check_input(self, x: torch.Tensor) -> None:
        name = type(self).__name__
        _checks.check_floating(x, name)
        if self.expected_dims is not None and x.dim() not in self.expected_dims:
            wanted = " or ".join(f"{d}-D" for d in self.expected_dims)
            raise ValueError(
                f"{name} expects a {wanted} input, got a {x.dim()}-D input of shape {tuple(x.shape)}; "
                f"use BatchNorm1d for (N, C) or (N, C, L), BatchNorm2d for images (N, C, H, W), "
                f"BatchNorm3d for volumes (N, C, D, H, W), or normcode.BatchNorm for any of them."
            )
        _checks.check_min_dims(x, 2, name, "(N, C, *spatial)")
        _checks.check_channels(x, self.num_features, name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        momentum = self.count_batch()
        return batch_norm(
            x,
            self.running_mean if self.track_running_stats else None,
            self.running_var if self.track_running_stats else None,
            self.weight,
            self.bias,
            training=self.training,
            momentum=momentum,
            eps=self.eps,
            manual_backward=self.manual_backward,
        )


class BatchNorm1d(BatchNorm):
    """:class:`BatchNorm` for ``(N, C)`` or ``(N, C, L)`` inputs, like ``torch.nn.BatchNorm1d``."""

    expected_dims = (2, 3)


class BatchNorm2d(BatchNorm):
    """:class:`BatchNorm` for images ``(N, C, H, W)``, like ``torch.nn.BatchNorm2d``."""

    expected_dims = (4,)


class BatchNorm3d(BatchNorm):
    """:class:`BatchNorm` for volumes ``(N, C, D, H, W)``, like ``torch.nn.BatchNorm3d``."""

    expected_dims = (5,)
