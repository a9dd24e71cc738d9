"""normcode's batch, layer, instance and group normalization against ``torch.nn``.

PyTorch's native layers are the independent reference: for random shapes and
settings drawn by hypothesis, normcode and torch get the same inputs, the same
parameters and the same upstream gradient, and must agree on the outputs, the
gradients of the input and of γ and β, the running statistics after several
training steps, and the outputs in evaluation. The pitfalls of
``/work/shared/reference-semantics.md`` (unbiased running variance, momentum=None,
ε inside the square root, gradients through the batch statistics, InstanceNorm1d
with a 2-D input) each get a test of their own, checked by hand computation.
"""
from __future__ import annotations

import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import normcode
from normcode import functional as NF
from conftest import GRAD_TOL, TOL, make_input, randomize_affine

DTYPES = [torch.float32, torch.float64]


# --------------------------------------------------------------------------- helpers


def assert_close(actual, expected, dtype, grad=False, what="", noise=0.0):
    """Compare with a tolerance scaled by the reference's magnitude (gradients can be large).

    ``noise`` is the float32 reference's own error (its distance to the float64
    reference): where torch's float32 kernel loses digits to cancellation (a set
    of two nearly equal values, say), normcode may differ from it by as much.
    """
    tol = (GRAD_TOL if grad else TOL)[dtype]
    scale = max(1.0, expected.detach().abs().max().item()) if expected.numel() else 1.0
    torch.testing.assert_close(actual, expected, rtol=tol["rtol"], atol=tol["atol"] * scale + 3 * noise,
                               check_dtype=True, msg=lambda m: f"{what}: {m}")


def _params(module):
    return {name: getattr(module, name) for name in ("weight", "bias") if getattr(module, name, None) is not None}


def _buffers(module):
    return {name: getattr(module, name) for name in ("running_mean", "running_var")
            if getattr(module, name, None) is not None}


def observe(module, x, grad_out):
    """Everything observable of one forward + backward: output, gradients, buffers (detached copies)."""
    xi = x.clone().requires_grad_(True)
    y = module(xi)
    y.backward(grad_out)
    obs = {"output": y.detach().clone(), "input gradient": xi.grad}
    for name, p in _params(module).items():
        obs[f"{name} gradient"] = p.grad.detach().clone()
        p.grad = None
    for name, b in _buffers(module).items():
        obs[name] = b.detach().clone()
    return obs


def compare_step(ours, ref, x, grad_out, dtype, ref64=None):
    """One forward + backward of both modules on the same input; compare everything observable.

    For float32, ``ref64`` (a float64 copy of ``ref``) measures the float32 reference's own error.
    """
    a = observe(ours, x, grad_out)
    b = observe(ref, x, grad_out)
    assert a["output"].shape == x.shape
    assert a.keys() == b.keys()
    c = observe(ref64, x.double(), grad_out.double()) if ref64 is not None else None
    for key in b:
        noise = (b[key].double() - c[key]).abs().max().item() if c is not None and b[key].numel() else 0.0
        assert_close(a[key], b[key], dtype, grad=key.endswith("gradient"), what=key, noise=noise)


def run_train_then_eval(ours, ref, shape, dtype, steps, seed):
    """``steps`` training steps with different batches, then one evaluation step."""
    randomize_affine(ours, ref, seed=seed)
    ref64 = copy.deepcopy(ref).double() if dtype == torch.float32 else None
    for step in range(steps):
        x = make_input(shape, dtype, seed=seed + step, shift=0.5 + step)
        g = make_input(shape, dtype, seed=seed + 1000 + step, shift=0.0, scale=1.0)
        compare_step(ours, ref, x, g, dtype, ref64)
    for m in (ours, ref, ref64):
        if m is not None:
            m.eval()
    x = make_input(shape, dtype, seed=seed + 999, shift=0.3)
    g = make_input(shape, dtype, seed=seed + 1999, shift=0.0, scale=1.0)
    compare_step(ours, ref, x, g, dtype, ref64)


