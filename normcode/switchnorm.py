r"""Switchable normalization (Luo, Ren, Peng, Zhang & Li, 2018, arXiv:1806.10779).

*"Differentiable Learning-to-Normalize via Switchable Normalization."* (Not
arXiv 1811.07727, which is a later paper by the same group.)

Instead of choosing batch, layer or instance normalization by hand, let every
layer learn a mixture of their statistics. For an input ``(N, C, *spatial)``
the three techniques differ only in the set of values their statistics
average over (see :mod:`normcode.stats`); switchable normalization (SN) computes
all three and mixes them with softmax importance weights, *separately* for the
means and for the variances:

.. math::

    \mu = \sum_{k\in\{\text{in},\text{ln},\text{bn}\}} w_k\,\mu_k, \qquad
    \sigma^2 = \sum_{k} w'_k\,\sigma^2_k, \qquad
    w_k = \frac{e^{\lambda_k}}{\sum_j e^{\lambda_j}},\quad w'_k = \frac{e^{\lambda'_k}}{\sum_j e^{\lambda'_j}},

    y = \gamma\,\frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta.

The logits :math:`\lambda, \lambda'` (``mean_weight``, ``var_weight``) start at 0,
so each technique starts with weight 1/3, and are learned with the network.

**One pass.** The instance statistics are computed first; layer and batch
statistics are averages of them, because every instance has the same number
:math:`L` of spatial positions:

.. math::

    \mu_{\text{ln}} = \overline{\mu_{\text{in}}}^{\,c}, \quad
    \sigma^2_{\text{ln}} = \overline{\sigma^2_{\text{in}}}^{\,c} + \overline{(\mu_{\text{in}} - \mu_{\text{ln}})^2}^{\,c},
    \qquad
    \mu_{\text{bn}} = \overline{\mu_{\text{in}}}^{\,n}, \quad
    \sigma^2_{\text{bn}} = \overline{\sigma^2_{\text{in}}}^{\,n} + \overline{(\mu_{\text{in}} - \mu_{\text{bn}})^2}^{\,n}

(the law of total variance; the bar is the mean over channels :math:`c` or
examples :math:`n`). With the biased instance variance these are *exactly* the
biased layer and batch variances, so a one-hot mixture is exactly IN, LN or BN.

**Inference.** IN and LN statistics come from the input, as always; the BN
statistics come from running estimates, updated in training like batch
normalization's (``running_var`` holds the unbiased variance).

**Where the official code differs** (``switchablenorms/Switchable-Normalization``):

* it uses the *unbiased* per-instance variance ``x.var(-1)`` and then
  :math:`\sigma^2_{\text{ln}} = \overline{\sigma^2_{\text{in}} + \mu_{\text{in}}^2} - \mu_{\text{ln}}^2`
  (the same total-variance identity written as :math:`E[x^2] - E[x]^2`, which
  cancels catastrophically when :math:`|\mu| \gg \sigma`; here it is written in
  the stable form above). Its LN and BN variances are therefore neither the
  biased nor the unbiased ones. ``unbiased_instance_var=True`` reproduces its
  forward computation, and then, as in that code, ``running_var`` tracks this
  :math:`\sigma^2_{\text{bn}}` without a further correction;
* its ``running_var`` starts at 0 (here 1, like batch normalization), its
  momentum is written the Keras way (``0.997`` in ``models/``, ``0.9`` in
  ``devkit/``; this module's ``momentum=0.1`` is devkit's ``0.9``), and the
  ``models/`` variant by default replaces the moving averages by an average
  over a number of batches collected after training; that variant is not
  implemented here.

For an ``(N, C)`` input there are no spatial positions, so instance statistics
do not exist (each "instance" is one number); SN then mixes LN and BN only,
with the softmax taken over their two logits (as the official ``SwitchNorm1d``
does with two weights).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from . import _checks
from ._base import ChannelNorm
from .stats import moments, unbiased, update_running

__all__ = ["SwitchNorm"]


class SwitchNorm(ChannelNorm):
    r"""Switchable normalization: softmax-weighted mixture of IN, LN and BN statistics.

    .. math::

        y = \gamma\,\frac{x - \sum_k w_k\mu_k}{\sqrt{\sum_k w'_k\sigma^2_k + \epsilon}} + \beta,
        \qquad k \in \{\text{in}, \text{ln}, \text{bn}\},\quad
        w = \operatorname{softmax}(\lambda),\; w' = \operatorname{softmax}(\lambda')

    The order of the three logits in ``mean_weight`` (:math:`\lambda`) and
    ``var_weight`` (:math:`\lambda'`) is IN, LN, BN; :meth:`importance` returns
    the current softmax weights. Gradients flow through all statistics and
    through the weights.

    Args:
        num_features: ``C``, the number of channels.
        eps: added to the mixed variance inside the square root. Default: ``1e-5``.
        momentum: factor of the BN running estimates (PyTorch's convention), or
            ``None`` for a cumulative average. Default: ``0.1``.
        affine: learn per-channel γ (init 1) and β (init 0). Default: ``True``.
        unbiased_instance_var: use the unbiased per-instance variance, as the
            official code does (see the module docstring). Default: ``False``.

    Shape:
        - Input: ``(N, C, *spatial)``; for ``(N, C)`` only LN and BN are mixed.
        - Output: same shape as the input.

    Example:
        >>> sn = SwitchNorm(3)
        >>> y = sn(torch.randn(4, 3, 8, 8))
        >>> tuple(y.shape), [round(w, 4) for w in sn.importance()["mean"].tolist()]
        ((4, 3, 8, 8), [0.3333, 0.3333, 0.3333])
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, unbiased_instance_var: bool = False) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats=True)
        self.unbiased_instance_var = unbiased_instance_var
        self.mean_weight = nn.Parameter(torch.ones(3))  # logits for (IN, LN, BN) means
        self.var_weight = nn.Parameter(torch.ones(3))   # logits for (IN, LN, BN) variances

    def importance(self, spatial: bool = True) -> dict[str, torch.Tensor]:
        """Softmax weights ``{"mean": w, "var": w'}`` (order IN, LN, BN; LN, BN only if ``spatial=False``)."""
        if spatial:
            return {"mean": torch.softmax(self.mean_weight, 0), "var": torch.softmax(self.var_weight, 0)}
        return {"mean": torch.softmax(self.mean_weight[1:], 0), "var": torch.softmax(self.var_weight[1:], 0)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        _checks.check_channels_first_input(x, self.num_features, name)
        n, c = x.shape[:2]
        spatial = x.dim() > 2
        xf = x.reshape(n, c, -1)                       # (N, C, L)
        length = xf.shape[2]
        if self.training and n * length <= 1:
            raise ValueError(
                f"{name} in training needs more than 1 value per channel for its batch statistics, got input "
                f"of shape {tuple(x.shape)}; use a batch of at least 2 examples or call model.eval()."
            )
        # 1. instance statistics, one per (n, c): the only pass over the data
        if spatial:
            if self.unbiased_instance_var and length < 2:
                raise ValueError(
                    f"{name}(unbiased_instance_var=True) needs at least 2 spatial positions for an unbiased "
                    f"per-instance variance, got input of shape {tuple(x.shape)}."
                )
            mean_in, var_in = moments(xf, (2,))        # (N, C, 1), biased
            _checks.check_finite_stats(mean_in, var_in, name)
            if self.unbiased_instance_var:
                var_in = unbiased(var_in, length)      # the official code's x.var(-1)
        else:
            mean_in, var_in = xf, torch.zeros_like(xf)  # each "instance" is a single value
            _checks.check_finite_stats(mean_in, var_in, name)
        # 2. layer statistics from them: mean over channels (law of total variance)
        mean_ln = mean_in.mean(1, keepdim=True)                                      # (N, 1, 1)
        var_ln = var_in.mean(1, keepdim=True) + (mean_in - mean_ln).pow(2).mean(1, keepdim=True)
        # 3. batch statistics: mean over examples in training, running estimates in evaluation
        if self.training:
            mean_bn = mean_in.mean(0, keepdim=True)                                  # (1, C, 1)
            var_bn = var_in.mean(0, keepdim=True) + (mean_in - mean_bn).pow(2).mean(0, keepdim=True)
            momentum = self.count_batch()
            update_running(self.running_mean, mean_bn.flatten(), momentum)
            tracked_var = var_bn if self.unbiased_instance_var else unbiased(var_bn, n * length)
            update_running(self.running_var, tracked_var.flatten(), momentum)
        else:
            mean_bn = self.running_mean.reshape(1, c, 1)
            var_bn = self.running_var.reshape(1, c, 1)
        # 4. mix with the softmax importance weights, separately for means and variances
        w = self.importance(spatial)
        if spatial:
            mean = w["mean"][0] * mean_in + w["mean"][1] * mean_ln + w["mean"][2] * mean_bn
            var = w["var"][0] * var_in + w["var"][1] * var_ln + w["var"][2] * var_bn
        else:
            mean = w["mean"][0] * mean_ln + w["mean"][1] * mean_bn
            var = w["var"][0] * var_ln + w["var"][1] * var_bn
        # y = gamma (x - mu) / sqrt(sigma^2 + eps) + beta, with the per-(n, c) factor gamma / sqrt(sigma^2 + eps)
        # formed first, so the full-size tensor is touched twice (subtract, multiply-add)
        scale = torch.rsqrt(var + self.eps)
        if self.weight is not None:
            scale = scale * self.weight.reshape(1, c, 1)
        shift = self.bias.reshape(1, c, 1) if self.bias is not None else torch.zeros((), dtype=x.dtype)
        return torch.addcmul(shift, xf - mean, scale).reshape(x.shape)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"unbiased_instance_var={self.unbiased_instance_var}")
