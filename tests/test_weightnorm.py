"""Weight normalization and mean-only batch normalization (chapter 8).

References: ``torch.nn.utils.parametrizations.weight_norm`` for the
parametrization (outputs, g, and the gradients w.r.t. g = original0 and
v = original1); the paper's formulas written out by hand for the data-dependent
initialisation; ``torch.nn.BatchNorm`` for the running mean of mean-only batch
normalization and hand computations for its output and gradient.
"""
from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils import parametrizations as P

import normcode
from _compare import make_close
from normcode import MeanOnlyBatchNorm, data_dependent_init_, weight_norm

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}
GTOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}


close = make_close(TOL, GTOL)


def make_layer(kind: str, cin: int, cout: int, dtype) -> tuple[nn.Module, torch.Tensor]:
    """A layer and an input batch for it."""
    g = torch.Generator().manual_seed(cin * 31 + cout)
    if kind == "linear":
        layer, x = nn.Linear(cin, cout), torch.randn(5, cin, generator=g)
    elif kind == "conv1d":
        layer, x = nn.Conv1d(cin, cout, 3), torch.randn(3, cin, 7, generator=g)
    elif kind == "conv2d":
        layer, x = nn.Conv2d(cin, cout, (2, 3)), torch.randn(2, cin, 5, 6, generator=g)
    else:
        layer, x = nn.ConvTranspose2d(cin, cout, 3), torch.randn(2, cin, 4, 4, generator=g)
    return layer.to(dtype), (x * 2 + 0.5).to(dtype)


KINDS = ["linear", "conv1d", "conv2d", "convT2d"]


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(KINDS), cin=st.integers(1, 4), cout=st.integers(1, 4),
       dim_choice=st.sampled_from(["zero", "one", "none", "last", "negative"]),
       dtype=st.sampled_from([torch.float32, torch.float64]))
def test_weight_norm_matches_torch_outputs_and_gradients(kind, cin, cout, dim_choice, dtype):
    torch.manual_seed(0)
    layer, x = make_layer(kind, cin, cout, dtype)
    ndim = layer.weight.dim()
    # (our dim, torch's dim): torch's dim=-1 means "whole tensor", ours means the last axis
    dims = {"zero": (0, 0), "one": (1, 1), "none": (None, None), "last": (-1, ndim - 1),
            "negative": (-ndim, 0)}
    ours_dim, torch_dim = dims[dim_choice]
    ref = P.weight_norm(copy.deepcopy(layer), dim=torch_dim)
    ours = weight_norm(copy.deepcopy(layer), dim=ours_dim)
    g_ref, v_ref = ref.parametrizations.weight.original0, ref.parametrizations.weight.original1
    g, v = ours.parametrizations.weight.original0, ours.parametrizations.weight.original1
    assert g.shape == g_ref.shape and v.shape == v_ref.shape
    close(g.detach(), g_ref.detach(), dtype)
    # perturb g and v identically so the test does not only see g = ||v||
    with torch.no_grad():
        for a, b in ((g, g_ref), (v, v_ref)):
            noise = torch.randn(a.shape, dtype=dtype) * 0.3
            a.add_(noise)
            b.add_(noise)
    xi, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    y, yr = ours(xi), ref(xr)
    close(y, yr, dtype)
    up = torch.randn_like(yr)
    y.backward(up)
    yr.backward(up)
    close(g.grad, g_ref.grad, dtype, grad=True)
    close(v.grad, v_ref.grad, dtype, grad=True)
    close(xi.grad, xr.grad, dtype, grad=True)
    close(ours.bias.grad, ref.bias.grad, dtype, grad=True)


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(KINDS), cin=st.integers(1, 4), cout=st.integers(1, 4),
       dim=st.sampled_from([0, 1, None, -1]))
def test_outputs_unchanged_at_creation(kind, cin, cout, dim):
    layer, x = make_layer(kind, cin, cout, torch.float64)
    with torch.no_grad():
        y0 = layer(x)
        y1 = weight_norm(layer, dim=dim)(x)
    torch.testing.assert_close(y1, y0, rtol=1e-12, atol=1e-12)


