"""Batch renormalization (chapter 9).

References: ``torch.nn.BatchNorm*d`` (with r_max = 1, d_max = 0 batch renorm *is*
batch norm, in outputs, gradients and buffers; in evaluation always), the
paper's Algorithm 1 written out by hand in float64, identities that follow from
the definition (unclipped, the training output equals the inference output of
the pre-step averages and the gradient is r times batch norm's), finite
differences (gradcheck) where r and d are clipped and therefore locally constant,
and the paper's schedule numbers.
"""
from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import normcode
from _compare import make_close, set_affine, forward_backward
from normcode import BatchRenorm, RenormSchedule, batch_renorm

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}
GTOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}


close = make_close(TOL, GTOL)


def torch_bn(c, ndim, **kw):
    return {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}[ndim](c, **kw)


shapes = st.tuples(st.integers(2, 5), st.integers(1, 4), st.lists(st.integers(1, 4), max_size=2)).map(
    lambda t: (t[0], t[1], *t[2]))


@settings(max_examples=25, deadline=None)
@given(shape=shapes, momentum=st.sampled_from([0.1, 0.3, None]),
       dtype=st.sampled_from([torch.float32, torch.float64]),
       fixed=st.booleans())
def test_rmax1_dmax0_equals_torch_batchnorm(shape, momentum, dtype, fixed):
    c = shape[1]
    # fixed bounds (1, 0), or the paper's schedule, which is batch norm for its first 5000 steps
    ours = (BatchRenorm(c, momentum=momentum, r_max=1.0, d_max=0.0) if fixed
            else BatchRenorm(c, momentum=momentum)).to(dtype)
    ref = torch_bn(c, len(shape), momentum=momentum).to(dtype)
    set_affine(ours, ref)
    with torch.no_grad():  # running averages far from the batch statistics: r, d would matter if unclipped
        for m in (ours, ref):
            m.running_mean.fill_(3.0)
            m.running_var.fill_(9.0)
    for k in range(3):
        x = (torch.randn(shape, dtype=torch.float64) * (1 + k) + k).to(dtype)
        up = torch.randn(shape, dtype=dtype)
        a, b = forward_backward(ours, x, up), forward_backward(ref, x, up)
        close(a["y"], b["y"], dtype)
        for key in ("dx", "dw", "db"):
            close(a[key], b[key], dtype, grad=True)
        close(ours.running_mean, ref.running_mean, dtype)
        close(ours.running_var, ref.running_var, dtype)
    assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked) == 3
    ours.eval()
    ref.eval()
    x = torch.randn(shape, dtype=dtype)
    close(ours(x), ref(x), dtype)


def paper_batch_renorm(x, mu, sigma, gamma, beta, r_max, d_max, eps):
    """Algorithm 1 of the paper, float64, channel axis 1; mu, sigma: the moving averages (sigma includes eps)."""
    dims = (0,) + tuple(range(2, x.dim()))
    view = [1, -1] + [1] * (x.dim() - 2)
    mu_b = x.mean(dims, keepdim=True)
    sigma_b = torch.sqrt(((x - mu_b) ** 2).mean(dims, keepdim=True) + eps)
    r = torch.clamp(sigma_b / sigma.reshape(view), 1 / r_max, r_max).detach()
    d = torch.clamp((mu_b - mu.reshape(view)) / sigma.reshape(view), -d_max, d_max).detach()
    xhat = (x - mu_b) / sigma_b * r + d
    return gamma.reshape(view) * xhat + beta.reshape(view)


@settings(max_examples=25, deadline=None)
@given(shape=shapes,
       r_max=st.floats(1.0, 4.0), d_max=st.floats(0.0, 3.0),
       offset=st.floats(-3.0, 3.0), spread=st.floats(0.2, 5.0))
