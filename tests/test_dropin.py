"""normcode as a drop-in for torch.nn's normalization layers: one test per failure reported in issue 12.

Each test reproduces a case where normcode used to differ from PyTorch (mixed
precision, empty batches, torch.func, very long rows, old checkpoints, ...) and
compares with ``torch.nn`` / ``torch.nn.functional`` or with a float64 reference.
PyTorch's own cases for these layers are run in ``test_torch_suite.py``.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

import normcode
from normcode import functional as NF

PAIRS = {
    "bn": (lambda **k: normcode.BatchNorm2d(4, **k), lambda **k: nn.BatchNorm2d(4, **k), (6, 4, 5, 5)),
    "in": (lambda **k: normcode.InstanceNorm2d(4, affine=True, **k),
           lambda **k: nn.InstanceNorm2d(4, affine=True, **k), (6, 4, 5, 5)),
    "gn": (lambda **k: normcode.GroupNorm(2, 4, **k), lambda **k: nn.GroupNorm(2, 4, **k), (6, 4, 5, 5)),
    "ln": (lambda **k: normcode.LayerNorm([5, 5], **k), lambda **k: nn.LayerNorm([5, 5], **k), (6, 4, 5, 5)),
    "rms": (lambda **k: normcode.RMSNorm([5, 5], **k), lambda **k: nn.RMSNorm([5, 5], **k), (6, 4, 5, 5)),
}


@pytest.mark.parametrize("name", ["bn", "in", "gn"])
def test_bias_false_keeps_weight_only(name):
    ours, ref = PAIRS[name][0](bias=False), PAIRS[name][1](bias=False)
    assert ours.bias is None and isinstance(ours.weight, nn.Parameter)
    assert ours.state_dict().keys() == ref.state_dict().keys()


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("low", [torch.float16, torch.bfloat16])
def test_low_precision_error_is_torch_size(name, low):
    """float16/bfloat16: the error against a float64 reference is no larger than torch's (statistics in float32)."""
    make, make_ref, shape = PAIRS[name]
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(shape, generator=g) * 3 + 20).to(low)   # a large mean: the variance needs care
    exact = make_ref().double()(x.double())
    err_ours = (make().to(low)(x).double() - exact).abs().max().item()
    err_torch = (make_ref().to(low)(x).double() - exact).abs().max().item()
    assert err_ours <= 1.5 * err_torch + 1e-6, (err_ours, err_torch)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_bfloat16_input_to_float32_layer(name):
    """Mixed precision: the output has the input's dtype, the backward works, gradients match torch's."""
    make, make_ref, shape = PAIRS[name]
    x = torch.randn(shape).to(torch.bfloat16)
    results = []
    for m in (make(), make_ref()):
        xi = x.clone().requires_grad_()
        y = m(xi)
        y.float().square().sum().backward()
        results.append((y, xi.grad, m.weight.grad))
    for a, b in zip(*results):
        assert a.dtype == b.dtype
        torch.testing.assert_close(a.float(), b.float(), rtol=0.05, atol=0.05)


def test_float16_near_constant_rows_have_finite_gradients():
    x = (torch.ones(4, 64) + 1e-3 * torch.randn(4, 64)).half().requires_grad_()
    normcode.LayerNorm(64).half()(x).square().sum().backward()
    assert torch.isfinite(x.grad).all()


def test_float16_large_image_does_not_overflow():
    """A sum of 64*64*32 float16 values of about 30 overflows float16; the statistics are in float32."""
    x = (torch.rand(2, 4, 64, 64) * 10 + 30).half()
    y, ref = normcode.GroupNorm(1, 4).half()(x), nn.GroupNorm(1, 4).half()(x)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y.float(), ref.float(), rtol=0.01, atol=0.01)


