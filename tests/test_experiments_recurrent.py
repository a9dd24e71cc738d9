"""The recurrent network of chapter 5 and the batch-dependence probes."""
import pytest
import torch

import normcode as nc
import normcode.experiments as nx
from normcode.experiments import recurrent as rc


def test_digit_rows_are_the_image_rows():
    data = nx.load_digits()
    rows = rc.digit_rows(data)
    assert tuple(rows.X_train.shape) == (1347, 8, 8)
    assert torch.equal(rows.X_train[3, 5], data.X_train[3, 0, 5])


def test_layer_normalized_cell_matches_ba_et_al_by_hand():
    # h_t = tanh(gamma / sigma_t * (a_t - mu_t) + beta), a_t = W_hh h_{t-1} + W_xh x_t (Ba et al., Section 3.1)
    net = rc.RecurrentClassifier(norm="layer", hidden_size=6, seed=0).double()
    x = torch.randn(3, 4, 8, dtype=torch.float64)
    h = torch.zeros(3, 6, dtype=torch.float64)
    for t in range(4):
        a = h @ net.recurrent_weight.weight.T + x[:, t] @ net.input_weight.weight.T
        mu, var = a.mean(dim=1, keepdim=True), a.var(dim=1, unbiased=False, keepdim=True)
        h = torch.tanh(net.normalize.weight * (a - mu) / torch.sqrt(var + 1e-5) + net.normalize.bias)
    assert torch.allclose(net.hidden_states(x)[:, -1], h, atol=1e-12)
    torch_ln = torch.nn.LayerNorm(6).double()
    assert torch.allclose(net.normalize(a), torch_ln(a), atol=1e-12)


def test_layer_norm_network_ignores_batch_mates_and_batch_norm_does_not():
    X = rc.digit_rows(nx.load_digits()).X_train[:40]
    ln, bn = rc.RecurrentClassifier(norm="layer", seed=0), rc.RecurrentClassifier(norm="batch", seed=0)
    assert nx.batch_mate_spread(ln, X, batch_size=8, draws=5) < 1e-5
    assert nx.batch_mate_spread(bn, X, batch_size=8, draws=5) > 1e-2
    assert max(nx.batch_size_change(ln, X, [2, 40]).values()) < 1e-5
    assert bn.normalize[0].running_mean.abs().max() == 0  # the probes ran on a copy


def test_cropped_sequences_keep_their_last_state():
    X = torch.rand(4, 8, 8)
    lengths = torch.tensor([3, 8, 5, 1])
    net = rc.RecurrentClassifier(norm="layer", seed=0)
    cropped = rc.crop_rows(X, lengths)
    assert rc.examples_per_step(cropped) == [4, 3, 3, 2, 2, 1, 1, 1]
    states = net.hidden_states(cropped)
    for n, length in enumerate(lengths.tolist()):
        alone = net.hidden_states(X[n:n + 1, :length])[0, -1]
        assert torch.allclose(states[n, -1], alone, atol=1e-6)


def test_batch_norm_network_refuses_longer_sequences():
    net = rc.RecurrentClassifier(norm="batch", max_steps=6, seed=0).eval()
    with pytest.raises(ValueError, match="max_steps"):
        net(torch.rand(2, 8, 8))
    assert tuple(rc.RecurrentClassifier(norm="layer", seed=0)(torch.rand(2, 12, 8)).shape) == (2, 10)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="norm must be one of"):
        rc.RecurrentClassifier(norm="group")
    with pytest.raises(ValueError, match="lengths must lie"):
        rc.crop_rows(torch.rand(2, 4, 1), torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="low <= high"):
        rc.random_lengths(3, 5, 2)
    with pytest.raises(ValueError, match="batch_size"):
        nx.batch_mate_spread(nx.mlp(seed=0), torch.rand(5, 64), batch_size=9)


def test_compare_norms_is_seeded():
    data = rc.digit_rows(nx.load_digits())
    make = lambda norm, seed: rc.RecurrentClassifier(norm=norm, hidden_size=8, seed=seed)
    a = rc.compare_norms(make, data, ["layer"], seeds=[1], steps=3, eval_every=3)
    b = rc.compare_norms(make, data, ["layer"], seeds=[1], steps=3, eval_every=3)
    assert a["layer"][0] == b["layer"][0]


def test_layer_norm_keeps_the_state_size_when_the_recurrent_weights_grow():
    X = rc.digit_rows(nx.load_digits()).X_test[:50]
    sizes = {(norm, scale): rc.hidden_state_rms(rc.RecurrentClassifier(norm=norm, recurrent_scale=scale, seed=0), X)
             for norm in ("none", "layer") for scale in (1.0, 4.0)}
    assert (sizes["layer", 4.0] - sizes["layer", 1.0]).abs().max() < 0.05
    assert sizes["none", 4.0][-1] > sizes["none", 1.0][-1] + 0.2
