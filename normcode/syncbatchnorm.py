r"""Synchronized batch normalization: one batch's statistics shared by every process of a group.

With data parallelism each process (device) sees only its own slice of the
mini-batch. Plain batch normalization then normalizes with the statistics of
that slice, and with 8 examples per device they are as noisy as a batch of 8,
whatever the total batch. Synchronized BN all-reduces the per-channel sums over
the process group, so every process normalizes with the statistics of the whole
batch of :math:`m = \sum_r m_r` examples:

.. math::

    \mu = \frac{1}{m}\sum_r \sum_{i \in r} x_i,\qquad
    \sigma^2 = \frac{1}{m}\sum_r \sum_{i \in r} (x_i - \mu)^2

Two all-reduces, the second over the centred values (never
:math:`\mathrm{E}[x^2] - \mathrm{E}[x]^2`, which cancels catastrophically). The
all-reduces are the differentiable ones of ``torch.distributed.nn``, so the
backward pass sums the gradient terms of the statistics over the group too, as
it must for the result to equal BN over the whole batch.

Unlike ``torch.nn.SyncBatchNorm`` this runs on the CPU (gloo backend), which is
how chapter 13 shows it with a few local processes.
"""
from __future__ import annotations

import torch

from .batchnorm import BatchNorm

__all__ = ["SyncBatchNorm"]


def _group_ready() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class SyncBatchNorm(BatchNorm):
    r""":class:`normcode.BatchNorm` whose training statistics are all-reduced over the default process group.

    Outside training, or when no process group of more than one process is
    initialised, it is exactly :class:`normcode.BatchNorm`. Arguments, parameters and
    buffers are those of :class:`normcode.BatchNorm`; the running variance gets the
    unbiased variance of the whole batch, :math:`\tfrac{m}{m-1}\sigma^2`.

    Shape:
        - Input: ``(N_r, C, *spatial)`` on process ``r``.
        - Output: same shape as the input.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and _group_ready()):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        self._check_input(x)
        momentum = self.count_batch()
        dims = [0] + list(range(2, x.dim()))
        shape = (1, -1) + (1,) * (x.dim() - 2)
        local_count = torch.tensor([x.numel() // x.shape[1]], dtype=x.dtype, device=x.device)
        totals = all_reduce(torch.cat([x.sum(dims), local_count]))       # (C + 1,): sums and m
        m = totals[-1]
        mean = totals[:-1] / m
        centred = x - mean.view(shape)
        var = all_reduce(centred.pow(2).sum(dims)) / m                    # biased, as in training BN
        y = centred / torch.sqrt(var + self.eps).view(shape)
        if self.weight is not None:
            y = y * self.weight.view(shape)
        if self.bias is not None:
            y = y + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                unbiased = var * m / (m - 1) if m > 1 else var
                self.running_mean.mul_(1 - momentum).add_(momentum * mean.detach())
                self.running_var.mul_(1 - momentum).add_(momentum * unbiased.detach())
        return y