def one_step(ours, ref, shape, dtype, seed, shift=1.0):
    """A single compared step on random data, with the float64 noise reference for float32."""
    randomize_affine(ours, ref, seed=seed)
    ref64 = copy.deepcopy(ref).double() if dtype == torch.float32 else None
    x = make_input(shape, dtype, seed=seed, shift=shift)
    g = make_input(shape, dtype, seed=seed + 1, shift=0.0, scale=1.0)
    compare_step(ours, ref, x, g, dtype, ref64)
    return x, g


BN_TORCH = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
BN_OURS = {0: normcode.BatchNorm1d, 1: normcode.BatchNorm1d, 2: normcode.BatchNorm2d, 3: normcode.BatchNorm3d}
IN_TORCH = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}
IN_OURS = {1: normcode.InstanceNorm1d, 2: normcode.InstanceNorm2d, 3: normcode.InstanceNorm3d}

spatial_sizes = st.integers(1, 4)
dtypes = st.sampled_from(DTYPES)
epsilons = st.sampled_from([1e-5, 1e-3, 0.5])
seeds = st.integers(0, 10_000)


# --------------------------------------------------------------------------- batch norm


@settings(max_examples=40)
@given(
    n=st.integers(2, 5),
    c=st.integers(1, 4),
    spatial=st.lists(spatial_sizes, min_size=0, max_size=3),
    generic=st.booleans(),
    momentum=st.sampled_from([None, 0.0, 0.1, 0.5, 1.0]),
    affine=st.booleans(),
    track=st.booleans(),
    eps=epsilons,
    manual_backward=st.booleans(),
    dtype=dtypes,
    steps=st.integers(1, 5),
    seed=seeds,
)
def test_batchnorm_matches_torch(n, c, spatial, generic, momentum, affine, track, eps, manual_backward,
                                 dtype, steps, seed):
    shape = (n, c, *spatial)
    kwargs = dict(eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
    ours_cls = normcode.BatchNorm if generic else BN_OURS[len(spatial)]
    ours = ours_cls(c, manual_backward=manual_backward, **kwargs).to(dtype)
    ref = BN_TORCH[len(spatial)](c, **kwargs).to(dtype)
    run_train_then_eval(ours, ref, shape, dtype, steps, seed)
    if track:
        assert ours.num_batches_tracked.item() == ref.num_batches_tracked.item() == steps


@pytest.mark.parametrize("manual_backward", [False, True])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_stats_over_many_steps(manual_backward, momentum):
    """20 training steps on batches with drifting statistics, then evaluation: buffers and outputs agree."""
    dtype = torch.float64
    ours = normcode.BatchNorm2d(5, momentum=momentum, manual_backward=manual_backward).to(dtype)
    ref = nn.BatchNorm2d(5, momentum=momentum).to(dtype)
    run_train_then_eval(ours, ref, (6, 5, 3, 4), dtype, steps=20, seed=7)
    # the running estimates have moved far from their initial (0, 1): the test is not vacuous
    assert ours.running_mean.abs().max() > 1.0
    assert ours.num_batches_tracked.item() == 20


@pytest.mark.parametrize("dtype", DTYPES)
def test_generic_batchnorm_matches_functional_on_4_spatial_dims(dtype):
    """normcode.BatchNorm takes any number of spatial axes; torch.nn.functional.batch_norm is the reference."""
    x = make_input((3, 2, 2, 3, 2, 2), dtype, seed=3)
    ours = normcode.BatchNorm(2).to(dtype)
    rm, rv = torch.zeros(2, dtype=dtype), torch.ones(2, dtype=dtype)
    y_ref = torch.nn.functional.batch_norm(x, rm, rv, ours.weight, ours.bias, training=True, momentum=0.1)
    assert_close(ours(x), y_ref, dtype)
    assert_close(ours.running_mean, rm, dtype)
    assert_close(ours.running_var, rv, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7, 3), (4, 3, 5), (3, 2, 4, 3), (2, 2, 3, 2, 3)])
