"""Tests of normcode.experiments.gan: the chapter 12 GAN and the Lipschitz bound."""
import pytest
import torch

from normcode.experiments import gan, mode_coverage, ring_centers


def test_discriminator_with_sn_is_1_lipschitz_bound():
    torch.manual_seed(0)
    d = gan.discriminator(sn=True)
    assert abs(gan.lipschitz_bound(d) - 1.0) < 1e-3          # each W/sigma has spectral norm 1
    torch.manual_seed(0)
    plain = gan.discriminator(sn=False)
    x = torch.randn(512, 2, requires_grad=True)
    grad, = torch.autograd.grad(plain(x).sum(), x)
    assert float(grad.norm(dim=1).max()) <= gan.lipschitz_bound(plain) * (1 + 1e-4)


def test_lipschitz_bound_keeps_training_mode():
    d = gan.discriminator(sn=True).train()
    gan.lipschitz_bound(d)
    assert d.training


def test_generator_shapes():
    g = gan.generator(noise_dim=3, hidden=8)
    assert g(torch.randn(5, 3)).shape == (5, 2)


def test_train_gan_is_deterministic_and_snapshots():
    a = gan.train_gan(True, seed=0, steps=20, snapshot_every=10, n_samples=100)
    b = gan.train_gan(True, seed=0, steps=20, snapshot_every=10, n_samples=100)
    assert a.steps == [0, 10, 20] and len(a.samples) == 3 and len(a.d_loss) == 20
    assert all(torch.equal(x, y) for x, y in zip(a.samples, b.samples))
    assert a.modes[-1] == mode_coverage(a.samples[-1], ring_centers(), std=0.05).modes


def test_same_start_with_and_without_sn():
    a = gan.train_gan(False, seed=3, steps=1, snapshot_every=1, n_samples=50)
    b = gan.train_gan(True, seed=3, steps=1, snapshot_every=1, n_samples=50)
    assert torch.equal(a.samples[0], b.samples[0])            # same generator before training


def test_bad_steps():
    with pytest.raises(ValueError, match="at least 1"):
        gan.train_gan(True, steps=0)
