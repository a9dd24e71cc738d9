"""PyTorch's own test cases for its normalization layers, run against normcode and compared with torch.

The cases ship inside the installed torch: ``module_db`` (the ``ModuleInfo`` of
BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm and RMSNorm: their
constructor arguments, inputs and expected construction/forward errors) and
``op_db`` (the ``OpInfo`` samples, reference inputs and error inputs of
``nn.functional.batch_norm``, ``layer_norm``, ``group_norm``, ``instance_norm``
and ``rms_norm``). PyTorch's ``test/test_modules.py``, ``test/test_nn.py`` and
``test/test_ops*.py`` show what is checked with them; here every case is built
twice, as the normcode layer and as the torch layer (or function), and every
observable is compared with torch's: outputs, gradients of the input and of the
parameters and every buffer, over several training steps and in evaluation;
non-contiguous and channels-last inputs; float64 gradcheck and gradgradcheck
with batched gradients and forward-mode AD; ``torch.func`` (``vmap``, ``jvp``);
float16/bfloat16 and mixed precision; errors; pickling; factory arguments; the
meta device.

Cases that are not run are listed, each with its reason, in :data:`NOT_RUN`
(and in ``tests/TORCH_SUITE.md``); nothing is skipped anywhere else.
"""
from __future__ import annotations

import copy
import io
import re

import pytest
import torch
from torch import nn

pytest.importorskip("expecttest", reason="PyTorch's test cases need the expecttest package (requirements.txt)")
from torch.testing._internal.common_methods_invocations import op_db  # noqa: E402
from torch.testing._internal.common_modules import module_db  # noqa: E402

import normcode  # noqa: E402
from normcode import functional as NF  # noqa: E402

MODULES = {
    "nn.BatchNorm1d": normcode.BatchNorm1d, "nn.BatchNorm2d": normcode.BatchNorm2d,
    "nn.BatchNorm3d": normcode.BatchNorm3d, "nn.InstanceNorm1d": normcode.InstanceNorm1d,
    "nn.InstanceNorm2d": normcode.InstanceNorm2d, "nn.InstanceNorm3d": normcode.InstanceNorm3d,
    "nn.LayerNorm": normcode.LayerNorm, "nn.GroupNorm": normcode.GroupNorm, "nn.RMSNorm": normcode.RMSNorm,
}
FUNCTIONS = {
    "nn.functional.batch_norm": NF.batch_norm, "nn.functional.instance_norm": NF.instance_norm,
    "nn.functional.layer_norm": NF.layer_norm, "nn.functional.group_norm": NF.group_norm,
    "nn.functional.rms_norm": NF.rms_norm,
}
DTYPES = (torch.float32, torch.float64)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: the cases are tiny, and on a shared machine thread start-up costs 30x the work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

LOW = (torch.float16, torch.bfloat16)

# --------------------------------------------------------------------------- what is not run, and why

EPS = "deliberate difference: normcode rejects eps <= 0 with a ValueError (torch computes NaN or " \
      "negative-variance outputs); checked by test_documented_difference_eps"
COMPLEX = "out of scope: normcode's layers are real-valued (torch's rms_norm also accepts complex inputs)"
CUDA_VARIANT = "not a CPU case: the OpInfo variant 'without_cudnn' has no CPU dtypes"

#: case-id pattern -> reason. Every case whose id matches is reported as skipped with its reason.
NOT_RUN = {
    r"^nn\.functional\.(group_norm|layer_norm|rms_norm|batch_norm|instance_norm)-.*-eps=-": EPS,
}
#: whole OpInfo entries not run (their samples are never built).
NOT_RUN_OPS = {
    ("nn.functional.batch_norm", "without_cudnn"): CUDA_VARIANT,
}
#: dtypes of an OpInfo not run.
NOT_RUN_DTYPES = {torch.complex64: COMPLEX, torch.complex128: COMPLEX}


def _reason(case_id: str):
    for pattern, reason in NOT_RUN.items():
        if re.search(pattern, case_id):
            return reason
    return None


