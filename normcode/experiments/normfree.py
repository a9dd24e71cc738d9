r"""Residual networks without normalization layers: SkipInit (De & Smith 2020) on a deep residual MLP.

Chapter 14 shows why a deep residual network needs *something* to keep its residual
stream in check, and that a single learned scalar can do the job of batch
normalization at initialisation. One residual block is

.. math::

    h \leftarrow h + \alpha\, f(h), \qquad f(h) = W_2\,\phi(N(W_1 h)),

with :math:`\phi` = ReLU, :math:`N` a normalization (``"batch"``) or nothing (``"none"``),
He-initialised :math:`W_1, W_2`. Without normalization and with :math:`\alpha = 1`, the branch
has about twice the variance of its input (each He-initialised layer doubles the second moment,
the ReLU halves it), and it is added to its input, so each block multiplies the variance of
:math:`h` by about 3 and after :math:`L` blocks the stream is about :math:`3^{L/2}` times larger
(somewhat less in practice, as the branch and its input are correlated). With batch
normalization in the branch the branch has variance about 1 whatever its input, so the variance
grows only by about 1 per block (:math:`\sqrt{L}` in scale), and block :math:`l` adds a branch
of relative size :math:`\sim 1/\sqrt{l}`: deep blocks are close to the identity (De & Smith's
explanation of why BN lets very deep residual networks train). SkipInit gets the same
effect without any statistics: :math:`\alpha` is a learned scalar initialised to 0, so every block
starts as the identity.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from ..registry import make_norm

__all__ = ["ResidualBlock", "residual_mlp", "stream_rms"]


class ResidualBlock(nn.Module):
    r"""``h + alpha * W2 relu(N(W1 h))`` on ``(B, width)`` inputs.

    Args:
        width: features of the residual stream.
        norm: normalization inside the branch, after :math:`W_1` (a :func:`normcode.make_norm` name:
            ``"none"``, ``"batch"``, ...).
        skipinit: scale the branch by a learned scalar α initialised to 0 (SkipInit); otherwise α = 1
            and is not learned.
    """

    def __init__(self, width: int, norm: str = "none", skipinit: bool = False) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, width), nn.Linear(width, width)
        for fc in (self.fc1, self.fc2):
            nn.init.kaiming_normal_(fc.weight, nonlinearity="relu")
            nn.init.zeros_(fc.bias)
        self.norm = make_norm(norm, width)
        self.alpha = nn.Parameter(torch.zeros(())) if skipinit else None

    def branch(self, h: torch.Tensor) -> torch.Tensor:
        """:math:`f(h) = W_2\\,\\mathrm{ReLU}(N(W_1 h))`, shape ``(B, width)``."""
        return self.fc2(torch.relu(self.norm(self.fc1(h))))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        f = self.branch(h)
        return h + (self.alpha * f if self.alpha is not None else f)


class ResidualMLP(nn.Module):
    """``Linear(in, width)``, ``depth`` :class:`ResidualBlock` s, ``Linear(width, out)``.

    Shape: ``(B, in_features)`` (or images, flattened) → ``(B, out_features)``.
    """

    def __init__(self, in_features: int, width: int, depth: int, out_features: int, norm: str,
                 skipinit: bool) -> None:
        super().__init__()
        self.stem = nn.Linear(in_features, width)
        self.blocks = nn.ModuleList(ResidualBlock(width, norm, skipinit) for _block in range(depth))
        self.head = nn.Linear(width, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x.flatten(1))
        for block in self.blocks:
            h = block(h)
        return self.head(h)


def residual_mlp(depth: int = 32, width: int = 64, norm: str = "none", skipinit: bool = False,
                 in_features: int = 64, out_features: int = 10, seed: Optional[int] = 0) -> ResidualMLP:
    """A deep residual MLP for the digits (see the module docstring), seeded.

    Args:
        depth: number of residual blocks (at least 1).
        norm: normalization inside every branch (``"none"`` or any :func:`normcode.make_norm` name).
        skipinit: SkipInit's learned branch scale α, initialised to 0.

    Example:
        >>> net = residual_mlp(depth=3, skipinit=True)
        >>> x = torch.randn(5, 64)
        >>> bool(torch.equal(net(x), net.head(net.stem(x))))   # every block starts as the identity
        True
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        return ResidualMLP(in_features, width, depth, out_features, norm, skipinit)


@torch.no_grad()
def stream_rms(model: ResidualMLP, X: torch.Tensor) -> list[float]:
    r"""Root mean square of the residual stream :math:`h` after the stem and after every block.

    Computed in float64 on a copy of ``model`` in training mode (batch statistics for BN), so the
    numbers do not depend on the CPU's vector code path. Returns ``depth + 1`` values.
    """
    import copy

    net = copy.deepcopy(model).double().train()
    h = net.stem(X.flatten(1).double())
    out = [float(h.pow(2).mean().sqrt())]
    for block in net.blocks:
        h = block(h)
        out.append(float(h.pow(2).mean().sqrt()))
    return [v if math.isfinite(v) else math.inf for v in out]
