"""One training loop for every experiment of the book: seeded, deterministic, quiet by default.

:func:`train` runs mini-batch gradient descent on a :class:`~normcode.experiments.data.Split`
and returns a :class:`History`. Two runs with the same seed and the same model
initialisation give identical histories (``history_a == history_b``).

Progress bar: the notebooks are executed and their stored outputs compared (nbval),
so nothing that varies from run to run may be printed. :func:`train` therefore shows
a tqdm bar only when asked, ``progress=True``, or when the environment variable
``NORMCODE_PROGRESS`` is set to ``1`` (``progress=None``, the default). Set it in a
terminal to watch long runs; the book never sets it.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..book import seed_everything
from .data import Split, iid_batches

__all__ = ["set_seed", "deterministic", "evaluate", "make_optimizer", "History", "train", "show_progress"]


def set_seed(seed: int, threads: int = 1) -> None:
    """Seed Python's, NumPy's and PyTorch's generators and fix the number of CPU threads.

    One thread makes floating-point reductions happen in one order, so results
    repeat exactly on the same machine (and tiny networks run faster anyway).

    Example:
        >>> set_seed(0); a = torch.rand(2)
        >>> set_seed(0); bool((a == torch.rand(2)).all())
        True
    """
    seed_everything(seed)
    torch.set_num_threads(threads)


@contextmanager
def deterministic() -> Iterator[None]:
    """Inside the ``with``, PyTorch refuses (raises on) operations without a deterministic implementation.

    The previous setting is restored on exit.
    """
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


@contextmanager
def _mode(model: nn.Module, training: bool) -> Iterator[None]:
    """Switch ``model`` to train or eval mode for the ``with`` and restore its mode afterwards."""
    was_training = model.training
    model.train(training)
    try:
        yield
    finally:
        model.train(was_training)


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of ``model`` on ``(X, y)``: the fraction of rows whose largest logit is the label.

    Runs in evaluation mode (BN uses its running estimates, noise is off) without
    gradients, and puts the model back in the mode it was in.

    Args:
        X: ``(N, *features)``.
        y: ``(N,)`` integer labels.

    Returns:
        A float in [0, 1].

    Example:
        >>> from normcode.experiments.models import mlp
        >>> 0.0 <= evaluate(mlp(seed=0), torch.rand(30, 64), torch.randint(0, 10, (30,))) <= 1.0
        True
    """
    with _mode(model, training=False):
        return float((model(X).argmax(dim=1) == y).float().mean())


def make_optimizer(name: Union[str, Callable[[nn.Module], torch.optim.Optimizer]], model: nn.Module,
                   lr: float) -> torch.optim.Optimizer:
    """``"sgd"`` (plain), ``"momentum"`` (SGD, momentum 0.9) or ``"adam"``; a callable ``f(model)`` is called as is.

    A callable is how to give parameter groups their own settings, e.g. BIN's gates
    with ten times the learning rate.

    Example:
        >>> from normcode.experiments.models import mlp
        >>> type(make_optimizer("momentum", mlp(), lr=0.1)).__name__
        'SGD'
    """
    if callable(name):
        return name(model)
    params = model.parameters()
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; choose 'sgd', 'momentum', 'adam' or pass a callable f(model)")


