"""Shared test configuration: deterministic hypothesis, tolerances, reproducible data.

Every test of the core compares normcode against an independent reference
(``torch.nn`` / ``torch.nn.functional``, or a computation written out by hand in
float64); no expected value is copied from normcode itself.

Hypothesis profiles (select with ``HYPOTHESIS_PROFILE=dev pytest ...``):

* ``ci`` (default): ``derandomize=True`` so every run draws the same examples and
  a CI failure reproduces exactly; no deadline (timings on shared runners vary).
* ``dev``: random examples, for hunting new counterexamples locally.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

# Test the working tree's package even when it is not pip-installed (pip install -e . also works).
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=30,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tolerances of a comparison with PyTorch's native kernels. float32: the two
# implementations sum in different orders, so agreement is to a few ulps of the
# O(1) outputs, amplified a little in the gradients; float64: to rounding.
TOL = {
    torch.float32: dict(rtol=1e-5, atol=1e-5),
    torch.float64: dict(rtol=1e-10, atol=1e-10),
}
GRAD_TOL = {
    torch.float32: dict(rtol=1e-4, atol=1e-5),
    torch.float64: dict(rtol=1e-10, atol=1e-10),
}


def make_input(shape, dtype=torch.float64, seed=0, scale=2.0, shift=0.5):
    """Reproducible test data: per-channel shifted and scaled normals (channels on dim 1).

    Channels get different means and spreads, so a layer that averaged over the
    wrong axes would not pass by accident.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64)
    if len(shape) >= 2:
        c = shape[1]
        view = [1, c] + [1] * (len(shape) - 2)
        ch_shift = torch.linspace(-1.0, 1.0, c, dtype=torch.float64).reshape(view) * 3 * shift
        ch_scale = torch.linspace(0.5, 1.5, c, dtype=torch.float64).reshape(view) * scale
        x = x * ch_scale + ch_shift
    return x.to(dtype)


def randomize_affine(*modules, seed=0):
    """Give every module the same non-trivial weight and bias (γ ≠ 1, β ≠ 0)."""
    g = torch.Generator().manual_seed(seed + 12345)
    first = modules[0]
    new = {}
    for name in ("weight", "bias"):
        p = getattr(first, name, None)
        if p is not None:
            new[name] = torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.5 + (1.0 if name == "weight" else 0.0)
    with torch.no_grad():
        for m in modules:
            for name, value in new.items():
                getattr(m, name).copy_(value.to(getattr(m, name).dtype))


@pytest.fixture
def tol():
    return TOL


@pytest.fixture(autouse=True)
def _fixed_seed_and_threads():
    """Each test starts from the same global RNG state (tests never depend on each other's draws)."""
    torch.manual_seed(0)
    yield
