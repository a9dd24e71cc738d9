"""Batch-instance normalization (chapter 10).

References: ``torch.nn.BatchNorm*d`` (gate rho = 1), ``torch.nn.InstanceNorm*d``
with ``affine=True`` (rho = 0), and for any rho in [0, 1] the mixture
``(rho * BN(x) + (1 - rho) * IN(x)) * gamma + beta`` assembled from those two
torch layers (outputs and gradients, including the gates' gradient).
"""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import normcode
from _compare import make_close, set_affine
from normcode import BatchInstanceNorm, clamp_gates_, param_groups

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}
GTOL = {torch.float32: dict(rtol=1e-4, atol=2e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}


close = make_close(TOL, GTOL)


BN = {3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}
IN = {3: nn.InstanceNorm1d, 4: nn.InstanceNorm2d, 5: nn.InstanceNorm3d}

shapes = st.tuples(st.integers(1, 4), st.integers(1, 4), st.lists(st.integers(2, 4), min_size=1, max_size=2)).map(
    lambda t: (t[0], t[1], *t[2]))


def run(module, x, up, params):
    xi = x.clone().requires_grad_()
    y = module(xi)
    y.backward(up)
    out = {"y": y.detach(), "dx": xi.grad}
    for name, p in params.items():
        out[name] = p.grad.clone()
        p.grad = None
    return out


@settings(max_examples=20, deadline=None)
@given(shape=shapes, dtype=st.sampled_from([torch.float32, torch.float64]), momentum=st.sampled_from([0.1, None]))
def test_gate_one_is_batchnorm(shape, dtype, momentum):
    n, c = shape[:2]
    if n * torch.Size(shape[2:]).numel() < 2:
        return
    ours = BatchInstanceNorm(c, momentum=momentum).to(dtype)
    ref = BN[len(shape)](c, momentum=momentum).to(dtype)
    set_affine(ours, ref)
    for k in range(2):
        x = (torch.randn(shape, dtype=torch.float64) * 2 + k).to(dtype)
        up = torch.randn(shape, dtype=dtype)
        a = run(ours, x, up, {"dw": ours.weight, "db": ours.bias})
        b = run(ref, x, up, {"dw": ref.weight, "db": ref.bias})
        for key in a:
            close(a[key], b[key], dtype, grad=key != "y")
        close(ours.running_mean, ref.running_mean, dtype)
        close(ours.running_var, ref.running_var, dtype)
    ours.eval()
    ref.eval()
    x = torch.randn(shape, dtype=dtype)
    close(ours(x), ref(x), dtype)


@settings(max_examples=20, deadline=None)
@given(shape=shapes, dtype=st.sampled_from([torch.float32, torch.float64]), training=st.booleans())
def test_gate_zero_is_instancenorm(shape, dtype, training):
    c = shape[1]
    ours = BatchInstanceNorm(c).to(dtype)
    ref = IN[len(shape)](c, affine=True).to(dtype)
    set_affine(ours, ref)
    with torch.no_grad():
        ours.gate.zero_()
    ours.train(training)
    ref.train(training)
    x = (torch.randn(shape, dtype=torch.float64) * 3 - 1).to(dtype)
    up = torch.randn(shape, dtype=dtype)
    if training and shape[0] * torch.Size(shape[2:]).numel() < 2:
        return  # the (unused) batch branch cannot take statistics of one value
    a = run(ours, x, up, {"dw": ours.weight, "db": ours.bias})
    b = run(ref, x, up, {"dw": ref.weight, "db": ref.bias})
    for key in a:
        close(a[key], b[key], dtype, grad=key != "y")


@settings(max_examples=20, deadline=None)
@given(shape=shapes.filter(lambda s: s[0] >= 2), seed=st.integers(0, 10**6))
def test_any_gate_is_the_mixture_of_torch_bn_and_in(shape, seed):
    n, c = shape[:2]
    g = torch.Generator().manual_seed(seed)
    rho = torch.rand(c, generator=g, dtype=torch.float64)
    ours = BatchInstanceNorm(c).double()
    set_affine(ours, seed=seed)
    with torch.no_grad():
        ours.gate.copy_(rho)
    bn = BN[len(shape)](c, affine=False).double()
    inorm = IN[len(shape)](c, affine=False).double()
    gamma = ours.weight.detach().clone().requires_grad_()
    beta = ours.bias.detach().clone().requires_grad_()
    rho_r = rho.clone().requires_grad_()
    view = [1, c] + [1] * (len(shape) - 2)
    for training in (True, False):
        ours.train(training)
        bn.train(training)
        x = torch.randn(shape, dtype=torch.float64, generator=g) * 2 + 1
        up = torch.randn(shape, dtype=torch.float64, generator=g)
        a = run(ours, x, up, {"dw": ours.weight, "db": ours.bias, "dgate": ours.gate})
        xr = x.clone().requires_grad_()
        r = rho_r.reshape(view)
        yr = (r * bn(xr) + (1 - r) * inorm(xr)) * gamma.reshape(view) + beta.reshape(view)
        yr.backward(up)
        expected = {"y": yr.detach(), "dx": xr.grad, "dw": gamma.grad, "db": beta.grad, "dgate": rho_r.grad}
        for key in a:
            close(a[key], expected[key], torch.float64, grad=key != "y")
        for t in (gamma, beta, rho_r):
            t.grad = None
        close(ours.running_mean, bn.running_mean, torch.float64)
        close(ours.running_var, bn.running_var, torch.float64)


def test_gradcheck_float64():
    torch.manual_seed(0)
    m = BatchInstanceNorm(3).double()
    with torch.no_grad():
        m.gate.copy_(torch.tensor([0.2, 0.7, 0.95]))  # inside (0, 1): finite differences step both ways
    x = torch.randn(2, 3, 3, 2, dtype=torch.float64, requires_grad=True)
    params = {k: v.detach().clone().requires_grad_() for k, v in m.named_parameters()}

    def f(x, weight, bias, gate):
        return torch.func.functional_call(m, {"weight": weight, "bias": bias, "gate": gate}, (x,))

    assert torch.autograd.gradcheck(f, (x, params["weight"], params["bias"], params["gate"]))


def test_gates_start_at_one():
    m = BatchInstanceNorm(5)
    assert torch.equal(m.gate.detach(), torch.ones(5))


def test_gate_outside_unit_interval_is_an_error():
    m = BatchInstanceNorm(3)
    x = torch.randn(2, 3, 4, 4)
    for bad in (1.2, -0.1, float("nan")):
        with torch.no_grad():
            m.gate[1] = bad
        with pytest.raises(ValueError, match="clamp_gates_"):
            m(x)
    with torch.no_grad():
        m.gate[1] = 0.5
    m(x)  # back inside: fine


def test_clamp_gates_after_a_step():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), BatchInstanceNorm(4), nn.ReLU(),
                        nn.Sequential(nn.Conv2d(4, 2, 3), BatchInstanceNorm(2)))
    opt = torch.optim.SGD(param_groups(net, lr=100.0), lr=100.0)   # a huge step pushes gates out of [0, 1]
    x = torch.randn(4, 3, 8, 8)
    net(x).pow(2).mean().backward()
    opt.step()
    gates = [net[1].gate, net[3][1].gate]
    assert any(((g < 0) | (g > 1)).any() for g in gates)
    with pytest.raises(ValueError, match="clamp_gates_"):
        net(x)
    assert clamp_gates_(net) == 2
    assert all(((g >= 0) & (g <= 1)).all() for g in gates)
    net(x)
    assert clamp_gates_(nn.Linear(2, 2)) == 0


