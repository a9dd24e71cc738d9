"""Switchable normalization (chapter 11).

References: with one-hot importance weights, ``torch.nn.InstanceNorm2d``,
``torch.nn.GroupNorm(1, C)`` / ``torch.nn.LayerNorm`` and ``torch.nn.BatchNorm*d``;
for any weights, a float64 mixture of IN, LN and BN statistics each computed
directly with ``torch.var_mean`` over its own axes (not derived from the
instance statistics as normcode does); and the official implementation
(switchablenorms/Switchable-Normalization, models/switchable_norm.py),
transcribed below, for ``unbiased_instance_var=True``.
"""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import normcode
from _compare import make_close, set_affine, forward_backward
from normcode import SwitchNorm

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}
GTOL = {torch.float32: dict(rtol=1e-4, atol=2e-5), torch.float64: dict(rtol=1e-9, atol=1e-10)}
BIG = 1e4  # softmax([BIG, 0, 0]) is exactly one-hot in float32 and float64 (exp(-1e4) underflows to 0)


close = make_close(TOL, GTOL)


def one_hot(sn, k):
    logits = torch.zeros(3)
    logits[k] = BIG
    with torch.no_grad():
        sn.mean_weight.copy_(logits)
        sn.var_weight.copy_(logits)


def compare(ours, ref, x, up, dtype):
    a, b = forward_backward(ours, x, up), forward_backward(ref, x, up)
    for key in a:
        close(a[key], b[key], dtype, grad=key != "y")


images = st.tuples(st.integers(2, 4), st.integers(1, 4), st.integers(2, 4), st.integers(2, 4))
dtypes = st.sampled_from([torch.float32, torch.float64])


@settings(max_examples=20, deadline=None)
@given(shape=images, dtype=dtypes, training=st.booleans())
def test_one_hot_in_is_instancenorm(shape, dtype, training):
    c = shape[1]
    ours, ref = SwitchNorm(c).to(dtype), nn.InstanceNorm2d(c, affine=True).to(dtype)
    set_affine(ours, ref)
    one_hot(ours, 0)
    ours.train(training)
    ref.train(training)
    compare(ours, ref, (torch.randn(shape) * 2 + 1).to(dtype), torch.randn(shape, dtype=dtype), dtype)


@settings(max_examples=20, deadline=None)
@given(shape=images, dtype=dtypes, training=st.booleans())
def test_one_hot_ln_is_layernorm(shape, dtype, training):
    c = shape[1]
    ours, ref = SwitchNorm(c).to(dtype), nn.GroupNorm(1, c).to(dtype)  # LN over (C, H, W), per-channel affine
    set_affine(ours, ref)
    one_hot(ours, 1)
    ours.train(training)
    compare(ours, ref, (torch.randn(shape) * 2 + 1).to(dtype), torch.randn(shape, dtype=dtype), dtype)


@settings(max_examples=20, deadline=None)
@given(shape=images, dtype=dtypes)
def test_one_hot_bn_is_batchnorm(shape, dtype):
    c = shape[1]
    ours, ref = SwitchNorm(c).to(dtype), nn.BatchNorm2d(c).to(dtype)
    set_affine(ours, ref)
    one_hot(ours, 2)
    for k in range(3):
        x = (torch.randn(shape) * (1 + k) + k).to(dtype)
        compare(ours, ref, x, torch.randn(shape, dtype=dtype), dtype)
        close(ours.running_mean, ref.running_mean, dtype)
        close(ours.running_var, ref.running_var, dtype)
    ours.eval()
    ref.eval()
    compare(ours, ref, torch.randn(shape, dtype=dtype), torch.randn(shape, dtype=dtype), dtype)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 5), c=st.integers(2, 5), dtype=dtypes)
def test_2d_input_mixes_ln_and_bn_only(n, c, dtype):
    ours = SwitchNorm(c).to(dtype)
    ln, bn = nn.LayerNorm(c).to(dtype), nn.BatchNorm1d(c).to(dtype)
    set_affine(ours, ln, bn)
    x, up = (torch.randn(n, c) * 2 + 1).to(dtype), torch.randn(n, c, dtype=dtype)
    with torch.no_grad():
        ours.mean_weight.copy_(torch.tensor([BIG, BIG, 0.0]))   # the IN logit is ignored for (N, C)
        ours.var_weight.copy_(torch.tensor([BIG, BIG, 0.0]))
    compare(ours, ln, x, up, dtype)
    ours.reset_running_stats()                                 # the LN step above updated them too
    with torch.no_grad():
        ours.mean_weight.copy_(torch.tensor([BIG, 0.0, BIG]))
        ours.var_weight.copy_(torch.tensor([BIG, 0.0, BIG]))
    compare(ours, bn, x, up, dtype)
    ours.eval()
    bn.eval()
    close(ours.running_var, bn.running_var, dtype)
    compare(ours, bn, x, up, dtype)