def _to_plain(value: Any) -> Any:
    """Tensors and arrays become Python floats/lists, so histories compare with ``==``."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.tolist()
    if isinstance(value, Mapping):
        return {k: _to_plain(v) for k, v in value.items()}
    return value


@dataclass
class History:
    """What :func:`train` saw.

    Attributes:
        step: ``1 … steps``, one entry per optimizer step.
        loss: the training loss of the mini-batch at each step (before the update).
        eval_step: the steps at which the model was evaluated (``0`` is before training).
        test_accuracy: test accuracy at each ``eval_step``.
        records: ``{name: [value at each eval_step]}`` for every recorded statistic
            (tensors stored as lists of floats).

    Example:
        >>> h = History()
        >>> h.records["median"] = [0.1, 0.2]
        >>> tuple(h.series("median").shape)
        (2,)
    """

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    records: dict[str, list] = field(default_factory=dict)

    def series(self, name: str) -> torch.Tensor:
        """The recorded statistic ``name`` as a tensor, ``(len(eval_step), *value_shape)``;
        ``"loss"`` and ``"test_accuracy"`` work too."""
        if name in ("loss", "test_accuracy"):
            return torch.tensor(getattr(self, name))
        return torch.tensor(self.records[name])

    def accuracy_at(self, step: int) -> float:
        """Test accuracy at the last evaluation at or before ``step``."""
        i = max(j for j, s in enumerate(self.eval_step) if s <= step)
        return self.test_accuracy[i]


Recorder = Union[Mapping[str, Callable[[nn.Module], Any]], Callable[[nn.Module], Mapping[str, Any]]]


def show_progress(progress: Optional[bool]) -> bool:
    """Whether :func:`train` draws a progress bar: ``progress`` if given, else ``NORMCODE_PROGRESS=1`` in the environment."""
    if progress is not None:
        return progress
    return os.environ.get("NORMCODE_PROGRESS", "") not in ("", "0")


def train(model: nn.Module, data: Split, steps: int, batch_size: int = 60, lr: float = 0.1,
          optimizer: Union[str, Callable[[nn.Module], torch.optim.Optimizer]] = "sgd", seed: int = 0,
          eval_every: int = 100, record: Optional[Recorder] = None,
          batch_sampler: Optional[Iterable[torch.Tensor]] = None,
          after_step: Optional[Callable[[nn.Module, int], None]] = None,
          loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
          progress: Optional[bool] = None, lr_schedule: Optional[Callable[[int], float]] = None) -> History:
    """Train ``model`` for ``steps`` mini-batch steps on ``data``; evaluate every ``eval_every`` steps.

    Each step: take a batch of indices, compute ``loss_fn(model(X[idx]), y[idx])``,
    back-propagate, ``optimizer.step()``, then ``after_step(model, step)`` (e.g. clamp
    BIN's gates to [0, 1]). The model is evaluated (test accuracy, and every
    statistic in ``record``) before training (step 0), every ``eval_every`` steps and
    after the last step.

    Determinism: the global generators are seeded with ``seed`` (the noise of noisy
    BN comes from there), batches come from their own seeded generator, PyTorch's
    deterministic algorithms are enforced during the run, and one CPU thread is used.
    Build the model with a seed too (``mlp(..., seed=0)``) for a fully repeatable run.

    Args:
        model: any module mapping ``(B, *features)`` to ``(B, num_classes)`` logits.
        data: a :class:`~normcode.experiments.data.Split`.
        steps: number of optimizer steps.
        batch_size: examples per step (ignored when ``batch_sampler`` is given).
        lr: learning rate.
        optimizer: ``"sgd"``, ``"momentum"``, ``"adam"`` or a callable ``f(model)`` (see :func:`make_optimizer`).
        seed: seed of the run.
        eval_every: evaluate every this many steps.
        record: ``{name: f(model)}`` of statistics to record at each evaluation (e.g. probes from
            :mod:`normcode.experiments.probes`), or one callable ``f(model)`` returning such a
            dict of values. A value that is itself a dict ``{key: v}`` is recorded as ``"name.key"``.
        batch_sampler: an iterable of index tensors, one per step; default
            :func:`~normcode.experiments.data.iid_batches` seeded with ``seed``.
        after_step: called as ``after_step(model, step)`` after every optimizer step.
        loss_fn: ``loss_fn(logits, labels)``; default cross-entropy.
        progress: draw a tqdm bar; ``None`` — only if ``NORMCODE_PROGRESS=1`` (see the module docstring).
        lr_schedule: ``step -> multiplier`` of every group's learning rate at that step (1-based),
            e.g. a warm-up; default: constant.

    Returns:
        A :class:`History`.

    Example:
        >>> from normcode.experiments.data import load_digits
        >>> from normcode.experiments.models import mlp
        >>> h = train(mlp(norm="batch", seed=0), load_digits(), steps=20, lr=0.5, eval_every=10)
        >>> h.eval_step
        [0, 10, 20]
    """
    from tqdm import tqdm  # plain text bar: no widget needed in a notebook

    set_seed(seed)
    if batch_sampler is None:
        batch_sampler = iid_batches(data.n_train, batch_size, seed=seed)
    batches = iter(batch_sampler)
    opt = make_optimizer(optimizer, model, lr)
    base_lrs = [group["lr"] for group in opt.param_groups]
    history = History()

    def evaluate_now(step: int) -> None:
        history.eval_step.append(step)
        history.test_accuracy.append(evaluate(model, data.X_test, data.y_test))
        if record is None:
            return
        values = record(model) if callable(record) else {name: f(model) for name, f in record.items()}
        for name, value in values.items():
            # a probe that returns a dict (e.g. ics_probe) records one series per key: "name.key"
            parts = {f"{name}.{k}": v for k, v in value.items()} if isinstance(value, Mapping) else {name: value}
            for key, v in parts.items():
                history.records.setdefault(key, []).append(_to_plain(v))

    with deterministic(), _mode(model, training=True):
        evaluate_now(0)
        for step in tqdm(range(1, steps + 1), disable=not show_progress(progress), leave=False):
            idx = next(batches)
            if lr_schedule is not None:
                for group, base in zip(opt.param_groups, base_lrs):
                    group["lr"] = base * lr_schedule(step)
            loss = loss_fn(model(data.X_train[idx]), data.y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if after_step is not None:
                after_step(model, step)
            history.step.append(step)
            history.loss.append(loss.item())
            if step % eval_every == 0 or step == steps:
                evaluate_now(step)
    return history
