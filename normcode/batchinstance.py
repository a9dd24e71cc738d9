r"""Batch-instance normalization (Nam & Kim, 2018, arXiv:1805.07925).

Instance normalization removes each image's per-channel contrast and brightness,
its "style": good when style is a nuisance (style transfer, domain shift), harmful
when style carries the label (recognising a red stop sign, a night scene).
Batch normalization keeps it. Batch-instance normalization (BIN) lets every
channel learn how much style to remove, with a gate :math:`\rho_c \in [0, 1]`:

.. math::

    \hat{x}^{(B)} = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad
    \hat{x}^{(I)} = \frac{x - \mu_{n,c}}{\sqrt{\sigma_{n,c}^2 + \epsilon}},

    y = \bigl(\rho\,\hat{x}^{(B)} + (1 - \rho)\,\hat{x}^{(I)}\bigr)\cdot\gamma + \beta.

:math:`\rho = 1` is batch normalization, :math:`\rho = 0` instance normalization.
γ and β are shared by the two branches. The batch branch keeps running
estimates and uses them at inference, exactly as batch normalization; the
instance branch always uses the statistics of the input (there is nothing to
estimate: each image brings its own).

The gates start at 1 (pure batch normalization) and are trained with the other
parameters, with two details from the authors' code that matter:

* after every optimiser step the gates are clipped back into :math:`[0, 1]`
  (:func:`clamp_gates_`); a gradient step may leave the interval, and a gate
  outside it extrapolates instead of mixing;
* the gates get a learning rate 10 times larger and no weight decay
  (:func:`param_groups`): their gradient is small (a sum of differences of two
  normalised values), and weight decay would pull them towards 0, i.e. towards
  instance normalization, for no reason.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from . import _checks
from ._base import ChannelNorm
from .functional import batch_norm, instance_norm

__all__ = ["BatchInstanceNorm", "clamp_gates_", "param_groups"]


class BatchInstanceNorm(ChannelNorm):
    r"""Batch-instance normalization: a learned per-channel mix of batch and instance normalization.

    .. math::

        y = \bigl(\rho\,\hat{x}^{(B)} + (1 - \rho)\,\hat{x}^{(I)}\bigr)\cdot\gamma + \beta

    where :math:`\hat{x}^{(B)}` is the batch-normalised input (batch statistics
    in training, running estimates in evaluation) and :math:`\hat{x}^{(I)}` the
    instance-normalised input (always this input's per-example, per-channel
    statistics, biased variance). The gate :math:`\rho` (``gate``, shape ``(C,)``)
    starts at 1, so a fresh layer is batch normalization.

    Call :func:`clamp_gates_` after each ``optimizer.step()``; a gate outside
    :math:`[0, 1]` at forward time is an error.

    Args:
        num_features: ``C``, the number of channels.
        eps: added to the variances inside the square roots. Default: ``1e-5``.
        momentum: factor of the batch branch's moving averages (PyTorch's
            convention), or ``None`` for a cumulative average. Default: ``0.1``.
        affine: learn γ (init 1) and β (init 0), shared by both branches. Default: ``True``.
        track_running_stats: keep running estimates for the batch branch; if
            ``False`` it uses batch statistics in evaluation too. Default: ``True``.

    Shape:
        - Input: ``(N, C, *spatial)`` with at least one spatial axis (the
          instance branch normalises over them), e.g. ``(N, C, H, W)``.
        - Output: same shape as the input.

    Example:
        >>> bin_ = BatchInstanceNorm(3)
        >>> y = bin_(torch.randn(4, 3, 8, 8))
        >>> tuple(y.shape), bin_.gate.tolist()
        ((4, 3, 8, 8), [1.0, 1.0, 1.0])
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.gate = nn.Parameter(torch.ones(num_features))   # rho, 1 = batch norm

    def _check_input(self, x: torch.Tensor) -> None:
        name = type(self).__name__
        _checks.check_floating(x, name)
        if x.dim() < 3:
            raise ValueError(
                f"{name} needs an input with spatial axes, (N, C, *spatial) such as (N, C, H, W), got shape "
                f"{tuple(x.shape)}; its instance branch normalises each example's channel over its spatial "
                f"positions, which an (N, C) input does not have. Use batch normalization for (N, C) inputs."
            )
        _checks.check_channels(x, self.num_features, name)
        with torch.no_grad():
            outside = (self.gate < 0) | (self.gate > 1) | torch.isnan(self.gate)
            if bool(outside.any()):
                bad = self.gate[outside].tolist()[:5]
                raise ValueError(
                    f"{name} gates must lie in [0, 1], found {bad} (channels {outside.nonzero().flatten().tolist()[:5]}); "
                    f"a gate outside [0, 1] extrapolates instead of mixing batch and instance normalization. "
                    f"Call normcode.clamp_gates_(model) after every optimizer.step(), or clamp them by hand "
                    f"(layer.gate.data.clamp_(0, 1))."
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        momentum = self.count_batch()
        track = self.track_running_stats
        # batch branch: x_hat^(B), running estimates updated in training and used in evaluation
        xhat_bn = batch_norm(x, self.running_mean if track else None, self.running_var if track else None,
                             training=self.training, momentum=momentum, eps=self.eps)
        # instance branch: x_hat^(I), always this input's statistics, nothing to track
        xhat_in = instance_norm(x, eps=self.eps)
        shape = [1, -1] + [1] * (x.dim() - 2)
        rho = self.gate.reshape(shape)
        # y = (rho x_hat^(B) + (1 - rho) x_hat^(I)) gamma + beta, with the per-channel factors gamma rho and
        # gamma (1 - rho) formed first: two multiply-adds over the full-size tensor instead of five operations
        gamma = self.weight.reshape(shape) if self.weight is not None else 1.0
        beta = self.bias.reshape(shape) if self.bias is not None else torch.zeros((), dtype=x.dtype)
        y = torch.addcmul(beta, xhat_bn, gamma * rho)                 # gamma rho x_hat^(B) + beta
        return torch.addcmul(y, xhat_in, gamma * (1.0 - rho))         # + gamma (1 - rho) x_hat^(I)


def _gates(model: nn.Module) -> list[nn.Parameter]:
    return [m.gate for m in model.modules() if isinstance(m, BatchInstanceNorm)]


@torch.no_grad()
def clamp_gates_(model: nn.Module) -> int:
    r"""Clip the gate :math:`\rho` of every :class:`BatchInstanceNorm` in ``model`` to :math:`[0, 1]`, in place.

    Call it after every ``optimizer.step()``, as the authors' training loop does.

    Args:
        model: any module; its submodules (and itself) are searched.

    Returns:
        The number of gate tensors clipped (0 if ``model`` has no BIN layer).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), BatchInstanceNorm(4))
        >>> _ = net[1].gate.data.fill_(1.3)
        >>> clamp_gates_(net), net[1].gate.max().item()
        (1, 1.0)
    """
    gates = _gates(model)
    for g in gates:
        g.clamp_(0.0, 1.0)
    return len(gates)


def param_groups(model: nn.Module, lr: float, gate_lr_multiplier: float = 10.0) -> list[dict]:
    r"""Optimiser parameter groups with the BIN gates apart: learning rate × ``gate_lr_multiplier``, no weight decay.

    Args:
        model: the network.
        lr: learning rate of every other parameter.
        gate_lr_multiplier: factor for the gates' learning rate (the authors
            use 10). Default: ``10.0``.

    Returns:
        ``[{"params": others, "lr": lr}, {"params": gates, "lr": lr * gate_lr_multiplier,
        "weight_decay": 0.0}]``, the second group only when ``model`` has BIN
        layers. Pass it to any ``torch.optim`` optimiser; its own
        ``weight_decay`` applies to the first group.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), BatchInstanceNorm(4))
        >>> opt = torch.optim.SGD(param_groups(net, lr=0.1), lr=0.1, weight_decay=5e-4)
        >>> [(g["lr"], g["weight_decay"], len(g["params"])) for g in opt.param_groups]
        [(0.1, 0.0005, 4), (1.0, 0.0, 1)]
    """
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}.")
    if not gate_lr_multiplier > 0:
        raise ValueError(f"gate_lr_multiplier must be positive, got {gate_lr_multiplier!r} (the authors use 10).")
    gate_ids = {id(g) for g in _gates(model)}
    gates = [p for p in model.parameters() if id(p) in gate_ids]
    others = [p for p in model.parameters() if id(p) not in gate_ids]
    groups = [{"params": others, "lr": lr}]
    if gates:
        groups.append({"params": gates, "lr": lr * gate_lr_multiplier, "weight_decay": 0.0})
    return groups
