r"""Why the moving averages cannot simply replace the batch statistics in training (Ioffe 2017, §2).

Batch normalization normalizes with the statistics of the current mini-batch, so
in training an example's output depends on its batch-mates, and inference (which
uses the moving averages :math:`\hat\mu, \hat\sigma`) computes another function.
The obvious fix is to normalize with the moving averages in training too:

.. math::

    y = \gamma\,\frac{x - \hat\mu}{\hat\sigma} + \beta, \qquad \hat\mu, \hat\sigma \text{ treated as constants.}

:class:`MovingAverageNorm` is that fix. Its forward pass is *exactly* batch
renormalization's with unclipped :math:`r, d` (:class:`normcode.BatchRenorm` with
``r_max = d_max = inf``), because :math:`\frac{x-\mu_B}{\sigma_B}\,r + d =
\frac{x - \hat\mu}{\hat\sigma}` when :math:`r = \sigma_B/\hat\sigma` and
:math:`d = (\mu_B - \hat\mu)/\hat\sigma`. The backward passes differ. Batch
renormalization differentiates through :math:`\mu_B` and :math:`\sigma_B`, as
batch normalization does; the naive layer treats the whole normalization as a
fixed affine map, so the gradient "ignores" it. Nothing then stops a step from
moving the mean or scale of :math:`x` and the moving averages from chasing it,
which is the instability the paper describes.
"""
from __future__ import annotations

from typing import Optional

import torch

from .._base import ChannelNorm
from .. import _checks
from ..stats import count, moments, reduction_dims, unbiased, update_running

__all__ = ["MovingAverageNorm"]


class MovingAverageNorm(ChannelNorm):
    r"""Normalization by the moving averages in training as well, with no gradient through them.

    .. math::

        y = \gamma\,\frac{x - \hat\mu}{\sqrt{\hat\sigma^2 + \epsilon}} + \beta

    with :math:`\hat\mu, \hat\sigma^2` the running estimates *before* this batch updates them
    (the same moment :class:`normcode.BatchRenorm` reads them), updated afterwards exactly as
    batch normalization updates them. A teaching layer: it shows what batch renormalization's
    :math:`r` and :math:`d` are for.

    Args:
        num_features: ``C``.
        eps, momentum, affine: as for :class:`normcode.BatchNorm`.

    Shape:
        - Input: ``(N, C, *spatial)``.
        - Output: same shape as the input.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        _checks.check_floating(x, name)
        _checks.check_min_dims(x, 2, name, "(N, C, *spatial)")
        _checks.check_channels(x, self.num_features, name)
        shape = [1, -1] + [1] * (x.dim() - 2)
        mean = self.running_mean.clone().reshape(shape)            # constants: no gradient flows into them
        std = torch.sqrt(self.running_var.clone().reshape(shape) + self.eps)
        if self.training:
            momentum = self.count_batch()
            dims = reduction_dims("batch", x.dim())
            with torch.no_grad():
                mean_b, var_b = moments(x, dims)
                update_running(self.running_mean, mean_b.flatten(), momentum)
                update_running(self.running_var, unbiased(var_b.flatten(), count(x, dims)), momentum)
        y = (x - mean) / std
        if self.weight is not None:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y


def _register() -> None:
    from ..registry import available, register

    if "moving_average" not in available():
        register("moving_average", MovingAverageNorm)


_register()