def test_manual_backward_equals_autograd_and_torch(shape, dtype):
    """The hand-derived backward pass gives autograd's and torch's gradients (input, γ, β)."""
    c = shape[1]
    x = make_input(shape, dtype, seed=11)
    g = make_input(shape, dtype, seed=12, shift=0.0, scale=1.0)
    manual = normcode.BatchNorm(c, manual_backward=True).to(dtype)
    auto = normcode.BatchNorm(c, manual_backward=False).to(dtype)
    ref = BN_TORCH[len(shape) - 2](c).to(dtype)
    randomize_affine(manual, auto, ref, seed=5)
    grads = []
    for module in (manual, auto, ref):
        xi = x.clone().requires_grad_(True)
        module(xi).backward(g)
        grads.append((xi.grad, module.weight.grad, module.bias.grad))
    for (a, b, r) in zip(*grads):
        assert_close(a, b, dtype, grad=True, what="manual vs autograd")
        assert_close(a, r, dtype, grad=True, what="manual vs torch")


def test_state_dict_from_torch_loads_into_normcode_and_back():
    torch_bn = nn.BatchNorm2d(4)
    randomize_affine(torch_bn, seed=2)
    for step in range(3):
        torch_bn(make_input((5, 4, 3, 3), torch.float32, seed=step, shift=1.0 + step))
    ours = normcode.BatchNorm2d(4)
    ours.load_state_dict(torch_bn.state_dict(), strict=True)
    assert ours.num_batches_tracked.item() == 3
    x = make_input((2, 4, 3, 3), torch.float32, seed=40)
    torch_bn.eval()
    ours.eval()
    assert_close(ours(x), torch_bn(x), torch.float32)
    # and back: a normcode state_dict loads into torch (strict) after normcode has trained one step
    ours.train()
    ours(make_input((5, 4, 3, 3), torch.float32, seed=41))
    fresh = nn.BatchNorm2d(4)
    fresh.load_state_dict(ours.state_dict(), strict=True)
    fresh.eval()
    ours.eval()
    assert_close(ours(x), fresh(x), torch.float32)


@pytest.mark.parametrize("pair", [
    (lambda: normcode.BatchNorm1d(3), lambda: nn.BatchNorm1d(3)),
    (lambda: normcode.BatchNorm2d(3, affine=False), lambda: nn.BatchNorm2d(3, affine=False)),
    (lambda: normcode.BatchNorm3d(3, track_running_stats=False), lambda: nn.BatchNorm3d(3, track_running_stats=False)),
    (lambda: normcode.LayerNorm([3, 4]), lambda: nn.LayerNorm([3, 4])),
    (lambda: normcode.LayerNorm(4, bias=False), lambda: nn.LayerNorm(4, bias=False)),
    (lambda: normcode.InstanceNorm2d(3, affine=True, track_running_stats=True),
     lambda: nn.InstanceNorm2d(3, affine=True, track_running_stats=True)),
    (lambda: normcode.GroupNorm(2, 4), lambda: nn.GroupNorm(2, 4)),
], ids=["bn1d", "bn2d-noaffine", "bn3d-notrack", "ln", "ln-nobias", "in2d-track", "gn"])
def test_state_dict_keys_and_shapes_match_torch(pair):
    ours, ref = pair[0](), pair[1]()
    sd_ours, sd_ref = ours.state_dict(), ref.state_dict()
    assert sd_ours.keys() == sd_ref.keys()
    for k in sd_ref:
        assert sd_ours[k].shape == sd_ref[k].shape, k
        assert sd_ours[k].dtype == sd_ref[k].dtype, k
        torch.testing.assert_close(sd_ours[k], sd_ref[k])  # same initial values
    ours.load_state_dict(sd_ref, strict=True)