def test_state_dict_moves_between_torch_and_normcode():
    torch.manual_seed(1)
    ref = P.weight_norm(nn.Conv2d(3, 4, 3).double())
    with torch.no_grad():
        ref.parametrizations.weight.original0.mul_(1.7)
    ours = weight_norm(nn.Conv2d(3, 4, 3).double())
    assert set(ours.state_dict()) == set(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-12, atol=1e-12)


def test_dim_minus_one_is_the_last_axis_not_the_whole_tensor():
    # Deliberate difference from torch (whose dim=-1 is its internal code for dim=None).
    lin = nn.Linear(3, 5)
    assert weight_norm(copy.deepcopy(lin), dim=-1).parametrizations.weight.original0.shape == (1, 3)
    assert weight_norm(copy.deepcopy(lin), dim=None).parametrizations.weight.original0.shape == ()
    assert P.weight_norm(copy.deepcopy(lin), dim=-1).parametrizations.weight.original0.shape == ()


def test_gradient_wrt_v_is_orthogonal_to_v():
    torch.manual_seed(2)
    lin = weight_norm(nn.Linear(6, 4).double())
    x = torch.randn(10, 6, dtype=torch.float64)
    (lin(x).sin().sum()).backward()
    v = lin.parametrizations.weight.original1
    inner = (v.grad * v.detach()).sum(1)                 # <grad_v, v> per output unit
    assert v.grad.abs().max() > 1e-3                     # a real gradient...
    torch.testing.assert_close(inner, torch.zeros_like(inner), rtol=0, atol=1e-12)  # ...orthogonal to v


def test_weight_norm_is_the_magnitude_g():
    lin = weight_norm(nn.Linear(6, 4).double())
    with torch.no_grad():
        lin.parametrizations.weight.original0.copy_(torch.tensor([[0.5], [1.0], [2.0], [3.0]]))
        lin.parametrizations.weight.original1.mul_(7.0)  # the length of v does not matter
    torch.testing.assert_close(lin.weight.norm(dim=1), torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=torch.float64))


def test_gradcheck_float64():
    torch.manual_seed(3)
    wn = normcode.WeightNorm(dim=0)
    g = torch.rand(4, 1, 1, dtype=torch.float64, requires_grad=True) + 0.5
    v = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(wn, (g, v))
    wn_all = normcode.WeightNorm(dim=None)
    g0 = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(wn_all, (g0, v))


# ------------------------------------------------------------------ data-dependent initialisation


@pytest.mark.parametrize("kind", ["linear", "conv2d", "convT2d"])
def test_data_dependent_init_follows_the_paper(kind):
    torch.manual_seed(4)
    layer, x = make_layer(kind, 3, 4, torch.float64)
    dim = 1 if kind == "convT2d" else 0
    layer = weight_norm(layer, dim=dim)
    v = layer.parametrizations.weight.original1.detach().clone()
    # the paper: t = v.x / ||v|| per output unit (v normalised per unit, g and b left out)
    v_unit = v / v.flatten(1).norm(dim=1).reshape(-1, *[1] * (v.dim() - 1)) if dim == 0 else \
        v / v.transpose(0, 1).flatten(1).norm(dim=1).reshape(1, -1, *[1] * (v.dim() - 2))
    if kind == "linear":
        t, axes = nn.functional.linear(x, v_unit), (0,)
    elif kind == "conv2d":
        t, axes = nn.functional.conv2d(x, v_unit), (0, 2, 3)
    else:
        t, axes = nn.functional.conv_transpose2d(x, v_unit), (0, 2, 3)
    mu, sd = t.mean(axes), t.std(axes, correction=0)
    data_dependent_init_(layer, x)
    g = layer.parametrizations.weight.original0.detach().flatten()
    torch.testing.assert_close(g, 1.0 / sd, rtol=1e-8, atol=0)              # g <- 1/sigma
    torch.testing.assert_close(layer.bias.detach(), -mu / sd, rtol=1e-8, atol=1e-10)  # b <- -mu/sigma
    with torch.no_grad():
        y = layer(x)
    torch.testing.assert_close(y.mean(axes), torch.zeros(4, dtype=torch.float64), rtol=0, atol=1e-9)
    torch.testing.assert_close(y.std(axes, correction=0), torch.ones(4, dtype=torch.float64), rtol=1e-8, atol=0)


