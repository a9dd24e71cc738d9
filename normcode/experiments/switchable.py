r"""Switchable normalization in practice: the learned importance weights and SN against its parts.

Chapter 11 trains the small CNN of :func:`~normcode.experiments.models.small_cnn` on the
8×8 digits with :class:`normcode.SwitchNorm` in both blocks (Luo et al. 2018,
arXiv 1806.10779) and reads, after training, the softmax importance weights of every
layer,

.. math::

    w = \operatorname{softmax}(\lambda) \ \text{(means)}, \qquad
    w' = \operatorname{softmax}(\lambda') \ \text{(variances)}, \qquad
    \text{order IN, LN, BN},

at several batch sizes :math:`m` (:func:`importance_sweep`), and compares SN with
networks that use one of its three parts everywhere (:func:`compare_with_parts`).
:func:`set_one_hot` fixes the weights to one technique, which turns SN exactly into
IN, LN or BN.
"""
from __future__ import annotations

from typing import Sequence

import torch

from ..switchnorm import SwitchNorm
from .data import Split
from .models import Net, small_cnn
from .training import train

__all__ = ["PARTS", "importance", "set_one_hot", "train_switch", "importance_sweep", "compare_with_parts"]

#: SN's three parts, in the order of its logits ``mean_weight`` and ``var_weight``.
PARTS = ("instance", "layer", "batch")

#: The training recipe of the chapter: plain momentum SGD, the same for every normalization.
RECIPE = {"steps": 300, "lr": 0.05, "optimizer": "momentum"}


def switch_layers(model: torch.nn.Module) -> list[SwitchNorm]:
    """The :class:`~normcode.SwitchNorm` modules of ``model``, from the input up."""
    layers = [m for m in model.modules() if isinstance(m, SwitchNorm)]
    if not layers:
        raise ValueError("the model has no SwitchNorm layer; build it with norm=\"switch\" "
                         "(e.g. small_cnn(norm=\"switch\"))")
    return layers


@torch.no_grad()
def importance(model: torch.nn.Module) -> torch.Tensor:
    """The softmax importance weights of every SN layer of ``model``.

    Returns:
        ``(layers, 2, 3)`` float64: ``[l, 0]`` the mean weights :math:`w`, ``[l, 1]`` the variance
        weights :math:`w'` of layer ``l``, each in the order IN, LN, BN (:data:`PARTS`).
    """
    return torch.stack([torch.stack([sn.importance()["mean"], sn.importance()["var"]])
                        for sn in switch_layers(model)]).double()


@torch.no_grad()
def set_one_hot(sn: SwitchNorm, part: str) -> SwitchNorm:
    """Set both softmax weights of ``sn`` to one-hot on ``part`` (``"instance"``, ``"layer"``, ``"batch"``).

    The chosen logit is set to 0 and the other two to ``-inf``, so the softmax is exactly
    1 for ``part`` and 0 for the others, and SN computes exactly that technique's statistics.
    """
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of {PARTS}")
    logits = torch.full((3,), float("-inf"))
    logits[PARTS.index(part)] = 0.0
    sn.mean_weight.copy_(logits)
    sn.var_weight.copy_(logits)
    return sn


def train_switch(data: Split, batch_size: int, seed: int, **recipe) -> tuple[Net, float]:
    """Train ``small_cnn(norm="switch")`` with batch size ``batch_size`` (``m``) for :data:`RECIPE`'s steps.

    Returns:
        ``(model, final test accuracy)``.
    """
    kwargs = {**RECIPE, **recipe}
    model = small_cnn(norm="switch", seed=seed)
    history = train(model, data, batch_size=batch_size, seed=seed, eval_every=kwargs["steps"], **kwargs)
    return model, history.test_accuracy[-1]


def importance_sweep(data: Split, batch_sizes: Sequence[int] = (2, 8, 32), seeds: Sequence[int] = (0, 1, 2),
                     **recipe) -> tuple[dict[int, torch.Tensor], dict[int, list[float]]]:
    """The learned importance weights after training at each batch size ``m``, for each seed.

    Every run takes the same number of steps, whatever ``m``.

    Returns:
        ``(weights, accuracy)``: ``weights[m]`` is ``(seeds, layers, 2, 3)``, the :func:`importance` of the
        model trained with batch size ``m`` and each seed; ``accuracy[m]`` its final test accuracy per seed.
    """
    weights, accuracy = {}, {}
    for m in batch_sizes:
        runs = [train_switch(data, m, seed, **recipe) for seed in seeds]
        weights[m] = torch.stack([importance(model) for model, _acc in runs])
        accuracy[m] = [acc for _model, acc in runs]
    return weights, accuracy


def compare_with_parts(data: Split, norms: Sequence[str] = ("switch",) + PARTS, batch_size: int = 32,
                       seeds: Sequence[int] = (0, 1, 2), **recipe) -> dict[str, list[float]]:
    """Final test accuracy of ``small_cnn(norm=...)`` for each normalization in ``norms`` and each seed.

    Every network is trained with the same :data:`RECIPE` and batch size ``m = batch_size``.

    Returns:
        ``{norm: [accuracy of each seed]}``.
    """
    kwargs = {**RECIPE, **recipe}
    return {norm: [train(small_cnn(norm=norm, seed=seed), data, batch_size=batch_size, seed=seed,
                         eval_every=kwargs["steps"], **kwargs).test_accuracy[-1] for seed in seeds]
            for norm in norms}
