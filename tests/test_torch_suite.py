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

This module runs the ModuleInfo cases (and checks the list of cases not run);
``test_torch_suite_functional.py`` runs the OpInfo cases. The cases, the
comparison helpers and the one list of cases not run, with their reasons
(``NOT_RUN``), are in ``_torch_cases.py`` (and ``tests/TORCH_SUITE.md``);
nothing is skipped anywhere else.
"""
from __future__ import annotations

import copy
import io
import re

import pytest
import torch

from _torch_cases import (EPS, FUNCTIONS, LOW, MODULE_CASES, MODULES, NOT_RUN, NOT_RUN_OPS, OP_CASES,  # noqa: F401
                          _close, _compare, _observe, _one_thread, _params, _reason, _steps, module_db, op_db)


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