def direct_reference(x, mean_logits, var_logits, gamma, beta, eps, running=None):
    """IN, LN, BN statistics each computed straight from x (biased), mixed with softmax weights; float64."""
    nd = x.dim()
    sp = tuple(range(2, nd))
    v_in, m_in = torch.var_mean(x, dim=sp, correction=0, keepdim=True)
    v_ln, m_ln = torch.var_mean(x, dim=(1,) + sp, correction=0, keepdim=True)
    if running is None:
        v_bn, m_bn = torch.var_mean(x, dim=(0,) + sp, correction=0, keepdim=True)
    else:
        view = [1, -1] + [1] * (nd - 2)
        m_bn, v_bn = running[0].reshape(view), running[1].reshape(view)
    wm, wv = torch.softmax(mean_logits, 0), torch.softmax(var_logits, 0)
    mean = wm[0] * m_in + wm[1] * m_ln + wm[2] * m_bn
    var = wv[0] * v_in + wv[1] * v_ln + wv[2] * v_bn
    view = [1, -1] + [1] * (nd - 2)
    return (x - mean) / torch.sqrt(var + eps) * gamma.reshape(view) + beta.reshape(view)


@settings(max_examples=25, deadline=None)
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 4), st.lists(st.integers(2, 4), min_size=1, max_size=3)),
       seed=st.integers(0, 10**6), training=st.booleans())
def test_any_weights_against_directly_computed_statistics(shape, seed, training):
    n, c, spatial = shape
    shape = (n, c, *spatial)
    g = torch.Generator().manual_seed(seed)
    ours = SwitchNorm(c).double()
    set_affine(ours, seed=seed)
    with torch.no_grad():
        ours.mean_weight.copy_(torch.randn(3, generator=g))
        ours.var_weight.copy_(torch.randn(3, generator=g))
        ours.running_mean.copy_(torch.randn(c, generator=g))
        ours.running_var.copy_(torch.rand(c, generator=g) + 0.5)
    ours.train(training)
    running = None if training else (ours.running_mean.clone(), ours.running_var.clone())
    params = {k: p.detach().clone().requires_grad_() for k, p in ours.named_parameters()}
    x = torch.randn(shape, generator=g, dtype=torch.float64) * 3 + 2
    up = torch.randn(shape, generator=g, dtype=torch.float64)
    xi, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    y = ours(xi)
    y.backward(up)
    yr = direct_reference(xr, params["mean_weight"], params["var_weight"], params["weight"], params["bias"],
                          1e-5, running)
    yr.backward(up)
    close(y, yr, torch.float64)
    close(xi.grad, xr.grad, torch.float64, grad=True)
    for name, p in ours.named_parameters():
        close(p.grad, params[name].grad, torch.float64, grad=True)