def _params(cases):
    out = []
    for case in cases:
        reason = _reason(case.id)
        out.append(pytest.param(case, id=case.id, marks=pytest.mark.skip(reason=reason)) if reason
                   else pytest.param(case, id=case.id))
    return out


# --------------------------------------------------------------------------- the module cases


class ModuleCase:
    """One ModuleInfo input: constructor arguments, one forward input, train or eval, dtype."""

    def __init__(self, info, module_input, training, dtype, index):
        self.info, self.training, self.dtype = info, training, dtype
        self.args = module_input.constructor_input.args
        self.kwargs = dict(module_input.constructor_input.kwargs)
        self.x = module_input.forward_input.args[0].detach()
        desc = module_input.desc or "default"
        self.id = f"{info.name}-{desc}-{index}-{'train' if training else 'eval'}-{str(dtype)[6:]}"

    def build(self, dtype=None, **extra):
        """(normcode module, torch module) with the same arguments and the same random γ, β."""
        dtype = dtype or self.dtype
        ref = self.info.module_cls(*self.args, **self.kwargs, **extra).to(dtype)
        g = torch.Generator().manual_seed(len(self.id))
        with torch.no_grad():
            for p in ref.parameters():
                p.copy_((torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.5 + 1.0).to(dtype))
        ours = MODULES[self.info.name](*self.args, **self.kwargs, **extra).to(dtype)
        ours.load_state_dict(ref.state_dict(), strict=True)  # a state dict written by torch loads
        ours.train(self.training)
        ref.train(self.training)
        return ours, ref


def _module_cases():
    torch.manual_seed(0)  # the ModuleInfo inputs are drawn from the global generator: the same cases every run
    cases = []
    for info in module_db:
        if info.name not in MODULES:
            continue
        for training in (True, False):
            for dtype in DTYPES:
                inputs = info.module_inputs_func(info, device="cpu", dtype=dtype, requires_grad=False,
                                                 training=training)
                cases += [ModuleCase(info, mi, training, dtype, i) for i, mi in enumerate(inputs)]
    return cases


MODULE_CASES = _module_cases()


def _tol(dtype, ref):
    scale = max(1.0, ref.detach().abs().max().item()) if ref.numel() else 1.0
    if dtype == torch.float64:
        return dict(rtol=1e-9, atol=1e-9 * scale)
    if dtype == torch.float32:
        return dict(rtol=1e-4, atol=2e-5 * scale)
    ulp = {torch.float16: 2.0 ** -10, torch.bfloat16: 2.0 ** -7}[dtype]
    return dict(rtol=4 * ulp, atol=4 * ulp * scale)


def _close(actual, expected, what, dtype=None):
    assert actual is not None and expected is not None, f"{what}: one of the two is None"
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype}, torch {expected.dtype}"
    torch.testing.assert_close(actual, expected, **_tol(dtype or expected.dtype, expected),
                               msg=lambda m: f"{what}: {m}")


def _observe(module, x, grad_out):
    """Output, input gradient, parameter gradients and every buffer after one forward + backward."""
    xi = x.detach().clone().requires_grad_(x.is_floating_point())
    y = module(xi)
    obs = {"output": y.detach().clone()}
    if y.requires_grad:
        y.backward(grad_out)
        obs["input gradient"] = xi.grad
        for name, p in module.named_parameters():
            obs[f"{name} gradient"] = p.grad.clone() if p.grad is not None else torch.zeros_like(p)
            p.grad = None
    for name, b in module.named_buffers():
        obs[f"buffer {name}"] = b.detach().clone()
    return obs


def _compare(ours, ref, x, grad_out, dtype=None, what=""):
    a, b = _observe(ours, x, grad_out), _observe(ref, x, grad_out)
    assert a.keys() == b.keys(), f"{what}: observed {sorted(a)}, torch {sorted(b)}"
    for key in b:
        if key.startswith("buffer num_batches_tracked"):
            assert torch.equal(a[key], b[key]), f"{what} {key}: {a[key]} vs torch {b[key]}"
        else:
            _close(a[key], b[key], f"{what} {key}", dtype)
    return a


