import torch

import normcode as nc
import normcode.experiments as nx
from normcode.experiments import renorm


def test_shift_and_scale_gradient_vanishes_only_for_normalization_inside_the_graph():
    torch.manual_seed(0)
    x = torch.randn(16, 5, dtype=torch.float64) * 3 + 1
    g = torch.randn(16, 5, dtype=torch.float64)
    inf = float("inf")
    for layer in (nc.BatchNorm(5), nc.BatchRenorm(5, r_max=inf, d_max=inf)):
        s, t = renorm.shift_and_scale_gradient(layer.double(), x, g)
        assert s.abs().max() < 1e-10 and t.abs().max() < 1e-4   # t: only eps breaks the scale invariance
    s, t = renorm.shift_and_scale_gradient(renorm.MovingAverageNorm(5).double(), x, g)
    assert s.abs().min() > 1e-3


def test_paper_schedule_divides_the_step_counts():
    s = renorm.paper_schedule(100)
    assert s(49) == (1.0, 0.0) and s(250)[1] == 5.0 and s(400)[0] == 3.0


def test_non_iid_train_mode_accuracy_leaves_the_buffers_alone():
    data = nx.load_digits(seed=0)
    model = nx.mlp(hidden=(20,), activation="relu", norm="batch", seed=0)
    before = model.blocks[0].norm.running_mean.clone()
    acc = renorm.non_iid_train_mode_accuracy(model, data.X_test, data.y_test, 4, 2)
    assert 0.0 <= acc <= 1.0
    assert torch.equal(model.blocks[0].norm.running_mean, before)


def test_non_iid_run_records_both_modes():
    data = nx.load_digits(seed=0)
    h = renorm.non_iid_run("batch_renorm", data, seed=0, steps=20, eval_every=10, hidden=(20,))
    assert h.eval_step == [0, 10, 20] and len(h.records["train_mode"]) == 3
