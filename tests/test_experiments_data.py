"""Tests of normcode.experiments.data: digits split, style tasks, batch samplers, ring of Gaussians."""
import math

import pytest
import torch

from normcode import InstanceNorm2d
from normcode.experiments import data as D
from normcode.experiments.models import small_cnn


@pytest.fixture(scope="module")
def digits():
    return D.load_digits(seed=0)


# ----------------------------------------------------------------------------- load_digits

def test_digits_shapes_dtypes_and_range(digits):
    assert digits.X_train.shape == (1347, 1, 8, 8) and digits.X_test.shape == (450, 1, 8, 8)
    assert digits.X_train.dtype == torch.float32 and digits.y_train.dtype == torch.int64
    assert digits.y_train.shape == (1347,) and digits.num_classes == 10
    assert float(digits.X_train.min()) == 0.0 and float(digits.X_train.max()) == 1.0
    flat = digits.flat()
    assert flat.X_train.shape == (1347, 64) and torch.equal(flat.images().X_test, digits.X_test)
    assert D.load_digits(flat=True).X_train.shape == (1347, 64)


def test_digits_split_is_stratified(digits):
    train_counts = torch.bincount(digits.y_train, minlength=10).float()
    test_counts = torch.bincount(digits.y_test, minlength=10).float()
    share = train_counts / (train_counts + test_counts)
    assert torch.allclose(share, torch.full((10,), 0.75), atol=0.01)


def test_digits_split_is_seeded(digits):
    again = D.load_digits(seed=0)
    assert torch.equal(again.X_train, digits.X_train) and torch.equal(again.y_test, digits.y_test)
    other = D.load_digits(seed=1)
    assert not torch.equal(other.y_train, digits.y_train)


def test_digits_standardize_uses_training_statistics(digits):
    std = D.load_digits(seed=0, standardize=True, flat=True)
    raw = digits.flat()
    mean = raw.X_train.mean(0)
    sd = raw.X_train.std(0, correction=0)
    varying = sd > 0
    assert torch.allclose(std.X_train.mean(0), torch.zeros(64), atol=1e-5)
    assert torch.allclose(std.X_train.std(0, correction=0)[varying], torch.ones(int(varying.sum())), atol=1e-4)
    expected_test = (raw.X_test - mean) / torch.where(varying, sd, torch.ones_like(sd))
    assert torch.allclose(std.X_test, expected_test, atol=1e-5)
    assert torch.isfinite(std.X_train).all()


# ----------------------------------------------------------------------------- style

def test_random_style_ranges_and_seed():
    a, b = D.random_style(1000, seed=3, contrast=(0.5, 2.0), brightness=(-0.2, 0.3))
    assert a.shape == b.shape == (1000,)
    assert float(a.min()) >= 0.5 and float(a.max()) <= 2.0
    assert float(b.min()) >= -0.2 and float(b.max()) <= 0.3
    # log-uniform: as many contrasts below 1 as above
    assert abs(float((a < 1).float().mean()) - 0.5) < 0.06
    a2, b2 = D.random_style(1000, seed=3, contrast=(0.5, 2.0), brightness=(-0.2, 0.3))
    assert torch.equal(a, a2) and torch.equal(b, b2)
    assert not torch.equal(a, D.random_style(1000, seed=4, contrast=(0.5, 2.0))[0])
    with pytest.raises(ValueError, match="contrast"):
        D.random_style(3, contrast=(-1.0, 2.0))


def test_apply_style_is_per_image_affine(digits):
    X = digits.X_train[:5]
    a, b = torch.arange(1.0, 6.0), torch.linspace(-1, 1, 5)
    Y = D.apply_style(X, a, b)
    for n in range(5):
        assert torch.allclose(Y[n], a[n] * X[n] + b[n])
    assert D.apply_style(X.flatten(1), a, b).shape == (5, 64)


def test_instance_norm_removes_the_style_exactly(digits):
    X = digits.X_train[:200].double()
    a, b = D.random_style(200, seed=0)
    styled = D.apply_style(X, a.double(), b.double())
    inorm = InstanceNorm2d(1, eps=1e-12)
    assert (styled - X).abs().max() > 0.5                       # the style did change the images ...
    assert torch.allclose(inorm(styled), inorm(X), atol=1e-6)   # ... and IN undoes it
    # with the default eps the match is approximate: eps / (a^2 sigma^2) is small but not zero
    inorm_default = InstanceNorm2d(1)
    assert torch.allclose(inorm_default(styled.float()), inorm_default(X.float()), atol=1e-2)


def test_instance_norm_cnn_is_style_invariant_with_replicate_padding(digits):
    X = digits.X_test[:64]
    a, b = D.random_style(64, seed=1)
    styled = D.apply_style(X, a, b)
    net = small_cnn(norm="instance", seed=0).eval()
    assert torch.allclose(net(styled), net(X), atol=1e-3)
    zero_padded = small_cnn(norm="instance", padding_mode="zeros", seed=0).eval()
    assert (zero_padded(styled) - zero_padded(X)).abs().max() > 1e-2
    batch = small_cnn(norm="batch", seed=0).eval()
    assert (batch(styled) - batch(X)).abs().max() > 1e-2


