"""Creating the learnable affine parameters and the running-statistics buffers.

Shared by every layer so that names and initial values are those of PyTorch
(``weight`` = 1, ``bias`` = 0, ``running_mean`` = 0, ``running_var`` = 1,
``num_batches_tracked`` = 0) and a ``state_dict`` moves between the two.
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import nn

__all__ = ["init_affine", "init_running_stats"]


def init_affine(module: nn.Module, shape: Union[int, Sequence[int]], affine: bool, bias: bool = True) -> None:
    """Register ``weight`` (γ, ones) and ``bias`` (β, zeros) of ``shape``, or ``None`` when not ``affine``."""
    if affine:
        module.weight = nn.Parameter(torch.ones(shape))
    else:
        module.register_parameter("weight", None)
    if affine and bias:
        module.bias = nn.Parameter(torch.zeros(shape))
    else:
        module.register_parameter("bias", None)


def init_running_stats(module: nn.Module, num_features: int, track: bool) -> None:
    """Register ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (0), or ``None``s."""
    if track:
        module.register_buffer("running_mean", torch.zeros(num_features))
        module.register_buffer("running_var", torch.ones(num_features))
        module.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
    else:
        module.register_buffer("running_mean", None)
        module.register_buffer("running_var", None)
        module.register_buffer("num_batches_tracked", None)
