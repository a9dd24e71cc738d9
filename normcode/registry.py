"""Normalization layers by name, so an experiment can say ``norm="group"``.

``make_norm(name, num_channels)`` returns a module that accepts
``(N, C, *spatial)`` inputs (``(N, C)`` for an MLP, ``(N, C, H, W)`` for a CNN).
New techniques register themselves with :func:`register`.
"""
from __future__ import annotations

from typing import Callable, Dict

from torch import nn

from .batchinstance import BatchInstanceNorm
from .batchnorm import BatchNorm
from .batchrenorm import BatchRenorm
from .dynamictanh import DynamicTanh
from .groupnorm import GroupNorm
from .instancenorm import InstanceNorm
from .rmsnorm import ChannelRMSNorm
from .switchnorm import SwitchNorm
from .weightnorm import MeanOnlyBatchNorm

__all__ = ["make_norm", "register", "available", "default_groups"]

_BUILDERS: Dict[str, Callable[..., nn.Module]] = {}


def register(name: str, builder: Callable[..., nn.Module]) -> None:
    """Make ``builder(num_channels, **kwargs)`` available as ``make_norm(name, num_channels)``."""
    if name in _BUILDERS:
        raise ValueError(f"a normalization named {name!r} is already registered")
    _BUILDERS[name] = builder


def available() -> list[str]:
    """Names accepted by :func:`make_norm`, sorted."""
    return sorted(_BUILDERS)


def default_groups(num_channels: int, preferred: int = 32) -> int:
    """Largest divisor of ``num_channels`` not above ``preferred`` (Wu & He use G = 32)."""
    return max(g for g in range(1, min(preferred, num_channels) + 1) if num_channels % g == 0)


def make_norm(name: str, num_channels: int, **kwargs) -> nn.Module:
    """Build the normalization layer called ``name`` for ``num_channels`` channels.

    Args:
        name: one of :func:`available` (``"none"``, ``"batch"``, ``"layer"``,
            ``"instance"``, ``"group"``, ...).
        num_channels: ``C`` of the ``(N, C, *spatial)`` input.
        **kwargs: passed on to the layer (e.g. ``num_groups=4``, ``eps=1e-3``).

    Returns:
        An ``nn.Module`` mapping ``(N, C, *spatial)`` to the same shape.
    """
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise ValueError(f"unknown normalization {name!r}; choose one of {available()}") from None
    return builder(num_channels, **kwargs)


def _layer(num_channels: int, **kwargs) -> nn.Module:
    # LayerNorm over (C, *spatial) with per-channel gamma/beta is GroupNorm with one group; for an
    # MLP input (N, C) it is exactly LayerNorm(C). This works for any spatial size.
    return GroupNorm(1, num_channels, **kwargs)


def _group(num_channels: int, num_groups: int | None = None, **kwargs) -> nn.Module:
    return GroupNorm(num_groups or default_groups(num_channels), num_channels, **kwargs)


register("none", lambda num_channels, **kwargs: nn.Identity())
register("batch", BatchNorm)
register("layer", _layer)
register("instance", lambda num_channels, **kwargs: InstanceNorm(num_channels, **{"affine": True, **kwargs}))
register("group", _group)
register("rms", ChannelRMSNorm)  # over (C, *spatial) of each example, gamma per channel
# Chapters 8-11. Weight and spectral normalization reparametrise a layer's weight instead of following
# it, so they are not here: apply normcode.weight_norm / normcode.spectral_norm to the Linear or Conv.
register("batch_renorm", BatchRenorm)
register("brn", BatchRenorm)
register("batch_instance", BatchInstanceNorm)  # needs (N, C, *spatial) with spatial axes; (N, C) is an error
register("bin", BatchInstanceNorm)
register("switch", SwitchNorm)                 # (N, C): mixes LN and BN only
register("switchable", SwitchNorm)
register("mean_only", MeanOnlyBatchNorm)
# Dynamic tanh with gamma, beta per channel of (N, C, *spatial), like the other registered norms.
register("dyt", lambda num_channels, **kwargs: DynamicTanh(num_channels, **{"channels_last": False, **kwargs}))