def test_param_groups():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), BatchInstanceNorm(4), nn.Conv2d(4, 2, 1), BatchInstanceNorm(2))
    groups = param_groups(net, lr=0.05)
    assert len(groups) == 2
    gate_ids = {id(net[1].gate), id(net[3].gate)}
    assert {id(p) for p in groups[1]["params"]} == gate_ids
    assert groups[1]["lr"] == pytest.approx(0.5) and groups[1]["weight_decay"] == 0.0
    assert groups[0]["lr"] == 0.05 and not gate_ids & {id(p) for p in groups[0]["params"]}
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(list(net.parameters()))
    # weight decay does not touch the gates: a zero-gradient step leaves them, and moves the others
    opt = torch.optim.SGD(groups, lr=0.05, weight_decay=0.1)
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    before = {id(p): p.detach().clone() for p in net.parameters()}
    opt.step()
    for p in net.parameters():
        if id(p) in gate_ids:
            assert torch.equal(p.detach(), before[id(p)])
    assert not torch.equal(net[0].weight.detach(), before[id(net[0].weight)])
    assert len(param_groups(nn.Linear(2, 2), lr=0.1)) == 1
    with pytest.raises(ValueError, match="gate_lr_multiplier"):
        param_groups(net, lr=0.1, gate_lr_multiplier=0)


def test_input_errors():
    m = BatchInstanceNorm(3)
    with pytest.raises(ValueError, match="spatial axes"):
        m(torch.randn(4, 3))
    with pytest.raises(ValueError, match="built for 3 channels"):
        m(torch.randn(4, 2, 5, 5))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        m(torch.randn(4, 3, 1, 1))
    with pytest.raises(TypeError, match="floating-point"):
        m(torch.ones(4, 3, 2, 2, dtype=torch.long))


def test_registry():
    for name in ("batch_instance", "bin"):
        m = normcode.make_norm(name, 4)
        assert isinstance(m, BatchInstanceNorm)
        assert m(torch.randn(3, 4, 5, 5)).shape == (3, 4, 5, 5)
        with pytest.raises(ValueError, match="spatial axes"):
            m(torch.randn(3, 4))
