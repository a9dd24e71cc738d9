"""The statistics core, :mod:`normcode.stats`, against hand computation.

Each expected value here is computed independently: sums written out in
float64, a table of axes written by hand, or a moving average worked through on
paper. The first test also documents *why* the core computes the variance the
careful way.
"""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from normcode import stats
from conftest import make_input


# --------------------------------------------------------------------------- moments


def test_moments_is_numerically_careful_where_the_textbook_formula_fails():
    """float32 data with mean 1e4 and std 1: E[x²] − E[x]² loses every digit, moments() keeps them.

    E[x²] ≈ 1e8, where float32 values are 8 apart, so the shortcut returns a
    multiple of 8 (0, 8, −8, ...) for a variance of about 1.
    """
    g = torch.Generator().manual_seed(0)
    x64 = torch.randn(4, 2500, generator=g, dtype=torch.float64) + 1e4
    x = x64.float()
    exact = x.double().var(dim=1, unbiased=False)  # float64 two-pass: the truth for these float32 values
    naive = (x * x).mean(dim=1) - x.mean(dim=1) ** 2  # the textbook shortcut, in float32
    mean, var = stats.moments(x, (1,), keepdim=False)
    assert var.dtype == torch.float32
    rel_err_careful = ((var.double() - exact) / exact).abs()
    rel_err_naive = ((naive.double() - exact) / exact).abs()
    assert rel_err_careful.max() < 0.01, rel_err_careful
    assert rel_err_naive.min() > 0.10, (naive, exact)  # why the core does not use the shortcut
    torch.testing.assert_close(mean.double(), x.double().mean(dim=1), rtol=1e-6, atol=0)


