"""normcode.experiments.sweeps: short seeded runs across one setting, and the noise of batch statistics."""
import math

import pytest
import torch

from normcode import BatchNorm1d
from normcode.experiments import load_digits, mlp
from normcode.experiments import sweeps


@pytest.fixture(scope="module")
def data():
    return load_digits()


def test_accuracy_sweep_shape_and_repeatability(data):
    make = lambda norm, value: mlp(norm=norm, hidden=(16,), seed=0)
    a = sweeps.accuracy_sweep(make, data, [0.1, 1.0], setting="lr", steps=5)
    b = sweeps.accuracy_sweep(make, data, [0.1, 1.0], setting="lr", steps=5)
    assert set(a) == {"none", "batch"} and all(len(v) == 2 for v in a.values())
    assert a == b
    assert all(0.0 <= acc <= 1.0 for accs in a.values() for acc in accs)


def test_accuracy_sweep_passes_the_value_to_the_right_place(data):
    seen = []
    def make(norm, value):
        seen.append((norm, value))
        return mlp(norm=norm, hidden=(8,), seed=0)
    sweeps.accuracy_sweep(make, data, [2, 4], setting="batch_size", norms=("batch",), steps=2)
    assert seen == [("batch", 2), ("batch", 4)]
    with pytest.raises(ValueError, match="setting"):
        sweeps.accuracy_sweep(make, data, [1], setting="momentum")


def test_normalized_value_spread_shrinks_like_one_over_sqrt_m():
    torch.manual_seed(0)
    z = torch.randn(2000, 4)
    spread = sweeps.normalized_value_spread(z, [4, 16, 64, 256], draws=300)
    slope = sweeps.loglog_slope(list(spread), list(spread.values()))
    assert -0.6 < slope < -0.4
    with pytest.raises(ValueError):
        sweeps.normalized_value_spread(z, [1])


def test_normalized_value_spread_is_zero_when_every_batch_is_the_same():
    z = torch.arange(5.0).reshape(5, 1)
    assert sweeps.normalized_value_spread(z, [5], draws=10)[5] == pytest.approx(0.0, abs=1e-6)  # float32 sums in another order


def test_train_eval_gap_leaves_the_model_alone_and_shrinks_with_batch_size(data):
    net = mlp(norm="batch", hidden=(32,), seed=0)
    net.train()
    for i in range(20):  # give the running estimates something to hold
        net(data.X_train[i * 50:(i + 1) * 50])
    before = {k: v.clone() for k, v in net.state_dict().items()}
    gap = sweeps.train_eval_gap(net, data.X_test, [2, 64])
    assert gap[2] > gap[64] > 0
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert net.training


def test_train_mode_accuracy_matches_a_manual_loop(data):
    net = mlp(norm="batch", hidden=(16,), seed=0)
    acc = sweeps.train_mode_accuracy(net, data.X_test, data.y_test, batch_size=450)
    copy = mlp(norm="batch", hidden=(16,), seed=0).train()
    order = torch.randperm(450, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        manual = float((copy(data.X_test[order]).argmax(1) == data.y_test[order]).float().mean())
    assert acc == pytest.approx(manual)
    with pytest.raises(ValueError):
        sweeps.train_mode_accuracy(net, data.X_test, data.y_test, batch_size=1)


def test_frozen_copy_keeps_running_estimates():
    bn = BatchNorm1d(3)
    frozen = sweeps._frozen_copy(bn).train()
    frozen(torch.randn(10, 3) + 5)
    assert torch.equal(frozen.running_mean, torch.zeros(3))


def test_loglog_slope_recovers_a_power_law():
    x = [1.0, 2.0, 8.0, 32.0]
    assert sweeps.loglog_slope(x, [3 * v ** -0.5 for v in x]) == pytest.approx(-0.5)
    assert sweeps.loglog_slope(x, [math.e * v ** 2 for v in x]) == pytest.approx(2.0)


def test_seeded_sweep_worst_and_mean():
    from normcode.experiments import load_digits, mlp, sweeps as sw
    runs = sw.seeded_sweep(lambda norm, value, seed: mlp(norm=norm, hidden=(10,), seed=seed), load_digits(),
                           [0.1, 0.5], setting="lr", seeds=(0, 1), steps=3)
    assert set(runs) == {"none", "batch"} and len(runs["none"]) == 2 and len(runs["none"][0]) == 2
    again = sw.seeded_sweep(lambda norm, value, seed: mlp(norm=norm, hidden=(10,), seed=seed), load_digits(),
                            [0.1, 0.5], setting="lr", seeds=(0, 1), steps=3)
    assert runs == again                                                    # seeded: reproducible
    assert sw.worst([[0.5, 0.1], [0.3, 0.9]]) == [0.3, 0.1]
    assert sw.worst([[0.5, 0.1], [0.3, 0.9]], high_is_bad=True) == [0.5, 0.9]
    assert sw.seed_mean([[0.5, 0.1], [0.3, 0.9]]) == [0.4, 0.5]


def test_verdicts_and_a_table_that_lines_up_korean_labels():
    from normcode.experiments import sweeps as sw
    assert sw.verdicts([[0.9, 0.3, 0.9], [0.85, 0.2, 0.4]]) == ["trains", "fails", "mixed"]
    with pytest.raises(ValueError, match="fails < trains"):
        sw.verdicts([[0.5]], trains=0.4, fails=0.5)
    table = sw.format_table("lr", [0.1, 1.0], {"배치 정규화": ["학습됨", "실패"], "none": ["mixed", "fails"]}).splitlines()
    widths = [sw._width(line) for line in table]
    assert len(set(widths)) == 1                                  # every line ends in the same column
    assert table[1].endswith("  학습됨    실패")