def _steps(case, x):
    """Three different inputs derived from the case's input (different statistics at each step)."""
    g = torch.Generator().manual_seed(7)
    return [x * (1.0 + 0.5 * k) + 0.3 * k for k in range(3)], \
        [torch.randn(x.shape, generator=g, dtype=torch.float64).to(x.dtype) for _ in range(3)]


@pytest.mark.parametrize("case", _params(MODULE_CASES))
def test_module_matches_torch(case):
    """Three steps in the case's mode, then one in evaluation: outputs, gradients and buffers equal torch's."""
    ours, ref = case.build()
    xs, gs = _steps(case, case.x)
    for k, (x, g) in enumerate(zip(xs, gs)):
        _compare(ours, ref, x, g, what=f"step {k}")
    ours.eval()
    ref.eval()
    _compare(ours, ref, xs[1], gs[1], what="evaluation")
    assert type(ours(case.x)) is torch.Tensor


def _non_contiguous(t):
    """The same values in a non-contiguous tensor (every second element of a doubled last axis)."""
    if t.numel() == 0 or t.dim() == 0:
        return t
    out = torch.repeat_interleave(t, 2, dim=-1)[..., ::2]
    assert not out.is_contiguous() or t.shape[-1] <= 1
    return out


@pytest.mark.parametrize("case", _params(MODULE_CASES))
def test_module_non_contiguous_input_and_gradient(case):
    ours, ref = case.build()
    x, g = _steps(case, case.x)[0][1], _steps(case, case.x)[1][1]
    _compare(ours, ref, _non_contiguous(x), _non_contiguous(g), what="non-contiguous")


@pytest.mark.parametrize("case", _params([c for c in MODULE_CASES if c.x.dim() in (4, 5)]))
def test_module_channels_last(case):
    ours, ref = case.build()
    fmt = torch.channels_last if case.x.dim() == 4 else torch.channels_last_3d
    ours, ref = ours.to(memory_format=fmt), ref.to(memory_format=fmt)
    x = case.x.to(memory_format=fmt)
    g = _steps(case, case.x)[1][0].to(memory_format=fmt)
    _compare(ours, ref, x, g, what="channels-last")


def _functional(module):
    """``f(x, *params)`` calling ``module`` with the given parameters, and the parameters themselves."""
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_() for _, p in module.named_parameters()]

    def f(x, *p):
        return torch.func.functional_call(module, dict(zip(names, p)), (x,))

    return f, params


@pytest.mark.parametrize("case", _params([c for c in MODULE_CASES if c.dtype == torch.float64]))
def test_module_gradcheck_gradgradcheck(case):
    """Input and parameter gradients, second derivatives, batched gradients and forward-mode AD (float64)."""
    ours, _ = case.build()
    f, params = _functional(ours)
    x = case.x.detach().clone().requires_grad_()
    inputs = (x, *params)
    assert torch.autograd.gradcheck(f, inputs, fast_mode=True, check_batched_grad=True, check_forward_ad=True,
                                    check_batched_forward_grad=True)
    assert torch.autograd.gradgradcheck(f, inputs, fast_mode=True, check_batched_grad=True,
                                        check_fwd_over_rev=True)


@pytest.mark.parametrize("case", _params([c for c in MODULE_CASES if c.dtype == torch.float64 and c.x.numel()]))
def test_module_torch_func(case):
    """``vmap`` over a stack of inputs, ``jvp`` and ``grad`` with torch.func, compared with torch's layer."""
    ours, ref = case.build()
    ours.eval()  # vmap of a layer that writes its running estimates is not allowed in torch either
    ref.eval()
    xs = torch.stack(_steps(case, case.x)[0])
    tangent = torch.ones_like(case.x)
    for what, fn in (("vmap", lambda m: torch.func.vmap(m)(xs)),
                     ("jvp", lambda m: torch.func.jvp(m, (case.x,), (tangent,))[1]),
                     ("grad", lambda m: torch.func.grad(lambda t: (m(t) ** 2).sum())(case.x))):
        _close(fn(ours), fn(ref), what)


