r"""Short runs across a range of one setting: how a choice of normalization changes with it.

Each function answers one question of the batch normalization chapter with a
handful of brief, seeded training runs or measurements:

* :func:`accuracy_sweep` — final test accuracy of the same network, with and without
  a normalization, across values of one setting (the learning rate, the
  initialisation scale, the batch size).
* :func:`seeded_sweep` — the same over several seeds (model initialisation and
  batch order), so a claim can be checked on the worst seed; :func:`worst` and
  :func:`seed_mean` summarize it, :func:`verdicts` turns it into words that hold
  on every seed ("trains", "fails", "mixed") and :func:`format_table` prints them.
* :func:`normalized_value_spread` — the noise of batch statistics: how much one
  example's normalized value :math:`\hat{x}` moves when its batch-mates change,
  for several batch sizes :math:`m` (it shrinks about as :math:`1/\sqrt{m}`).
* :func:`train_eval_gap` and :func:`train_mode_accuracy` — what happens when a
  batch-normalized network is evaluated with batch statistics (``model.eval()``
  forgotten): its outputs differ from the evaluation-mode outputs by an amount
  that grows as the batch shrinks.
* :func:`loglog_slope` — the slope of a least-squares line through
  :math:`(\log x, \log y)`, to check a power law such as :math:`y \propto m^{-1/2}`.

Everything is seeded; the model passed in is never modified (measurements in
training mode run on a copy, so running estimates are left alone).
"""
from __future__ import annotations

import copy
import math
import unicodedata
from typing import Callable, Iterable, Mapping, Sequence

import torch
from torch import nn

from ..book.i18n import N_
from ..functional import batch_norm
from .data import Split
from .training import train

__all__ = ["accuracy_sweep", "seeded_sweep", "worst", "seed_mean", "verdicts", "format_table", "normalized_value_spread", "train_eval_gap", "train_mode_accuracy", "loglog_slope"]


def accuracy_sweep(make_model: Callable[[str, float], nn.Module], data: Split, values: Sequence[float],
                   setting: str, norms: Sequence[str] = ("none", "batch"), steps: int = 200,
                   lr: float = 0.1, batch_size: int = 60, seed: int = 0) -> dict[str, list[float]]:
    """Final test accuracy for every ``norm`` in ``norms`` and every value of one ``setting``.

    Args:
        make_model: ``make_model(norm, value)`` returns a fresh, seeded model, e.g.
            ``lambda norm, v: mlp(norm=norm, init_std=v, seed=0)`` for an
            initialisation-scale sweep (the value is ignored when ``setting`` is
            ``"lr"`` or ``"batch_size"``, which :func:`~normcode.experiments.training.train` receives).
        data: the train/test :class:`~normcode.experiments.data.Split`.
        values: the values of the setting, e.g. learning rates ``[0.1, 0.3, 1, 3]``.
        setting: ``"lr"`` (the value is the learning rate), ``"batch_size"`` (the value
            is the batch size) or ``"model"`` (the value only goes to ``make_model``).
        norms: normalization names for :func:`normcode.make_norm`.
        steps, lr, batch_size, seed: as in :func:`~normcode.experiments.training.train`
            (``lr`` and ``batch_size`` are the fixed values when they are not swept).

    Returns:
        ``{norm: [final test accuracy for each value]}``. A run whose loss became
        NaN scores the accuracy of its NaN logits (chance or below); it does not raise.

    Example:
        >>> from normcode.experiments import load_digits, mlp
        >>> acc = accuracy_sweep(lambda n, v: mlp(norm=n, hidden=(20,), seed=0), load_digits(),
        ...                      [0.1, 1.0], setting="lr", steps=5)
        >>> sorted(acc), len(acc["batch"])
        (['batch', 'none'], 2)
    """
    if setting not in ("lr", "batch_size", "model"):
        raise ValueError(f"setting must be 'lr', 'batch_size' or 'model', got {setting!r}")
    results: dict[str, list[float]] = {}
    for norm in norms:
        accuracies = []
        for value in values:
            model = make_model(norm, value)
            run_lr = float(value) if setting == "lr" else lr
            run_batch = int(value) if setting == "batch_size" else batch_size
            history = train(model, data, steps=steps, lr=run_lr, batch_size=run_batch, seed=seed,
                            eval_every=steps)
            accuracies.append(history.test_accuracy[-1])
        results[norm] = accuracies
    return results