def test_momentum_none_is_cumulative_average_by_hand():
    """momentum=None: running = plain average of the batch statistics; the first batch overwrites var=1."""
    dtype = torch.float64
    batches = [make_input((4, 3, 2), dtype, seed=s, shift=1.0 + s) for s in range(4)]
    ours = normcode.BatchNorm1d(3, momentum=None).to(dtype)
    ref = nn.BatchNorm1d(3, momentum=None).to(dtype)
    for k, x in enumerate(batches, start=1):
        ours(x)
        ref(x)
        # hand computation: per-channel values as rows, averaged over the k batches seen
        rows = [b.transpose(0, 1).reshape(3, -1) for b in batches[:k]]
        means = torch.stack([r.sum(1) / r.shape[1] for r in rows])
        uvars = torch.stack([((r - r.sum(1, keepdim=True) / r.shape[1]) ** 2).sum(1) / (r.shape[1] - 1)
                             for r in rows])
        torch.testing.assert_close(ours.running_mean, means.mean(0), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(ours.running_var, uvars.mean(0), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(ours.running_var, ref.running_var, rtol=1e-12, atol=1e-12)
        if k == 1:  # overwritten, not averaged with the initial 1
            assert (ours.running_var - 1.0).abs().min() > 0.1


def test_running_var_is_unbiased_by_hand():
    dtype = torch.float64
    x = make_input((3, 2, 2), dtype, seed=8)  # m = 6 values per channel: m/(m-1) = 1.2
    bn = normcode.BatchNorm1d(2, momentum=1.0).to(dtype)
    bn(x)
    rows = x.transpose(0, 1).reshape(2, -1)
    centred = rows - rows.sum(1, keepdim=True) / 6
    unbiased = (centred ** 2).sum(1) / 5
    biased = (centred ** 2).sum(1) / 6
    torch.testing.assert_close(bn.running_var, unbiased, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(bn.running_var, biased, rtol=1e-3)
    # and with the default momentum 0.1, from the initial (0, 1):
    bn2 = normcode.BatchNorm1d(2).to(dtype)
    bn2(x)
    torch.testing.assert_close(bn2.running_mean, 0.1 * rows.sum(1) / 6, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(bn2.running_var, 0.9 + 0.1 * unbiased, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("manual_backward", [False, True])
def test_eps_inside_the_square_root(manual_backward):
    """A channel with variance 1e-6 and eps=1e-5: eps dominates, so where it goes matters by 3x."""
    dtype = torch.float64
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 2, generator=g, dtype=dtype)
    x[:, 0] = x[:, 0] * 1e-3 + 5.0  # variance ~1e-6
    eps = 1e-5
    bn = normcode.BatchNorm1d(2, eps=eps, manual_backward=manual_backward).to(dtype)
    y = bn(x)
    mu = x.sum(0) / 16
    var = ((x - mu) ** 2).sum(0) / 16
    inside = (x - mu) / torch.sqrt(var + eps)
    outside = (x - mu) / (torch.sqrt(var) + eps)
    torch.testing.assert_close(y, inside, rtol=1e-12, atol=1e-12)
    assert (y[:, 0] - outside[:, 0]).abs().max() > 0.5  # the other placement is far off
    torch.testing.assert_close(y, nn.BatchNorm1d(2, eps=eps).to(dtype)(x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("manual_backward", [False, True])
def test_constant_channel_gives_beta_and_finite_gradients(manual_backward):
    """Variance 0: eps keeps the division finite; the output is β and the gradient matches torch's."""
    dtype = torch.float64
    x = make_input((6, 3, 2), dtype, seed=1)
    x[:, 1] = 2.5
    g = make_input((6, 3, 2), dtype, seed=2, shift=0.0)
    ours = normcode.BatchNorm1d(3, manual_backward=manual_backward).to(dtype)
    ref = nn.BatchNorm1d(3).to(dtype)
    randomize_affine(ours, ref, seed=3)
    compare_step(ours, ref, x, g, dtype)
    with torch.no_grad():
        ours.train()
        y = ours(x)
    torch.testing.assert_close(y[:, 1], ours.bias[1].expand_as(y[:, 1]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("manual_backward", [False, True])
def test_batch_statistics_are_not_detached(manual_backward):
    """The gradient flows through μ_B and σ²_B: it differs from the one with detached statistics."""
    dtype = torch.float64
    x = make_input((8, 3), dtype, seed=4).requires_grad_(True)
    w = make_input((8, 3), dtype, seed=5, shift=1.0)  # upstream weights, not centred
    bn = normcode.BatchNorm1d(3, affine=False, manual_backward=manual_backward).to(dtype)
    (gx,) = torch.autograd.grad((bn(x) * w).sum(), x)
    mu = x.mean(0, keepdim=True).detach()
    var = x.var(0, unbiased=False, keepdim=True).detach()
    (gx_detached,) = torch.autograd.grad((((x - mu) / torch.sqrt(var + 1e-5)) * w).sum(), x)
    assert (gx - gx_detached).abs().max() > 0.1
    # the full gradient: per channel, sum over the batch is 0 (the mean was subtracted) ...
    torch.testing.assert_close(gx.sum(0), torch.zeros(3, dtype=dtype), rtol=0, atol=1e-10)
    # ... and it is torch's
    xr = x.detach().clone().requires_grad_(True)
    (gr,) = torch.autograd.grad((nn.BatchNorm1d(3, affine=False).to(dtype)(xr) * w).sum(), xr)
    torch.testing.assert_close(gx, gr, rtol=1e-10, atol=1e-10)


def test_batchnorm_track_false_uses_batch_stats_in_eval():
    dtype = torch.float64
    x = make_input((5, 3, 4), dtype, seed=9, shift=2.0)
    bn = normcode.BatchNorm1d(3, track_running_stats=False).to(dtype).eval()
    assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
    y = bn(x)
    torch.testing.assert_close(y.mean((0, 2)), torch.zeros(3, dtype=dtype), rtol=0, atol=1e-12)
    torch.testing.assert_close(y, nn.BatchNorm1d(3, track_running_stats=False).to(dtype).eval()(x),
                               rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- layer norm


@settings(max_examples=30)
@given(
    batch=st.lists(st.integers(1, 4), min_size=0, max_size=3),
    normalized=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    as_int=st.booleans(),
    elementwise_affine=st.booleans(),
    bias=st.booleans(),
    eps=epsilons,
    dtype=dtypes,
    seed=seeds,
)
def test_layernorm_matches_torch(batch, normalized, as_int, elementwise_affine, bias, eps, dtype, seed):
    if math.prod(normalized) == 1:  # degenerate: one value per example (see the group norm test)
        normalized = [*normalized[:-1], 2]
    shape = (*batch, *normalized)
    ns = normalized[0] if (as_int and len(normalized) == 1) else normalized
    ours = normcode.LayerNorm(ns, eps=eps, elementwise_affine=elementwise_affine, bias=bias).to(dtype)
    ref = nn.LayerNorm(ns, eps=eps, elementwise_affine=elementwise_affine, bias=bias).to(dtype)
    x, g = one_step(ours, ref, shape, dtype, seed, shift=1.5)
    ours.eval()
    ref.eval()
    compare_step(ours, ref, x, g, dtype, copy.deepcopy(ref).double() if dtype == torch.float32 else None)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layernorm_without_bias_and_without_affine(dtype):
    x = make_input((3, 4, 5), dtype, seed=21, shift=2.0)
    g = make_input((3, 4, 5), dtype, seed=22, shift=0.0)
    no_bias = normcode.LayerNorm(5, bias=False).to(dtype)
    assert isinstance(no_bias.weight, nn.Parameter) and no_bias.bias is None
    ref = nn.LayerNorm(5, bias=False).to(dtype)
    randomize_affine(no_bias, ref, seed=1)
    compare_step(no_bias, ref, x, g, dtype)
    plain = normcode.LayerNorm([4, 5], elementwise_affine=False).to(dtype)
    assert plain.weight is None and plain.bias is None and len(list(plain.parameters())) == 0
    compare_step(plain, nn.LayerNorm([4, 5], elementwise_affine=False).to(dtype), x, g, dtype)
    # per example over (4, 5): mean 0 and biased variance 1/(1 + eps/var) ~ 1, by hand
    y = plain(x)
    torch.testing.assert_close(y.mean((1, 2)), torch.zeros(3, dtype=dtype), rtol=0, atol=1e-5)


# --------------------------------------------------------------------------- RMS norm


@settings(max_examples=30)
@given(
    batch=st.lists(st.integers(1, 4), min_size=0, max_size=3),
    normalized=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    as_int=st.booleans(),
    elementwise_affine=st.booleans(),
    eps=st.sampled_from([None, 1e-5, 1e-3, 0.5]),
    manual_backward=st.sampled_from([None, True, False]),
    dtype=dtypes,
    seed=seeds,
)
def test_rmsnorm_matches_torch(batch, normalized, as_int, elementwise_affine, eps, manual_backward, dtype, seed):
    shape = (*batch, *normalized)
    ns = normalized[0] if (as_int and len(normalized) == 1) else normalized
    ours = normcode.RMSNorm(ns, eps=eps, elementwise_affine=elementwise_affine,
                            manual_backward=manual_backward).to(dtype)
    ref = nn.RMSNorm(ns, eps=eps, elementwise_affine=elementwise_affine).to(dtype)
    one_step(ours, ref, shape, dtype, seed, shift=1.5)


def test_rmsnorm_by_hand_and_eps_none():
    """y = x / sqrt(mean(x^2) + eps) * gamma, with eps=None the machine epsilon of the dtype (float32's for halves)."""
    x = make_input((3, 4, 5), torch.float64, seed=23, shift=2.0)
    y = normcode.RMSNorm([4, 5], eps=None).double()(x)
    ms = (x ** 2).sum((1, 2), keepdim=True) / 20
    torch.testing.assert_close(y, x / torch.sqrt(ms + torch.finfo(torch.float64).eps), rtol=1e-12, atol=1e-12)
    tiny = torch.full((2, 5), 1e-3, dtype=torch.float16)  # mean square 1e-6: eps decides the output
    torch.testing.assert_close(normcode.RMSNorm(5).half()(tiny), nn.RMSNorm(5).half()(tiny))
    assert normcode.make_norm("rms", 4)(torch.randn(2, 4, 3, 3)).shape == (2, 4, 3, 3)
    flat = torch.randn(6, 4, dtype=torch.float64)
    torch.testing.assert_close(normcode.make_norm("rms", 4).double()(flat), nn.RMSNorm(4).double()(flat))


# --------------------------------------------------------------------------- instance norm


@settings(max_examples=40)
@given(
    n=st.integers(1, 4),
    c=st.integers(1, 4),
    first=st.integers(2, 4),
    rest=st.lists(spatial_sizes, min_size=0, max_size=2),
    unbatched=st.booleans(),
    momentum=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    affine=st.booleans(),
    track=st.booleans(),
    eps=epsilons,
    dtype=dtypes,
    steps=st.integers(1, 4),
    seed=seeds,
)
def test_instancenorm_matches_torch(n, c, first, rest, unbatched, momentum, affine, track, eps, dtype, steps, seed):
    spatial = (first, *rest)
    shape = (c, *spatial) if unbatched else (n, c, *spatial)
    kwargs = dict(eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
    ours = IN_OURS[len(spatial)](c, **kwargs).to(dtype)
    ref = IN_TORCH[len(spatial)](c, **kwargs).to(dtype)
    run_train_then_eval(ours, ref, shape, dtype, steps, seed)


def test_instancenorm1d_2d_input_is_unbatched():
    """InstanceNorm1d reads (C, L) as one example, like torch: each row normalised over L."""
    dtype = torch.float64
    x = make_input((3, 7), dtype, seed=31, shift=2.0)
    ours = normcode.InstanceNorm1d(3, affine=True).to(dtype)
    ref = nn.InstanceNorm1d(3, affine=True).to(dtype)
    randomize_affine(ours, ref, seed=2)
    compare_step(ours, ref, x, make_input((3, 7), dtype, seed=32), dtype)
    plain = normcode.InstanceNorm1d(3).to(dtype)
    y = plain(x)
    assert y.shape == (3, 7)
    mu = x.sum(1, keepdim=True) / 7
    var = ((x - mu) ** 2).sum(1, keepdim=True) / 7
    torch.testing.assert_close(y, (x - mu) / torch.sqrt(var + 1e-5), rtol=1e-12, atol=1e-12)
    # and it is the batched computation on x[None]
    torch.testing.assert_close(y, plain(x.unsqueeze(0)).squeeze(0), rtol=0, atol=0)


def test_instancenorm_running_stats_many_steps_then_eval():
    dtype = torch.float64
    ours = normcode.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.2).to(dtype)
    ref = nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.2).to(dtype)
    run_train_then_eval(ours, ref, (4, 3, 3, 5), dtype, steps=12, seed=17)
    assert ours.running_mean.abs().max() > 1.0


def test_instancenorm_momentum_none_is_cumulative_average():
    """normcode's documented difference: None averages all batches (torch's InstanceNorm never updates)."""
    dtype = torch.float64
    batches = [make_input((2, 3, 5), dtype, seed=s, shift=1.0 + s) for s in range(3)]
    ours = normcode.InstanceNorm1d(3, momentum=None, track_running_stats=True).to(dtype)
    for x in batches:
        ours(x)
    per_batch_mean = torch.stack([b.mean(2).mean(0) for b in batches])
    per_batch_var = torch.stack([b.var(2, unbiased=True).mean(0) for b in batches])
    torch.testing.assert_close(ours.running_mean, per_batch_mean.mean(0), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.running_var, per_batch_var.mean(0), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- group norm


@settings(max_examples=30)
@given(
    n=st.integers(1, 4),
    groups=st.integers(1, 4),
    per_group=st.integers(1, 3),
    spatial=st.lists(spatial_sizes, min_size=0, max_size=3),
    affine=st.booleans(),
    eps=epsilons,
    dtype=dtypes,
    seed=seeds,
)
def test_groupnorm_matches_torch(n, groups, per_group, spatial, affine, eps, dtype, seed):
    if per_group * math.prod(spatial) == 1:
        # a group of one value is degenerate (the output is beta); torch's fused float32 kernel,
        # y = x * (w * rstd) + (b - mean * w * rstd), loses digits there, so compare real groups only
        per_group = 2
    c = groups * per_group
    shape = (n, c, *spatial)
    ours = normcode.GroupNorm(groups, c, eps=eps, affine=affine).to(dtype)
    ref = nn.GroupNorm(groups, c, eps=eps, affine=affine).to(dtype)
    one_step(ours, ref, shape, dtype, seed)


@pytest.mark.parametrize("dtype", DTYPES)
def test_groupnorm_one_group_is_layernorm_over_chw(dtype):
    x = make_input((3, 6, 4, 5), dtype, seed=51, shift=2.0)
    g = make_input((3, 6, 4, 5), dtype, seed=52)
    compare_step(normcode.GroupNorm(1, 6, affine=False).to(dtype),
                 nn.LayerNorm([6, 4, 5], elementwise_affine=False).to(dtype), x, g, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_groupnorm_c_groups_is_instancenorm(dtype):
    x = make_input((3, 6, 4, 5), dtype, seed=53, shift=2.0)
    g = make_input((3, 6, 4, 5), dtype, seed=54)
    gn = normcode.GroupNorm(6, 6).to(dtype)
    ref = nn.InstanceNorm2d(6, affine=True).to(dtype)
    randomize_affine(gn, ref, seed=4)
    compare_step(gn, ref, x, g, dtype)
    inorm = normcode.InstanceNorm2d(6, affine=True).to(dtype)
    randomize_affine(gn, inorm, seed=4)
    torch.testing.assert_close(gn(x), inorm(x), **TOL[dtype])


def test_groupnorm_groups_are_contiguous_channel_blocks():
    """By hand: with G=2 and C=4, channels (0,1) and (2,3) share statistics."""
    dtype = torch.float64
    x = make_input((2, 4, 3), dtype, seed=55, shift=2.0)
    y = normcode.GroupNorm(2, 4, affine=False).to(dtype)(x)
    for n in range(2):
        for block in ((0, 1), (2, 3)):
            v = x[n, list(block)]
            mu = v.sum() / v.numel()
            var = ((v - mu) ** 2).sum() / v.numel()
            torch.testing.assert_close(y[n, list(block)], (v - mu) / torch.sqrt(var + 1e-5),
                                       rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- gradcheck (float64)


def _bn_eval_module():
    bn = normcode.BatchNorm2d(3).double()
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
        bn.running_var.copy_(torch.tensor([2.0, 0.5, 1.5]))
    return bn.eval()


GRADCHECK_CASES = {
    "bn-autograd": (lambda: normcode.BatchNorm2d(3).double(), (4, 3, 2, 3)),
    "bn-manual": (lambda: normcode.BatchNorm2d(3, manual_backward=True).double(), (4, 3, 2, 3)),
    "bn1d-manual": (lambda: normcode.BatchNorm1d(3, manual_backward=True).double(), (6, 3)),
    "bn-eval": (_bn_eval_module, (4, 3, 2, 3)),
    "ln": (lambda: normcode.LayerNorm([3, 4]).double(), (3, 3, 4)),
    "ln-nobias": (lambda: normcode.LayerNorm(4, bias=False).double(), (3, 3, 4)),
    "in": (lambda: normcode.InstanceNorm2d(3, affine=True).double(), (2, 3, 2, 3)),
    "gn": (lambda: normcode.GroupNorm(2, 4).double(), (3, 4, 2, 3)),
    "rms": (lambda: normcode.RMSNorm([3, 4]).double(), (3, 3, 4)),
}


@pytest.mark.parametrize("case", sorted(GRADCHECK_CASES))
def test_gradcheck_input_weight_bias(case):
    make, shape = GRADCHECK_CASES[case]
    module = make()
    randomize_affine(module, seed=6)
    names = sorted(_params(module))
    assert "weight" in names
    x = make_input(shape, torch.float64, seed=61).requires_grad_(True)
    params = [getattr(module, k).detach().clone().requires_grad_(True) for k in names]

    def f(x, *p):
        return torch.func.functional_call(module, dict(zip(names, p)), (x,))

    assert torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("with_weight, with_bias", [(True, False), (False, True), (False, False), (True, True)])
def test_gradcheck_functional_manual_backward_partial_affine(with_weight, with_bias):
    """batch_norm(manual_backward=True) with only γ, only β or neither: gradcheck and torch's gradients."""
    x = make_input((5, 3, 4), torch.float64, seed=71).requires_grad_(True)
    w = (torch.tensor([0.5, 2.0, -1.5], dtype=torch.float64).requires_grad_(True)) if with_weight else None
    b = (torch.tensor([0.1, -0.3, 0.7], dtype=torch.float64).requires_grad_(True)) if with_bias else None
    inputs = tuple(t for t in (x, w, b) if t is not None)

    def f(*args):
        it = iter(args)
        xx = next(it)
        ww = next(it) if with_weight else None
        bb = next(it) if with_bias else None
        return NF.batch_norm(xx, None, None, ww, bb, training=True, manual_backward=True)

    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-5)
    g = make_input((5, 3, 4), torch.float64, seed=72)
    ours = torch.autograd.grad(f(*inputs), inputs, g)
    ref = torch.autograd.grad(torch.nn.functional.batch_norm(x, None, None, w, b, training=True), inputs, g)
    for a, r in zip(ours, ref):
        torch.testing.assert_close(a, r, rtol=1e-10, atol=1e-10)


def test_manual_backward_refuses_second_derivatives():
    """The hand-derived backward treats x̂ and s as constants, so a second derivative would be wrong: it must raise."""
    x = make_input((6, 3), torch.float64, seed=73).requires_grad_(True)
    bn = normcode.BatchNorm1d(3, manual_backward=True).double()
    (gx,) = torch.autograd.grad((bn(x) ** 3).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|does not require grad|double backward"):
        gx.sum().backward()
    # the autograd path does support it (and agrees with torch's second derivative)
    auto = normcode.BatchNorm1d(3).double()
    ref = nn.BatchNorm1d(3).double()
    assert torch.autograd.gradgradcheck(lambda t: auto(t), (x,))
    x2 = x.detach().clone().requires_grad_(True)
    (ga,) = torch.autograd.grad((auto(x) ** 3).sum(), x, create_graph=True)
    (gr,) = torch.autograd.grad((ref(x2) ** 3).sum(), x2, create_graph=True)
    (gga,) = torch.autograd.grad(ga.sum(), x)
    (ggr,) = torch.autograd.grad(gr.sum(), x2)
    torch.testing.assert_close(gga, ggr, rtol=1e-8, atol=1e-8)
