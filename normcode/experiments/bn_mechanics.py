r"""Batch normalization's mechanics, each in one small function (chapter 3).

* :func:`outside_gradient_run` — Ioffe & Szegedy's Section 2 argument (arXiv
  1502.03167): if the gradient step ignores that :math:`\mu_B` and :math:`\sigma_B`
  depend on the parameters, a bias before the normalization grows without bound
  while the loss does not move.
* :func:`fold_batchnorm`, :func:`fold_network` — the paper's Algorithm 2: at
  inference batch normalization is one fixed affine map per channel, which can be
  folded into the weights and bias of the layer before it.
* :func:`recalibrate_batchnorm` — recompute the running estimates of every batch
  normalization layer on new data (for a new input distribution or after
  fine-tuning; Li et al., 2016, arXiv 1603.04779, call it AdaBN).
* :func:`signal_at_init` — per hidden layer, how much the pre-activations vary
  across examples and how many of them sit in a sigmoid's flat tails.
"""
from __future__ import annotations

import copy
from typing import Optional

import torch
from torch import nn

from .models import Net, record

__all__ = ["outside_gradient_run", "fold_batchnorm", "fold_network", "recalibrate_batchnorm", "signal_at_init"]


def outside_gradient_run(steps: int = 100, lr: float = 0.1, detach: bool = True, m: int = 32,
                         eps: float = 1e-5, seed: int = 0) -> dict[str, list[float]]:
    r"""Gradient descent on a bias :math:`b` before batch normalization, with the statistics inside or outside the gradient.

    One unit: :math:`x_i = u_i + b` for a fixed batch :math:`u` of ``m`` values,
    :math:`\hat{x}_i = (x_i - \mu_B)/\sqrt{\sigma^2_B + \epsilon}`, and the loss
    :math:`L = \frac1m\sum_i (\hat{x}_i - t_i)^2` against targets :math:`t` whose
    mean is 1 (a normalized unit has mean 0, so the loss can never reach 0). Only
    :math:`b` is trained, by plain gradient descent. With ``detach=True``,
    :math:`\mu_B` and :math:`\sigma^2_B` are treated as constants in the backward
    pass (normalization "outside" the gradient step): the gradient of :math:`b` is
    :math:`-2\,\overline{(t - \hat{x})}/\sigma_B \ne 0`, so :math:`b` moves every
    step, but the next forward pass subtracts the new mean and the loss stays where
    it was. With ``detach=False`` the gradient is exactly 0 and :math:`b` stays put.
    Float64.

    Args:
        steps: gradient steps. lr: learning rate. detach: statistics outside the gradient.
        m: batch size. eps: the ε of batch normalization. seed: seed of :math:`u` and :math:`t`.

    Returns:
        ``{"bias": [b after each step], "loss": [L before each step]}`` (``steps`` values each).

    Example:
        >>> run = outside_gradient_run(steps=10)
        >>> run["bias"][-1] > run["bias"][0] > 0, abs(run["loss"][-1] - run["loss"][0]) < 1e-12
        (True, True)
    """
    if steps < 1 or m < 2:
        raise ValueError(f"need steps >= 1 and a batch of m >= 2 values, got steps={steps}, m={m}")
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(m, generator=g, dtype=torch.float64)
    target = 1.0 + 0.5 * torch.randn(m, generator=g, dtype=torch.float64)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    bias, losses = [], []
    for _step in range(steps):
        x = u + b
        mean, var = x.mean(), x.var(unbiased=False)
        if detach:
            mean, var = mean.detach(), var.detach()
        loss = ((x - mean) / torch.sqrt(var + eps) - target).pow(2).mean()
        (grad,) = torch.autograd.grad(loss, b)
        with torch.no_grad():
            b -= lr * grad
        losses.append(float(loss.detach()))
        bias.append(float(b.detach()))
    return {"bias": bias, "loss": losses}