@pytest.mark.parametrize("case", _params([c for c in MODULE_CASES if c.dtype == torch.float32 and c.training]))
@pytest.mark.parametrize("low", LOW, ids=["float16", "bfloat16"])
def test_module_low_precision(case, low):
    """float16/bfloat16 layers and inputs, and a low-precision input to a float32 layer (mixed precision).

    Both are compared with the float64 computation of torch's layer on the same
    (rounded) values: normcode's error must be within twice torch's own, plus two
    units in the last place of the low-precision type. dtypes must be torch's.
    """
    xs, gs = _steps(case, case.x)
    x, g = xs[1].to(low), gs[1].to(low)
    exact = _observe(case.build(dtype=torch.float64)[1], x.double(), g.double())
    ulp = {torch.float16: 2.0 ** -10, torch.bfloat16: 2.0 ** -7}[low]
    for layer_dtype in (low, torch.float32):
        ours, ref = case.build(dtype=layer_dtype)
        a, b = _observe(ours, x, g), _observe(ref, x, g)
        assert a.keys() == b.keys()
        for key in b:
            what = f"{low} input, {layer_dtype} layer, {key}"
            assert a[key].dtype == b[key].dtype, f"{what}: {a[key].dtype}, torch {b[key].dtype}"
            if key.startswith("buffer num_batches_tracked"):
                assert torch.equal(a[key], b[key]), what
                continue
            if not b[key].numel():
                continue
            err_ours = (a[key].double() - exact[key]).abs().max().item()
            err_torch = (b[key].double() - exact[key]).abs().max().item()
            scale = max(1.0, exact[key].abs().max().item())
            assert err_ours <= 2 * err_torch + 2 * ulp * scale, f"{what}: error {err_ours:.3g}, torch's {err_torch:.3g}"


def _module_error_cases():
    cases = []
    for info in module_db:
        if info.name in MODULES and info.module_error_inputs_func is not None:
            errs = info.module_error_inputs_func(info, device="cpu", dtype=torch.float32, requires_grad=False,
                                                 training=True)
            cases += [pytest.param(info, e, id=f"{info.name}-error-{i}") for i, e in enumerate(errs)]
    return cases


@pytest.mark.parametrize("info, err", _module_error_cases())
def test_module_errors(info, err):
    """torch's expected errors: same exception class, a message matching torch's pattern.

    normcode checks ``eps`` when the layer is built; torch checks it at the
    first training step. Either stage is accepted (documented in TORCH_SUITE.md).
    """
    ci, fi = err.module_error_input.constructor_input, err.module_error_input.forward_input
    with pytest.raises(err.error_type, match=err.error_regex):
        m = MODULES[info.name](*ci.args, **ci.kwargs)
        m(*fi.args, **fi.kwargs)


@pytest.mark.parametrize("case", _params([c for c in MODULE_CASES if c.dtype == torch.float32]))
def test_module_pickle_and_state_dict(case):
    """``torch.save`` of the module and of its state dict after a step: reloaded, it computes the same."""
    ours, ref = case.build()
    ours(case.x)
    buf = io.BytesIO()
    torch.save(ours, buf)
    buf.seek(0)
    again = torch.load(buf, weights_only=False)
    torch.testing.assert_close(again(case.x), ours(case.x))
    buf = io.BytesIO()
    torch.save(ours.state_dict(), buf)
    buf.seek(0)
    ref.load_state_dict(torch.load(buf), strict=True)  # and torch's layer loads normcode's state dict
    ours.eval()
    ref.eval()
    _close(ours(case.x), ref(case.x), "after loading normcode's state dict into torch")


