r"""Experiments of chapter 10 (batch-instance normalization) on chapter 6's two style tasks.

A :class:`~normcode.BatchInstanceNorm` layer mixes the batch-normalized and the
instance-normalized value of each channel with a learned gate
:math:`\rho_c \in [0, 1]`:

.. math::

    y = \bigl(\rho\,\hat{x}^{(B)} + (1 - \rho)\,\hat{x}^{(I)}\bigr)\gamma + \beta .

The functions below train the book's :func:`~normcode.experiments.models.small_cnn`
with BIN in both blocks on :func:`~normcode.experiments.style_tasks.style_nuisance_digits`
(style is a nuisance) and :func:`~normcode.experiments.style_tasks.style_label_digits`
(style is the label), with the gates clipped to :math:`[0, 1]` after every step
(:func:`~normcode.clamp_gates_`) and, by default, a learning rate ten times larger for the
gates (:func:`~normcode.param_groups`), and read the learned gates back per layer and channel.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional, Sequence

import torch
from torch import nn

from ..batchinstance import BatchInstanceNorm, clamp_gates_, param_groups
from .models import small_cnn
from .style_tasks import DEFAULT_STEPS, STYLE_TASKS, style_nuisance_digits
from .training import evaluate, train

__all__ = ["gates_per_layer", "train_bin_model", "BinRuns", "run_bin_study"]


def gates_per_layer(model: nn.Module) -> list[torch.Tensor]:
    r"""The learned gates :math:`\rho` of every :class:`~normcode.BatchInstanceNorm` in ``model``, in order.

    Returns:
        One ``(C,)`` float64 tensor per BIN layer (a detached copy), first layer first.

    Example:
        >>> net = small_cnn(norm="batch_instance", seed=0)
        >>> [tuple(g.shape) for g in gates_per_layer(net)], float(gates_per_layer(net)[0][0])
        ([(16,), (32,)], 1.0)
    """
    gates = [m.gate.detach().to(torch.float64).clone() for m in model.modules() if isinstance(m, BatchInstanceNorm)]
    if not gates:
        raise ValueError("the model has no BatchInstanceNorm layer; build it with norm='batch_instance'")
    return gates


def train_bin_model(task: str, seed: int = 0, gate_lr_multiplier: float = 10.0, steps: Optional[int] = None,
                    lr: float = 0.1, widths: Sequence[int] = (16, 32), dtype: torch.dtype = torch.float64):
    r"""Train ``small_cnn(norm="batch_instance")`` on one style task of chapter 6.

    The same network, data, batches, steps and optimizer (SGD, momentum 0.9, ``lr``)
    as :func:`~normcode.experiments.style_tasks.train_style_model`, except that the
    gates :math:`\rho` get the learning rate ``lr * gate_lr_multiplier`` (no weight
    decay; :func:`~normcode.param_groups`) and are clipped to :math:`[0, 1]` after
    every step (:func:`~normcode.clamp_gates_`). The gates start at 1 (batch normalization).

    Args:
        task: ``"nuisance"`` or ``"label"``.
        seed: seed of the data set's styles, the weights and the batches.
        gate_lr_multiplier: factor of the gates' learning rate (the authors use 10; 1 is "no larger rate").
        steps: optimizer steps; default that of ``train_style_model`` for the task.
        lr: learning rate of every other parameter.
        widths: channels of the two convolutional blocks.
        dtype: floating-point type of model and data (float64 keeps runs equal across CPU code paths).

    Returns:
        ``(model, styled)``: the trained model in evaluation mode and the task's
        :class:`~normcode.experiments.style_tasks.StyledDigits` (images in ``dtype``).
    """
    if task not in STYLE_TASKS:
        raise ValueError(f"task must be one of {sorted(STYLE_TASKS)}, got {task!r}")
    styled = STYLE_TASKS[task](seed=seed)
    styled = replace(styled, data=replace(styled.data, X_train=styled.data.X_train.to(dtype),
                                          X_test=styled.data.X_test.to(dtype)))
    model = small_cnn(num_classes=styled.data.num_classes, widths=widths, norm="batch_instance", seed=seed).to(dtype)

    def optimizer(net: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.SGD(param_groups(net, lr=lr, gate_lr_multiplier=gate_lr_multiplier), lr=lr, momentum=0.9)

    train(model, styled.data, steps=DEFAULT_STEPS[task] if steps is None else steps, lr=lr, optimizer=optimizer,
          seed=seed, eval_every=10_000, after_step=lambda net, step: clamp_gates_(net))
    return model.eval(), styled


@dataclass(frozen=True)
class BinRuns:
    r"""Learned gates and test accuracies of :func:`run_bin_study`.

    Attributes:
        gates: ``{(task, multiplier, seed): [rho of layer 1 (C1,), rho of layer 2 (C2,)]}``.
        accuracy: ``{(task, multiplier, seed): test accuracy}`` (for the nuisance task: on the shifted test styles).
        tasks, multipliers, seeds: what was run.
        models: ``{(task, multiplier, seed): trained model}`` (evaluation mode).
    """

    gates: dict
    accuracy: dict
    tasks: tuple
    multipliers: tuple
    seeds: tuple
    models: dict = field(default_factory=dict, repr=False)

    def mean_gate(self, task: str, layer: int, multiplier: float = 10.0) -> list[float]:
        r"""The mean :math:`\rho` of layer ``layer`` (0-based) over its channels, one value per seed."""
        return [float(self.gates[task, multiplier, s][layer].mean()) for s in self.seeds]

    def accuracies(self, task: str, multiplier: float = 10.0) -> list[float]:
        """Test accuracy per seed."""
        return [self.accuracy[task, multiplier, s] for s in self.seeds]


def run_bin_study(tasks: Sequence[str] = ("nuisance", "label"), multipliers: Sequence[float] = (10.0,),
                  seeds: Sequence[int] = (0, 1, 2), steps: Optional[dict] = None) -> BinRuns:
    """Train :func:`train_bin_model` for every task, gate learning-rate multiplier and seed.

    Returns:
        A :class:`BinRuns` with the learned gates, the test accuracies and the models.
    """
    steps = dict(DEFAULT_STEPS, **(steps or {}))
    gates, accuracy, models = {}, {}, {}
    for task in tasks:
        for mult in multipliers:
            for seed in seeds:
                model, styled = train_bin_model(task, seed=seed, gate_lr_multiplier=mult, steps=steps[task])
                key = (task, float(mult), seed)
                gates[key] = gates_per_layer(model)
                accuracy[key] = evaluate(model, styled.data.X_test, styled.data.y_test)
                models[key] = model
    return BinRuns(gates, accuracy, tuple(tasks), tuple(float(m) for m in multipliers), tuple(seeds), models)
