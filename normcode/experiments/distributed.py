"""Synchronized batch normalization shown for real: a few CPU processes, gloo, one shared batch.

:func:`sync_bn_demo` starts ``world_size`` local processes (``torch.distributed``
with the gloo backend on 127.0.0.1). The batch of ``world_size × per_rank``
examples is split between them; each runs one training step of
:class:`normcode.SyncBatchNorm` on its slice, and of plain :class:`normcode.BatchNorm`
on the same slice. The parent process runs :class:`normcode.BatchNorm` on the
whole batch, and compares: outputs, input gradients, γ/β gradients (summed over
the processes, as data parallelism averages or sums them) and running estimates.
"""
from __future__ import annotations

import os
import socket
import warnings
from dataclasses import dataclass
from typing import Optional

import torch

__all__ = ["SyncDemo", "sync_bn_demo"]


@dataclass
class SyncDemo:
    """Largest absolute differences from BN over the whole batch, for synchronized and per-process BN."""
    output: dict
    input_grad: dict
    weight_grad: dict
    running_var: dict


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _batch(world_size: int, per_rank: int, channels: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(world_size * per_rank, channels, 4, 4, generator=g, dtype=torch.float64) * 3 + 1
    upstream = torch.randn(x.shape, generator=g, dtype=torch.float64)
    return x, upstream


def _step(layer, x, upstream):
    """One training step: output, input gradient, weight gradient, running variance after the step."""
    x = x.clone().requires_grad_()
    y = layer(x)
    (y * upstream).sum().backward()
    return y.detach(), x.grad, layer.weight.grad.clone(), layer.running_var.clone()


def _worker(rank: int, world_size: int, port: int, per_rank: int, channels: int, seed: int, queue) -> None:
    import torch.distributed as dist

    from ..batchnorm import BatchNorm
    from ..syncbatchnorm import SyncBatchNorm

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    # torch's deprecation notice for torch.distributed.nn.functional.all_reduce (the autograd-aware
    # all-reduce SyncBatchNorm needs) would reach a notebook's output through the child's stderr
    warnings.filterwarnings("ignore", message=".*all_reduce is deprecated", category=FutureWarning)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        x, upstream = _batch(world_size, per_rank, channels, seed)
        part = slice(rank * per_rank, (rank + 1) * per_rank)
        synced = _step(SyncBatchNorm(channels).double(), x[part], upstream[part])
        local = _step(BatchNorm(channels).double(), x[part], upstream[part])
        # NumPy copies travel by value (torch tensors would be shared through file descriptors
        # that vanish when this process exits)
        queue.put((rank, [t.numpy() for t in synced], [t.numpy() for t in local]))
    finally:
        dist.destroy_process_group()


def sync_bn_demo(world_size: int = 4, per_rank: int = 8, channels: int = 3, seed: int = 0,
                 timeout: float = 120.0, start_method: Optional[str] = None) -> SyncDemo:
    """Run one step of synchronized BN in ``world_size`` processes and compare with BN on the whole batch.

    Args:
        world_size, per_rank: processes, and examples per process.
        channels, seed: of the batch ``(world_size * per_rank, channels, 4, 4)``.
        timeout: seconds to wait for each process to exit.
        start_method: how the processes start (:mod:`multiprocessing`). Default: ``"forkserver"``
            where the platform has it (Linux, macOS), with this module preloaded, so that PyTorch is
            imported once by the server rather than once per process; ``"spawn"`` elsewhere. Both work
            from a notebook, since the workers' code lives in this module.

    Returns:
        A :class:`SyncDemo`; each field is ``{"synchronized": d, "per_process": d}`` with ``d`` the largest
        absolute difference from BN over all ``world_size × per_rank`` examples (float64).
    """
    import torch.multiprocessing as mp

    from ..batchnorm import BatchNorm

    if world_size < 2 or per_rank < 1:
        raise ValueError(f"need world_size >= 2 and per_rank >= 1, got {world_size} and {per_rank}")
    if start_method is None:
        start_method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(start_method)
    if start_method == "forkserver":
        ctx.set_forkserver_preload([__name__])
    queue = ctx.SimpleQueue()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, world_size, port, per_rank, channels, seed, queue))
             for r in range(world_size)]
    for p in procs:
        p.start()
    results = {}
    for _rank in range(world_size):
        rank, synced, local = queue.get()
        results[rank] = ([torch.from_numpy(a) for a in synced], [torch.from_numpy(a) for a in local])
    for p in procs:
        p.join(timeout)
        if p.exitcode != 0:
            raise RuntimeError(f"a sync_bn_demo process exited with code {p.exitcode}")

    x, upstream = _batch(world_size, per_rank, channels, seed)
    y, dx, dw, rv = _step(BatchNorm(channels).double(), x, upstream)
    diffs = {}
    for name, index in (("synchronized", 0), ("per_process", 1)):
        out = torch.cat([results[r][index][0] for r in range(world_size)])
        grad = torch.cat([results[r][index][1] for r in range(world_size)])
        weight = sum(results[r][index][2] for r in range(world_size))
        running = max(float((results[r][index][3] - rv).abs().max()) for r in range(world_size))
        diffs[name] = (float((out - y).abs().max()), float((grad - dx).abs().max()),
                       float((weight - dw).abs().max()), running)
    field = lambda i: {k: v[i] for k, v in diffs.items()}
    return SyncDemo(output=field(0), input_grad=field(1), weight_grad=field(2), running_var=field(3))
