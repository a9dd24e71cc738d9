r"""Normalizations when the mini-batch is small: the experiments of the group-normalization chapter.

Batch normalization computes its statistics over the :math:`m` examples of a
mini-batch; layer, instance and group normalization compute them inside one
example. Three measurements make the difference visible:

* :func:`batch_size_sweep` — final test accuracy of the same network with several
  normalizations, for several batch sizes :math:`m` and seeds, with ordinary
  shuffled batches or with batches drawn from a few classes only
  (:func:`~normcode.experiments.data.non_iid_batches`);
* :func:`batch_dependence` — how much one example's output moves when its
  batch-mates are replaced (zero for GN, LN and IN; not for BN);
* the train/evaluation gap of a batch-normalized network as the batch shrinks is
  :func:`normcode.experiments.sweeps.train_eval_gap` (reused, not repeated here).

Everything is seeded; the models passed in are never modified.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from .data import Split, iid_batches, non_iid_batches
from .training import train

__all__ = ["BatchSizeSweep", "batch_size_sweep", "batch_dependence", "WU_HE_2018_TABLE1", "WU_HE_2018_TABLE2"]


@dataclass(frozen=True, eq=False)
class BatchSizeSweep:
    """Test accuracies of a :func:`batch_size_sweep`.

    Attributes:
        batch_sizes: the batch sizes :math:`m`, in the order of the columns.
        seeds: the seeds, in the order of the rows.
        accuracy: ``{norm: (len(seeds), len(batch_sizes)) tensor}`` of final test accuracies.

    Example:
        >>> s = BatchSizeSweep([2, 8], [0, 1], {"batch": torch.tensor([[0.5, 0.9], [0.7, 0.8]])})
        >>> s.worst("batch"), s.mean("batch")
        ([0.5, 0.8], [0.6, 0.85])
    """

    batch_sizes: list[int]
    seeds: list[int]
    accuracy: dict[str, torch.Tensor]

    @property
    def norms(self) -> list[str]:
        """The normalizations, in the order they were run."""
        return list(self.accuracy)

    def mean(self, norm: str) -> list[float]:
        """Mean accuracy over the seeds, one value per batch size."""
        return [round(float(v), 6) for v in self.accuracy[norm].double().mean(dim=0)]

    def worst(self, norm: str) -> list[float]:
        """Lowest accuracy over the seeds, one value per batch size."""
        return [round(float(v), 6) for v in self.accuracy[norm].min(dim=0).values]

    def best(self, norm: str) -> list[float]:
        """Highest accuracy over the seeds, one value per batch size."""
        return [round(float(v), 6) for v in self.accuracy[norm].max(dim=0).values]


def batch_size_sweep(make_model: Callable[[str, int], nn.Module], data: Split, batch_sizes: Sequence[int],
                     norms: Sequence[str] = ("batch", "group", "layer", "instance"),
                     seeds: Sequence[int] = (0, 1, 2), steps: int = 200, lr: float = 0.05,
                     optimizer: str = "momentum", classes_per_batch: Optional[int] = None) -> BatchSizeSweep:
    r"""Train ``make_model(norm, seed)`` for every normalization, batch size :math:`m` and seed; keep the test accuracy.

    Every run takes the same number of optimizer ``steps`` (so a run with batches of
    2 sees fewer examples than one with batches of 64: compare the rows of one
    column, not the columns). Accuracy is measured in evaluation mode (batch
    normalization uses its running estimates).

    Args:
        make_model: ``make_model(norm, seed)`` returns a fresh model seeded with ``seed``,
            e.g. ``lambda norm, seed: small_cnn(norm=norm, seed=seed)``.
        data: the :class:`~normcode.experiments.data.Split`; inputs ``(N, C, H, W)`` for a CNN.
        batch_sizes: the sizes :math:`m`, each at least 2 (BN cannot train on one example of
            spatial size 1; at :math:`m = 1` it would be instance normalization).
        norms: names for :func:`normcode.make_norm`, passed to ``make_model``.
        seeds: seeds of the model, of the batches and of the run.
        steps, lr, optimizer: as in :func:`~normcode.experiments.training.train`.
        classes_per_batch: ``None`` for ordinary shuffled batches
            (:func:`~normcode.experiments.data.iid_batches`); an integer ``k`` draws every batch
            from ``k`` random classes (:func:`~normcode.experiments.data.non_iid_batches`).

    Returns:
        A :class:`BatchSizeSweep`.

    Example:
        >>> from normcode.experiments import load_digits, small_cnn
        >>> s = batch_size_sweep(lambda n, seed: small_cnn(norm=n, widths=(4,), seed=seed), load_digits(),
        ...                      [2, 8], norms=("batch",), seeds=(0,), steps=3)
        >>> tuple(s.accuracy["batch"].shape)
        (1, 2)
    """
    sizes = [int(m) for m in batch_sizes]
    if any(m < 2 for m in sizes):
        raise ValueError(f"batch sizes must be at least 2, got {sizes}; with one example a batch "
                         "normalization layer would normalize by that example alone")
    accuracy = {}
    for norm in norms:
        table = torch.zeros(len(seeds), len(sizes))
        for i, seed in enumerate(seeds):
            for j, m in enumerate(sizes):
                if classes_per_batch is None:
                    sampler = iid_batches(data.n_train, m, seed=seed)
                else:
                    sampler = non_iid_batches(data.y_train, m, k=classes_per_batch, seed=seed)
                history = train(make_model(norm, seed), data, steps=steps, lr=lr, optimizer=optimizer,
                                seed=seed, eval_every=steps, batch_sampler=sampler)
                table[i, j] = history.test_accuracy[-1]
        accuracy[norm] = table
    return BatchSizeSweep(sizes, [int(s) for s in seeds], accuracy)


@torch.no_grad()
def batch_dependence(layer: nn.Module, x: torch.Tensor, others: torch.Tensor, draws: int = 20,
                     seed: int = 0) -> float:
    r"""Largest change of one example's output when its batch-mates are replaced.

    The example ``x`` (shape ``(1, C, *spatial)``) is put into ``draws`` batches
    together with ``m - 1`` examples drawn at random from ``others`` (``(K, C,
    *spatial)``, :math:`m - 1 \le K`), where :math:`m - 1` is
    ``min(3, K)``; ``layer`` runs on each batch in training mode, each time on a fresh
    copy (so running estimates are left alone, and a layer whose training output reads
    its running estimates, such as batch renormalization, meets every batch in the same
    state: what moves is then the batch's doing, not the estimates'). The result is
    :math:`\max_{d} \lVert f(x \mid \text{batch}_d) - f(x \mid \text{batch}_0)\rVert_\infty`:
    zero (to rounding) for a layer that normalizes inside one example, positive for
    batch normalization, whose :math:`\mu_B` and :math:`\sigma_B` come from the batch.

    Args:
        layer: a normalization layer (or any module) mapping ``(m, C, *spatial)`` to the same shape.
        x: ``(1, C, *spatial)``, the example followed.
        others: ``(K, C, *spatial)``, candidates for its batch-mates.
        draws: number of random batches.
        seed: seed of the draws.

    Returns:
        The largest absolute change of any of the example's outputs.

    Example:
        >>> from normcode import BatchNorm2d, GroupNorm
        >>> x, others = torch.randn(1, 4, 3, 3), torch.randn(10, 4, 3, 3)
        >>> batch_dependence(GroupNorm(2, 4), x, others) < 1e-6, batch_dependence(BatchNorm2d(4), x, others) > 0.01
        (True, True)
    """
    if x.dim() < 2 or x.shape[0] != 1:
        raise ValueError(f"x must hold one example, shape (1, C, *spatial); got {tuple(x.shape)}")
    if others.shape[1:] != x.shape[1:] or others.shape[0] < 1:
        raise ValueError(f"others must have shape (K, {', '.join(map(str, x.shape[1:]))}) with K >= 1; "
                         f"got {tuple(others.shape)}")
    g = torch.Generator().manual_seed(seed)
    mates = min(3, others.shape[0])
    outputs = []
    for _draw in range(draws):
        idx = torch.randperm(others.shape[0], generator=g)[:mates]
        net = copy.deepcopy(layer).train()      # a fresh copy per draw: every batch meets the same state
        outputs.append(net(torch.cat([x, others[idx]]))[0])
    first = outputs[0]
    return max(float((out - first).abs().max()) for out in outputs)


#: Wu & He (2018, arXiv 1803.08494), Table 2 (plotted in their Figure 1): ImageNet top-1
#: validation error (%) of ResNet-50 trained with batch or group normalization (G = 32) for a
#: given number of images per GPU (the batch over which BN computes its statistics).
WU_HE_2018_TABLE2 = {
    "batch_sizes": [32, 16, 8, 4, 2],
    "batch": [23.6, 23.7, 24.8, 27.3, 34.7],
    "group": [24.1, 24.2, 24.0, 24.2, 24.1],
}

#: Wu & He (2018), Table 1: the same network at 32 images per GPU with each normalization, error (%).
WU_HE_2018_TABLE1 = {"batch": 23.6, "layer": 25.3, "instance": 28.4, "group": 24.1}
