"""The base of every layer that normalises the channels of an ``(N, C, *spatial)`` input.

Batch, instance, batch-renorm, batch-instance and switchable normalization share
the same bookkeeping: the arguments ``num_features``, ``eps``, ``momentum``,
``affine`` and ``track_running_stats``; per-channel γ and β; the running
estimates and their counter; and the rule that turns ``momentum=None`` into a
cumulative average. :class:`ChannelNorm` owns that bookkeeping once, so each
layer's module holds only what makes the technique different.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from . import _checks
from ._params import init_affine, init_running_stats

__all__ = ["ChannelNorm"]


class ChannelNorm(nn.Module):
    """Arguments, γ/β and running estimates shared by the channel-wise normalization layers.

    Args:
        num_features: ``C``, the number of channels.
        eps: added to the variance inside the square root; must be positive.
        momentum: factor of the moving average (PyTorch's convention), or
            ``None`` for a cumulative average over all batches seen.
        affine: learn per-channel γ (init 1) and β (init 0).
        track_running_stats: keep ``running_mean`` (0), ``running_var`` (1) and
            ``num_batches_tracked`` (0) buffers, named as in PyTorch.
        device, dtype: where the parameters and buffers are created and their
            floating-point type (PyTorch's factory arguments; ``device="meta"``
            builds a module without memory, for ``to_empty`` and ``load_state_dict``).
        bias: learn β (only when ``affine``); ``False`` keeps γ alone. Default: ``True``.
    """

    #: Version of the state-dict layout (PyTorch's: 2 added ``num_batches_tracked``).
    _version = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None,
                 *, bias: bool = True) -> None:
        super().__init__()
        _checks.check_eps(eps)
        _checks.check_momentum(momentum)
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        init_affine(self, num_features, affine, bias, device=device, dtype=dtype)
        init_running_stats(self, num_features, track_running_stats, device=device, dtype=dtype)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        """Accept state dicts saved before ``num_batches_tracked`` existed (layout version < 2), as PyTorch does.

        Such a checkpoint has no counter: it is loaded as 0 batches seen.
        """
        key = prefix + "num_batches_tracked"
        version = local_metadata.get("version", None)
        if self.track_running_stats and (version is None or version < 2) and key not in state_dict:
            device = self.num_batches_tracked.device
            state_dict[key] = torch.tensor(0, dtype=torch.long, device=None if device.type == "meta" else device)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch seen."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def count_batch(self) -> float:
        """Count this training batch and return the moving-average factor to use for it.

        ``momentum``, or ``1 / num_batches_tracked`` when ``momentum`` is ``None``
        (the average of all batches so far). Returns ``0.0``, and counts nothing,
        in evaluation or without running estimates.
        """
        if not (self.training and self.track_running_stats):
            return 0.0
        self.num_batches_tracked.add_(1)
        if self.momentum is None:
            return 1.0 / float(self.num_batches_tracked)
        return self.momentum

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
