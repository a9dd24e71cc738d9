"""normcode.experiments.batchinstance_study: gates read back, training keeps them in [0, 1]."""
import pytest
import torch

from normcode.experiments import batchinstance_study as bs
from normcode.experiments.models import small_cnn


def test_gates_per_layer_copies_and_refuses_models_without_bin():
    net = small_cnn(norm="batch_instance", seed=0)
    gates = bs.gates_per_layer(net)
    assert [tuple(g.shape) for g in gates] == [(16,), (32,)] and gates[0].dtype == torch.float64
    gates[0][0] = 0.5
    assert float(bs.gates_per_layer(net)[0][0]) == 1.0
    with pytest.raises(ValueError, match="batch_instance"):
        bs.gates_per_layer(small_cnn(norm="batch", seed=0))


def test_train_bin_model_keeps_gates_in_unit_interval_and_moves_them():
    model, styled = bs.train_bin_model("nuisance", seed=0, steps=20, widths=(4, 8))
    gates = torch.cat(bs.gates_per_layer(model))
    assert float(gates.min()) >= 0.0 and float(gates.max()) <= 1.0
    assert float(gates.min()) < 1.0                    # some gate moved away from its start (BN)
    assert styled.data.X_train.dtype == torch.float64
    with pytest.raises(ValueError, match="task"):
        bs.train_bin_model("unknown")


def test_multiplier_changes_only_the_gates_rate():
    slow, _s = bs.train_bin_model("nuisance", seed=0, steps=20, widths=(4, 8), gate_lr_multiplier=1.0)
    fast, _f = bs.train_bin_model("nuisance", seed=0, steps=20, widths=(4, 8), gate_lr_multiplier=10.0)
    moved = [float((1 - torch.cat(bs.gates_per_layer(m))).abs().sum()) for m in (slow, fast)]
    assert moved[1] > moved[0]


def test_run_bin_study_collects_per_seed():
    runs = bs.run_bin_study(tasks=("label",), multipliers=(10.0,), seeds=(0, 1), steps={"label": 5})
    assert len(runs.mean_gate("label", 0)) == 2 and len(runs.accuracies("label")) == 2
    assert set(runs.models) == {("label", 10.0, 0), ("label", 10.0, 1)}
