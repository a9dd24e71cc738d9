"""normcode: normalization layers for deep learning, written to be read.

Every layer is the same computation, x̂ = (x − μ) / √(σ² + ε), over a different
set of values (see :mod:`normcode.stats`). The companion book explains each one;
the tests check each one against PyTorch's own layer.

Public API::

    from normcode import BatchNorm2d, LayerNorm, InstanceNorm2d, GroupNorm, RMSNorm
    from normcode import functional as F      # batch_norm, layer_norm, rms_norm, ...
    from normcode import make_norm            # make_norm("group", 64)
"""
from . import functional, stats
from .batchnorm import BatchNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d
from .groupnorm import GroupNorm
from .instancenorm import InstanceNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .layernorm import LayerNorm
from .rmsnorm import RMSNorm
from .registry import available, make_norm, register
from .weightnorm import MeanOnlyBatchNorm, WeightNorm, data_dependent_init_, weight_norm
from .batchrenorm import BatchRenorm, RenormSchedule, batch_renorm
from .batchinstance import BatchInstanceNorm, clamp_gates_, param_groups
from .switchnorm import SwitchNorm
from .spectralnorm import SpectralNorm, spectral_norm
from .dynamictanh import DynamicTanh, dynamic_tanh
from .syncbatchnorm import SyncBatchNorm

__version__ = "0.1.0"

__all__ = [
    "BatchNorm", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d",
    "LayerNorm",
    "RMSNorm",
    "InstanceNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "GroupNorm",
    "functional", "stats",
    "make_norm", "register", "available",
    "WeightNorm", "weight_norm", "data_dependent_init_", "MeanOnlyBatchNorm",
    "BatchRenorm", "RenormSchedule", "batch_renorm",
    "BatchInstanceNorm", "clamp_gates_", "param_groups",
    "SwitchNorm",
    "SpectralNorm", "spectral_norm",
    "DynamicTanh", "dynamic_tanh",
    "SyncBatchNorm",
]