@settings(max_examples=30)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=5),
    data=st.data(),
    keepdim=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_moments_matches_hand_computation(shape, data, keepdim, seed):
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True))
    x = make_input(shape, torch.float64, seed=seed, shift=3.0)
    mean, var = stats.moments(x, dims, keepdim=keepdim)
    # by hand: move the reduced axes to the end, flatten them, sum in a Python-visible way
    kept = [d for d in range(len(shape)) if d not in dims]
    rows = x.permute(*kept, *sorted(dims)).reshape(*[shape[d] for d in kept], -1)
    m = rows.shape[-1]
    assert m == stats.count(x, dims)
    hand_mean = rows.sum(-1) / m
    hand_var = ((rows - hand_mean.unsqueeze(-1)) ** 2).sum(-1) / m  # biased: 1/m
    if keepdim:
        expected_shape = [1 if d in dims else shape[d] for d in range(len(shape))]
        assert list(mean.shape) == expected_shape and list(var.shape) == expected_shape
        mean, var = mean.reshape(hand_mean.shape), var.reshape(hand_var.shape)
    else:
        assert list(mean.shape) == [shape[d] for d in kept]
    torch.testing.assert_close(mean, hand_mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(var, hand_var, rtol=1e-12, atol=1e-12)


def test_centred_moments_returns_x_minus_mean_by_hand():
    x = make_input((3, 4, 5), torch.float64, seed=3, shift=4.0)
    xc, mean, var = stats.centred_moments(x, (0, 2))
    rows = x.transpose(0, 1).reshape(4, -1)
    hand_mean = (rows.sum(1) / rows.shape[1]).reshape(1, 4, 1)
    assert mean.shape == (1, 4, 1) and var.shape == (1, 4, 1)
    torch.testing.assert_close(mean, hand_mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(xc, x - hand_mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(var, ((x - hand_mean) ** 2).sum((0, 2), keepdim=True) / 15, rtol=1e-12, atol=1e-12)


def test_moments_accepts_negative_dims():
    x = make_input((2, 3, 4), torch.float64, seed=4)
    mean_neg, var_neg = stats.moments(x, (-1,), keepdim=False)
    mean_pos, var_pos = stats.moments(x, (2,), keepdim=False)
    assert mean_neg.shape == (2, 3)
    torch.testing.assert_close(mean_neg, mean_pos, rtol=0, atol=0)
    torch.testing.assert_close(var_neg, x.var(-1, unbiased=False), rtol=1e-12, atol=1e-12)


def test_moments_variance_is_biased():
    x = torch.tensor([[1.0, 2.0, 3.0, 6.0]], dtype=torch.float64)  # mean 3, squared deviations 4+1+0+9
    mean, var = stats.moments(x, (1,), keepdim=False)
    assert mean.item() == pytest.approx(3.0, abs=1e-15)
    assert var.item() == pytest.approx(14.0 / 4, abs=1e-15)  # not 14/3


# --------------------------------------------------------------------------- reduction_dims, count, unbiased


@pytest.mark.parametrize("technique, ndim, expected", [
    ("batch", 2, (0,)),            # (N, C): over the batch
    ("batch", 3, (0, 2)),          # (N, C, L)
    ("batch", 4, (0, 2, 3)),       # (N, C, H, W)
    ("batch", 5, (0, 2, 3, 4)),
    ("layer", 2, (1,)),            # (N, C): over the features of one example
    ("layer", 4, (1, 2, 3)),
    ("layer", 5, (1, 2, 3, 4)),
    ("instance", 3, (2,)),
    ("instance", 4, (2, 3)),
    ("instance", 5, (2, 3, 4)),
])
def test_reduction_dims_table(technique, ndim, expected):
    assert stats.reduction_dims(technique, ndim) == expected


def test_reduction_dims_unknown_technique_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown technique 'group'.*'batch', 'layer' or 'instance'"):
        stats.reduction_dims("group", 4)


def test_count_is_the_number_of_averaged_values():
    x = torch.empty(2, 3, 4, 5)
    assert stats.count(x, (0, 2, 3)) == 2 * 4 * 5
    assert stats.count(x, (1,)) == 3
    assert stats.count(x, ()) == 1


@pytest.mark.parametrize("m", [2, 3, 10])
def test_unbiased_is_bessel_corrected(m):
    g = torch.Generator().manual_seed(m)
    x = torch.randn(3, m, generator=g, dtype=torch.float64)
    biased = x.var(dim=1, unbiased=False)
    by_hand = ((x - x.sum(1, keepdim=True) / m) ** 2).sum(1) / (m - 1)
    torch.testing.assert_close(stats.unbiased(biased, m), by_hand, rtol=1e-12, atol=1e-12)


def test_unbiased_of_a_single_value_is_left_alone():
    v = torch.tensor([0.0, 2.0])
    torch.testing.assert_close(stats.unbiased(v, 1), v)  # no division by m - 1 = 0


# --------------------------------------------------------------------------- normalize


def test_normalize_puts_eps_inside_the_square_root():
    x = torch.tensor([1.0, 3.0], dtype=torch.float64)
    mean = torch.tensor(2.0, dtype=torch.float64)
    var = torch.tensor(0.5, dtype=torch.float64)
    out = stats.normalize(x, mean, var, eps=0.5)
    torch.testing.assert_close(out, torch.tensor([-1.0, 1.0], dtype=torch.float64))  # (±1)/sqrt(0.5+0.5)
    assert abs(out[1].item() - 1.0 / (0.5 ** 0.5 + 0.5)) > 0.1  # eps outside would give 0.83


# --------------------------------------------------------------------------- update_running


def test_update_running_pytorch_momentum_equals_keras_formula_by_hand():
    """PyTorch's momentum 0.1 is Keras's 0.9: both give 0.9·old + 0.1·new."""
    running = torch.tensor([0.0, 1.0, 4.0])
    batch = torch.tensor([10.0, 3.0, -2.0])
    by_hand = torch.tensor([0.9 * 0.0 + 0.1 * 10.0, 0.9 * 1.0 + 0.1 * 3.0, 0.9 * 4.0 + 0.1 * -2.0])  # 1.0, 1.2, 3.4
    keras_momentum = 0.9
    keras = running * keras_momentum + batch * (1 - keras_momentum)
    ptr = running.data_ptr()
    stats.update_running(running, batch, momentum=0.1)
    assert running.data_ptr() == ptr  # in place: the module's buffer itself moves
    torch.testing.assert_close(running, by_hand)
    torch.testing.assert_close(running, keras)
    torch.testing.assert_close(running, torch.tensor([1.0, 1.2, 3.4]))


def test_update_running_extremes_and_cumulative_average():
    r = torch.tensor([5.0])
    stats.update_running(r, torch.tensor([7.0]), momentum=0.0)
    assert r.item() == 5.0  # momentum 0: frozen
    stats.update_running(r, torch.tensor([7.0]), momentum=1.0)
    assert r.item() == 7.0  # momentum 1: the last batch only
    # momentum 1/k at the k-th batch: the plain average of all batches
    values = [3.0, -1.0, 4.0, 10.0]
    avg = torch.tensor([123.0])
    for k, v in enumerate(values, start=1):
        stats.update_running(avg, torch.tensor([v]), momentum=1.0 / k)
    assert avg.item() == pytest.approx(sum(values) / len(values), rel=1e-6)


def test_update_running_is_outside_autograd_and_keeps_the_buffer_dtype():
    running = torch.zeros(3, dtype=torch.float32)
    batch = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    stats.update_running(running, batch * 2, momentum=0.5)
    assert not running.requires_grad and running.grad_fn is None
    assert running.dtype == torch.float32
    torch.testing.assert_close(running, torch.tensor([1.0, 2.0, 3.0]))


# --------------------------------------------------------------------------- manual backward


def _autograd_reference(x, dims, eps):
    """x̂ through autograd, written out from the definition (not via normcode)."""
    m = 1
    for d in dims:
        m *= x.shape[d]
    mean = x.sum(dim=dims, keepdim=True) / m
    var = ((x - mean) ** 2).sum(dim=dims, keepdim=True) / m
    return (x - mean) / torch.sqrt(var + eps), mean, var


@settings(max_examples=30)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    data=st.data(),
    eps=st.sampled_from([1e-5, 1e-2, 1.0]),
    seed=st.integers(0, 10_000),
)
def test_manual_backward_matches_autograd_on_random_dims(shape, data, eps, seed):
    dims = tuple(sorted(data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1,
                                           max_size=len(shape), unique=True))))
    x = make_input(shape, torch.float64, seed=seed, shift=2.0)
    g = make_input(shape, torch.float64, seed=seed + 1, shift=0.5, scale=1.0)
    xa = x.clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    xhat, mean, var = stats.NormalizeManualBackward.apply(xa, dims, eps)
    ref_xhat, ref_mean, ref_var = _autograd_reference(xb, dims, eps)
    torch.testing.assert_close(xhat, ref_xhat, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(mean, ref_mean.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(var, ref_var.detach(), rtol=1e-10, atol=1e-12)
    assert not mean.requires_grad and not var.requires_grad  # statistics are outputs without gradient
    xhat.backward(g)
    ref_xhat.backward(g)
    torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dims", [(0,), (1,), (0, 2), (1, 2), (2,), (0, 1, 2)])
def test_manual_backward_gradcheck(dims):
    x = make_input((3, 4, 3), torch.float64, seed=sum(dims)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: stats.NormalizeManualBackward.apply(t, dims, 1e-3)[0], (x,))
