r"""A GAN small enough for a CPU: 2-D points from a ring of Gaussians, two small MLPs.

The generator maps noise :math:`z \sim N(0, I)` to points in the plane; the
discriminator scores points as real or generated. Both are trained with Adam on the
non-saturating loss of Goodfellow et al. (2014),

.. math::

    L_D = \operatorname{softplus}(-D(x)) + \operatorname{softplus}(D(G(z))), \qquad
    L_G = \operatorname{softplus}(-D(G(z))),

with or without spectral normalization (:func:`normcode.spectral_norm`) on every linear
layer of the discriminator, which bounds its Lipschitz constant by 1 (Miyato et al. 2018).
Score the generator with :func:`normcode.experiments.mode_coverage`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..experiments.data import ring_of_gaussians
from ..experiments.training import deterministic, set_seed
from ..spectralnorm import spectral_norm

__all__ = ["generator", "discriminator", "GanRun", "train_gan", "input_gradient_norm"]


@dataclass(frozen=True, eq=False)
class GanRun:
    """What :func:`train_gan` returns.

    Attributes:
        samples: ``(n, 2)`` points drawn from the trained generator.
        slope: the largest ‖∇ₓD(x)‖ of the trained discriminator over real and generated
            points (a lower bound on its Lipschitz constant; at most 1 under spectral normalization).
    """

    samples: torch.Tensor
    slope: float


def input_gradient_norm(d_net: nn.Module, points: torch.Tensor) -> float:
    """The largest ‖∇ₓD(x)‖ over ``points``: how steep the discriminator is where it is evaluated."""
    x = points.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(d_net(x).sum(), x)
    return float(grad.norm(dim=1).max())


def generator(noise: int = 2, width: int = 64) -> nn.Module:
    """Noise ``(B, noise)`` → points ``(B, 2)``: two hidden ReLU layers of ``width``."""
    return nn.Sequential(nn.Linear(noise, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                         nn.Linear(width, 2))


def discriminator(width: int = 64, spectral: bool = False) -> nn.Module:
    """Points ``(B, 2)`` → one logit each; every linear layer spectrally normalized when ``spectral``."""
    layers = [nn.Linear(2, width), nn.Linear(width, width), nn.Linear(width, 1)]
    if spectral:
        layers = [spectral_norm(layer) for layer in layers]
    return nn.Sequential(layers[0], nn.LeakyReLU(0.2), layers[1], nn.LeakyReLU(0.2), layers[2])


def train_gan(spectral: bool = False, steps: int = 1000, batch_size: int = 128, lr: float = 1e-3,
              modes: int = 8, std: float = 0.05, noise: int = 2, seed: int = 0,
              samples: int = 2000) -> GanRun:
    """Train a generator against a discriminator with or without spectral normalization; return its samples.

    Args:
        spectral: spectral normalization on the discriminator's linear layers.
        steps: alternating updates (one discriminator step, then one generator step).
        batch_size: real and generated points per step.
        lr: Adam's learning rate for both networks (betas 0.5, 0.999, as in DCGAN).
        modes, std: the target :func:`~normcode.experiments.ring_of_gaussians`.
        noise: dimension of the generator's input.
        seed: seeds the networks, the data and the noise; one CPU thread, deterministic algorithms.
        samples: points drawn from the trained generator.

    Returns:
        A :class:`GanRun`: the generated points and the steepness of the discriminator.

    Example:
        >>> tuple(train_gan(steps=2, samples=10).samples.shape)
        (10, 2)
    """
    set_seed(seed)
    with deterministic():
        g_net, d_net = generator(noise), discriminator(spectral=spectral)
        opt_g = torch.optim.Adam(g_net.parameters(), lr=lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(d_net.parameters(), lr=lr, betas=(0.5, 0.999))
        real = ring_of_gaussians(steps * batch_size, modes=modes, std=std, seed=seed).view(steps, batch_size, 2)
        for step in range(steps):
            fake = g_net(torch.randn(batch_size, noise))
            loss_d = F.softplus(-d_net(real[step])).mean() + F.softplus(d_net(fake.detach())).mean()
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = F.softplus(-d_net(fake)).mean()
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
        d_net.eval()  # no further power iterations: measure the discriminator as it is
        with torch.no_grad():
            generated = g_net(torch.randn(samples, noise))
        probe = torch.cat([generated, ring_of_gaussians(samples, modes=modes, std=std, seed=seed + 1)])
        return GanRun(samples=generated, slope=input_gradient_norm(d_net, probe))
