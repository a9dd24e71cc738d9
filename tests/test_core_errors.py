"""Bad inputs get an error of the right type whose message names the problem *and* the fix.

One test per mistake a student is likely to make. ``match=`` checks both halves of
the message: what was wrong (the bad value, the shape) and what to do instead.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import normcode
from normcode import functional as NF


# --------------------------------------------------------------------------- number of dimensions


@pytest.mark.parametrize("cls, shape, wanted", [
    (normcode.BatchNorm1d, (2, 3, 4, 4), r"2-D or 3-D"),
    (normcode.BatchNorm1d, (3,), r"2-D or 3-D"),
    (normcode.BatchNorm2d, (2, 3, 4), r"4-D"),
    (normcode.BatchNorm2d, (2, 3, 4, 4, 4), r"4-D"),
    (normcode.BatchNorm3d, (2, 3, 4, 4), r"5-D"),
])
def test_batchnorm_wrong_number_of_dims(cls, shape, wanted):
    n = len(shape)
    with pytest.raises(ValueError, match=rf"{cls.__name__} expects a {wanted} input, got a {n}-D input"
                                         r".*use BatchNorm1d for \(N, C\).*BatchNorm2d for images"):
        cls(3)(torch.randn(shape))


def test_generic_batchnorm_needs_two_dims():
    with pytest.raises(ValueError, match=r"at least 2 dimensions.*\(N, C, \*spatial\).*got shape \(3,\)"
                                         r".*x\.unsqueeze\(0\)"):
        normcode.BatchNorm(3)(torch.randn(3))


@pytest.mark.parametrize("cls, shape, batched, unbatched", [
    (normcode.InstanceNorm1d, (3,), 3, 2),
    (normcode.InstanceNorm1d, (2, 3, 4, 4), 3, 2),
    (normcode.InstanceNorm2d, (2, 3), 4, 3),
    (normcode.InstanceNorm2d, (2, 3, 4, 4, 4), 4, 3),
    (normcode.InstanceNorm3d, (3, 4, 4), 5, 4),
])
def test_instancenorm_wrong_number_of_dims(cls, shape, batched, unbatched):
    with pytest.raises(ValueError, match=rf"{cls.__name__} expects a {batched}-D \(batched\) or {unbatched}-D "
                                         r"\(unbatched\) input, got shape .*use InstanceNorm1d for \(N, C, L\)"):
        cls(3)(torch.randn(shape))


def test_generic_instancenorm_on_mlp_features_points_to_batch_or_layer_norm():
    with pytest.raises(ValueError, match=r"\(N, C\) input has no spatial axis.*batch or layer normalization"):
        normcode.InstanceNorm(3)(torch.randn(4, 3))


def test_instance_norm_functional_needs_a_spatial_axis():
    with pytest.raises(ValueError, match=r"Expected at least 3 dimensions.*instance_norm expects an input.*"
                                         r"at least one spatial axis.*got shape \(4, 3\)"):
        NF.instance_norm(torch.randn(4, 3))


# --------------------------------------------------------------------------- channels


@pytest.mark.parametrize("make, shape", [
    (lambda: normcode.BatchNorm1d(3), (4, 5)),
    (lambda: normcode.BatchNorm2d(3), (2, 5, 4, 4)),
    (lambda: normcode.BatchNorm3d(3), (2, 5, 2, 2, 2)),
    (lambda: normcode.InstanceNorm2d(3), (2, 5, 4, 4)),  # torch only warns when affine=False
    (lambda: normcode.InstanceNorm2d(3, affine=True), (2, 5, 4, 4)),
    (lambda: normcode.GroupNorm(1, 3), (2, 5, 4)),
])
def test_channel_count_not_matching_num_features(make, shape):
    with pytest.raises(ValueError, match=r"built for 3 channels \(num_features=3\).*has 5 on dim 1"
                                         r".*build the layer with num_features=5 or move the channel axis"):
        make()(torch.randn(shape))


def test_channels_last_image_is_caught():
    """A (N, H, W, C) image given to BatchNorm2d(C): the message says channels must be dim 1."""
    with pytest.raises(ValueError, match=r"channels must be dim 1 \(N, C, \.\.\.\)"):
        normcode.BatchNorm2d(3)(torch.randn(2, 8, 8, 3))


# --------------------------------------------------------------------------- groups


@pytest.mark.parametrize("groups", [4, 5, 0, -2])
def test_groups_must_divide_channels_module(groups):
    with pytest.raises(ValueError, match=rf"num_channels \(6\) must be divisible by num_groups \({groups}\)"
                                         r".*Choose num_groups among the divisors of 6: \[1, 2, 3, 6\]"):
        normcode.GroupNorm(groups, 6)


def test_groups_must_divide_channels_functional():
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"
                                         r".*divisors of 6: \[1, 2, 3, 6\]"):
        NF.group_norm(torch.randn(2, 6, 3), 4)


# --------------------------------------------------------------------------- too few values


@pytest.mark.parametrize("cls, shape", [
    (normcode.BatchNorm1d, (1, 3)),
    (normcode.BatchNorm2d, (1, 3, 1, 1)),
    (normcode.BatchNorm3d, (1, 3, 1, 1, 1)),
])
def test_batchnorm_one_value_per_channel_in_training(cls, shape):
    bn = cls(3)
    x = torch.randn(shape)
    with pytest.raises(ValueError, match=rf"more than 1 value per channel.*shape {re_shape(shape)}"
                                         r".*batch of at least 2 examples.*model\.eval\(\)"):
        bn(x)
    # the same input in evaluation is fine: the running estimates (0, 1 initially) normalise it
    bn.eval()
    with torch.no_grad():
        bn.weight.fill_(2.0)
        bn.bias.fill_(0.5)
    y = bn(x)
    torch.testing.assert_close(y, x / math.sqrt(1.0 + 1e-5) * 2.0 + 0.5)


def test_batch_norm_functional_one_value_per_channel():
    with pytest.raises(ValueError, match=r"more than 1 value per channel"):
        NF.batch_norm(torch.randn(1, 3), None, None, training=True)


def re_shape(shape):
    return r"\(" + r", ".join(str(s) for s in shape) + r"\)"


@pytest.mark.parametrize("cls, shape", [
    (normcode.InstanceNorm1d, (2, 3, 1)),
    (normcode.InstanceNorm2d, (2, 3, 1, 1)),
    (normcode.InstanceNorm3d, (2, 3, 1, 1, 1)),
])
def test_instancenorm_single_spatial_element(cls, shape):
    with pytest.raises(ValueError, match=rf"more than 1 spatial element.*shape {re_shape(shape)}"
                                         r".*Use batch or layer normalization"):
        cls(3)(torch.randn(shape))


def test_instancenorm_single_spatial_element_in_eval_with_running_stats_works():
    """As in torch: evaluation with tracked statistics does not compute per-instance statistics."""
    inorm = normcode.InstanceNorm2d(3, track_running_stats=True).eval()
    x = torch.randn(2, 3, 1, 1)
    torch.testing.assert_close(inorm(x), x / math.sqrt(1.0 + 1e-5))


# --------------------------------------------------------------------------- layer norm shape


def test_layernorm_shape_mismatch_module():
    with pytest.raises(ValueError, match=r"normalized_shape=\[4\].*input of size \[8, 3, 4, 5\].*last 1 axes"
                                         r".*Pass normalized_shape=\[5\].*normalised axes come last"):
        normcode.LayerNorm(4)(torch.randn(8, 3, 4, 5))


def test_layernorm_shape_mismatch_functional():
    with pytest.raises(ValueError, match=r"expected input with shape \[\*, 3, 4\].*Pass normalized_shape=\[4, 5\]"):
        NF.layer_norm(torch.randn(8, 3, 4, 5), [3, 4])


def test_rmsnorm_shape_errors_name_the_shapes():
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[4\].*input of size \[8, 3, 4, 5\].*"
                                           r"Pass normalized_shape=\[5\]"):
        normcode.RMSNorm(4)(torch.randn(8, 3, 4, 5))
    with pytest.raises(ValueError, match=r"at least 1-dimensional.*normalized_shape=\[5\]"):
        NF.rms_norm(torch.randn(2, 5), [])
    with pytest.raises(ValueError, match=r"weight of shape \[4\] and normalized_shape=\[5\]"):
        NF.rms_norm(torch.randn(2, 5), [5], torch.ones(4))
    with pytest.raises(ValueError, match=r"eps must be positive, got 0.0"):
        normcode.RMSNorm(5, eps=0.0)
    with pytest.raises(TypeError, match=r"floating-point"):
        normcode.RMSNorm(5)(torch.ones(2, 5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"non-finite"):
        normcode.RMSNorm(5)(torch.tensor([[1.0, float("nan"), 0.0, 0.0, 0.0]]))


def test_layernorm_input_with_too_few_dims():
    with pytest.raises(ValueError, match=r"expected input with shape \[\*, 4, 5\], but got input of size \[5\]"):
        NF.layer_norm(torch.randn(5), [4, 5])


# --------------------------------------------------------------------------- eps


EPS_MODULES = {
    "BatchNorm2d": lambda eps: normcode.BatchNorm2d(3, eps=eps),
    "LayerNorm": lambda eps: normcode.LayerNorm(3, eps=eps),
    "InstanceNorm2d": lambda eps: normcode.InstanceNorm2d(3, eps=eps),
    "GroupNorm": lambda eps: normcode.GroupNorm(1, 3, eps=eps),
}
EPS_FUNCTIONS = {
    "batch_norm": lambda eps: NF.batch_norm(torch.randn(4, 3), None, None, training=True, eps=eps),
    "layer_norm": lambda eps: NF.layer_norm(torch.randn(4, 3), 3, eps=eps),
    "instance_norm": lambda eps: NF.instance_norm(torch.randn(4, 3, 5), eps=eps),
    "group_norm": lambda eps: NF.group_norm(torch.randn(4, 3, 5), 1, eps=eps),
}


@pytest.mark.parametrize("eps", [0.0, 0, -1e-5, float("nan")])
@pytest.mark.parametrize("name", sorted(EPS_MODULES))
def test_non_positive_eps_module(name, eps):
    with pytest.raises(ValueError, match=rf"eps must be positive, got {eps!r}.*inside the square root"
                                         r".*usual value is 1e-5"):
        EPS_MODULES[name](eps)


@pytest.mark.parametrize("eps", [0.0, -1e-3])
@pytest.mark.parametrize("name", sorted(EPS_FUNCTIONS))
def test_non_positive_eps_functional(name, eps):
    with pytest.raises(ValueError, match=rf"eps must be positive, got {eps!r}"):
        EPS_FUNCTIONS[name](eps)


# --------------------------------------------------------------------------- dtype and type


LAYERS = {
    "BatchNorm1d": (lambda: normcode.BatchNorm1d(4), (2, 4, 5)),
    "BatchNorm2d": (lambda: normcode.BatchNorm2d(4), (2, 4, 5, 5)),
    "LayerNorm": (lambda: normcode.LayerNorm(5), (2, 4, 5)),
    "InstanceNorm2d": (lambda: normcode.InstanceNorm2d(4), (2, 4, 5, 5)),
    "GroupNorm": (lambda: normcode.GroupNorm(2, 4), (2, 4, 5, 5)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_integer_tensor_is_rejected(name):
    make, shape = LAYERS[name]
    x = torch.randint(0, 255, shape)  # int64, e.g. raw pixels
    assert x.dtype == torch.int64
    with pytest.raises(TypeError, match=r"expects a floating-point tensor, got dtype torch\.int64"
                                        r".*x\.float\(\)"):
        make()(x)


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("kind", ["list", "ndarray"])
def test_non_tensor_input_is_rejected(name, kind):
    make, shape = LAYERS[name]
    data = np.zeros(shape, dtype=np.float32)
    x = data.tolist() if kind == "list" else data
    with pytest.raises(TypeError, match=rf"expects a torch\.Tensor, got {type(x).__name__}"
                                        r".*torch\.as_tensor\(x, dtype=torch\.float32\)"):
        make()(x)


# --------------------------------------------------------------------------- non-finite input


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_non_finite_input_is_rejected(name, bad):
    make, shape = LAYERS[name]
    x = torch.randn(shape)
    x.view(-1)[7] = bad  # one bad value is enough
    with pytest.raises(ValueError, match=r"non-finite values \(NaN or infinity\).*Check the data"
                                         r".*torch\.isfinite\(x\)\.all\(\)"):
        make()(x)  # modules start in training mode, where BatchNorm computes batch statistics


# --------------------------------------------------------------------------- momentum


@pytest.mark.parametrize("momentum", [1.5, -0.1, float("nan")])
@pytest.mark.parametrize("cls", [normcode.BatchNorm1d, normcode.BatchNorm2d, normcode.InstanceNorm2d])
def test_momentum_outside_unit_interval(cls, momentum):
    with pytest.raises(ValueError, match=rf"momentum must lie in \[0, 1\] or be None.*got {momentum!r}"
                                         r".*Keras's momentum=0\.99 is momentum=0\.01"):
        cls(3, momentum=momentum)


@pytest.mark.parametrize("momentum", [0.0, 1.0, None])
def test_momentum_boundaries_are_accepted(momentum):
    bn = normcode.BatchNorm1d(3, momentum=momentum)
    assert bn(torch.randn(4, 3)).shape == (4, 3)


# --------------------------------------------------------------------------- registry


def test_unknown_registry_name():
    with pytest.raises(ValueError, match=r"unknown normalization 'batchnorm'; choose one of \[.*'batch'.*'group'"):
        normcode.make_norm("batchnorm", 8)


def test_registering_a_taken_name_is_refused():
    with pytest.raises(ValueError, match=r"'batch' is already registered"):
        normcode.register("batch", normcode.BatchNorm)


def test_registry_has_the_core_names():
    assert {"none", "batch", "layer", "instance", "group"} <= set(normcode.available())
    assert normcode.available() == sorted(normcode.available())


@pytest.mark.parametrize("name", normcode.available())
def test_every_registered_norm_keeps_the_shape(name):
    """Every name builds a module mapping (N, C, H, W) -> same shape, train and eval."""
    module = normcode.make_norm(name, 8)
    assert isinstance(module, torch.nn.Module)
    x = torch.randn(4, 8, 5, 5)
    y = module(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    module.eval()
    assert module(x).shape == x.shape


# names whose layers need spatial axes: a 2-D (N, C) input must be refused with a clear ValueError
NEEDS_SPATIAL = {"instance"}


@pytest.mark.parametrize("name", normcode.available())
def test_every_registered_norm_on_mlp_input(name):
    """(N, C) inputs: mapped to the same shape where sensible, else a ValueError that says why."""
    module = normcode.make_norm(name, 8)
    x = torch.randn(4, 8)
    if name in NEEDS_SPATIAL:
        with pytest.raises(ValueError, match=r"spatial"):
            module(x)
        return
    try:
        y = module(x)
    except ValueError as err:  # a layer defined on images only (e.g. 4-D) must say so in words
        assert re.search(r"\d-D|spatial|dimensions", str(err)), err
        return
    assert y.shape == x.shape and torch.isfinite(y).all()


@pytest.mark.parametrize("name", ["none", "batch", "layer", "group"])
def test_core_norms_accept_mlp_input(name):
    y = normcode.make_norm(name, 8)(torch.randn(4, 8))
    assert y.shape == (4, 8)


def test_registry_layer_and_group_by_hand():
    """make_norm('layer') normalises each example over (C, H, W); 'group' uses 8 channels -> 8 groups max 32."""
    x = torch.randn(4, 8, 5, 5, dtype=torch.float64)
    y = normcode.make_norm("layer", 8).double()(x)
    flat = x.reshape(4, -1)
    mu = flat.sum(1, keepdim=True) / flat.shape[1]
    var = ((flat - mu) ** 2).sum(1, keepdim=True) / flat.shape[1]
    torch.testing.assert_close(y.reshape(4, -1), (flat - mu) / torch.sqrt(var + 1e-5))
    gn = normcode.make_norm("group", 64)
    assert gn.num_groups == 32  # Wu & He's default G = 32
    assert normcode.make_norm("group", 12).num_groups == 12
    assert normcode.make_norm("group", 8, num_groups=2).num_groups == 2


def test_finite_statistics_whose_sum_overflows_are_not_mistaken_for_bad_input():
    # Two channels with means near float32's maximum: each statistic is finite, their sum is not.
    from normcode import _checks
    mean = torch.full((1, 2), 3e38)
    _checks.check_finite_stats(mean, torch.ones(1, 2), "test")
    with pytest.raises(ValueError, match="non-finite values"):
        _checks.check_finite_stats(torch.tensor([[1.0, float("nan")]]), torch.ones(1, 2), "test")


@pytest.mark.parametrize("make", [lambda: normcode.BatchNorm2d(3), lambda: normcode.BatchRenorm(3),
                                  lambda: normcode.InstanceNorm2d(3, track_running_stats=True),
                                  lambda: normcode.BatchInstanceNorm(3)])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_input_is_rejected_in_eval_with_running_estimates(make, bad):
    layer = make().eval()
    x = torch.randn(2, 3, 4, 4)
    layer(x)  # finite input: fine
    x[1, 2, 0, 3] = bad
    with pytest.raises(ValueError, match="non-finite values"):
        layer(x)
