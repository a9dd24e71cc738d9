"""normcode.experiments.why_bn: chapter 4's runs, jumpiness, matched-loss medians, the deep linear chain."""
from __future__ import annotations

import pytest
import torch

from normcode.experiments import History, load_digits, why_bn


def test_runs_record_accuracy_percentiles_and_probes():
    data = load_digits(seed=0)
    X, y = data.X_train[:30], data.y_train[:30]
    runs = why_bn.noisy_bn_runs(data, ("batch", "noisy_batch"), seeds=(0, 1), steps=4, eval_every=2,
                                hidden=(8, 8), watch=X, layer=1,
                                probed={"batch": why_bn.landscape_record(X, y, etas=(0.1,), ics_layers=(1,))},
                                probe_every=1)
    assert len(runs.final("noisy_batch")) == 2 and len(runs.models["batch"]) == 2
    h = runs.histories["batch"][0]
    assert h.eval_step == [0, 1, 2, 3, 4] and "ics1.cosine" in h.records and "land.loss" in h.records
    assert runs.histories["noisy_batch"][0].eval_step == [0, 2, 4]
    assert runs.histories["noisy_batch"][0].series("pct").shape == (3, 3)
    with pytest.raises(ValueError, match="seeds"):
        why_bn.noisy_bn_runs(data, ("batch",), seeds=())


def test_runs_repeat_exactly_for_a_seed():
    data = load_digits(seed=0)
    a = why_bn.noisy_bn_runs(data, ("noisy_batch",), seeds=(3,), steps=5, eval_every=5, hidden=(8,))
    b = why_bn.noisy_bn_runs(data, ("noisy_batch",), seeds=(3,), steps=5, eval_every=5, hidden=(8,))
    assert a.final("noisy_batch") == b.final("noisy_batch")


def test_jumpiness_and_its_interval():
    h = History(eval_step=[0, 5, 10, 15, 20], records={"pct": [[0, 9, 0], [0, 1, 0], [0, 2, 0], [0, 4, 0], [0, 4, 0]]})
    assert why_bn.jumpiness(h) == pytest.approx(1.0)            # |1|, |2|, |0| from step 5 on
    assert why_bn.jumpiness(h, every=10) == pytest.approx(2.0)  # steps 10 and 20
    with pytest.raises(ValueError, match="two evaluations"):
        why_bn.jumpiness(h, every=20)


def test_matched_medians_keep_only_the_loss_window():
    h = History(eval_step=[0, 5, 10], records={"land.loss": [2.3, 1.0, 0.1], "land.loss_min": [2.2, 0.8, 0.1],
                                               "land.loss_max": [2.3, 1.2, 0.1], "land.grad_change_max": [0.1, 2.0, 0.5],
                                               "land.beta_smoothness": [1.0, 4.0, 2.0],
                                               "ics4.l2": [1.0, 0.3, 0.2], "ics4.cosine": [0.0, 0.9, 1.0]})
    n, med = why_bn.matched_medians(h)
    assert n == 1 and med["gradient change"] == 2.0 and med["ICS cosine"] == pytest.approx(0.9)
    assert set(med) == set(why_bn.MATCHED_KEYS)
    n, med = why_bn.matched_medians(h, lo=5.0, hi=6.0)
    assert n == 0 and all(v != v for v in med.values())        # NaN when nothing is in the window


def test_linear_chain_moments_are_set_by_gamma_and_beta_alone():
    x = torch.randn(500, dtype=torch.float64)
    for w in (torch.tensor([0.5, 3.0, -2.0], dtype=torch.float64), torch.tensor([10.0, 0.1], dtype=torch.float64)):
        h = why_bn.linear_chain(x, w, torch.tensor(1.5, dtype=torch.float64), torch.tensor(-0.5, dtype=torch.float64))
        assert float(h.mean()) == pytest.approx(-0.5, abs=1e-9)
        assert float(h.std(unbiased=False)) == pytest.approx(1.5, rel=1e-4)
        plain = why_bn.linear_chain(x, w)
        assert float(plain.std(unbiased=False)) == pytest.approx(float(w.prod().abs() * x.std(unbiased=False)))
    with pytest.raises(ValueError, match="both gamma and beta"):
        why_bn.linear_chain(x, w, gamma=torch.tensor(1.0))


def test_first_order_prediction_fails_without_bn_and_is_exact_with_it():
    x = torch.randn(500, dtype=torch.float64)
    w = torch.ones(6, dtype=torch.float64)
    assert why_bn.first_order_error(x, w) > 0.05
    assert why_bn.first_order_error(x, w, 1.0, 0.0) < 1e-9


def test_probe_schedule_and_nan_elsewhere():
    data = load_digits(seed=0)
    X, y = data.X_train[:30], data.y_train[:30]
    runs = why_bn.noisy_bn_runs(data, ("batch",), seeds=(0,), steps=8, eval_every=4, hidden=(8, 8), watch=X,
                                layer=1, probed={"batch": why_bn.landscape_record(X, y, etas=(0.1,), small_etas=(0.01,),
                                                                                   ics_layers=(1,))},
                                probe_every=2, probe_until={"batch": 2})
    h = runs.histories["batch"][0]
    assert h.eval_step == [0, 2, 4, 6, 8]
    loss = h.series("land.loss")
    assert not loss[[0, 1, 2, 4]].isnan().any() and loss[3].isnan()      # step 6: after probe_until, not a multiple of 4
    acc = h.series("acc")
    assert acc[[1, 3]].isnan().all() and not acc[[0, 2, 4]].isnan().any()
    assert h.series("small.loss")[0] == loss[0] and "ics1.cosine" in h.records
    with pytest.raises(ValueError, match="multiple"):
        why_bn.noisy_bn_runs(data, ("batch",), eval_every=3, probed={"batch": lambda m: {}}, probe_every=2)


def test_probe_loss_matches_the_landscape_start_and_window_keeps_matched_evaluations():
    data = load_digits(seed=0)
    X, y = data.X_train[:40], data.y_train[:40]
    net = why_bn.mlp(hidden=(16, 16), activation="relu", norm="batch", seed=0)
    land = why_bn.landscape_record(X, y, etas=(0.1,), ics_layers=())(net)
    assert why_bn.probe_loss(net, X, y) == pytest.approx(land["land"]["loss"], rel=1e-6)
    kwargs = dict(seeds=(0,), steps=40, lr=0.1, eval_every=20, hidden=(16, 16), probe_every=5)
    full = why_bn.noisy_bn_runs(data, ("batch",), probed={"batch": why_bn.landscape_record(X, y, (0.1,), ics_layers=())},
                                **kwargs).histories["batch"][0]
    part = why_bn.noisy_bn_runs(data, ("batch",), probed={"batch": why_bn.landscape_record(X, y, (0.1,), ics_layers=())},
                                probe_until={"batch": 0}, window=(0.5, 1.8), window_batch=(X, y),
                                **kwargs).histories["batch"][0]
    a, b = full.series("land.loss"), part.series("land.loss")
    inside = (a > 0.5) & (a < 1.8)
    assert torch.equal(a[inside], b[inside])                     # every evaluation in the window is kept
    assert why_bn.matched_medians(full, 0.5, 1.8) == why_bn.matched_medians(part, 0.5, 1.8)
    assert inside.sum() >= 1 and b.isnan().any()                # something matched, something skipped
    with pytest.raises(ValueError, match="window_batch"):
        why_bn.noisy_bn_runs(data, ("batch",), window=(0.2, 1.5))