def seeded_sweep(make_model: Callable[[str, float, int], nn.Module], data: Split, values: Sequence[float],
                 setting: str, seeds: Sequence[int] = (0, 1, 2), **kwargs) -> dict[str, list[list[float]]]:
    """:func:`accuracy_sweep` repeated for every seed in ``seeds``.

    Args:
        make_model: ``make_model(norm, value, seed)`` returns a fresh model initialised from ``seed``.
        data, values, setting: as in :func:`accuracy_sweep`.
        seeds: the seeds; each seeds both the model (through ``make_model``) and the
            batch order of training.
        **kwargs: passed on to :func:`accuracy_sweep` (``norms``, ``steps``, ``lr``, ``batch_size``).

    Returns:
        ``{norm: [[accuracy for each value] for each seed]}``.

    Example:
        >>> from normcode.experiments import load_digits, mlp
        >>> acc = seeded_sweep(lambda n, v, s: mlp(norm=n, hidden=(20,), seed=s), load_digits(),
        ...                    [0.1], setting="lr", seeds=(0, 1), steps=3)
        >>> len(acc["batch"]), len(acc["batch"][0])
        (2, 1)
    """
    if not seeds:
        raise ValueError("seeded_sweep needs at least one seed")
    runs = {}
    for seed in seeds:
        one = accuracy_sweep(lambda norm, value: make_model(norm, value, seed), data, values, setting,
                             seed=seed, **kwargs)
        for norm, accuracies in one.items():
            runs.setdefault(norm, []).append(accuracies)
    return runs


def worst(runs: Sequence[Sequence[float]], high_is_bad: bool = False) -> list[float]:
    """Per value, the worst seed of a :func:`seeded_sweep` row: the lowest accuracy, or the highest with ``high_is_bad``.

    Use the lowest to claim that something trains on every seed, the highest to
    claim that something fails on every seed.

    Example:
        >>> worst([[0.9, 0.2], [0.8, 0.3]]), worst([[0.9, 0.2], [0.8, 0.3]], high_is_bad=True)
        ([0.8, 0.2], [0.9, 0.3])
    """
    pick = max if high_is_bad else min
    return [pick(column) for column in zip(*runs)]


def seed_mean(runs: Sequence[Sequence[float]]) -> list[float]:
    """Per value, the mean over the seeds of a :func:`seeded_sweep` row.

    Example:
        >>> seed_mean([[0.9, 0.2], [0.7, 0.4]])
        [0.8, 0.3]
    """
    return [round(sum(column) / len(column), 12) for column in zip(*runs)]


#: The words of :func:`verdicts` (catalogue keys: print them through ``_``).
TRAINS, FAILS, MIXED = N_("trains"), N_("fails"), N_("mixed")


def verdicts(runs: Sequence[Sequence[float]], trains: float = 0.8, fails: float = 0.5) -> list[str]:
    """Per value of a :func:`seeded_sweep` row, a verdict that holds on every seed.

    ``"trains"`` if every seed reaches ``trains``, ``"fails"`` if no seed gets above
    ``fails``, ``"mixed"`` otherwise. Words rather than digits: they do not change when
    the last digit of an accuracy does (another CPU, another library version).

    Example:
        >>> verdicts([[0.9, 0.3, 0.9], [0.85, 0.2, 0.4]])
        ['trains', 'fails', 'mixed']
    """
    if not 0 <= fails < trains <= 1:
        raise ValueError(f"need 0 <= fails < trains <= 1, got fails={fails}, trains={trains}")
    low, high = worst(runs), worst(runs, high_is_bad=True)
    return [TRAINS if a >= trains else FAILS if b <= fails else MIXED for a, b in zip(low, high)]


