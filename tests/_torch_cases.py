"""PyTorch's own test cases for its normalization layers, as normcode test cases (shared by two test modules).

The cases ship inside the installed torch: ``module_db`` (the ``ModuleInfo`` of
BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm and RMSNorm) and
``op_db`` (the ``OpInfo`` of ``nn.functional.batch_norm``, ``instance_norm``,
``layer_norm``, ``group_norm`` and ``rms_norm``). This module builds them
(:data:`MODULE_CASES`, :data:`OP_CASES`), pairs each torch layer or function with
normcode's (:data:`MODULES`, :data:`FUNCTIONS`), holds the comparison helpers and
the one list of cases not run, with their reasons (:data:`NOT_RUN`; documented
in ``tests/TORCH_SUITE.md``). ``test_torch_suite.py`` runs the module cases,
``test_torch_suite_functional.py`` the functional ones.
"""
from __future__ import annotations

import re

import pytest
import torch

try:
    import expecttest  # noqa: F401  (torch.testing._internal imports it)
except ImportError as err:  # a missing package must fail the suite, not skip it
    raise ImportError("PyTorch's test cases need the expecttest package: pip install -r requirements.txt") from err
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
LOW = (torch.float16, torch.bfloat16)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: the cases are tiny, and on a shared machine thread start-up costs 30x the work.

    Imported by each test module of the suite, where it applies to every test.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

# --------------------------------------------------------------------------- what is not run, and why

EPS = "deliberate difference: normcode rejects eps <= 0 with a ValueError (torch computes NaN or " \
      "negative-variance outputs); checked by test_torch_suite.py::test_documented_difference_eps"
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


