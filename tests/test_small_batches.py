"""normcode.experiments.small_batches: the batch-size sweep and the batch-dependence probe of chapter 7."""
import pytest
import torch

from normcode import BatchNorm2d, GroupNorm, InstanceNorm2d
from normcode.experiments import load_digits, mlp, small_cnn
from normcode.experiments import small_batches as sb


@pytest.fixture(scope="module")
def data():
    return load_digits()


def test_sweep_shape_repeatability_and_summaries(data):
    make = lambda norm, seed: small_cnn(norm=norm, widths=(4,), seed=seed)
    a = sb.batch_size_sweep(make, data, [2, 8], norms=("batch", "group"), seeds=(0, 1), steps=3)
    b = sb.batch_size_sweep(make, data, [2, 8], norms=("batch", "group"), seeds=(0, 1), steps=3)
    assert a.norms == ["batch", "group"] and a.batch_sizes == [2, 8] and a.seeds == [0, 1]
    assert tuple(a.accuracy["batch"].shape) == (2, 2)
    assert all(torch.equal(a.accuracy[n], b.accuracy[n]) for n in a.norms)
    for norm in a.norms:
        assert all(w <= m <= h for w, m, h in zip(a.worst(norm), a.mean(norm), a.best(norm)))


def test_sweep_passes_norm_and_seed_and_uses_non_iid_batches(data):
    seen = []

    def make(norm, seed):
        seen.append((norm, seed))
        return mlp(norm=norm, hidden=(8,), seed=seed)

    sb.batch_size_sweep(make, data, [4], norms=("layer",), seeds=(3,), steps=2, classes_per_batch=1)
    assert seen == [("layer", 3)]
    with pytest.raises(ValueError, match="at least 2"):
        sb.batch_size_sweep(make, data, [1], norms=("layer",), seeds=(0,), steps=1)


def test_batch_dependence_separates_batch_norm_from_per_example_norms():
    torch.manual_seed(0)
    x, others = torch.randn(1, 8, 4, 4), torch.randn(20, 8, 4, 4)
    assert sb.batch_dependence(BatchNorm2d(8), x, others) > 0.1
    for layer in (GroupNorm(4, 8), GroupNorm(1, 8), InstanceNorm2d(8)):
        assert sb.batch_dependence(layer, x, others) < 1e-5


def test_batch_dependence_leaves_running_estimates_alone_and_checks_shapes():
    bn = BatchNorm2d(3)
    sb.batch_dependence(bn, torch.randn(1, 3, 2, 2), torch.randn(5, 3, 2, 2))
    assert torch.equal(bn.running_mean, torch.zeros(3)) and int(bn.num_batches_tracked) == 0
    with pytest.raises(ValueError, match="one example"):
        sb.batch_dependence(bn, torch.randn(2, 3, 2, 2), torch.randn(5, 3, 2, 2))
    with pytest.raises(ValueError, match="others must have shape"):
        sb.batch_dependence(bn, torch.randn(1, 3, 2, 2), torch.randn(5, 4, 2, 2))


def test_batch_dependence_gives_every_draw_the_same_layer_state():
    # Batch renormalization without clipping computes (x - running mean) / running std in training:
    # one example's output must not move when only the running estimates of a shared copy would.
    from normcode import BatchRenorm

    brn = BatchRenorm(3, r_max=1e9, d_max=1e9)
    x, others = 3 * torch.randn(1, 3, 4, 4) + 1, 3 * torch.randn(10, 3, 4, 4) + 1
    assert sb.batch_dependence(brn, x, others) < 1e-5


def test_paper_tables_are_the_published_numbers():
    t = sb.WU_HE_2018_TABLE2
    assert t["batch_sizes"] == [32, 16, 8, 4, 2]
    assert t["batch"][0] == 23.6 and t["batch"][-1] == 34.7
    assert max(t["group"]) - min(t["group"]) <= 0.2
    assert sb.WU_HE_2018_TABLE1 == {"batch": 23.6, "layer": 25.3, "instance": 28.4, "group": 24.1}
