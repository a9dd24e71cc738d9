"""Tests of normcode.experiments.training (train, evaluate, set_seed, History) and the ICS runner."""
import pytest
import torch
from torch import nn

from normcode.experiments import ics
from normcode.experiments.data import load_digits, non_iid_batches
from normcode.experiments.models import mlp, small_cnn
from normcode.experiments.probes import percentile_probe
from normcode.experiments.training import (History, deterministic, evaluate, make_optimizer, set_seed,
                                           show_progress, train)


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def _run(digits, seed, norm="batch", steps=30, **kwargs):
    model = mlp(hidden=(32, 32), norm=norm, seed=seed)
    probe = percentile_probe(digits.X_test[:100], layer=-1, unit=0)
    return train(model, digits, steps=steps, batch_size=20, lr=0.3, seed=seed, eval_every=10,
                 record={"pct": probe}, **kwargs)


def test_history_layout(digits):
    h = _run(digits, seed=0, steps=25)
    assert h.step == list(range(1, 26)) and len(h.loss) == 25
    assert h.eval_step == [0, 10, 20, 25]                   # before training, every 10, and the end
    assert len(h.test_accuracy) == 4 and all(0 <= a <= 1 for a in h.test_accuracy)
    assert h.series("pct").shape == (4, 3)
    assert h.series("loss").shape == (25,)
    assert h.accuracy_at(19) == h.test_accuracy[1] and h.accuracy_at(25) == h.test_accuracy[-1]


def test_same_seed_same_history_different_seed_different(digits):
    a = _run(digits, seed=0, norm="noisy_batch")            # noise comes from the seeded global RNG
    b = _run(digits, seed=0, norm="noisy_batch")
    assert a == b
    c = _run(digits, seed=1, norm="noisy_batch")
    assert a.loss != c.loss and a.records != c.records


def test_training_learns(digits):
    model = mlp(norm="batch", init_std=0.1, seed=0)
    h = train(model, digits, steps=150, batch_size=60, lr=0.5, eval_every=50)
    assert h.test_accuracy[0] < 0.3 and h.test_accuracy[-1] > 0.9
    assert sum(h.loss[-20:]) < sum(h.loss[:20])
    assert evaluate(model, digits.X_test, digits.y_test) == h.test_accuracy[-1]
    assert model.training                                   # train() leaves the model in training mode


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_optimizers(digits, optimizer):
    model = small_cnn(norm="batch", widths=(8, 8), seed=0)
    lr = 0.01 if optimizer == "adam" else 0.05
    h = train(model, digits, steps=40, batch_size=32, lr=lr, optimizer=optimizer, eval_every=40)
    assert h.test_accuracy[-1] > h.test_accuracy[0]


def test_make_optimizer_names_and_callable():
    model = mlp(hidden=(4,))
    assert make_optimizer("momentum", model, 0.1).param_groups[0]["momentum"] == 0.9
    assert make_optimizer("sgd", model, 0.1).param_groups[0]["momentum"] == 0
    custom = make_optimizer(lambda m: torch.optim.SGD(m.parameters(), lr=0.7), model, 0.1)
    assert custom.param_groups[0]["lr"] == 0.7
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("lbfgs2", model, 0.1)


def test_after_step_and_batch_sampler_are_used(digits):
    calls, seen_labels = [], []
    sampler = non_iid_batches(digits.y_train, batch_size=16, k=1, seed=0)

    def spy(batches):
        for idx in batches:
            seen_labels.append(digits.y_train[idx].unique().numel())
            yield idx

    def after(model, step):
        calls.append(step)
        with torch.no_grad():
            model.head.bias.clamp_(-0.01, 0.01)               # like BIN's clamp of its gates

    model = mlp(hidden=(16,), seed=0)
    train(model, digits, steps=12, lr=0.5, eval_every=6, batch_sampler=spy(sampler), after_step=after)
    assert calls == list(range(1, 13))
    assert seen_labels == [1] * 12
    assert model.head.bias.abs().max().item() <= 0.01


def test_record_callable_and_dict_values_are_flattened(digits):
    model = mlp(hidden=(8,), seed=0)
    h = train(model, digits, steps=4, lr=0.1, eval_every=2,
              record=lambda m: {"w": m.head.weight.norm(), "pair": {"a": 1.0, "b": torch.tensor([2.0, 3.0])}})
    assert set(h.records) == {"w", "pair.a", "pair.b"}
    assert h.records["pair.b"] == [[2.0, 3.0]] * 3
    assert h.series("w").shape == (3,)


def test_evaluate_accuracy_and_mode():
    class Oracle(nn.Module):
        def forward(self, x):
            return nn.functional.one_hot(x[:, 0].long(), 3).float()

    X = torch.tensor([[0.0], [1.0], [2.0], [1.0]])
    oracle = Oracle().train()
    assert evaluate(oracle, X, torch.tensor([0, 1, 2, 1])) == 1.0
    assert evaluate(oracle, X, torch.tensor([0, 1, 2, 0])) == 0.75
    assert oracle.training


def test_set_seed_and_deterministic():
    set_seed(7)
    a = torch.rand(4)
    set_seed(7)
    assert torch.equal(a, torch.rand(4))
    assert torch.get_num_threads() == 1
    before = torch.are_deterministic_algorithms_enabled()
    with deterministic():
        assert torch.are_deterministic_algorithms_enabled()
    assert torch.are_deterministic_algorithms_enabled() == before


def test_progress_bar_is_off_unless_asked(digits, monkeypatch, capsys):
    monkeypatch.delenv("NORMCODE_PROGRESS", raising=False)
    assert show_progress(None) is False and show_progress(True) is True
    train(mlp(hidden=(8,), seed=0), digits, steps=5, lr=0.1)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""        # nothing for nbval to compare
    monkeypatch.setenv("NORMCODE_PROGRESS", "1")
    assert show_progress(None) is True and show_progress(False) is False
    monkeypatch.setenv("NORMCODE_PROGRESS", "0")
    assert show_progress(None) is False


def test_ics_experiment_shows_the_effect(digits):
    # The chapter-2 claims, on a shortened run: at 250 steps the network without BN is
    # near chance while BN is above 95 %; the watched median moves several times more without BN.
    plain = ics.run_ics_experiment(use_bn=False, steps=1000, eval_every=50, data=digits)
    bn = ics.run_ics_experiment(use_bn=True, steps=1000, eval_every=50, data=digits)
    assert plain.accuracy_at(250) < 0.2
    assert bn.accuracy_at(250) > 0.95
    assert plain.series("percentiles").shape == (21, 3)
    pct = bn.series("percentiles")
    assert bool((pct[:, 0] <= pct[:, 1]).all() and (pct[:, 1] <= pct[:, 2]).all())
    assert ics.median_drift(plain) > 3 * ics.median_drift(bn)


def test_median_drift_skips_step_zero():
    h = History(eval_step=[0, 10, 20], records={"percentiles": [[0, 5, 9], [0, 1, 9], [0, 2, 9]]})
    assert ics.median_drift(h) == 1.0
    assert ics.median_drift(h, since=0) == 4.0