class OfficialSwitchNorm(nn.Module):
    """switchablenorms/Switchable-Normalization, models/switchable_norm.py, using_moving_average=True (transcribed)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.997):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, num_features, 1, 1))
        self.bias = nn.Parameter(torch.zeros(1, num_features, 1, 1))
        self.mean_weight = nn.Parameter(torch.ones(3))
        self.var_weight = nn.Parameter(torch.ones(3))
        self.eps, self.momentum = eps, momentum
        self.register_buffer("running_mean", torch.zeros(1, num_features, 1))
        self.register_buffer("running_var", torch.zeros(1, num_features, 1))

    def forward(self, x):
        N, C, H, W = x.size()
        x = x.view(N, C, -1)
        mean_in = x.mean(-1, keepdim=True)
        var_in = x.var(-1, keepdim=True)
        mean_ln = mean_in.mean(1, keepdim=True)
        temp = var_in + mean_in ** 2
        var_ln = temp.mean(1, keepdim=True) - mean_ln ** 2
        if self.training:
            mean_bn = mean_in.mean(0, keepdim=True)
            var_bn = temp.mean(0, keepdim=True) - mean_bn ** 2
            self.running_mean.mul_(self.momentum)
            self.running_mean.add_((1 - self.momentum) * mean_bn.data)
            self.running_var.mul_(self.momentum)
            self.running_var.add_((1 - self.momentum) * var_bn.data)
        else:
            mean_bn = self.running_mean
            var_bn = self.running_var
        mean_weight = torch.softmax(self.mean_weight, 0)
        var_weight = torch.softmax(self.var_weight, 0)
        mean = mean_weight[0] * mean_in + mean_weight[1] * mean_ln + mean_weight[2] * mean_bn
        var = var_weight[0] * var_in + var_weight[1] * var_ln + var_weight[2] * var_bn
        x = (x - mean) / (var + self.eps).sqrt()
        x = x.view(N, C, H, W)
        return x * self.weight + self.bias


@settings(max_examples=20, deadline=None)
@given(shape=images, seed=st.integers(0, 10**6))
def test_unbiased_instance_var_reproduces_the_official_code(shape, seed):
    c = shape[1]
    g = torch.Generator().manual_seed(seed)
    ours = SwitchNorm(c, momentum=0.1, unbiased_instance_var=True).double()
    ref = OfficialSwitchNorm(c, momentum=0.9).double()        # Keras-style 0.9 = PyTorch-style 0.1
    set_affine(ours, ref, seed=seed)
    logits = torch.randn(2, 3, generator=g, dtype=torch.float64)
    with torch.no_grad():
        for m in (ours, ref):
            m.mean_weight.copy_(logits[0])
            m.var_weight.copy_(logits[1])
        ours.running_var.zero_()                               # the official code starts at 0
    for k in range(3):
        x = torch.randn(shape, generator=g, dtype=torch.float64) * 2 + k
        up = torch.randn(shape, generator=g, dtype=torch.float64)
        compare(ours, ref, x, up, torch.float64)
        close(ours.mean_weight.grad, ref.mean_weight.grad, torch.float64, grad=True)
        close(ours.var_weight.grad, ref.var_weight.grad, torch.float64, grad=True)
        for m in (ours, ref):
            m.mean_weight.grad = m.var_weight.grad = None
        close(ours.running_mean, ref.running_mean.flatten(), torch.float64)
        close(ours.running_var, ref.running_var.flatten(), torch.float64)
    ours.eval()
    ref.eval()
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    compare(ours, ref, x, torch.randn(shape, generator=g, dtype=torch.float64), torch.float64)


def test_default_variance_is_biased_not_the_official_one():
    torch.manual_seed(0)
    x = torch.randn(3, 2, 4, 4, dtype=torch.float64)
    ours, official = SwitchNorm(2).double(), SwitchNorm(2, unbiased_instance_var=True).double()
    assert not torch.allclose(ours(x), official(x))


def test_large_mean_float32_is_accurate():
    """The stable total-variance form; the official E[x^2] - E[x]^2 loses every digit at mean 1e4, std 1."""
    torch.manual_seed(1)
    x64 = torch.randn(4, 3, 8, 8, dtype=torch.float64) + 1e4
    ours32, ours64 = SwitchNorm(3), SwitchNorm(3).double()
    y32, y64 = ours32(x64.float()), ours64(x64)
    ref = direct_reference(x64, torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64),
                           torch.ones(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64), 1e-5)
    torch.testing.assert_close(y64, ref, rtol=1e-9, atol=1e-9)
    # float32 input quantisation at 1e4 is ~5e-4 per value, i.e. ~1e-3 of the unit std: that is the floor
    assert (y32.double() - y64).abs().max() < 1e-2
    official = OfficialSwitchNorm(3, momentum=0.9)(x64.float())
    assert (official.double() - y64).abs().max() > 0.1 or not torch.isfinite(official).all()


def test_gradcheck_float64():
    torch.manual_seed(2)
    m = SwitchNorm(3).double()
    x = torch.randn(2, 3, 3, 2, dtype=torch.float64, requires_grad=True)
    names = ["weight", "bias", "mean_weight", "var_weight"]
    params = [torch.randn_like(getattr(m, k)).requires_grad_() for k in names]

    def f(x, *ps):
        return torch.func.functional_call(m, dict(zip(names, ps)), (x,))

    assert torch.autograd.gradcheck(f, (x, *params))
    m.eval()
    assert torch.autograd.gradcheck(f, (x, *params))


def test_importance_starts_uniform():
    w = SwitchNorm(4).importance()
    torch.testing.assert_close(w["mean"], torch.full((3,), 1 / 3))
    torch.testing.assert_close(w["var"], torch.full((3,), 1 / 3))


def test_errors():
    m = SwitchNorm(3)
    with pytest.raises(ValueError, match="built for 3 channels"):
        m(torch.randn(4, 2, 5, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        m(torch.randn(1, 3))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        m(torch.randn(3))
    with pytest.raises(ValueError, match="at least 2 spatial positions"):
        SwitchNorm(3, unbiased_instance_var=True)(torch.randn(4, 3, 1, 1))
    with pytest.raises(ValueError, match="non-finite"):
        m(torch.full((2, 3, 2, 2), float("nan")))
    with pytest.raises(ValueError, match="eps"):
        SwitchNorm(3, eps=0.0)


def test_registry():
    for name in ("switch", "switchable"):
        m = normcode.make_norm(name, 4)
        assert isinstance(m, SwitchNorm)
        assert m(torch.randn(3, 4)).shape == (3, 4)
        assert m(torch.randn(3, 4, 2, 2)).shape == (3, 4, 2, 2)
