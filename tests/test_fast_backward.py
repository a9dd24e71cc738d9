"""The fast path (hand-derived backward, ``normcode.stats.NormalizeAffine``) against the readable path and torch.

Every core layer has three backward passes selected by ``manual_backward``:
``None`` (default, fast, second derivatives by autograd), ``True`` (hand-derived
only) and ``False`` (autograd through the formula, the book's reference). They
must agree with each other and with ``torch.nn`` on the output and on the
gradients of the input, γ and β; gradcheck checks the fast path in float64.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

import normcode
from normcode import functional as NF
from normcode import stats
from conftest import GRAD_TOL, TOL, make_input, randomize_affine

# name: (normcode factory taking manual_backward, torch factory, input shape)
LAYERS = {
    "bn1d": (lambda mb: normcode.BatchNorm1d(5, manual_backward=mb), lambda: nn.BatchNorm1d(5), (7, 5)),
    "bn1d-seq": (lambda mb: normcode.BatchNorm1d(3, manual_backward=mb), lambda: nn.BatchNorm1d(3), (4, 3, 6)),
    "bn2d": (lambda mb: normcode.BatchNorm2d(4, manual_backward=mb), lambda: nn.BatchNorm2d(4), (3, 4, 5, 2)),
    "bn3d": (lambda mb: normcode.BatchNorm3d(2, manual_backward=mb), lambda: nn.BatchNorm3d(2), (2, 2, 3, 2, 2)),
    "ln-1": (lambda mb: normcode.LayerNorm(6, manual_backward=mb), lambda: nn.LayerNorm(6), (5, 6)),
    "ln-3d-input": (lambda mb: normcode.LayerNorm(4, manual_backward=mb), lambda: nn.LayerNorm(4), (2, 3, 4)),
    "ln-chw": (lambda mb: normcode.LayerNorm([3, 2, 4], manual_backward=mb), lambda: nn.LayerNorm([3, 2, 4]),
               (4, 3, 2, 4)),
    "ln-nobias": (lambda mb: normcode.LayerNorm(5, bias=False, manual_backward=mb),
                  lambda: nn.LayerNorm(5, bias=False), (3, 5)),
    "rms-1": (lambda mb: normcode.RMSNorm(6, manual_backward=mb), lambda: nn.RMSNorm(6), (5, 6)),
    "rms-chw": (lambda mb: normcode.RMSNorm([3, 2, 4], eps=1e-3, manual_backward=mb),
                lambda: nn.RMSNorm([3, 2, 4], eps=1e-3), (4, 3, 2, 4)),
    "rms-noaffine": (lambda mb: normcode.RMSNorm(5, elementwise_affine=False, manual_backward=mb),
                     lambda: nn.RMSNorm(5, elementwise_affine=False), (3, 5)),
    "in2d": (lambda mb: normcode.InstanceNorm2d(3, affine=True, manual_backward=mb),
             lambda: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 3)),
    "in1d-noaffine": (lambda mb: normcode.InstanceNorm1d(3, manual_backward=mb), lambda: nn.InstanceNorm1d(3),
                      (4, 3, 5)),
    "gn": (lambda mb: normcode.GroupNorm(2, 6, manual_backward=mb), lambda: nn.GroupNorm(2, 6), (3, 6, 2, 3)),
    "gn-1group": (lambda mb: normcode.GroupNorm(1, 4, manual_backward=mb), lambda: nn.GroupNorm(1, 4), (2, 4, 3)),
    "gn-noaffine": (lambda mb: normcode.GroupNorm(3, 3, affine=False, manual_backward=mb),
                    lambda: nn.GroupNorm(3, 3, affine=False), (2, 3, 5)),
    "gn-mlp": (lambda mb: normcode.GroupNorm(2, 4, manual_backward=mb), lambda: nn.GroupNorm(2, 4), (5, 4)),
}


def _observe(module, x, g):
    xi = x.clone().requires_grad_(True)
    y = module(xi)
    y.backward(g)
    out = {"output": y.detach(), "input gradient": xi.grad}
    for name in ("weight", "bias"):
        p = getattr(module, name, None)
        if p is not None:
            out[f"{name} gradient"] = p.grad.clone()
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_fast_path_equals_autograd_path_and_torch(name, dtype):
    make, make_ref, shape = LAYERS[name]
    fast, manual, auto, ref = make(None).to(dtype), make(True).to(dtype), make(False).to(dtype), make_ref().to(dtype)
    ref64 = make_ref().double()
    randomize_affine(fast, manual, auto, ref, ref64, seed=3)
    x = make_input(shape, dtype, seed=4, shift=1.5)
    g = make_input(shape, dtype, seed=5, shift=0.0, scale=1.0)
    obs = [_observe(m, x, g) for m in (fast, manual, auto, ref)]
    exact = _observe(ref64, x.double(), g.double())
    assert obs[0].keys() == obs[3].keys()
    for key in obs[3]:
        tol = (GRAD_TOL if key.endswith("gradient") else TOL)[dtype]
        scale = max(1.0, obs[3][key].abs().max().item())
        noise = (obs[3][key].double() - exact[key]).abs().max().item()  # torch's own float32 error
        for other, label in ((obs[1], "hand-derived only"), (obs[2], "autograd path"), (obs[3], "torch")):
            torch.testing.assert_close(obs[0][key], other[key], rtol=tol["rtol"],
                                       atol=tol["atol"] * scale + 3 * noise,
                                       msg=lambda m: f"{name} {key}, fast vs {label}: {m}")


@pytest.mark.parametrize("manual_backward", [None, True])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_fast_path_gradcheck(name, manual_backward):
    make, _, shape = LAYERS[name]
    module = make(manual_backward).double()
    randomize_affine(module, seed=8)
    names = [k for k in ("weight", "bias") if getattr(module, k, None) is not None]
    x = make_input(shape, torch.float64, seed=9).requires_grad_(True)
    params = [getattr(module, k).detach().clone().requires_grad_(True) for k in names]

    def f(x, *p):
        return torch.func.functional_call(module, dict(zip(names, p)), (x,))

    assert torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["bn2d", "ln-chw", "in2d", "gn", "rms-chw"])
def test_default_path_is_twice_differentiable_like_autograd(name):
    """With create_graph=True the default path differentiates the readable formula: second derivatives agree."""
    make, _, shape = LAYERS[name]
    fast, auto = make(None).double(), make(False).double()
    randomize_affine(fast, auto, seed=10)
    x = make_input(shape, torch.float64, seed=11)
    assert torch.autograd.gradgradcheck(lambda t: fast(t), (x.clone().requires_grad_(True),))
    results = []
    for module in (fast, auto):
        xi = x.clone().requires_grad_(True)
        (gx,) = torch.autograd.grad((module(xi) ** 3).sum(), xi, create_graph=True)
        results.append(torch.autograd.grad((gx ** 2).sum(), [xi, module.weight]))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["bn2d", "ln-chw", "in2d", "gn", "rms-chw"])
def test_hand_derived_only_refuses_second_derivatives(name):
    make, _, shape = LAYERS[name]
    module = make(True).double()
    x = make_input(shape, torch.float64, seed=12).requires_grad_(True)
    (gx,) = torch.autograd.grad((module(x) ** 3).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|double backward"):
        gx.sum().backward()


def test_default_flag_is_the_fast_path():
    for module in (normcode.BatchNorm2d(2), normcode.LayerNorm(3), normcode.InstanceNorm2d(2), normcode.GroupNorm(1, 2)):
        assert module.manual_backward is None
    x = torch.randn(4, 3, requires_grad=True)
    assert type(NF.batch_norm(x, None, None, training=True).grad_fn).__name__ == "NormalizeAffineBackward"
    assert type(NF.batch_norm(x, None, None, training=True, manual_backward=False).grad_fn).__name__ != \
        "NormalizeAffineBackward"


@pytest.mark.parametrize("dims, param_shape", [((0, 2), (1, 3, 1)), ((2,), (1, 3, 1)), ((1,), (1, 4)),
                                               ((0,), (3,)), ((2, 3), (1, 2, 2, 1))])
@pytest.mark.parametrize("with_weight, with_bias", [(True, True), (True, False), (False, True), (False, False)])
def test_normalize_affine_matches_readable_reference(dims, param_shape, with_weight, with_bias):
    """stats.normalize_affine: fast and readable paths, every combination of γ and β, by gradcheck too."""
    shape = {(0, 2): (4, 3, 5), (2,): (2, 3, 4), (1,): (3, 4), (0,): (6, 3), (2, 3): (2, 2, 2, 3)}[dims]
    x = make_input(shape, torch.float64, seed=13, shift=2.0).requires_grad_(True)
    g = torch.Generator().manual_seed(14)
    w = torch.randn(param_shape, generator=g, dtype=torch.float64).requires_grad_(True) if with_weight else None
    b = torch.randn(param_shape, generator=g, dtype=torch.float64).requires_grad_(True) if with_bias else None
    inputs = [t for t in (x, w, b) if t is not None]
    up = make_input(shape, torch.float64, seed=15, shift=0.0, scale=1.0)
    results = []
    for mb in (None, True, False):
        y, mean, var = stats.normalize_affine(x, w, b, dims, 1e-3, mb)
        results.append((y, mean, var) + torch.autograd.grad(y, inputs, up))
    for other in results[1:]:
        for a, r in zip(results[0], other):
            torch.testing.assert_close(a.detach(), r.detach(), rtol=1e-10, atol=1e-10)
    assert torch.autograd.gradcheck(lambda *t: stats.normalize_affine(
        t[0], t[1] if with_weight else None, t[-1] if with_bias else None, dims, 1e-3)[0], inputs)


def test_fast_path_non_contiguous_input_and_unused_output():
    """A permuted (non-contiguous) input is normalised like its contiguous copy; a loss ignoring y gives no gradient."""
    x = make_input((3, 5, 4), torch.float64, seed=16).permute(0, 2, 1)  # (3, 4, 5), non-contiguous
    bn = normcode.BatchNorm1d(4).double()
    ref = nn.BatchNorm1d(4).double()
    torch.testing.assert_close(bn(x), ref(x), rtol=1e-10, atol=1e-10)
    w = torch.ones(4, dtype=torch.float64, requires_grad=True)
    y, mean, var = stats.normalize_affine(x, w.reshape(1, 4, 1), None, (0, 2), 1e-5)
    assert not mean.requires_grad and not var.requires_grad
    (y.sum() * 0).backward()  # y reaches the loss with zero weight
    torch.testing.assert_close(w.grad, torch.zeros(4, dtype=torch.float64))
