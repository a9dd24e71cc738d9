"""Creating the learnable affine parameters and the running-statistics buffers.

Shared by every layer so that names and initial values are those of PyTorch
(``weight`` = 1, ``bias`` = 0, ``running_mean`` = 0, ``running_var`` = 1,
``num_batches_tracked`` = 0) and a ``state_dict`` moves between the two.
``device`` and ``dtype`` are PyTorch's factory arguments: where the tensors are
created and their floating-point type (``num_batches_tracked`` stays an integer).
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from torch import nn

__all__ = ["init_affine", "init_running_stats"]


def init_affine(module: nn.Module, shape: Union[int, Sequence[int]], affine: bool, bias: bool = True,
                device: Optional[torch.device] = None, dtype: Optional[torch.dtype] = None) -> None:
    """Register ``weight`` (γ, ones) and ``bias`` (β, zeros) of ``shape``, or ``None`` when not ``affine``.

    ``bias=False`` keeps γ and registers no β, as PyTorch's ``bias=False`` does.
    """
    factory = dict(device=device, dtype=dtype)
    if affine:
        module.weight = nn.Parameter(torch.ones(shape, **factory))
    else:
        module.register_parameter("weight", None)
    if affine and bias:
        module.bias = nn.Parameter(torch.zeros(shape, **factory))
    else:
        module.register_parameter("bias", None)


def init_running_stats(module: nn.Module, num_features: int, track: bool, device: Optional[torch.device] = None,
                       dtype: Optional[torch.dtype] = None) -> None:
    """Register ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (0), or ``None``s."""
    if track:
        factory = dict(device=device, dtype=dtype)
        module.register_buffer("running_mean", torch.zeros(num_features, **factory))
        module.register_buffer("running_var", torch.ones(num_features, **factory))
        module.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
    else:
        module.register_buffer("running_mean", None)
        module.register_buffer("running_var", None)
        module.register_buffer("num_batches_tracked", None)