def test_style_task_nuisance_keeps_digit_labels(digits):
    task = D.style_task(digits, kind="nuisance", seed=0)
    assert task.num_classes == 10 and torch.equal(task.y_train, digits.y_train)
    assert task.X_train.shape == digits.X_train.shape and not torch.allclose(task.X_train, digits.X_train)
    assert torch.equal(D.style_task(digits, kind="nuisance", seed=0).X_test, task.X_test)
    assert not torch.equal(D.style_task(digits, kind="nuisance", seed=1).X_test, task.X_test)


def test_style_task_signal_labels_encode_contrast(digits):
    contrast = (0.25, 4.0)
    task = D.style_task(digits, kind="signal", seed=0, contrast=contrast)
    assert task.num_classes == 20
    high = task.y_train >= 10
    assert torch.equal(task.y_train % 10, digits.y_train)
    assert 0.4 < float(high.float().mean()) < 0.6
    # recover each image's contrast: a = std(styled) / std(original)
    a = task.X_train.flatten(1).std(1) / digits.X_train.flatten(1).std(1)
    middle = math.sqrt(contrast[0] * contrast[1])
    assert bool((a[high] >= middle - 1e-4).all()) and bool((a[~high] <= middle + 1e-4).all())
    with pytest.raises(ValueError, match="kind"):
        D.style_task(digits, kind="colour")


# ----------------------------------------------------------------------------- samplers

def test_iid_batches_cover_an_epoch_without_repeats():
    batches = list(D.iid_batches(100, 30, seed=0, num_batches=6))
    assert len(batches) == 6 and all(b.shape == (30,) for b in batches)
    first_epoch = torch.cat(batches[:3])
    assert len(first_epoch.unique()) == 90                   # 3 full batches, the last 10 dropped
    assert not torch.equal(batches[0], batches[3])           # a new permutation each epoch
    again = list(D.iid_batches(100, 30, seed=0, num_batches=6))
    assert all(torch.equal(x, y) for x, y in zip(batches, again))
    assert not torch.equal(next(D.iid_batches(100, 30, seed=1)), batches[0])
    with pytest.raises(ValueError):
        next(D.iid_batches(10, 11))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_non_iid_batches_hold_at_most_k_classes(digits, k):
    y = digits.y_train
    batches = list(D.non_iid_batches(y, batch_size=32, k=k, seed=0, num_batches=50))
    assert len(batches) == 50
    for idx in batches:
        assert idx.shape == (32,) and len(idx.unique()) == 32
        assert len(y[idx].unique()) <= k
    seen = torch.cat([y[idx] for idx in batches]).unique()
    assert len(seen) >= 8                                      # different batches use different classes
    again = list(D.non_iid_batches(y, batch_size=32, k=k, seed=0, num_batches=50))
    assert all(torch.equal(a, b) for a, b in zip(batches, again))


def test_non_iid_batches_reject_bad_k(digits):
    with pytest.raises(ValueError, match="k must be"):
        next(D.non_iid_batches(digits.y_train, 8, k=11))
    with pytest.raises(ValueError, match="batch_size"):
        next(D.non_iid_batches(digits.y_train, 1000, k=1))


# ----------------------------------------------------------------------------- ring of Gaussians

def test_ring_centers_lie_on_the_circle():
    c = D.ring_centers(8, radius=2.0)
    assert c.shape == (8, 2)
    assert torch.allclose(c.norm(dim=1), torch.full((8,), 2.0))
    assert torch.allclose(c[0], torch.tensor([2.0, 0.0]))


def test_mode_coverage_on_the_mixture_finds_every_mode():
    samples = D.ring_of_gaussians(2000, modes=8, std=0.02, seed=0)
    assert samples.shape == (2000, 2)
    cov = D.mode_coverage(samples, D.ring_centers(8), std=0.02)
    assert cov.modes == 8 and cov.high_quality > 0.97
    assert int(cov.counts.sum()) == round(cov.high_quality * 2000)
    assert torch.equal(D.ring_of_gaussians(2000, seed=0), samples)


def test_mode_coverage_detects_collapse_and_garbage():
    centers = D.ring_centers(8)
    one_mode = centers[3] + 0.02 * torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    cov = D.mode_coverage(one_mode, centers, std=0.02)
    assert cov.modes == 1 and int(cov.counts.argmax()) == 3
    samples = D.ring_of_gaussians(1000, seed=1)
    half = samples[torch.cdist(samples, centers).argmin(1) % 2 == 0]
    assert D.mode_coverage(half, centers).modes == 4
    noise = 4 * torch.rand(1000, 2, generator=torch.Generator().manual_seed(0)) - 2
    assert D.mode_coverage(noise, centers).high_quality < 0.05
