"""Forward + backward time of normcode's layers against PyTorch's native ones.

normcode writes each layer with plain tensor operations so that it can be read;
this script measures what that costs. For every row of :data:`CASES` it times one
training step (forward, then backward of a fixed upstream gradient, through the
input and the parameters) of the normcode layer and of the torch layer on the
same input, and prints the median time of each and the ratio normcode/torch
against the targets: at most 1.3x on large inputs, 2x on small ones (where
Python overhead, not arithmetic, dominates).

Usage::

    python benchmarks/bench_layers.py                 # all rows
    python benchmarks/bench_layers.py --quick         # fewer repeats (a smoke run)
    python benchmarks/bench_layers.py --only BN --only GN
    python benchmarks/bench_layers.py --threads 4
    python benchmarks/bench_layers.py --json          # also write the results (default file below)
    python benchmarks/bench_layers.py --json out.json

``--json`` writes every row's times and ratios with the versions, thread count, CPU
model and date to a file (default: ``normcode/experiments/results/bench_layers.json``,
the committed measurements that chapter 13 shows; the chapter never times anything).

Rows named ``*-textbook`` are not normcode layers but the plain textbook formula,
:class:`normcode.experiments.choosing.TextbookNorm`: composed torch operations with
autograd and the one-pass variance :math:`E[x^2] - E[x]^2`, against the same torch layer.

Adding a row: append a :class:`Case` to :data:`CASES` (or call :func:`add_case`)
with two zero-argument factories that build the normcode module and its torch
counterpart, the input shape and the size label ("small" or "large"). Anything
mapping one input tensor to one output tensor can be a row (a weight-normalised
``nn.Linear`` as well as a normalization layer).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the working tree's normcode

import normcode  # noqa: E402
from normcode.experiments.choosing import BENCHMARK_FILE, TextbookNorm  # noqa: E402

#: Ratio normcode/torch not to exceed, by size label.
TARGETS = {"small": 2.0, "large": 1.3}


@dataclass
class Case:
    """One row of the table: a normcode layer, its torch counterpart, and an input shape."""

    name: str
    make_normcode_layer: Callable[[], nn.Module]
    make_torch_layer: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    size_label: str  # "small" or "large": selects the target in TARGETS
    target: Optional[float] = None  # overrides TARGETS[size_label] when set

    def __iter__(self):  # so a row also unpacks as (name, make_normcode, make_torch, shape, size)
        return iter((self.name, self.make_normcode_layer, self.make_torch_layer, self.input_shape, self.size_label))


class PlainDynamicTanh(nn.Module):
    """gamma * tanh(alpha * x) + beta in plain torch operations (Zhu et al. 2025's reference code)."""

    def __init__(self, shape):
        super().__init__()
        self.alpha = nn.Parameter(torch.full((1,), 0.5))
        self.weight, self.bias = nn.Parameter(torch.ones(shape)), nn.Parameter(torch.zeros(shape))

    def forward(self, x):
        return torch.tanh(self.alpha * x) * self.weight + self.bias


SMALL_NC = (256, 128)          # BN, LN on an MLP activation (N, C)
SMALL_IMG = (16, 32, 8, 8)     # IN, GN on a small image batch
LARGE_IMG = (64, 64, 32, 32)   # every layer on a large image batch

CASES: list[Case] = [
    # The four core layers, each twice: the default fast path (hand-derived backward, NormalizeAffine) and
    # "-autograd", manual_backward=False: autograd through the formula written out step by step (the book's
    # readable reference). "BN-manual" is the hand-derived backward without the double-backward fallback.
    Case("BN", lambda: normcode.BatchNorm1d(128), lambda: nn.BatchNorm1d(128), SMALL_NC, "small"),
    Case("BN", lambda: normcode.BatchNorm2d(64), lambda: nn.BatchNorm2d(64), LARGE_IMG, "large"),
    Case("BN-autograd", lambda: normcode.BatchNorm1d(128, manual_backward=False), lambda: nn.BatchNorm1d(128),
         SMALL_NC, "small"),
    Case("BN-autograd", lambda: normcode.BatchNorm2d(64, manual_backward=False), lambda: nn.BatchNorm2d(64),
         LARGE_IMG, "large"),
    Case("BN-manual", lambda: normcode.BatchNorm1d(128, manual_backward=True), lambda: nn.BatchNorm1d(128),
         SMALL_NC, "small"),
    Case("BN-manual", lambda: normcode.BatchNorm2d(64, manual_backward=True), lambda: nn.BatchNorm2d(64),
         LARGE_IMG, "large"),
    # The plain textbook formula (composed operations, E[x^2] - E[x]^2, autograd) against the same torch layer.
    Case("BN-textbook", lambda: TextbookNorm(128), lambda: nn.BatchNorm1d(128), SMALL_NC, "small"),
    Case("BN-textbook", lambda: TextbookNorm(64), lambda: nn.BatchNorm2d(64), LARGE_IMG, "large"),
    Case("LN", lambda: normcode.LayerNorm(128), lambda: nn.LayerNorm(128), SMALL_NC, "small"),
    Case("LN", lambda: normcode.LayerNorm([64, 32, 32]), lambda: nn.LayerNorm([64, 32, 32]), LARGE_IMG, "large"),
    Case("LN-autograd", lambda: normcode.LayerNorm(128, manual_backward=False), lambda: nn.LayerNorm(128),
         SMALL_NC, "small"),
    Case("LN-autograd", lambda: normcode.LayerNorm([64, 32, 32], manual_backward=False),
         lambda: nn.LayerNorm([64, 32, 32]), LARGE_IMG, "large"),
    Case("LN-textbook", lambda: TextbookNorm(128, over="features"), lambda: nn.LayerNorm(128), SMALL_NC, "small"),
    Case("LN-textbook", lambda: TextbookNorm([64, 32, 32], over="features"), lambda: nn.LayerNorm([64, 32, 32]),
         LARGE_IMG, "large"),
    Case("RMS", lambda: normcode.RMSNorm(128), lambda: nn.RMSNorm(128), SMALL_NC, "small"),
    Case("RMS", lambda: normcode.RMSNorm([64, 32, 32]), lambda: nn.RMSNorm([64, 32, 32]), LARGE_IMG, "large"),
    # PyTorch has no dynamic-tanh layer: the reference is the paper's formula in plain torch operations.
    Case("DyT", lambda: normcode.DynamicTanh(128), lambda: PlainDynamicTanh((128,)), SMALL_NC, "small"),
    Case("DyT", lambda: normcode.DynamicTanh(64, channels_last=False), lambda: PlainDynamicTanh((64, 1, 1)),
         LARGE_IMG, "large"),
    Case("IN", lambda: normcode.InstanceNorm2d(32, affine=True), lambda: nn.InstanceNorm2d(32, affine=True),
         SMALL_IMG, "small"),
    Case("IN", lambda: normcode.InstanceNorm2d(64, affine=True), lambda: nn.InstanceNorm2d(64, affine=True),
         LARGE_IMG, "large"),
    Case("IN-autograd", lambda: normcode.InstanceNorm2d(32, affine=True, manual_backward=False),
         lambda: nn.InstanceNorm2d(32, affine=True), SMALL_IMG, "small"),
    Case("IN-autograd", lambda: normcode.InstanceNorm2d(64, affine=True, manual_backward=False),
         lambda: nn.InstanceNorm2d(64, affine=True), LARGE_IMG, "large"),
    Case("GN", lambda: normcode.GroupNorm(8, 32), lambda: nn.GroupNorm(8, 32), SMALL_IMG, "small"),
    Case("GN", lambda: normcode.GroupNorm(32, 64), lambda: nn.GroupNorm(32, 64), LARGE_IMG, "large"),
    Case("GN-autograd", lambda: normcode.GroupNorm(8, 32, manual_backward=False), lambda: nn.GroupNorm(8, 32),
         SMALL_IMG, "small"),
    Case("GN-autograd", lambda: normcode.GroupNorm(32, 64, manual_backward=False), lambda: nn.GroupNorm(32, 64),
         LARGE_IMG, "large"),
    # Chapters 8-12. Weight and spectral normalization reparametrise a Linear's weight: the row times the
    # whole Linear (weight recomputed from its parameters at every step) against torch's parametrization.
    Case("WN-Linear", lambda: normcode.weight_norm(nn.Linear(128, 128)),
         lambda: nn.utils.parametrizations.weight_norm(nn.Linear(128, 128)), SMALL_NC, "small"),
    Case("WN-Linear", lambda: normcode.weight_norm(nn.Linear(1024, 1024)),
         lambda: nn.utils.parametrizations.weight_norm(nn.Linear(1024, 1024)), (1024, 1024), "large"),
    Case("MeanOnlyBN", lambda: normcode.MeanOnlyBatchNorm(128), lambda: nn.BatchNorm1d(128), SMALL_NC, "small"),
    Case("MeanOnlyBN", lambda: normcode.MeanOnlyBatchNorm(64), lambda: nn.BatchNorm2d(64), LARGE_IMG, "large"),
    Case("BRN", lambda: normcode.BatchRenorm(128, r_max=3.0, d_max=5.0), lambda: nn.BatchNorm1d(128),
         SMALL_NC, "small"),
    Case("BRN", lambda: normcode.BatchRenorm(64, r_max=3.0, d_max=5.0), lambda: nn.BatchNorm2d(64),
         LARGE_IMG, "large"),
    # BIN and SwitchNorm do the work of two (BN + IN) or three (IN, LN, BN) normalizations; the
    # reference is one torch BatchNorm2d, a lower bound rather than the same work.
    Case("BIN", lambda: normcode.BatchInstanceNorm(32), lambda: nn.BatchNorm2d(32), SMALL_IMG, "small"),
    Case("BIN", lambda: normcode.BatchInstanceNorm(64), lambda: nn.BatchNorm2d(64), LARGE_IMG, "large"),
    Case("SwitchNorm", lambda: normcode.SwitchNorm(32), lambda: nn.BatchNorm2d(32), SMALL_IMG, "small"),
    Case("SwitchNorm", lambda: normcode.SwitchNorm(64), lambda: nn.BatchNorm2d(64), LARGE_IMG, "large"),
    Case("SN-Linear", lambda: normcode.spectral_norm(nn.Linear(128, 128)),
         lambda: nn.utils.parametrizations.spectral_norm(nn.Linear(128, 128)), SMALL_NC, "small"),
    Case("SN-Linear", lambda: normcode.spectral_norm(nn.Linear(1024, 1024)),
         lambda: nn.utils.parametrizations.spectral_norm(nn.Linear(1024, 1024)), (1024, 1024), "large"),
]


def add_case(name, make_normcode_layer, make_torch_layer, input_shape, size_label, target=None) -> None:
    """Append a row to :data:`CASES` (for scripts that import this module)."""
    CASES.append(Case(name, make_normcode_layer, make_torch_layer, tuple(input_shape), size_label, target))


# --------------------------------------------------------------------------- timing


def _step_fn(module: nn.Module, x: torch.Tensor, grad_out: torch.Tensor) -> Callable[[], None]:
    """One training step: forward, backward through input and parameters, gradients reset."""
    params = [p for p in module.parameters() if p.requires_grad]

    def step() -> None:
        x.grad = None
        for p in params:
            p.grad = None
        module(x).backward(grad_out)

    return step


def _time_block(step: Callable[[], None], iters: int) -> float:
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    return (time.perf_counter() - t0) / iters


def measure(case: Case, repeats: int, block_seconds: float, seed: int = 0) -> tuple[list[float], list[float]]:
    """Seconds per step of normcode and of torch, one sample per timed block.

    The two layers are timed in alternating blocks, so a change of machine load
    during the run affects both alike and the ratio stays meaningful.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(case.input_shape, generator=g).requires_grad_(True)
    ours, ref = case.make_normcode_layer().train(), case.make_torch_layer().train()
    with torch.no_grad():
        grad_out = torch.randn(ours(x).shape, generator=g)
    steps = [_step_fn(ours, x, grad_out), _step_fn(ref, x, grad_out)]
    for step in steps:  # warm-up (allocator, lazy initialisation)
        for _ in range(3):
            step()
    # iterations per block so that the slower layer's block lasts about block_seconds
    one = max(_time_block(s, 2) for s in steps)
    iters = max(1, int(block_seconds / max(one, 1e-7)))
    samples: list[list[float]] = [[], []]
    for _ in range(repeats):
        for i, step in enumerate(steps):
            samples[i].append(_time_block(step, iters))
    return samples[0], samples[1]


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else :func:`platform.processor`."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def results_record(rows: list[dict], threads: int, repeats: int, block_seconds: float, quick: bool) -> dict:
    """The JSON document ``--json`` writes: how and where it was measured, then one entry per row."""
    return {
        "meta": {
            "date": datetime.date.today().isoformat(),
            "normcode": normcode.__version__, "torch": torch.__version__, "python": platform.python_version(),
            "cpu": cpu_model(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "threads": threads, "repeats": repeats, "block_seconds": block_seconds, "quick": quick,
            "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
            "step": "forward + backward of a fixed upstream gradient, through the input and the parameters",
        },
        "rows": rows,
    }


def write_results(path: Path, record: dict) -> None:
    """Write ``record`` (from :func:`results_record`) as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _fmt_time(seconds: float) -> str:
    return f"{seconds * 1e6:9.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:9.2f} ms"


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats (a smoke run)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only the rows with this name (repeatable, case-insensitive)")
    parser.add_argument("--size", choices=["small", "large"], help="run only one size")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch.set_num_threads (default 1: stable, comparable ratios)")
    parser.add_argument("--repeats", type=int, default=None, help="timed blocks per layer (default 15, quick 5)")
    parser.add_argument("--json", nargs="?", const=str(BENCHMARK_FILE), default=None, metavar="PATH",
                        help=f"also write the results as JSON (default path: {BENCHMARK_FILE})")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    repeats = args.repeats or (5 if args.quick else 15)
    block_seconds = 0.05 if args.quick else 0.2
    wanted = {n.lower() for n in args.only}
    cases = [c for c in CASES if (not wanted or c.name.lower() in wanted) and (not args.size or c.size_label == args.size)]
    if not cases:
        parser.error(f"no row matches --only {args.only}; names: {sorted({c.name for c in CASES})}")

    print(f"normcode {normcode.__version__}, torch {torch.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()} ({os.cpu_count()} CPUs)")
    print(f"torch.set_num_threads({args.threads}); torch.get_num_threads() = {torch.get_num_threads()}; "
          f"{repeats} alternating blocks of ~{block_seconds:g} s per layer, median per step (forward + backward)")
    print()
    header = (f"{'layer':<12} {'size':<6} {'input shape':<18} {'normcode':>12} {'torch':>12} {'ratio':>6} "
              f"{'(min)':>6}  target")
    print(header)
    print("-" * len(header))
    failures = 0
    rows = []
    for case in cases:
        s_ours, s_ref = measure(case, repeats, block_seconds)
        t_ours, t_ref = statistics.median(s_ours), statistics.median(s_ref)
        ratio = t_ours / t_ref
        ratio_min = min(s_ours) / min(s_ref)  # best blocks: less sensitive to other processes on the machine
        target = case.target if case.target is not None else TARGETS[case.size_label]
        textbook = case.name.endswith("-textbook")   # a reference row: the targets are for normcode's layers
        ok = textbook or ratio <= target
        failures += not ok
        shape = "x".join(map(str, case.input_shape))
        print(f"{case.name:<12} {case.size_label:<6} {shape:<18} {_fmt_time(t_ours):>12} {_fmt_time(t_ref):>12} "
              f"{ratio:6.2f} {ratio_min:6.2f}  " + ("(textbook formula: no target)" if textbook else
                                                    f"<= {target:g}  {'ok' if ok else 'SLOWER THAN TARGET'}"), flush=True)
        rows.append({"name": case.name, "size": case.size_label, "shape": shape, "ours_s": t_ours, "torch_s": t_ref,
                     "ratio": ratio, "ratio_min": ratio_min, "target": None if textbook else target})
    print()
    print(f"{len(cases) - failures}/{len(cases)} rows within target (median ratio). "
          f"Times: median over the blocks; ratio = normcode / torch of the medians, (min) of the fastest blocks.")
    if args.json:
        write_results(Path(args.json), results_record(rows, args.threads, repeats, block_seconds, args.quick))
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
