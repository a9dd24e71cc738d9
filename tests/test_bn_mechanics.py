"""normcode.experiments.bn_mechanics: statistics outside the gradient, folding, recalibration, signal at init."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from normcode import BatchNorm1d, BatchNorm2d
from normcode.experiments import bn_mechanics as bm
from normcode.experiments import mlp


def test_statistics_outside_the_gradient_let_the_bias_grow_at_a_constant_loss():
    outside = bm.outside_gradient_run(steps=50, lr=0.1, detach=True)
    inside = bm.outside_gradient_run(steps=50, lr=0.1, detach=False)
    steps = torch.tensor(outside["bias"][1:]) - torch.tensor(outside["bias"][:-1])
    assert torch.allclose(steps, steps[0].expand_as(steps), atol=1e-9) and steps[0] > 0.1   # linear growth
    assert max(outside["loss"]) - min(outside["loss"]) < 1e-12
    assert max(abs(b) for b in inside["bias"]) < 1e-12                                     # true gradient: 0
    with pytest.raises(ValueError, match="m >= 2"):
        bm.outside_gradient_run(m=1)


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_folding_equals_the_layer_then_batch_norm_in_evaluation_mode(kind):
    torch.manual_seed(0)
    if kind == "linear":
        layer, bn, shape = nn.Linear(6, 4, bias=False), BatchNorm1d(4), (32, 6)
    else:
        layer, bn, shape = nn.Conv2d(3, 4, 3, padding=1), BatchNorm2d(4), (8, 3, 5, 5)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.uniform_(-1.0, 1.0)
        for _step in range(5):
            bn(layer(torch.randn(*shape) * 2 + 1))
    bn.eval()
    u = torch.randn(*shape)
    folded = bm.fold_batchnorm(layer, bn)
    assert type(folded) is type(layer) and folded.bias is not None
    assert torch.allclose(folded(u), bn(layer(u)), atol=1e-5)


def test_fold_network_and_its_errors():
    net = mlp(norm="batch", activation="relu", hidden=(8, 8), seed=0)
    net(torch.rand(20, 64))
    folded = bm.fold_network(net)
    x = torch.rand(10, 64)
    assert torch.allclose(folded(x), net.eval()(x), atol=1e-5)
    with pytest.raises(ValueError, match="after its activation"):
        bm.fold_network(mlp(norm="batch", norm_position="after_activation", hidden=(8,), seed=0))
    with pytest.raises(ValueError, match="running estimates"):
        bm.fold_batchnorm(nn.Linear(3, 2), BatchNorm1d(2, track_running_stats=False))
    with pytest.raises(ValueError, match="channels"):
        bm.fold_batchnorm(nn.Linear(3, 2), BatchNorm1d(5))


def test_recalibration_undoes_an_affine_change_of_the_inputs():
    # An affine change of every input pixel moves each first-layer unit by an affine map,
    # which recomputed statistics remove exactly: same outputs as recalibrating on the old inputs.
    torch.manual_seed(0)
    net = mlp(norm="batch", activation="relu", hidden=(16,), seed=0)
    X = torch.rand(200, 64)
    shifted = bm.recalibrate_batchnorm(net, 0.5 * X + 0.25, batch_size=50)
    plain = bm.recalibrate_batchnorm(net, X, batch_size=50)
    assert torch.allclose(shifted(0.5 * X + 0.25), plain(X), atol=5e-3)   # up to the effect of eps
    assert net.training and not shifted.training                      # the original is untouched
    with pytest.raises(ValueError, match="no batch normalization"):
        bm.recalibrate_batchnorm(mlp(hidden=(4,), seed=0), X)


def test_signal_at_init_saturates_with_large_weights_and_fades_with_small_ones():
    X = torch.rand(100, 64)
    big = bm.signal_at_init(mlp(init_std=10.0, seed=0), X)
    small = bm.signal_at_init(mlp(init_std=0.01, seed=0), X)
    assert all(layer["saturated"] > 0.8 for layer in big)
    assert small[-1]["spread"] < 1e-3 * small[0]["spread"] and small[0]["saturated"] == 0.0