def test_against_the_papers_algorithm(shape, r_max, d_max, offset, spread):
    c, eps = shape[1], 1e-5
    ours = BatchRenorm(c, r_max=r_max, d_max=d_max).double()
    set_affine(ours, seed=1)
    with torch.no_grad():
        ours.running_mean.copy_(torch.linspace(-1, 1, c) * 2)
        ours.running_var.copy_(torch.linspace(0.3, 3.0, c))
    mu, var = ours.running_mean.clone(), ours.running_var.clone()
    x = torch.randn(shape, dtype=torch.float64) * spread + offset
    up = torch.randn(shape, dtype=torch.float64)
    a = forward_backward(ours, x, up)
    xr = x.clone().requires_grad_()
    g, b = ours.weight.detach().clone().requires_grad_(), ours.bias.detach().clone().requires_grad_()
    yr = paper_batch_renorm(xr, mu, torch.sqrt(var + eps), g, b, r_max, d_max, eps)
    yr.backward(up)
    close(a["y"], yr.detach(), torch.float64)
    close(a["dx"], xr.grad, torch.float64, grad=True)
    close(a["dw"], g.grad, torch.float64, grad=True)
    close(a["db"], b.grad, torch.float64, grad=True)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5, 5)])
def test_unclipped_training_output_is_the_pre_step_inference_output(shape):
    """With r, d unclipped, (x - mu_B)/sigma_B * r + d = (x - mu)/sigma: inference with the *pre-update* averages.

    The gradient still sees the batch statistics: it is r times batch norm's gradient (r a constant).
    """
    torch.manual_seed(0)
    c = shape[1]
    ours = BatchRenorm(c, r_max=1e9, d_max=1e9).double()
    ref = torch_bn(c, len(shape)).double()
    set_affine(ours, ref)
    with torch.no_grad():
        for m in (ours, ref):
            m.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
            m.running_var.copy_(torch.tensor([0.5, 2.0, 4.0]))
    x = torch.randn(shape, dtype=torch.float64) * 1.7 + 0.3
    up = torch.randn(shape, dtype=torch.float64)
    pre = copy.deepcopy(ref).eval()(x)                  # inference output with the averages before this step
    dims = (0,) + tuple(range(2, len(shape)))
    view = [1, c] + [1] * (len(shape) - 2)
    r = torch.sqrt(x.var(dims, correction=0) + 1e-5) / torch.sqrt(ref.running_var + 1e-5)
    a = forward_backward(ours, x, up)
    b = forward_backward(ref, x, up)                               # torch batch norm in training
    close(a["y"], pre.detach(), torch.float64)
    close(a["dx"], r.reshape(view) * b["dx"], torch.float64, grad=True)
    assert not torch.allclose(a["y"], b["y"])           # and it is not batch norm's output
    close(ours.running_mean, ref.running_mean, torch.float64)   # buffers updated after r, d were taken
    close(ours.running_var, ref.running_var, torch.float64)


def test_r_and_d_are_stop_gradient():
    """Unclipped, r and d depend on x: finite differences see that dependence, the analytic gradient must not."""
    torch.manual_seed(1)
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.full((3,), 2.0, dtype=torch.float64)
    x = (torch.randn(6, 3, dtype=torch.float64) + 0.2).requires_grad_()

    def f(x):
        return batch_renorm(x, rm.clone(), rv.clone(), training=True, r_max=1e9, d_max=1e9)

    assert not torch.autograd.gradcheck(f, (x,), raise_exception=False)


def test_gradcheck_where_r_and_d_are_clipped():
    """Clipped at their bounds, r and d are locally constant, so finite differences must agree."""
    torch.manual_seed(2)
    rm = torch.full((3,), 50.0, dtype=torch.float64)       # far from the batch mean: d clipped
    rv = torch.full((3,), 400.0, dtype=torch.float64)      # far above the batch variance: r clipped
    x = torch.randn(6, 3, 2, dtype=torch.float64).requires_grad_()
    w = (torch.rand(3, dtype=torch.float64) + 0.5).requires_grad_()
    b = torch.randn(3, dtype=torch.float64).requires_grad_()

    def f(x, w, b):
        return batch_renorm(x, rm.clone(), rv.clone(), w, b, training=True, r_max=2.0, d_max=1.5)

    assert torch.autograd.gradcheck(f, (x, w, b))
    assert torch.autograd.gradgradcheck(f, (x, w, b))