def test_long_rows_are_summed_accurately():
    """9.4M values in one row: the variance is within float32 rounding of the float64 one, as torch's is."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 9_400_000, generator=g) * 3 + 1
    exact = NF.layer_norm(x.double(), (x.shape[-1],))
    ours = NF.layer_norm(x, (x.shape[-1],))
    torch_err = (torch.nn.functional.layer_norm(x, (x.shape[-1],)).double() - exact).abs().max().item()
    assert (ours.double() - exact).abs().max().item() <= 2 * torch_err + 1e-6


@pytest.mark.parametrize("make_pair, shape", [
    ((lambda: normcode.BatchNorm1d(5), lambda: nn.BatchNorm1d(5)), (0, 5, 9)),
    ((lambda: normcode.GroupNorm(2, 4), lambda: nn.GroupNorm(2, 4)), (0, 4, 2, 2)),
    ((lambda: normcode.InstanceNorm1d(3, track_running_stats=True),
      lambda: nn.InstanceNorm1d(3, track_running_stats=True)), (0, 3, 4)),
    ((lambda: normcode.LayerNorm(5), lambda: nn.LayerNorm(5)), (0, 5)),
], ids=["bn", "gn", "in", "ln"])
def test_empty_batch(make_pair, shape):
    ours, ref = make_pair[0](), make_pair[1]()
    x = torch.randn(shape, requires_grad=True)
    y = ours(x)
    assert y.shape == ref(x).shape == shape
    y.sum().backward()
    if isinstance(ours, normcode.InstanceNorm):
        # torch's InstanceNorm writes NaN into its running estimates here (a mean over no instances);
        # normcode leaves them as they were: the documented difference of tests/TORCH_SUITE.md
        assert torch.isnan(ref.running_mean).all()
        torch.testing.assert_close(ours.running_mean, torch.zeros(3))
        torch.testing.assert_close(ours.running_var, torch.ones(3))
    else:
        for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values()):
            torch.testing.assert_close(a, b, msg=name)
    assert NF.batch_norm(torch.randn(0), torch.zeros(0), torch.ones(0), training=True).shape == (0,)


def test_torch_func_vmap_grad_and_forward_ad():
    x = torch.randn(3, 4, 6, dtype=torch.float64)
    for ours, ref in ((normcode.GroupNorm(2, 4).double(), nn.GroupNorm(2, 4).double()),
                      (normcode.LayerNorm(6).double(), nn.LayerNorm(6).double())):
        per_example = torch.func.vmap(torch.func.grad(lambda t, m: (m(t[None]) ** 3).sum()), in_dims=(0, None))
        torch.testing.assert_close(per_example(x, ours), per_example(x, ref))
        with torch.autograd.forward_ad.dual_level():
            outs = [torch.autograd.forward_ad.unpack_dual(m(torch.autograd.forward_ad.make_dual(x, torch.ones_like(x))))
                    .tangent for m in (ours, ref)]
        torch.testing.assert_close(*outs)


def test_instance_norm_does_not_count_batches():
    ours, ref = (cls(3, track_running_stats=True) for cls in (normcode.InstanceNorm1d, nn.InstanceNorm1d))
    x = torch.randn(2, 3, 4)
    ours(x)
    ref(x)
    assert ours.num_batches_tracked.item() == ref.num_batches_tracked.item() == 0


def test_group_norm_of_one_value_raises_like_torch():
    x = torch.randn(1, 10, 1)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        nn.GroupNorm(10, 10)(x)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel.*num_groups=10.*\(1, 10, 1\)"):
        normcode.GroupNorm(10, 10)(x)


def test_old_batchnorm_checkpoint_without_counter_loads():
    ref = nn.BatchNorm2d(3)
    ref(torch.randn(4, 3, 2, 2))
    state = ref.state_dict()
    del state["num_batches_tracked"]
    state._metadata[""]["version"] = 1  # a checkpoint from before the counter existed
    for m in (normcode.BatchNorm2d(3), nn.BatchNorm2d(3)):
        m.load_state_dict(state, strict=True)
        assert m.num_batches_tracked.item() == 0
        torch.testing.assert_close(m.running_mean, ref.running_mean)


def test_weight_norm_loads_legacy_torch_state_dict():
    """``torch.nn.utils.weight_norm`` writes ``weight_g``/``weight_v``; normcode's parametrization reads them."""
    torch.manual_seed(0)
    with pytest.warns(FutureWarning):
        old = nn.utils.weight_norm(nn.Linear(5, 3))
    with torch.no_grad():
        old.weight_g.mul_(2.0)
    ours = normcode.weight_norm(nn.Linear(5, 3))
    ours.load_state_dict(old.state_dict(), strict=True)
    x = torch.randn(4, 5)
    torch.testing.assert_close(ours(x), old(x))
