"""DynamicTanh (Zhu et al. 2025) against a hand computation, its gradients and its errors."""
from __future__ import annotations

import math

import pytest
import torch

from normcode import DynamicTanh, make_norm


def test_forward_matches_the_formula_by_hand():
    layer = DynamicTanh(3, alpha_init=0.7).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([1.0, -2.0, 0.5]))
        layer.bias.copy_(torch.tensor([0.0, 0.1, -0.3]))
    x = torch.tensor([[0.0, 1.0, -4.0], [2.0, -0.5, 10.0]], dtype=torch.float64)
    expected = [[math.tanh(0.7 * v) * g + b for v, g, b in zip(row, (1.0, -2.0, 0.5), (0.0, 0.1, -0.3))]
                for row in x.tolist()]
    assert torch.allclose(layer(x), torch.tensor(expected, dtype=torch.float64), atol=1e-15)


def test_defaults_follow_the_paper():
    layer = DynamicTanh((4, 5))
    assert layer.alpha.item() == 0.5 and layer.alpha.shape == (1,)
    assert torch.equal(layer.weight, torch.ones(4, 5)) and torch.equal(layer.bias, torch.zeros(4, 5))
    x = torch.randn(2, 3, 4, 5)
    assert torch.allclose(layer(x), torch.tanh(0.5 * x))


def test_no_statistics_each_value_depends_on_itself_only():
    layer = DynamicTanh(6)
    x = torch.randn(4, 6)
    y = layer(x)
    x2 = x.clone()
    x2[1:] *= 100.0                      # change every other example and feature ...
    x2[0, 1:] = -x2[0, 1:]
    assert torch.equal(layer(x2)[0, 0], y[0, 0])  # ... the first value's output stays


def test_gradients_against_autograd_of_the_formula_in_float64():
    layer = DynamicTanh(5).double()
    with torch.no_grad():
        layer.weight.normal_()
        layer.bias.normal_()
    x = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, a, w, b: torch.tanh(a * x) * w + b,
                                    (x, layer.alpha.detach().clone().requires_grad_(), layer.weight.detach().clone().requires_grad_(),
                                     layer.bias.detach().clone().requires_grad_()))
    g = torch.randn(3, 5, dtype=torch.float64)
    (layer(x) * g).sum().backward()
    t = torch.tanh(layer.alpha.detach() * x.detach())
    assert torch.allclose(layer.alpha.grad, ((1 - t ** 2) * x.detach() * layer.weight.detach() * g).sum().reshape(1))
    assert torch.allclose(layer.weight.grad, (t * g).sum(0)) and torch.allclose(layer.bias.grad, g.sum(0))
    assert torch.allclose(x.grad, (1 - t ** 2) * layer.alpha.detach() * layer.weight.detach() * g)


def test_without_affine_and_factory_kwargs():
    layer = DynamicTanh(4, elementwise_affine=False, dtype=torch.float64)
    assert layer.weight is None and layer.bias is None and layer.alpha.dtype == torch.float64
    assert [n for n, _ in layer.named_parameters()] == ["alpha"]


def test_registry_builds_it_per_channel():
    layer = make_norm("dyt", 3)
    assert isinstance(layer, DynamicTanh) and not layer.channels_last
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([1.0, 2.0, 3.0]))
    x = torch.randn(2, 3, 4, 4)
    assert torch.allclose(layer(x), torch.tanh(0.5 * x) * torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1))
    with pytest.raises(ValueError, match="second axis"):
        layer(torch.randn(2, 4, 3))


@pytest.mark.parametrize("bad, error, match", [
    (torch.randn(2, 3), ValueError, r"last 1 axes are \(4,\)"),
    (torch.ones(2, 4, dtype=torch.long), TypeError, "floating-point"),
])
def test_bad_input_is_a_clear_error(bad, error, match):
    with pytest.raises(error, match=match):
        DynamicTanh(4)(bad)


@pytest.mark.parametrize("kwargs", [{"normalized_shape": 0}, {"normalized_shape": 4, "alpha_init": float("nan")}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        DynamicTanh(**kwargs)
