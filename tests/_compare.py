"""Comparison helpers shared by the tests of the layers against their references."""
from __future__ import annotations

import torch


def make_close(tol: dict, grad_tol: dict):
    """``close(a, b, dtype, grad=False)``: ``assert_close`` with per-dtype tolerances, absolute ones scaled.

    ``tol`` and ``grad_tol`` map a dtype to ``dict(rtol=..., atol=...)``; the absolute
    tolerance is multiplied by ``max(1, |b|_max)`` so large references are judged relatively.
    """
    def close(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype, grad: bool = False) -> None:
        t = (grad_tol if grad else tol)[dtype]
        scale = max(1.0, b.detach().abs().max().item())
        torch.testing.assert_close(a, b, rtol=t["rtol"], atol=t["atol"] * scale)

    return close


def set_affine(*modules, seed: int = 0) -> None:
    """Give every module the same random γ (around 1) and β, so a comparison does not start from 1 and 0."""
    g = torch.Generator().manual_seed(seed)
    c = modules[0].weight.numel()
    w, b = torch.randn(c, generator=g) * 0.5 + 1, torch.randn(c, generator=g)
    with torch.no_grad():
        for m in modules:
            m.weight.copy_(w.reshape(m.weight.shape))
            m.bias.copy_(b.reshape(m.bias.shape))


def forward_backward(module, x: torch.Tensor, upstream: torch.Tensor) -> dict:
    """Output and gradients (input, γ, β) of one forward/backward pass with the given upstream gradient."""
    xi = x.clone().requires_grad_()
    y = module(xi)
    y.backward(upstream)
    out = {"y": y.detach(), "dx": xi.grad, "dw": module.weight.grad.flatten(), "db": module.bias.grad.flatten()}
    module.weight.grad = None
    module.bias.grad = None
    return out
