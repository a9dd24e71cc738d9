"""Tests of normcode.experiments.probes and .noisy: unit percentiles, Santurkar's ICS, the loss landscape, noisy BN."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

from normcode import available, make_norm
from normcode.experiments import probes as P
from normcode.experiments.models import mlp, record
from normcode.experiments.noisy import NoisyNorm
from normcode.experiments.training import train


def _batch(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 64, generator=g), torch.randint(0, 10, (n,), generator=g)


def _same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# ----------------------------------------------------------------------------- (a) percentiles

def test_unit_values_match_record_in_eval_mode():
    net = mlp(norm="batch", init_std=0.1, seed=0)
    X, _ = _batch()
    with torch.no_grad():
        net(X)                                                  # move BN's running stats off their initial values
    values = P.unit_values(net, X, layer=-1, unit=3)
    assert net.training                                         # mode restored
    net.eval()
    with record(net, layers=-1) as seen:
        net(X)
    net.train()
    assert values.shape == (60,) and torch.equal(values, seen[-1][:, 3])


def test_unit_percentiles_match_numpy():
    net = mlp(seed=0)
    X, _ = _batch(101)
    values = P.unit_values(net, X, layer=1, unit=5).numpy()
    pct = P.unit_percentiles(net, X, layer=1, unit=5, q=(15, 50, 85))
    assert np.allclose(pct.numpy(), np.percentile(values, [15, 50, 85]), atol=1e-6)
    probe = P.percentile_probe(X, layer=1, unit=5, q=(10, 90))
    assert probe(net).shape == (2,)


def test_percentile_probe_follows_training():
    from normcode.experiments.data import load_digits
    data = load_digits()
    net = mlp(init_std=0.1, seed=0)
    h = train(net, data, steps=40, lr=0.5, eval_every=20, record={"p": P.percentile_probe(data.X_test)})
    assert h.series("p").shape == (3, 3)
    assert not torch.equal(h.series("p")[0], h.series("p")[-1])


# ----------------------------------------------------------------------------- (b) ICS

@pytest.mark.parametrize("norm", ["none", "batch", "noisy_batch"])
def test_ics_is_zero_when_earlier_layers_do_not_move(norm):
    net = mlp(norm=norm, init_std=0.1, seed=0)
    X, y = _batch()
    for layer in range(4):
        ics = P.internal_covariate_shift(net, X, y, layer=layer, lr=0.0)
        assert ics.l2 == 0.0 and ics.cosine == pytest.approx(1.0, abs=1e-6)
    # the first layer has no earlier layers: zero at any learning rate
    assert P.internal_covariate_shift(net, X, y, layer=0, lr=10.0).l2 == 0.0


def test_ics_matches_a_hand_computation_and_leaves_the_model_alone():
    net = mlp(hidden=(30, 30), norm="batch", init_std=0.1, seed=0)
    before = copy.deepcopy(net)
    X, y = _batch()
    torch.manual_seed(0)
    rng_before = torch.get_rng_state()
    ics = P.internal_covariate_shift(net, X, y, layer=2, lr=0.5)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert _same_state(net, before)                           # weights and BN buffers untouched

    # by hand: G, then an SGD step of blocks 0 and 1 only, then G'
    work = copy.deepcopy(net)
    loss = nn.functional.cross_entropy(work(X), y)
    loss.backward()
    G = work.head.weight.grad.clone()
    earlier = list(work.blocks[0].parameters()) + list(work.blocks[1].parameters())
    torch.optim.SGD(earlier, lr=0.5).step()
    work.zero_grad()
    nn.functional.cross_entropy(work(X), y).backward()
    G2 = work.head.weight.grad
    assert ics.l2 == pytest.approx(float((G - G2).norm()), rel=1e-5)
    assert ics.cosine == pytest.approx(float(nn.functional.cosine_similarity(G.flatten(), G2.flatten(), dim=0)), abs=1e-6)
    assert ics.l2 > 0 and ics.cosine < 1


def test_ics_probe_records_both_numbers():
    X, y = _batch()
    out = P.ics_probe(X, y, layer=-1, lr=0.5)(mlp(seed=0))
    assert set(out) == {"l2", "cosine"} and out["l2"] > 0
    with pytest.raises(ValueError, match="layer"):
        P.internal_covariate_shift(mlp(seed=0), X, y, layer=4, lr=0.1)


# ----------------------------------------------------------------------------- (c) landscape

def test_landscape_matches_a_quadratic_by_hand():
    # L(w) = 1/(2m) ||Xw - y||^2 has gradient g = Hw - X^T y / m and Hessian H = X^T X / m, so
    # L(w - eta g) is known in closed form, grad(w - eta g) - g = -eta H g, and the effective
    # beta-smoothness is ||H g|| / ||g|| for every eta.
    torch.manual_seed(0)
    X = torch.randn(50, 3, dtype=torch.float64) * torch.tensor([3.0, 1.0, 0.2], dtype=torch.float64)
    y = torch.randn(50, dtype=torch.float64)
    model = nn.Linear(3, 1, bias=False).double()
    w = model.weight.detach().flatten().clone()

    def loss_fn(out, target):
        return 0.5 * ((out.squeeze(1) - target) ** 2).mean()

    etas = (0.01, 0.05, 0.1)
    land = P.loss_landscape(model, X, y, etas=etas, loss_fn=loss_fn)
    H = X.T @ X / 50
    g = H @ w - X.T @ y / 50
    expected_losses = [0.5 * ((X @ (w - e * g) - y) ** 2).mean() for e in etas]
    assert torch.allclose(land.losses.double(), torch.stack(expected_losses), rtol=1e-5)
    expected_change = torch.tensor([e * float((H @ g).norm()) for e in etas])
    assert torch.allclose(land.gradient_change.double(), expected_change.double(), rtol=1e-5)
    assert land.gradient_norm == pytest.approx(float(g.norm()), rel=1e-6)
    assert land.beta_smoothness == pytest.approx(float((H @ g).norm() / g.norm()), rel=1e-5)
    assert land.beta_smoothness <= float(torch.linalg.eigvalsh(H)[-1]) + 1e-9   # never above the largest curvature
    assert land.loss_range == pytest.approx(float(max(expected_losses) - min(expected_losses)), rel=1e-4)
    assert land.max_gradient_change == pytest.approx(float(expected_change.max()), rel=1e-5)
    assert torch.equal(model.weight.detach().flatten(), w)    # the model did not move


def test_landscape_probe_and_bad_etas():
    X, y = _batch()
    net = mlp(norm="batch", seed=0)
    before = copy.deepcopy(net)
    summary = P.landscape_probe(X, y, etas=(0.1, 0.5))(net)
    assert set(summary) == {"loss_range", "gradient_change", "beta_smoothness"}
    assert all(v >= 0 for v in summary.values())
    assert _same_state(net, before)
    with pytest.raises(ValueError, match="etas"):
        P.loss_landscape(net, X, y, etas=(0.0, 0.1))


# ----------------------------------------------------------------------------- (d) noisy BN

def test_noisy_norms_are_registered():
    import normcode.experiments  # noqa: F401  (importing the toolkit registers them)
    assert {"noisy_batch", "noise_only"} <= set(available())
    assert isinstance(make_norm("noisy_batch", 4), NoisyNorm)
    assert isinstance(mlp(norm="noise_only").blocks[0].norm, NoisyNorm)


def test_noisy_norm_adds_per_channel_shift_and_scale_in_training_only():
    torch.manual_seed(0)
    noisy = NoisyNorm(make_norm("batch", 5), 5)
    x = torch.randn(200, 5) * 3 + 1
    y = noisy(x)
    # y = s * xhat + m with xhat standardized per channel: read s and m back from the moments
    m, s = y.mean(0), y.std(0, correction=0)
    assert bool(((m > -1) & (m < 1)).all()) and bool(((s > 1) & (s < 2 + 1e-3)).all())
    assert not torch.allclose(noisy(x), y)                       # redrawn at every training step
    noisy.eval()
    assert torch.equal(noisy(x), noisy.norm(x))                  # off in evaluation
    noise_only = NoisyNorm(nn.Identity(), 5).train()
    z = noise_only(x)
    ratio = (z - z.mean(0)) / (x - x.mean(0))
    assert torch.allclose(ratio, ratio[0].expand_as(ratio), atol=1e-3)   # one scale per channel


def test_noisy_norm_per_sample_and_images():
    noisy = NoisyNorm(nn.Identity(), 3, per_sample=True)
    x = torch.zeros(4, 3, 2, 2)
    y = noisy(x)                                                 # zero input: the output is the shift m
    assert y.shape == x.shape
    assert torch.equal(y, y[:, :, :1, :1].expand_as(y))           # constant over space
    assert not torch.equal(y[0], y[1])                            # different for each example
    assert make_norm("noisy_batch", 3, mean_range=0.0, scale_range=(1.0, 1.0)).train()(x + 1).abs().max() == 0