def test_data_dependent_init_scale():
    torch.manual_seed(5)
    layer = weight_norm(nn.Linear(3, 4).double())
    x = torch.randn(50, 3, dtype=torch.float64) * 3 + 1
    data_dependent_init_(layer, x, init_scale=0.1)
    with torch.no_grad():
        sd = layer(x).std(0, correction=0)
    torch.testing.assert_close(sd, torch.full((4,), 0.1, dtype=torch.float64), rtol=1e-8, atol=0)


def test_data_dependent_init_errors():
    x = torch.randn(8, 3)
    with pytest.raises(ValueError, match="weight_norm"):
        data_dependent_init_(nn.Linear(3, 4), x)
    with pytest.raises(ValueError, match="dim=0"):
        data_dependent_init_(weight_norm(nn.Linear(3, 4), dim=None), x)
    with pytest.raises(ValueError, match="bias=True"):
        data_dependent_init_(weight_norm(nn.Linear(3, 4, bias=False)), x)
    with pytest.raises(TypeError, match="Linear"):
        data_dependent_init_(weight_norm(nn.Bilinear(3, 3, 4)), x)


def test_weight_norm_errors():
    with pytest.raises(IndexError, match="out of range"):
        weight_norm(nn.Linear(3, 4), dim=2)
    with pytest.raises(IndexError, match="out of range"):
        weight_norm(nn.Linear(3, 4), dim=-3)
    with pytest.raises(ValueError, match="no parameter or buffer named 'kernel'"):
        weight_norm(nn.Linear(3, 4), name="kernel")


# ------------------------------------------------------------------ mean-only batch normalization


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 5), c=st.integers(1, 4), spatial=st.lists(st.integers(1, 4), max_size=2),
       momentum=st.sampled_from([0.1, 0.5, None]), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_mean_only_bn_against_hand_computation_and_torch_running_mean(n, c, spatial, momentum, dtype):
    shape = (n, c, *spatial)
    dims = (0,) + tuple(range(2, len(shape)))
    ours = MeanOnlyBatchNorm(c, momentum=momentum).to(dtype)
    ref_bn = nn.BatchNorm1d(c, momentum=momentum, affine=False).to(dtype)   # only for its running mean
    with torch.no_grad():
        ours.bias.copy_(torch.linspace(-1, 1, c, dtype=dtype))
    for step in range(3):
        x = (torch.randn(shape, dtype=torch.float64) * 2 + step).to(dtype)
        xi = x.clone().requires_grad_()
        y = ours(xi)
        ref_bn(x.reshape(n, c, -1))
        bias = ours.bias.detach().reshape([1, c] + [1] * len(spatial))
        close(y, x - x.mean(dims, keepdim=True) + bias, dtype)
        up = torch.randn_like(y)
        y.backward(up)
        close(xi.grad, up - up.mean(dims, keepdim=True), dtype, grad=True)       # centring's gradient
        close(ours.bias.grad, up.sum(dims), dtype, grad=True)
        ours.bias.grad = None
        close(ours.running_mean, ref_bn.running_mean, dtype)
    ours.eval()
    x = torch.randn(shape, dtype=dtype)
    close(ours(x), x - ref_bn.running_mean.reshape([1, c] + [1] * len(spatial)) + bias, dtype)


def test_mean_only_bn_without_running_stats_uses_batch_mean_in_eval():
    m = MeanOnlyBatchNorm(3, track_running_stats=False, bias=False).eval()
    x = torch.randn(4, 3, 5, dtype=torch.float64) + 3
    torch.testing.assert_close(m(x), x - x.mean((0, 2), keepdim=True))
    assert m.running_mean is None and m.bias is None


def test_mean_only_bn_errors():
    m = MeanOnlyBatchNorm(3)
    with pytest.raises(ValueError, match="built for 3 channels"):
        m(torch.randn(4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        m(torch.randn(1, 3))
    with pytest.raises(TypeError, match="floating-point"):
        m(torch.ones(4, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="momentum"):
        MeanOnlyBatchNorm(3, momentum=1.5)


def test_registry_mean_only():
    m = normcode.make_norm("mean_only", 4)
    assert isinstance(m, MeanOnlyBatchNorm)
    assert m(torch.randn(3, 4)).shape == (3, 4) and m(torch.randn(3, 4, 2, 2)).shape == (3, 4, 2, 2)
