"""MovingAverageNorm: the same forward pass as batch renormalization with unclipped r, d, another gradient."""
from __future__ import annotations

import math

import torch

from normcode import BatchRenorm
from normcode.experiments.renorm import MovingAverageNorm


def _pair(seed=0):
    torch.manual_seed(seed)
    naive, brn = MovingAverageNorm(4).double(), BatchRenorm(4, r_max=math.inf, d_max=math.inf).double()
    with torch.no_grad():
        for layer in (naive, brn):             # moving averages somewhere away from the batch's statistics
            layer.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))
            layer.running_var.copy_(torch.tensor([2.0, 0.5, 1.0, 4.0]))
            layer.weight.copy_(torch.tensor([1.0, 2.0, 0.5, -1.0]))
    return naive, brn


def test_same_forward_as_unclipped_batch_renorm_and_by_hand():
    naive, brn = _pair()
    x = torch.randn(16, 4, dtype=torch.float64) * 3 + 1
    by_hand = (x - naive.running_mean) / torch.sqrt(naive.running_var + naive.eps) * naive.weight + naive.bias
    y_naive, y_brn = naive(x), brn(x)
    assert torch.allclose(y_naive, by_hand, atol=1e-12) and torch.allclose(y_naive, y_brn, atol=1e-12)
    # both update the buffers the same way (as batch normalization does)
    assert torch.allclose(naive.running_mean, brn.running_mean) and torch.allclose(naive.running_var, brn.running_var)


def test_the_gradient_ignores_the_normalization():
    naive, brn = _pair()
    x = (torch.randn(16, 4, dtype=torch.float64) * 3 + 1).requires_grad_()
    g = torch.randn(16, 4, dtype=torch.float64)
    (naive(x) * g).sum().backward()
    naive_grad, x.grad = x.grad.clone(), None
    (brn(x) * g).sum().backward()
    # naive: a fixed affine map, dL/dx = gamma / sigma * g; batch renorm: through mu_B and sigma_B
    scale = naive.weight.detach() / torch.sqrt(torch.tensor([2.0, 0.5, 1.0, 4.0], dtype=torch.float64) + naive.eps)
    assert torch.allclose(naive_grad, g * scale, atol=1e-12)
    assert x.grad.sum(0).abs().max() < 1e-10            # batch renorm's gradient sums to zero over the batch
    assert naive_grad.sum(0).abs().max() > 0.1          # the naive one does not: it can move the batch mean


def test_eval_is_normalization_by_the_running_estimates():
    naive, _brn = _pair()
    naive.eval()
    x = torch.randn(5, 4, dtype=torch.float64)
    expected = (x - naive.running_mean) / torch.sqrt(naive.running_var + naive.eps) * naive.weight + naive.bias
    assert torch.allclose(naive(x), expected) and int(naive.num_batches_tracked) == 0