def _bn_scale_shift(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, c) with BN_eval(z) = a·z + c per channel: a = γ/√(running_var + ε), c = β − a·running_mean."""
    if getattr(bn, "running_mean", None) is None or getattr(bn, "running_var", None) is None:
        raise ValueError(f"{type(bn).__name__} keeps no running estimates (track_running_stats=False): "
                         "in evaluation mode it still uses batch statistics, so it is not a fixed affine map "
                         "and cannot be folded")
    a = 1.0 / torch.sqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        a = a * bn.weight
    c = -a * bn.running_mean
    if bn.bias is not None:
        c = c + bn.bias
    return a, c


@torch.no_grad()
def fold_batchnorm(layer: nn.Module, bn: nn.Module) -> nn.Module:
    r"""One layer that computes ``bn(layer(x))`` of an evaluation-mode ``bn`` (Algorithm 2 of Ioffe & Szegedy).

    At inference batch normalization uses fixed running estimates, so per channel it is
    the affine map :math:`y = a z + c` with :math:`a = \gamma/\sqrt{\hat\sigma^2 + \epsilon}`,
    :math:`c = \beta - a\hat\mu`. Applied after :math:`z = Wu + b` it gives
    :math:`y = (aW)u + (a b + c)`: the same kind of layer with rescaled weights.

    Args:
        layer: an ``nn.Linear`` or ``nn.Conv2d`` (with or without bias).
        bn: the batch normalization over its output channels, with running estimates.

    Returns:
        A new layer of ``layer``'s type, with a bias; ``layer`` and ``bn`` are unchanged.

    Example:
        >>> lin, bn = nn.Linear(3, 2), nn.BatchNorm1d(2)
        >>> _ = bn(lin(torch.randn(8, 3)))
        >>> u = torch.randn(4, 3)
        >>> torch.allclose(fold_batchnorm(lin, bn.eval())(u), bn(lin(u)), atol=1e-6)
        True
    """
    if not isinstance(layer, (nn.Linear, nn.Conv2d)):
        raise TypeError(f"fold_batchnorm folds into nn.Linear or nn.Conv2d, got {type(layer).__name__}")
    if bn.num_features != layer.weight.shape[0]:
        raise ValueError(f"the batch normalization has {bn.num_features} channels but the layer has "
                         f"{layer.weight.shape[0]} outputs: pass the BN that follows this layer")
    a, c = _bn_scale_shift(bn)
    folded = copy.deepcopy(layer)
    if folded.bias is None:
        folded.bias = nn.Parameter(torch.zeros_like(a))
    shape = (-1,) + (1,) * (layer.weight.dim() - 1)
    folded.weight.copy_(layer.weight * a.reshape(shape))
    folded.bias.copy_(a * (layer.bias if layer.bias is not None else 0.0) + c)
    return folded


def fold_network(net: Net) -> Net:
    """A copy of ``net`` in which every block's batch normalization is folded into its linear/conv layer.

    Every block must compute norm(layer(x)) before its activation (``norm_position="before_activation"``).
    The copy is in evaluation mode and equals ``net.eval()`` up to rounding.

    Example:
        >>> from normcode.experiments import mlp
        >>> net = mlp(norm="batch", hidden=(5,), seed=0)
        >>> _ = net(torch.rand(8, 64))
        >>> folded = fold_network(net)
        >>> type(folded.blocks[0].norm).__name__
        'Identity'
    """
    folded = copy.deepcopy(net).eval()
    for block in folded.blocks:
        if block.norm_position != "before_activation":
            raise ValueError("only a normalization right after the linear/conv layer can be folded into it; "
                             "this block normalizes after its activation")
        block.linear = fold_batchnorm(block.linear, block.norm)
        block.norm = nn.Identity()
    return folded


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, X: torch.Tensor, batch_size: int = 100) -> nn.Module:
    """A copy of ``model`` whose batch normalization running estimates are recomputed on ``X``.

    Every layer with running estimates is reset and switched to a cumulative average
    (``momentum=None``), the copy runs over ``X`` in training mode (consecutive batches of
    ``batch_size``, the last one possibly smaller; no gradients, no labels), and is returned in evaluation mode with
    the original momentum. The weights, γ and β are unchanged.

    Args:
        model: a network with batch normalization. X: ``(N, *features)`` inputs of the new data.
        batch_size: examples per batch (at least 2).

    Example:
        >>> from normcode.experiments import mlp
        >>> net = mlp(norm="batch", hidden=(5,), seed=0).eval()
        >>> new = recalibrate_batchnorm(net, torch.rand(50, 64) + 3.0)
        >>> bool(new.blocks[0].norm.running_mean.abs().sum() > 0), new.training
        (True, False)
    """
    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2 to compute batch statistics, got {batch_size}")
    net = copy.deepcopy(model)
    layers = [mod for mod in net.modules() if getattr(mod, "running_mean", None) is not None]
    if not layers:
        raise ValueError("the model has no batch normalization layer with running estimates to recalibrate")
    momenta = [mod.momentum for mod in layers]
    for mod in layers:
        mod.reset_running_stats()
        mod.momentum = None
    net.train()
    for start in range(0, X.shape[0], batch_size):
        batch = X[start:start + batch_size]
        if batch.shape[0] >= 2:          # a last batch of one example has no variance: skip it
            net(batch)
    for mod, momentum in zip(layers, momenta):
        mod.momentum = momentum
    return net.eval()


@torch.no_grad()
def signal_at_init(model: Net, X: torch.Tensor, flat: float = 4.0) -> list[dict[str, float]]:
    r"""For every hidden layer: how much its pre-activations vary across examples, and how many are saturated.

    Runs ``model`` in evaluation mode on ``X`` and records each block's
    pre-activation :math:`z` (``(N, units)``).

    Args:
        model: a :class:`~normcode.experiments.models.Net`. X: ``(N, *features)`` inputs.
        flat: :math:`|z|` beyond which a sigmoid counts as saturated (:math:`\sigma'(4) \approx 0.018`).

    Returns:
        One dict per block: ``"spread"``, the standard deviation of :math:`z` across
        the examples, averaged over the units (0 means every example looks the same to
        the next layer); ``"saturated"``, the fraction of values with :math:`|z| > ` ``flat``.

    Example:
        >>> from normcode.experiments import mlp
        >>> stats = signal_at_init(mlp(init_std=10.0, seed=0), torch.rand(50, 64))
        >>> stats[0]["saturated"] > 0.5
        True
    """
    layers = list(range(len(model.blocks)))
    was_training = model.training
    model.eval()
    try:
        with record(model, layers=layers) as seen:
            model(X)
    finally:
        model.train(was_training)
    return [{"spread": float(seen[i].double().std(dim=0, unbiased=False).mean()),
             "saturated": float((seen[i].abs() > flat).double().mean())} for i in layers]