def test_paper_schedule():
    s = RenormSchedule()
    assert s(0) == s(4999) == s(5000) == (1.0, 0.0)          # batch norm for the first 5k steps
    assert s(40000) == s(10**6) == (3.0, 5.0)                 # r_max = 3 at 40k, d_max = 5 at 25k
    assert s(25000)[1] == 5.0 and s(25000)[0] < 3.0
    r, d = s(15000)                                           # linear: 10k of 35k and 10k of 20k
    assert r == pytest.approx(1 + 2 * 10000 / 35000) and d == pytest.approx(2.5)
    r, _ = s(22500)
    assert r == pytest.approx(2.0)
    values = [s(t) for t in range(0, 50000, 500)]
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(values, values[1:]))


def test_custom_schedule_and_step_counting():
    torch.manual_seed(3)
    sched = RenormSchedule(r_max=2.0, d_max=1.0, warmup_steps=2, r_max_full_at=4, d_max_full_at=3)
    assert [sched(t) for t in range(5)] == [(1.0, 0.0), (1.0, 0.0), (1.0, 0.0), (1.5, 1.0), (2.0, 1.0)]
    ours = BatchRenorm(2, schedule=sched).double()
    ref = nn.BatchNorm1d(2).double()
    for m in (ours, ref):
        with torch.no_grad():
            m.running_var.fill_(25.0)                         # sigma = 5: r would be clipped if allowed
    for t in range(5):
        assert ours.clipping() == sched(t)
        x = torch.randn(8, 2, dtype=torch.float64)
        y, yr = ours(x), ref(x)
        if t < 3:
            torch.testing.assert_close(y, yr)                 # bounds (1, 0): batch norm
        else:
            assert not torch.allclose(y, yr)                  # relaxed: r, d act
    assert int(ours.num_batches_tracked) == 5
    ours.eval()
    ours(torch.randn(4, 2, dtype=torch.float64))
    assert int(ours.num_batches_tracked) == 5                 # evaluation does not advance the schedule


def test_state_dict_is_batchnorms():
    torch.manual_seed(4)
    ref = nn.BatchNorm2d(3)
    for _ in range(3):
        ref(torch.randn(4, 3, 2, 2) * 3 + 1)
    ours = BatchRenorm(3)
    assert set(ours.state_dict()) == set(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    ours.eval()
    ref.eval()
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(ours(x), ref(x))


def test_errors():
    with pytest.raises(ValueError, match="r_max must be at least 1"):
        BatchRenorm(3, r_max=0.5, d_max=0.0)
    with pytest.raises(ValueError, match="d_max must be at least 0"):
        BatchRenorm(3, r_max=2.0, d_max=-1.0)
    with pytest.raises(ValueError, match="r_max must be at least 1"):
        RenormSchedule(r_max=0.9)
    with pytest.raises(ValueError, match="d_max must be at least 0"):
        RenormSchedule(d_max=-0.1)
    with pytest.raises(ValueError, match="r_max must be at least 1"):
        batch_renorm(torch.randn(4, 3), torch.zeros(3), torch.ones(3), training=True, r_max=0.0)
    with pytest.raises(ValueError, match="warmup_steps"):
        RenormSchedule(warmup_steps=50000)
    with pytest.raises(ValueError, match="give both r_max and d_max"):
        BatchRenorm(3, r_max=2.0)
    with pytest.raises(ValueError, match="not both"):
        BatchRenorm(3, schedule=RenormSchedule(), r_max=2.0, d_max=1.0)
    brn = BatchRenorm(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        brn(torch.randn(1, 3))
    with pytest.raises(ValueError, match="built for 3 channels"):
        brn(torch.randn(4, 2, 5))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        brn(torch.randn(3))
    with pytest.raises(ValueError, match="needs running_mean"):
        batch_renorm(torch.randn(4, 3), None, None, training=True)


def test_registry():
    for name in ("batch_renorm", "brn"):
        m = normcode.make_norm(name, 4)
        assert isinstance(m, BatchRenorm)
        assert m(torch.randn(3, 4)).shape == (3, 4)
        assert m(torch.randn(3, 4, 2, 2)).shape == (3, 4, 2, 2)