@pytest.mark.parametrize("case", _params([c for c in MODULE_CASES if c.training]))
def test_module_factory_kwargs_and_meta_device(case):
    """``device=`` and ``dtype=`` reach every parameter and buffer; a meta-device layer loads torch's state."""
    ours = MODULES[case.info.name](*case.args, **case.kwargs, device="cpu", dtype=case.dtype)
    for name, t in [*ours.named_parameters(), *ours.named_buffers()]:
        assert t.device.type == "cpu", name
        assert t.dtype == (case.dtype if t.is_floating_point() else torch.long), name
    _, ref = case.build()
    for how in ("to_empty", "assign"):
        meta = MODULES[case.info.name](*case.args, **case.kwargs, device="meta", dtype=case.dtype)
        assert all(t.is_meta for t in [*meta.parameters(), *meta.buffers()])
        if how == "to_empty":
            meta = meta.to_empty(device="cpu")
            meta.load_state_dict(ref.state_dict(), strict=True)
        else:
            meta.load_state_dict(copy.deepcopy(ref.state_dict()), strict=True, assign=True)
        meta.train(case.training)
        _compare(meta, ref, case.x, torch.ones_like(case.x), what=f"meta device, {how}")


# --------------------------------------------------------------------------- the functional cases


class OpCase:
    """One OpInfo sample (input, args, kwargs) of one dtype."""

    def __init__(self, op, sample, dtype, index):
        self.op, self.sample, self.dtype = op, sample, dtype
        kw = ",".join(f"{k}={v}" for k, v in sample.kwargs.items() if not isinstance(v, torch.Tensor))
        args = ",".join(f"{a}" for a in sample.args if not isinstance(a, torch.Tensor))
        shape = "x".join(map(str, sample.input.shape))
        self.id = f"{op.name}-{index}-{shape}-{args}-{kw}-{str(dtype)[6:]}".replace(" ", "")


def _op_cases():
    torch.manual_seed(0)
    cases = []
    for op in op_db:
        if op.name not in FUNCTIONS or (op.name, op.variant_test_name) in NOT_RUN_OPS:
            continue
        for dtype in (*DTYPES, *LOW):
            if dtype not in op.supported_dtypes("cpu"):
                continue
            samples = op.reference_inputs("cpu", dtype, requires_grad=False) if op.reference_inputs_func \
                else op.sample_inputs("cpu", dtype, requires_grad=False)
            cases += [OpCase(op, s, dtype, i) for i, s in enumerate(samples)]
    return cases


OP_CASES = _op_cases()


def _call(fn, sample, grads_of):
    """Call ``fn`` on a copy of the sample; returns (output, grads of the float tensors, mutated buffers)."""
    def clone(t):
        if not isinstance(t, torch.Tensor):
            return t
        c = t.detach().clone()
        return c.requires_grad_() if grads_of(c) else c

    x = clone(sample.input)
    args = [clone(a) for a in sample.args]
    kwargs = {k: clone(v) for k, v in sample.kwargs.items()}
    # running buffers are never differentiated
    for name in ("running_mean", "running_var"):
        if isinstance(kwargs.get(name), torch.Tensor):
            kwargs[name] = kwargs[name].detach()
    if fn in (NF.batch_norm, torch.nn.functional.batch_norm):
        args = [a.detach() if isinstance(a, torch.Tensor) and i < 2 else a for i, a in enumerate(args)]
    y = fn(x, *args, **kwargs)
    leaves = [t for t in (x, *args, *kwargs.values()) if isinstance(t, torch.Tensor) and t.requires_grad]
    grads = []
    if y.requires_grad and leaves:
        g = torch.Generator().manual_seed(3)
        up = torch.randn(y.shape, generator=g, dtype=torch.float64).to(y.dtype)
        grads = torch.autograd.grad(y, leaves, up, allow_unused=True)
    buffers = [t for t in (*args, *kwargs.values()) if isinstance(t, torch.Tensor) and not t.requires_grad]
    return y, grads, buffers


