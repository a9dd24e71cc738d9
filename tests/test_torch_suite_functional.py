"""PyTorch's OpInfo cases of its normalization functions, run against ``normcode.functional``.

For every sample (reference inputs where the OpInfo has them) of
``nn.functional.batch_norm``, ``instance_norm``, ``layer_norm``, ``group_norm``
and ``rms_norm``, in float32, float64, float16 and bfloat16: the output, the
gradients of every floating argument and the running buffers equal torch's;
float64 gradcheck and gradgradcheck with batched gradients and forward-mode AD;
torch's error inputs raise the same exception class with a message matching
torch's pattern. Cases and the list of cases not run: ``_torch_cases.py``.
"""
from __future__ import annotations

import pytest
import torch

from _torch_cases import FUNCTIONS, OP_CASES, _call, _close, _one_thread, _params, op_db  # noqa: F401


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


