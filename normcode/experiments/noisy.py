r""""Noisy" batch normalization: BN followed by deliberately injected distribution shift.

Santurkar et al. (2018, arXiv 1805.11604, Section 2.1) test the internal covariate
shift explanation by *adding* shift: after every BN layer they inject time-varying
noise with non-zero mean and non-unit variance, so each layer's input distribution
moves at every step, more than it would without BN. The network still trains about
as well as with plain BN, so controlling ICS cannot be why BN works.

Here, at every training forward pass (one per step), each unit :math:`c` gets a fresh
scale and shift

.. math::

    s_c \sim U(1, 2), \qquad m_c \sim U(-1, 1), \qquad y = s \odot \mathrm{norm}(x) + m,

so the distribution of each unit over the batch has mean :math:`\approx m_c` and
standard deviation :math:`\approx s_c`, both changing every step. In evaluation mode
the noise is off. ``per_sample=True`` draws :math:`s, m` independently for every
example too (the paper's wording, "i.i.d. noise for each activation and each sample",
allows both readings). The noise uses PyTorch's global random generator, so
:func:`normcode.experiments.training.set_seed` makes it reproducible.

Importing :mod:`normcode.experiments` registers two names for
:func:`normcode.make_norm` (and so for ``mlp(norm=...)``):

* ``"noisy_batch"`` — batch normalization, then the noise;
* ``"noise_only"`` — the same noise with no normalization (the control that does not train).
"""
from __future__ import annotations

import torch
from torch import nn

from ..registry import available, make_norm, register

__all__ = ["NoisyNorm"]


class NoisyNorm(nn.Module):
    r"""Wrap a normalization layer and add time-varying, non-zero-mean, non-unit-variance noise after it.

    Args:
        norm: the wrapped module (e.g. ``make_norm("batch", C)``, or ``nn.Identity()``).
        num_channels: ``C``; one scale and one shift per channel.
        mean_range: shifts :math:`m \sim U(-\text{mean\_range}, \text{mean\_range})`. Default: ``1.0``.
        scale_range: scales :math:`s \sim U(\text{low}, \text{high})`. Default: ``(1.0, 2.0)``.
        per_sample: draw a different :math:`s, m` for every example as well. Default: ``False``.

    Shape:
        ``(N, C, *spatial)`` → same shape.

    Example:
        >>> noisy = NoisyNorm(make_norm("batch", 3), 3)
        >>> y = noisy(torch.randn(16, 3))
        >>> bool((y.mean(0).abs() > 0).all())   # the batch mean is no longer 0
        True
    """

    def __init__(self, norm: nn.Module, num_channels: int, mean_range: float = 1.0,
                 scale_range: tuple[float, float] = (1.0, 2.0), per_sample: bool = False) -> None:
        super().__init__()
        self.norm = norm
        self.num_channels = num_channels
        self.mean_range = mean_range
        self.scale_range = scale_range
        self.per_sample = per_sample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(x)
        if not self.training:
            return y
        # noise shape: (1, C, 1, ..., 1) — one draw per channel — or (N, C, 1, ..., 1)
        shape = [x.shape[0] if self.per_sample else 1, self.num_channels] + [1] * (x.dim() - 2)
        low, high = self.scale_range
        scale = low + (high - low) * torch.rand(shape, dtype=y.dtype, device=y.device)
        shift = self.mean_range * (2 * torch.rand(shape, dtype=y.dtype, device=y.device) - 1)
        return scale * y + shift

    def extra_repr(self) -> str:
        return (f"{self.num_channels}, mean_range={self.mean_range}, scale_range={self.scale_range}, "
                f"per_sample={self.per_sample}")


def _noisy_batch(num_channels: int, **kwargs) -> nn.Module:
    noise = {k: kwargs.pop(k) for k in ("mean_range", "scale_range", "per_sample") if k in kwargs}
    return NoisyNorm(make_norm("batch", num_channels, **kwargs), num_channels, **noise)


def _noise_only(num_channels: int, **kwargs) -> nn.Module:
    return NoisyNorm(nn.Identity(), num_channels, **kwargs)


for _name, _builder in (("noisy_batch", _noisy_batch), ("noise_only", _noise_only)):
    if _name not in available():  # importing twice (e.g. importlib.reload) must not fail
        register(_name, _builder)