@pytest.mark.parametrize("case", _params(OP_CASES))
def test_functional_matches_torch(case):
    """Output, gradients of every floating tensor argument, and the running buffers equal torch's."""
    ours = _call(FUNCTIONS[case.op.name], case.sample, lambda t: t.is_floating_point())
    ref = _call(case.op.op, case.sample, lambda t: t.is_floating_point())
    _close(ours[0], ref[0], "output", case.dtype)
    assert len(ours[1]) == len(ref[1])
    for a, b in zip(ours[1], ref[1]):
        if b is None:  # the output does not depend on this argument: nothing, or zeros
            assert a is None or not a.any(), "gradient where torch has none"
            continue
        _close(a, b, "gradient", case.dtype)
    for a, b in zip(ours[2], ref[2]):
        _close(a, b, "buffer", case.dtype)


@pytest.mark.parametrize("case", _params([c for c in OP_CASES if c.dtype == torch.float64
                                          and c.sample.input.numel()]))
def test_functional_gradcheck_gradgradcheck(case):
    """float64 gradcheck/gradgradcheck of the function, with batched gradients and forward-mode AD."""
    fn, sample = FUNCTIONS[case.op.name], case.sample
    tensors = [sample.input, *sample.args, *sample.kwargs.values()]
    buffers = {id(sample.kwargs.get("running_mean")), id(sample.kwargs.get("running_var"))}
    if case.op.name == "nn.functional.batch_norm":
        buffers |= {id(a) for a in sample.args[:2]}
    diff = [isinstance(t, torch.Tensor) and t.is_floating_point() and id(t) not in buffers for t in tensors]
    leaves = [t.detach().clone().requires_grad_() for t, d in zip(tensors, diff) if d]
    n_args = len(sample.args)

    def f(*ts):
        it = iter(ts)
        vals = [next(it) if d else (t.clone() if isinstance(t, torch.Tensor) else t) for t, d in zip(tensors, diff)]
        kwargs = dict(zip(sample.kwargs, vals[1 + n_args:]))
        return fn(vals[0], *vals[1:1 + n_args], **kwargs)

    assert torch.autograd.gradcheck(f, leaves, fast_mode=True, check_batched_grad=True, check_forward_ad=True)
    assert torch.autograd.gradgradcheck(f, leaves, fast_mode=True, check_batched_grad=True,
                                        check_fwd_over_rev=True)


def _op_error_cases():
    cases = []
    for op in op_db:
        if op.name in FUNCTIONS and op.error_inputs_func is not None:
            cases += [pytest.param(op, e, id=f"{op.name}-error-{i}") for i, e in enumerate(op.error_inputs("cpu"))]
    return cases


@pytest.mark.parametrize("op, err", _op_error_cases())
def test_functional_errors(op, err):
    s = err.sample_input
    with pytest.raises(err.error_type, match=err.error_regex):
        FUNCTIONS[op.name](s.input, *s.args, **s.kwargs)


# --------------------------------------------------------------------------- the differences, run as checks


@pytest.mark.parametrize("case", [c for c in OP_CASES if _reason(c.id) == EPS and c.dtype == torch.float64],
                         ids=lambda c: c.id)
def test_documented_difference_eps(case):
    """Where torch computes with eps <= 0, normcode refuses with a ValueError that names the value."""
    s = case.sample
    with pytest.raises(ValueError, match=r"eps must be positive, got -"):
        FUNCTIONS[case.op.name](s.input, *s.args, **s.kwargs)


def test_not_run_list_is_current():
    """Every entry of NOT_RUN matches at least one case (no stale reasons)."""
    ids = [c.id for c in MODULE_CASES] + [c.id for c in OP_CASES]
    for pattern in NOT_RUN:
        assert any(re.search(pattern, i) for i in ids), pattern
    ops = {(op.name, op.variant_test_name) for op in op_db}
    assert set(NOT_RUN_OPS) <= ops
    # and the suite is what it claims: every module and function has cases
    assert {c.info.name for c in MODULE_CASES} == set(MODULES)
    assert {c.op.name for c in OP_CASES} == set(FUNCTIONS)
