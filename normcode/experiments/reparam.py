r"""Weight normalization in practice: networks, initialisation, the noise of mean-only BN, and cost.

Chapter 8 compares four ways to train the same multilayer perceptron
(Salimans & Kingma 2016, arXiv 1602.07868, §2–3):

* ``"none"``: plain parametrization, :math:`z = Wx + b`;
* ``"batch"``: batch normalization of every pre-activation;
* ``"weight"``: weight normalization of every linear layer, :math:`w = g\,v/\lVert v\rVert`,
  with the paper's data-dependent initialisation of :math:`g` and :math:`b`;
* ``"weight+mean_only"``: weight normalization followed by mean-only batch
  normalization, :math:`z - \mu_B + \beta` (the paper's best CIFAR-10 model).

:func:`wn_mlp` builds them, :func:`init_from_batch` initialises a weight-normalized
network layer by layer from one batch, :func:`normalization_noise` measures the
noise that batch statistics add to one fixed example (BN's against mean-only BN's),
and :func:`step_cost` counts the tensor operations and the elements they write in
one training step — a measure of cost that is the same on every machine, unlike a
timing.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from ..weightnorm import data_dependent_init_, weight_norm
from .models import Net, mlp, small_cnn

__all__ = ["SETTINGS", "wn_mlp", "init_from_batch", "normalization_noise", "step_cost"]

#: The four parametrizations of chapter 8, in the order the chapter shows them.
SETTINGS = ("none", "batch", "weight", "weight+mean_only")


@torch.no_grad()
def init_from_batch(model: Net, X: torch.Tensor, init_scale: float = 1.0) -> Net:
    r"""The paper's data-dependent initialisation of every weight-normalized layer of ``model``, in place.

    Layer by layer, from the input up: the block's input on the batch ``X`` is computed with the layers
    below already initialised, and :func:`normcode.data_dependent_init_` sets :math:`g` and :math:`b` so that
    the block's pre-activations have mean 0 and standard deviation ``init_scale`` on this batch.
    The output layer is initialised the same way.

    Args:
        model: a :class:`~normcode.experiments.models.Net` from :func:`wn_mlp` with ``norm="weight"``.
        X: ``(N, ...)`` one batch of inputs.

    Returns:
        ``model``.
    """
    h = X.flatten(1) if model.flatten_input else X
    for i, block in enumerate(model.blocks):
        data_dependent_init_(block.linear, h, init_scale)
        h = block(h)
        if i < len(model.blocks) - 1:
            h = model.pool(h)
    data_dependent_init_(model.head, model.readout(h), init_scale)
    return model


def wn_mlp(setting: str, hidden: Sequence[int] = (100, 100, 100), activation: str = "relu",
           init_batch: Optional[torch.Tensor] = None, seed: int = 0, arch: str = "mlp") -> Net:
    """A multilayer perceptron (or, ``arch="cnn"``, a small CNN) in one of the four :data:`SETTINGS`.

    Every model starts from the same weights :math:`W` (same seed); weight normalization
    reparametrizes them as :math:`g\\,v/\\lVert v\\rVert` without changing the function, and
    ``init_batch`` (required for the weight-normalized settings) then sets :math:`g, b` from data.

    Args:
        setting: ``"none"``, ``"batch"``, ``"weight"`` or ``"weight+mean_only"``.
        hidden, activation: as for :func:`~normcode.experiments.models.mlp` (``hidden`` are the
            channel widths for ``arch="cnn"``, see :func:`~normcode.experiments.models.small_cnn`).
        init_batch: the batch for :func:`init_from_batch` (both weight-normalized settings; with
            mean-only BN the initialisation still sets the scale :math:`g`, the mean is BN's).
        seed: initialisation seed.
    """
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}; choose one of {SETTINGS}")
    norm = {"none": "none", "batch": "batch", "weight": "none", "weight+mean_only": "mean_only"}[setting]
    if arch == "mlp":
        model = mlp(hidden=hidden, activation=activation, norm=norm, seed=seed)
    elif arch == "cnn":
        model = small_cnn(widths=hidden, activation=activation, norm=norm, seed=seed)
    else:
        raise ValueError(f"arch must be 'mlp' or 'cnn', got {arch!r}")
    if setting.startswith("weight"):
        for layer in [block.linear for block in model.blocks] + [model.head]:
            weight_norm(layer)
    if setting.startswith("weight"):
        if init_batch is None:
            raise ValueError("weight normalization needs init_batch for the data-dependent initialisation")
        init_from_batch(model, init_batch)
    return model


def normalization_noise(z: torch.Tensor, batch_size: int, kind: str = "batch", example: int = 0,
                        draws: int = 2000, seed: int = 0, eps: float = 1e-5) -> dict[str, float]:
    r"""The noise batch statistics add to one fixed example: its spread and the weight of its tails.

    ``draws`` batches are formed from ``z[example]`` and ``batch_size - 1`` random others; each
    batch is normalized, ``kind="batch"`` with :math:`(z - \mu_B)/\sqrt{\sigma^2_B + \epsilon}` and
    ``kind="mean_only"`` with :math:`z - \mu_B`, and the example's value is kept. Across the draws
    that value varies only because its batch-mates do. Its deviation from the value under the
    statistics of all of ``z`` is the noise.

    Returns:
        ``{"std": s, "kurtosis": k}`` averaged over the ``C`` features: ``s`` the standard
        deviation of the noise relative to the feature's own standard deviation (so the two
        kinds are on one scale), ``k`` the kurtosis :math:`\mathrm{E}[(n-\bar n)^4]/s^4` (3 for a
        normal distribution; larger for heavier tails).

    Args:
        z: ``(N, C)`` values (e.g. pre-activations of a layer on ``N`` examples).
        batch_size: :math:`m`, between 2 and ``N``.
        kind: ``"batch"`` or ``"mean_only"``.
    """
    if kind not in ("batch", "mean_only"):
        raise ValueError(f"kind must be 'batch' or 'mean_only', got {kind!r}")
    n = z.shape[0]
    if not 2 <= batch_size <= n:
        raise ValueError(f"batch_size must lie between 2 and N={n}, got {batch_size}")
    z = z.double()
    others = torch.cat([torch.arange(example), torch.arange(example + 1, n)])
    g = torch.Generator().manual_seed(seed)
    mates = torch.stack([others[torch.randperm(len(others), generator=g)[:batch_size - 1]] for _ in range(draws)])
    batches = torch.cat([z[example].expand(draws, 1, -1), z[mates]], dim=1)      # (draws, m, C)
    mean = batches.mean(dim=1)
    if kind == "batch":
        values = (z[example] - mean) / torch.sqrt(batches.var(dim=1, unbiased=False) + eps)
        reference = (z[example] - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + eps)
        scale = torch.ones(z.shape[1], dtype=z.dtype)
    else:
        values = z[example] - mean
        reference = z[example] - z.mean(0)
        scale = z.std(0, unbiased=False)
    noise = (values - reference) / scale                                         # (draws, C)
    centred = noise - noise.mean(0)
    std = centred.pow(2).mean(0).sqrt()
    kurtosis = centred.pow(4).mean(0) / std.pow(4)
    return {"std": float(std.mean()), "kurtosis": float(kurtosis.mean())}


class _CountOps(TorchDispatchMode):
    """Counts ATen operations and the elements of the tensors they return."""

    def __init__(self) -> None:
        super().__init__()
        self.ops, self.elements = 0, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.ops += 1
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.elements += t.numel()
        return out


def step_cost(model: nn.Module, X: torch.Tensor, y: torch.Tensor, lr: float = 0.1) -> dict[str, int]:
    """Tensor operations and elements written in one SGD training step (forward, backward, update).

    A count, not a timing: the same on every machine. ``elements`` is the number of values the
    step's operations produce, a proxy for the memory traffic that dominates the cost of
    normalization layers on a CPU.

    Returns:
        ``{"ops": number of ATen operations, "elements": elements of their outputs}``.
    """
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    with _CountOps() as counter:
        loss = F.cross_entropy(model(X), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return {"ops": counter.ops, "elements": counter.elements}
