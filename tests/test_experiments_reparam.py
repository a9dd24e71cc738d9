"""normcode.experiments.reparam (chapter 8): the four settings, initialisation, batch noise, step cost;
normcode.plotting.reparam: the loss curves."""
from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

import normcode as nc  # noqa: E402
from normcode.experiments import History, load_digits, record  # noqa: E402
from normcode.experiments import reparam  # noqa: E402
from normcode.plotting import reparam as reparam_plots  # noqa: E402


@pytest.fixture(scope="module")
def batch():
    return load_digits(seed=0).X_train[:200]


def test_settings_share_the_initial_function_and_reparametrize_every_layer(batch):
    plain = reparam.wn_mlp("none", seed=3)
    wn = reparam.wn_mlp("weight", init_batch=batch, seed=3)
    layers = [b.linear for b in wn.blocks] + [wn.head]
    assert all(hasattr(layer, "parametrizations") for layer in layers)
    # the directions v start at the plain network's weights (same seed)
    for ours, theirs in zip(layers, [b.linear for b in plain.blocks] + [plain.head]):
        v = ours.parametrizations.weight.original1
        assert torch.allclose(v, theirs.weight)
    assert isinstance(reparam.wn_mlp("weight+mean_only", init_batch=batch).blocks[0].norm, nc.MeanOnlyBatchNorm)


def test_init_from_batch_standardizes_every_layer_by_hand(batch):
    for arch, hidden, X in (("mlp", (30, 20), batch), ("cnn", (4, 6), batch.view(-1, 1, 8, 8))):
        model = reparam.wn_mlp("weight", hidden=hidden, arch=arch, init_batch=X, seed=0)
        with torch.no_grad(), record(model, layers=list(range(len(hidden))), point="linear") as seen:
            out = model(X)
        for z in seen.values():
            dims = [0] + list(range(2, z.dim()))
            assert z.mean(dims).abs().max() < 1e-5 and (z.std(dims, correction=0) - 1).abs().max() < 1e-4
        assert out.mean(0).abs().max() < 1e-5     # the head too


def test_weight_settings_need_an_init_batch_and_names_are_checked():
    with pytest.raises(ValueError, match="init_batch"):
        reparam.wn_mlp("weight")
    with pytest.raises(ValueError, match="unknown setting"):
        reparam.wn_mlp("weights")
    with pytest.raises(ValueError, match="arch"):
        reparam.wn_mlp("none", arch="rnn")


def test_normalization_noise_against_a_hand_computation():
    z = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    got = reparam.normalization_noise(z, 5, "mean_only", draws=300, seed=1)
    # by hand: same draws, same formula, written with a loop
    others = torch.arange(1, 50)
    g = torch.Generator().manual_seed(1)
    noise = []
    for _draw in range(300):
        mates = others[torch.randperm(49, generator=g)[:4]]
        batch_mean = torch.cat([z[:1], z[mates]]).mean(0)
        noise.append(((z[0] - batch_mean) - (z[0] - z.mean(0))) / z.std(0, unbiased=False))
    noise = torch.stack(noise)
    std = noise.std(0, unbiased=False)
    kurt = ((noise - noise.mean(0)) ** 4).mean(0) / std ** 4
    assert abs(got["std"] - float(std.mean())) < 1e-12 and abs(got["kurtosis"] - float(kurt.mean())) < 1e-9


def test_mean_only_noise_is_gaussian_and_smaller_on_gaussian_data():
    z = torch.randn(2000, 3, generator=torch.Generator().manual_seed(0))
    bn = reparam.normalization_noise(z, 8, "batch", draws=3000)
    mo = reparam.normalization_noise(z, 8, "mean_only", draws=3000)
    assert mo["std"] < bn["std"] and abs(mo["kurtosis"] - 3) < 0.25
    with pytest.raises(ValueError):
        reparam.normalization_noise(z, 1)
    with pytest.raises(ValueError):
        reparam.normalization_noise(z, 4, kind="layer")


def test_step_cost_counts_the_step_and_grows_with_batch_norm(batch):
    y = torch.zeros(60, dtype=torch.long)
    plain = reparam.step_cost(reparam.wn_mlp("none", hidden=(10,)), batch[:60], y)
    bn = reparam.step_cost(reparam.wn_mlp("batch", hidden=(10,)), batch[:60], y)
    assert plain["ops"] > 5 and bn["ops"] > plain["ops"] and bn["elements"] > plain["elements"]
    # the count is exact: the same model and batch give the same numbers
    assert reparam.step_cost(reparam.wn_mlp("none", hidden=(10,)), batch[:60], y) == plain


def test_loss_curves_mark_a_divergence():
    good = History(step=list(range(1, 31)), loss=[1.0 / s for s in range(1, 31)])
    bad = History(step=list(range(1, 31)), loss=[1.0] * 20 + [float("nan")] * 10)
    curve = reparam_plots.smoothed_mean_loss([good, good], window=5)
    assert len(curve) == 26 and abs(float(curve[0]) - sum(1.0 / s for s in range(1, 6)) / 5) < 1e-12
    assert torch.isnan(reparam_plots.smoothed_mean_loss([bad], window=5)[-1])
    fig, axes = reparam_plots.plot_loss_curves({0.1: {"none": [good], "weight": [bad]}}, window=5)
    assert len(axes) == 1 and len(axes[0].lines) == 3       # two curves and the cross
    matplotlib.pyplot.close(fig)
