r"""A small GAN on the ring of Gaussians, with and without spectral normalization in the discriminator.

Chapter 12 trains the same generator against two discriminators that differ only in
spectral normalization (Miyato et al. 2018, arXiv 1802.05957): every linear layer of
the discriminator is either plain, :math:`z = Wx + b`, or spectrally normalized,
:math:`z = (W/\sigma(W))x + b` with :func:`normcode.spectral_norm`.

* :func:`generator` — an MLP from noise :math:`\mathbb{R}^{d_z}` to the plane;
* :func:`discriminator` — an MLP from the plane to one logit, optionally spectrally normalized;
* :func:`train_gan` — the alternating training loop (non-saturating loss, Adam), seeded and
  deterministic, returning a :class:`GANRun` with snapshots of generated samples;
* :func:`lipschitz_bound` — the product of the layers' spectral norms, an upper bound on a
  network's Lipschitz constant when its activations are 1-Lipschitz.

Mode coverage is measured with :func:`normcode.experiments.data.mode_coverage`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..spectralnorm import spectral_norm
from .data import mode_coverage, ring_centers, ring_of_gaussians

__all__ = ["generator", "discriminator", "lipschitz_bound", "GANRun", "train_gan"]


def generator(noise_dim: int = 2, hidden: int = 64, depth: int = 2) -> nn.Sequential:
    """An MLP ``noise_dim → hidden (ReLU) × depth → 2``: maps ``(N, noise_dim)`` noise to ``(N, 2)`` points."""
    layers: List[nn.Module] = []
    width = noise_dim
    for _k in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, 2))
    return nn.Sequential(*layers)


def discriminator(sn: bool = False, hidden: int = 64, depth: int = 2) -> nn.Sequential:
    r"""An MLP ``2 → hidden (LeakyReLU 0.2) × depth → 1``: maps ``(N, 2)`` points to ``(N, 1)`` logits.

    With ``sn=True`` every linear layer (the output layer too) is wrapped in
    :func:`normcode.spectral_norm`, so each weight is :math:`W/\sigma(W)` and, the
    activations being 1-Lipschitz, the whole network is 1-Lipschitz (biases do not
    change a Lipschitz constant).
    """
    layers: List[nn.Module] = []
    width = 2
    for _k in range(depth):
        layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    layers.append(nn.Linear(width, 1))
    if sn:
        for layer in layers:
            if isinstance(layer, nn.Linear):
                spectral_norm(layer)
    return nn.Sequential(*layers)


@torch.no_grad()
def lipschitz_bound(model: nn.Module) -> float:
    r""":math:`\prod_l \sigma(W_l)`, the product of the exact spectral norms of ``model``'s linear layers.

    For a chain of layers :math:`x \mapsto \phi(W_l x + b_l)` with 1-Lipschitz :math:`\phi`
    this bounds the Lipschitz constant of the whole network (Miyato et al. 2018, §2).
    The weights are read as the module uses them (``W/σ`` under spectral normalization,
    without running a power iteration: the model is read in evaluation mode).
    """
    was_training = model.training
    model.eval()
    bound = 1.0
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            bound *= float(torch.linalg.matrix_norm(layer.weight.double(), 2))
    model.train(was_training)
    return bound


@dataclass
class GANRun:
    """One training run of :func:`train_gan`.

    Attributes:
        steps: the steps at which ``samples`` were taken (the last is the final step).
        samples: ``(n_samples, 2)`` generated points at each of ``steps`` (same noise each time).
        modes: modes covered at each of ``steps`` (:func:`~normcode.experiments.data.mode_coverage`).
        high_quality: fraction of high-quality samples at each of ``steps``.
        d_loss: discriminator loss at every step.
    """

    steps: List[int] = field(default_factory=list)
    samples: List[torch.Tensor] = field(default_factory=list)
    modes: List[int] = field(default_factory=list)
    high_quality: List[float] = field(default_factory=list)
    d_loss: List[float] = field(default_factory=list)

    @property
    def final_modes(self) -> int:
        """Modes covered at the last snapshot."""
        return self.modes[-1]


def train_gan(sn: bool, seed: int = 0, steps: int = 1000, batch_size: int = 128, lr: float = 1e-3,
              noise_dim: int = 2, hidden: int = 64, n_modes: int = 8, radius: float = 2.0, std: float = 0.05,
              n_samples: int = 1000, snapshot_every: int = 100, d_scale: float = 1.0) -> GANRun:
    r"""Train a GAN on the ring of ``n_modes`` Gaussians; the discriminator is spectrally normalized if ``sn``.

    Each step draws a fresh real batch from :func:`ring_of_gaussians` and a noise batch
    :math:`z \sim \mathcal{N}(0, I)`, then takes one Adam step (betas 0.5, 0.999) on the
    discriminator loss :math:`-\log D(x) - \log(1 - D(G(z)))` and one on the generator's
    non-saturating loss :math:`-\log D(G(z))` (Goodfellow et al. 2014). Generator and
    discriminator start from the same weights for a given ``seed`` whether or not ``sn`` is set.

    Args:
        sn: spectral normalization in every discriminator layer.
        seed: seeds the weights, the noise and the data.
        steps: optimiser steps (one for D, one for G each).
        std: standard deviation of each mode (also the unit of the coverage test).
        n_samples: generated points per snapshot (the same noise for every snapshot).
        snapshot_every: steps between snapshots (step 0, before training, is included).
        d_scale: the discriminator reads ``d_scale · x``; with spectral normalization its Lipschitz
            bound is then ``d_scale`` (in the data's units) instead of 1.

    Returns:
        A :class:`GANRun`.
    """
    if steps < 1 or snapshot_every < 1:
        raise ValueError(f"steps and snapshot_every must be at least 1, got {steps} and {snapshot_every}.")
    torch.manual_seed(seed)
    G = generator(noise_dim, hidden)
    torch.manual_seed(seed + 10_000)
    D = discriminator(False, hidden)
    if sn:  # same initial W as without SN; only the parametrization differs
        for layer in D:
            if isinstance(layer, nn.Linear):
                spectral_norm(layer)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed + 20_000)
    fixed_z = torch.randn(n_samples, noise_dim, generator=gen)
    real_all = ring_of_gaussians(steps * batch_size, n_modes, radius, std, seed=seed + 30_000)
    centers = ring_centers(n_modes, radius)
    run = GANRun()

    def d(x: torch.Tensor) -> torch.Tensor:
        return D(d_scale * x)

    def snapshot(step: int) -> None:
        with torch.no_grad():
            x = G(fixed_z)
        cov = mode_coverage(x, centers, std=std)
        run.steps.append(step)
        run.samples.append(x)
        run.modes.append(cov.modes)
        run.high_quality.append(cov.high_quality)

    snapshot(0)
    for step in range(1, steps + 1):
        real = real_all[(step - 1) * batch_size: step * batch_size]
        z = torch.randn(batch_size, noise_dim, generator=gen)
        fake = G(z)
        d_loss = (F.binary_cross_entropy_with_logits(d(real), torch.ones(batch_size, 1))
                  + F.binary_cross_entropy_with_logits(d(fake.detach()), torch.zeros(batch_size, 1)))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = F.binary_cross_entropy_with_logits(d(fake), torch.ones(batch_size, 1))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        run.d_loss.append(d_loss.item())
        if step % snapshot_every == 0 or step == steps:
            snapshot(step)
    return run
