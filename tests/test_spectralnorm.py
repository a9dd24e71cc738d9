"""Spectral normalization (chapter 12).

References: ``torch.nn.utils.parametrizations.spectral_norm`` started from the
same u and v (its ``_u``/``_v`` after its warm-up are copied into normcode's):
outputs, gradients w.r.t. the original weight and the input, and u, v after
several training steps, then evaluation; ``torch.linalg.matrix_norm(W, 2)`` for
the limit of the power iteration; the hand-derived gradient of W / (u^T W v)
with u, v constant.
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
from normcode import SpectralNorm, spectral_norm

TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}
GTOL = {torch.float32: dict(rtol=1e-4, atol=1e-5), torch.float64: dict(rtol=1e-9, atol=1e-11)}


close = make_close(TOL, GTOL)


def make_layer(kind, cin, cout, dtype):
    if kind == "linear":
        layer, x = nn.Linear(cin, cout), torch.randn(4, cin)
    elif kind == "conv1d":
        layer, x = nn.Conv1d(cin, cout, 3), torch.randn(2, cin, 6)
    elif kind == "conv2d":
        layer, x = nn.Conv2d(cin, cout, (2, 3)), torch.randn(2, cin, 4, 5)
    else:
        layer, x = nn.ConvTranspose2d(cin, cout, 2), torch.randn(2, cin, 3, 3)
    return layer.to(dtype), x.to(dtype)


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(["linear", "conv1d", "conv2d", "convT2d"]), cin=st.integers(1, 4),
       cout=st.integers(1, 4), n_iter=st.integers(1, 3), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_matches_torch_spectral_norm(kind, cin, cout, n_iter, dtype):
    torch.manual_seed(0)
    layer, x = make_layer(kind, cin, cout, dtype)
    ref = P.spectral_norm(copy.deepcopy(layer), n_power_iterations=n_iter)
    ours = spectral_norm(copy.deepcopy(layer), n_power_iterations=n_iter)
    sn_ref, sn = ref.parametrizations.weight[0], ours.parametrizations.weight[0]
    assert sn._u.shape == sn_ref._u.shape and sn._v.shape == sn_ref._v.shape   # same dim (1 for ConvTranspose)
    with torch.no_grad():
        sn._u.copy_(sn_ref._u)
        sn._v.copy_(sn_ref._v)
    w, w_ref = ours.parametrizations.weight.original, ref.parametrizations.weight.original
    for _ in range(3):  # training: one update of u, v per forward, then W / sigma
        xi, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
        y, yr = ours(xi), ref(xr)
        close(y, yr, dtype)
        up = torch.randn_like(yr)
        y.backward(up)
        yr.backward(up)
        close(w.grad, w_ref.grad, dtype, grad=True)
        close(xi.grad, xr.grad, dtype, grad=True)
        close(sn._u, sn_ref._u, dtype)
        close(sn._v, sn_ref._v, dtype)
        with torch.no_grad():   # an optimiser-like change of W, so u, v keep tracking a moving target
            for p, q in ((w, w_ref), (ours.bias, ref.bias)):
                p.sub_(0.1 * p.grad)
                q.sub_(0.1 * p.grad)
                p.grad = q.grad = None
    ours.eval()
    ref.eval()
    u = sn._u.clone()
    close(ours(x), ref(x), dtype)
    assert torch.equal(sn._u, u)   # evaluation does not iterate


def test_state_dict_moves_between_torch_and_normcode():
    torch.manual_seed(1)
    ref = P.spectral_norm(nn.Linear(5, 3).double())
    ours = spectral_norm(nn.Linear(5, 3).double())
    assert set(ours.state_dict()) == set(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    ours.eval()
    ref.eval()
    x = torch.randn(4, 5, dtype=torch.float64)
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-12, atol=1e-12)


def matrix_with_singular_values(h, w, s, seed):
    g = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(h, h, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(w, w, generator=g, dtype=torch.float64))
    k = min(h, w)
    return u[:, :k] @ torch.diag(s[:k]) @ v[:, :k].T


@settings(max_examples=20, deadline=None)
@given(h=st.integers(2, 6), w=st.integers(2, 6), top=st.floats(0.1, 50.0), seed=st.integers(0, 10**6))
def test_sigma_converges_to_the_spectral_norm(h, w, top, seed):
    # the power method converges like (s2/s1)^(2k); a gap s2 = s1/2 makes 60 iterations ample
    s = torch.tensor([top, top / 2, top / 3, top / 5, top / 7, top / 11], dtype=torch.float64)
    lin = nn.Linear(w, h, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(matrix_with_singular_values(h, w, s, seed))
    W = lin.weight.detach().clone()
    spectral_norm(lin, warmup_iterations=0)
    for _ in range(60):
        w_sn = lin.weight                                            # each training access: one iteration
    exact = torch.linalg.matrix_norm(W, 2)
    sigma = lin.parametrizations.weight[0].sigma(W)
    torch.testing.assert_close(sigma, exact, rtol=1e-10, atol=0)
    torch.testing.assert_close(W.norm() / w_sn.norm(), exact, rtol=1e-10, atol=0)       # W_sn = W / sigma
    torch.testing.assert_close(torch.linalg.matrix_norm(w_sn.detach(), 2), torch.tensor(1.0, dtype=torch.float64),
                               rtol=1e-10, atol=0)


def test_sigma_of_a_random_conv_kernel_converges():
    torch.manual_seed(2)
    conv = spectral_norm(nn.Conv2d(3, 5, 3).double())
    W = conv.parametrizations.weight.original.detach()
    for _ in range(500):
        conv.weight
    exact = torch.linalg.svdvals(W.reshape(5, -1))[0]
    torch.testing.assert_close(conv.parametrizations.weight[0].sigma(W), exact, rtol=1e-6, atol=0)


def test_gradient_flows_through_sigma_only_via_w():
    """d/dW of W / (u^T W v) with u, v constant: G / sigma - <G, W> / sigma^2 * u v^T."""
    torch.manual_seed(3)
    lin = spectral_norm(nn.Linear(4, 3, bias=False).double()).eval()
    sn = lin.parametrizations.weight[0]
    W = lin.parametrizations.weight.original
    x = torch.randn(6, 4, dtype=torch.float64)
    up = torch.randn(6, 3, dtype=torch.float64)
    lin(x).backward(up)
    G = up.T @ x                                                     # dL/dW_sn
    u, v = sn._u, sn._v
    sigma = u @ W.detach() @ v
    expected = G / sigma - (G * W.detach()).sum() / sigma ** 2 * torch.outer(u, v)
    torch.testing.assert_close(W.grad, expected, rtol=1e-10, atol=1e-12)


def test_gradcheck_float64():
    torch.manual_seed(4)
    w = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    sn = SpectralNorm(w.detach()).double().eval()                    # eval: u, v fixed, a function of W
    assert torch.autograd.gradcheck(sn, (w,))
    assert torch.autograd.gradgradcheck(sn, (w,))


def test_two_forwards_before_backward():
    """The GAN pattern D(real) - D(fake): u, v change in place between the forwards; u, v are cloned."""
    torch.manual_seed(5)
    d = spectral_norm(nn.Linear(4, 1))
    loss = d(torch.randn(8, 4)).mean() - d(torch.randn(8, 4)).mean()
    loss.backward()
    assert d.parametrizations.weight.original.grad is not None


def test_convtranspose_uses_dim_1():
    ct = spectral_norm(nn.ConvTranspose2d(3, 5, 2))
    sn = ct.parametrizations.weight[0]
    assert sn.dim == 1 and sn._u.shape == (5,) and sn._v.shape == (3 * 2 * 2,)


def test_errors():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        spectral_norm(nn.BatchNorm1d(3))                             # its weight is a vector
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        SpectralNorm(torch.randn(5))
    with pytest.raises(ValueError, match="no parameter or buffer named 'kernel'"):
        spectral_norm(nn.Linear(3, 4), name="kernel")
    with pytest.raises(IndexError, match="out of range"):
        spectral_norm(nn.Linear(3, 4), dim=2)
    with pytest.raises(ValueError, match="n_power_iterations"):
        spectral_norm(nn.Linear(3, 4), n_power_iterations=0)
    with pytest.raises(ValueError, match="eps"):
        spectral_norm(nn.Linear(3, 4), eps=0.0)


def test_exported():
    assert normcode.spectral_norm is spectral_norm and normcode.SpectralNorm is SpectralNorm