def _width(text: str) -> int:
    """Columns ``text`` takes in a monospaced font (Hangul and other wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def format_table(title: str, values: Sequence, rows: Mapping[str, Sequence[str]], first: int = 20,
                 column: int = 8) -> str:
    """A plain-text table: ``title`` and the ``values`` as header, then one line per row label.

    Columns are padded by display width, so Korean labels line up with English ones.

    Example:
        >>> print(format_table("lr", [0.1, 1.0], {"none": ["mixed", "fails"]}, first=8))
        lr           0.1     1.0
          none     mixed   fails
    """
    def left(text: str, width: int) -> str:
        return text + " " * max(width - _width(text), 0)

    def right(text: str, width: int) -> str:
        return " " * max(width - _width(text), 0) + text

    lines = [left(title, first) + "".join(right(f"{v}", column) for v in values)]
    lines += [left("  " + label, first) + "".join(right(cell, column) for cell in cells)
              for label, cells in rows.items()]
    return "\n".join(lines)


@torch.no_grad()
def normalized_value_spread(z: torch.Tensor, batch_sizes: Iterable[int], example: int = 0,
                            draws: int = 200, seed: int = 0, eps: float = 1e-5) -> dict[int, float]:
    r"""How much batch statistics move one example's normalized value, for each batch size.

    For a batch size :math:`m`, ``draws`` mini-batches are formed from the fixed
    example ``z[example]`` and :math:`m - 1` others drawn at random (without
    replacement) from the rest of ``z``; each batch is normalized with its own
    statistics, :math:`\hat{z} = (z - \mu_B)/\sqrt{\sigma^2_B + \epsilon}`, and the
    fixed example's :math:`\hat{z}` is kept. The spread is the standard deviation of
    those values across the draws, averaged over the features. The example itself
    never changes: all the spread comes from its batch-mates, and it shrinks
    roughly as :math:`1/\sqrt{m}` (the standard error of :math:`\mu_B` and :math:`\sigma_B`).

    Args:
        z: ``(N, C)`` values of ``C`` features (e.g. the pre-activations of a layer) for ``N`` examples.
        batch_sizes: the sizes :math:`m` to measure, each between 2 and ``N``.
        example: index of the fixed example.
        draws: random batches per size.
        seed: seed of the draws.
        eps: the ε of batch normalization.

    Returns:
        ``{m: spread}``, the mean over features of the standard deviation of the example's
        :math:`\hat{z}` across the draws.

    Example:
        >>> spread = normalized_value_spread(torch.randn(500, 3), [4, 64], draws=100)
        >>> spread[4] > spread[64]
        True
    """
    n = z.shape[0]
    others = torch.cat([torch.arange(example), torch.arange(example + 1, n)])
    g = torch.Generator().manual_seed(seed)
    spread = {}
    for m in batch_sizes:
        if not 2 <= m <= n:
            raise ValueError(f"batch sizes must lie between 2 and N={n}, got {m}")
        values = []
        for _ in range(draws):
            mates = others[torch.randperm(len(others), generator=g)[:m - 1]]
            batch = torch.cat([z[example:example + 1], z[mates]])
            values.append(batch_norm(batch, None, None, training=True, eps=eps)[0])
        spread[int(m)] = float(torch.stack(values).std(dim=0).mean())
    return spread


def _frozen_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose running estimates stay as they are in training mode (momentum 0)."""
    net = copy.deepcopy(model)
    for module in net.modules():
        if hasattr(module, "running_mean") and hasattr(module, "momentum"):
            module.momentum = 0.0
    return net


@torch.no_grad()
def train_mode_accuracy(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int,
                        seed: int = 0) -> float:
    """Accuracy when ``model`` is run in *training* mode on batches of ``batch_size`` (``eval()`` forgotten).

    The test set is shuffled (seeded) and cut into batches of ``batch_size`` (the
    last, smaller batch is kept if it has at least 2 examples); every batch is
    normalized with its own statistics. Runs on a copy, so the running estimates of
    ``model`` are not updated.

    Args:
        model: a network with batch normalization, mapping ``(B, *features)`` to logits.
        X: ``(N, *features)``; y: ``(N,)`` labels.
        batch_size: examples per batch, at least 2.

    Returns:
        The fraction of examples classified correctly.
    """
    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2 in training mode, got {batch_size}")
    net = _frozen_copy(model).train()
    order = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(seed))
    correct, seen = 0, 0
    for start in range(0, X.shape[0], batch_size):
        idx = order[start:start + batch_size]
        if len(idx) < 2:
            break
        correct += int((net(X[idx]).argmax(dim=1) == y[idx]).sum())
        seen += len(idx)
    return correct / seen


@torch.no_grad()
def train_eval_gap(model: nn.Module, X: torch.Tensor, batch_sizes: Iterable[int], seed: int = 0) -> dict[int, float]:
    r"""Mean absolute difference between training-mode and evaluation-mode outputs, per batch size.

    For each batch size :math:`m`, ``X`` is shuffled (seeded) and cut into batches of
    :math:`m`; each batch goes through a copy of ``model`` in training mode (batch
    statistics) and in evaluation mode (running estimates), and the gap is
    :math:`\operatorname{mean}|f_\text{train}(x) - f_\text{eval}(x)|` over all outputs.

    Args:
        model: a network with batch normalization.
        X: ``(N, *features)`` inputs.
        batch_sizes: the sizes :math:`m` (each at least 2).
        seed: seed of the shuffling.

    Returns:
        ``{m: gap}``.
    """
    net = _frozen_copy(model)
    order = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(seed))
    gaps = {}
    for m in batch_sizes:
        if m < 2:
            raise ValueError(f"batch sizes must be at least 2, got {m}")
        total, count = 0.0, 0
        for start in range(0, X.shape[0] - m + 1, m):
            batch = X[order[start:start + m]]
            out_train = net.train()(batch)
            out_eval = net.eval()(batch)
            total += float((out_train - out_eval).abs().sum())
            count += out_train.numel()
        gaps[int(m)] = total / count
    return gaps


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    r"""Slope of the least-squares line through :math:`(\log x_i, \log y_i)`: the exponent :math:`k` of :math:`y \approx c\,x^k`.

    Example:
        >>> round(loglog_slope([1, 4, 16], [1.0, 0.5, 0.25]), 3)
        -0.5
    """
    lx = torch.tensor([math.log(v) for v in x], dtype=torch.float64)
    ly = torch.tensor([math.log(v) for v in y], dtype=torch.float64)
    lx, ly = lx - lx.mean(), ly - ly.mean()
    return float((lx * ly).sum() / (lx * lx).sum())
