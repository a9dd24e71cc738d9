"""Tests of normcode.experiments.train_mode: measuring a network with batch statistics and noise on."""
import torch

import normcode.experiments  # noqa: F401  (registers "noisy_batch")
from normcode.experiments.models import mlp, record
from normcode.experiments.train_mode import (train_mode_accuracy, train_mode_accuracy_probe,
                                              train_mode_percentile_probe, train_mode_percentiles,
                                              train_mode_values)


def _data(n=90, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 64, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_accuracy_matches_a_manual_batchwise_training_mode_pass_and_leaves_the_model_alone():
    net = mlp(norm="batch", seed=0)
    X, y = _data()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    acc = train_mode_accuracy(net, X, y, batch_size=30)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())   # running stats untouched
    manual = 0
    with torch.no_grad():
        for i in range(0, 90, 30):
            manual += int((net(X[i:i + 30]).argmax(1) == y[i:i + 30]).sum())
    assert acc == manual / 90


def test_probes_do_not_consume_the_global_random_generator():
    net = mlp(norm="noisy_batch", seed=0)
    X, y = _data()
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    train_mode_accuracy(net, X, y)
    train_mode_values(net, X)
    assert torch.equal(torch.rand(3), expected)


def test_values_are_the_training_mode_pre_activation_noise_included():
    net = mlp(norm="noisy_batch", seed=0)
    X, _ = _data()
    torch.manual_seed(5)
    values = train_mode_values(net, X, layer=1, unit=4)
    torch.manual_seed(5)
    with torch.no_grad(), record(net, layers=1) as seen:
        net(X)
    assert torch.equal(values, seen[1][:, 4])
    # the noise moves the batch mean of a BN output away from 0 (plain BN keeps it at β = 0)
    plain = train_mode_values(mlp(norm="batch", seed=0), X, layer=1, unit=4)
    assert abs(float(plain.mean())) < 1e-5 and abs(float(values.mean())) > 1e-3


def test_percentiles_and_probes():
    net = mlp(norm="batch", seed=0)
    X, y = _data()
    p = train_mode_percentiles(net, X, q=(15, 50, 85))
    assert p.shape == (3,) and bool(p[0] <= p[1] <= p[2])
    assert torch.equal(train_mode_percentile_probe(X)(net), p)
    assert train_mode_accuracy_probe(X, y)(net) == train_mode_accuracy(net, X, y)


def test_bad_batch_size_is_refused():
    import pytest
    with pytest.raises(ValueError, match="batch_size"):
        train_mode_accuracy(mlp(seed=0), *_data(), batch_size=0)
