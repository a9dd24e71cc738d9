"""Tests of normcode.experiments.landscape_bands: Santurkar's Figure 4 bands over training."""
import pytest
import torch

from normcode.experiments.data import load_digits
from normcode.experiments.landscape_bands import band, landscape_band_probe, landscape_bands
from normcode.experiments.models import mlp
from normcode.experiments.probes import loss_landscape
from normcode.experiments.training import History, train


def _batch(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 64, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_bands_are_the_range_of_loss_landscape_over_the_step_sizes():
    net = mlp(norm="batch", seed=0)
    X, y = _batch()
    etas = (0.1, 0.2, 0.4)
    b = landscape_bands(net, X, y, etas)
    land = loss_landscape(net, X, y, etas)
    assert b["loss_min"] == float(land.losses.min()) and b["loss_max"] == float(land.losses.max())
    assert b["grad_change_min"] == float(land.gradient_change.min())
    assert b["grad_change_max"] == land.max_gradient_change
    assert b["beta_smoothness"] == land.beta_smoothness
    assert b["loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(net(X), y).detach()), rel=1e-6)


def test_probe_in_train_records_series_and_band_reads_them():
    data = load_digits(seed=0)
    X, y = data.flat().X_train[:60], data.y_train[:60]
    h = train(mlp(norm="batch", seed=0), data, steps=10, lr=0.1, eval_every=5,
              record={"land": landscape_band_probe(X, y)})
    steps, lower, upper = band(h, "grad_change")
    assert steps.tolist() == [5, 10] and bool((lower <= upper).all())
    steps, lower, upper = band(h, "loss", since=0)
    assert steps.tolist() == [0, 5, 10]


def test_band_refuses_unknown_quantity():
    with pytest.raises(ValueError, match="quantity"):
        band(History(), "beta")
