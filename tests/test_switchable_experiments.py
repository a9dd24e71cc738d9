"""Chapter 11's helpers: importance weights, one-hot reduction to IN/LN/BN, short sweeps."""
import pytest
import torch

import normcode as nc
import normcode.experiments as nx
from normcode.experiments import switchable


def test_importance_shape_and_start():
    net = nx.small_cnn(norm="switch", seed=0)
    w = switchable.importance(net)
    assert w.shape == (2, 2, 3)
    assert torch.allclose(w, torch.full_like(w, 1 / 3))


def test_importance_needs_switchnorm():
    with pytest.raises(ValueError, match="norm=\"switch\""):
        switchable.importance(nx.small_cnn(norm="batch", seed=0))


@pytest.mark.parametrize("part, reference", [
    ("instance", lambda c: torch.nn.InstanceNorm2d(c)),
    ("layer", None),
    ("batch", lambda c: torch.nn.BatchNorm2d(c, affine=False)),
])
def test_one_hot_reduces_to_part(part, reference):
    x = torch.randn(4, 3, 5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2 + 1
    sn = switchable.set_one_hot(nc.SwitchNorm(3).double(), part)
    y = sn(x)
    if part == "layer":
        mu = x.mean((1, 2, 3), keepdim=True)
        expected = (x - mu) / (x.var((1, 2, 3), correction=0, keepdim=True) + 1e-5).sqrt()
    else:
        expected = reference(3).double()(x)
    assert torch.allclose(y, expected, atol=1e-10)


def test_set_one_hot_rejects_unknown_part():
    with pytest.raises(ValueError, match="choose one of"):
        switchable.set_one_hot(nc.SwitchNorm(3), "group")


def test_short_sweeps_run():
    data = nx.load_digits(seed=0)
    sweep, acc = switchable.importance_sweep(data, batch_sizes=(4,), seeds=(0,), steps=3)
    assert len(acc[4]) == 1
    assert sweep[4].shape == (1, 2, 2, 3)
    assert torch.allclose(sweep[4].sum(-1), torch.ones(1, 2, 2, dtype=torch.float64))
    accs = switchable.compare_with_parts(data, norms=("switch", "batch"), seeds=(0,), steps=3)
    assert set(accs) == {"switch", "batch"} and all(0 <= a <= 1 for a in accs["switch"])
