r"""Batch renormalization (Ioffe, 2017, arXiv:1702.03275).

Batch normalization normalises with the *batch* statistics in training and with
the *moving averages* at inference. The two agree only when each mini-batch
looks like the whole data set; with small or non-i.i.d. batches (a few classes
per batch, correlated examples) they do not, and the network is trained on one
function and evaluated on another.

Why not simply normalise with the moving averages in training too? Because the
gradient would then ignore the dependence of the normalisation on the batch:
the optimiser could, for instance, grow a bias that the normalisation should
remove, and the moving averages, which chase the activations, would let the
model blow up (the paper reports exactly this). Batch renormalization keeps the
batch statistics *in the computation graph* and corrects their value towards
the moving averages :math:`\mu, \sigma` with two per-channel factors,

.. math::

    r = \operatorname{clip}_{[1/r_{\max},\, r_{\max}]}\!\Bigl(\frac{\sigma_B}{\sigma}\Bigr),
    \qquad
    d = \operatorname{clip}_{[-d_{\max},\, d_{\max}]}\!\Bigl(\frac{\mu_B - \mu}{\sigma}\Bigr),

    \hat{x} = \frac{x - \mu_B}{\sigma_B}\, r + d, \qquad y = \gamma\,\hat{x} + \beta.

Unclipped, :math:`\hat{x} = (x - \mu)/\sigma`: the training output *is* the
inference output. But :math:`r` and :math:`d` are treated as **constants** in
backpropagation (a stop-gradient), so the gradient still sees the batch
statistics :math:`\mu_B, \sigma_B`, as in batch normalization. :math:`r` and
:math:`d` are computed from the moving averages *before* this step updates them.
With :math:`r_{\max} = 1, d_{\max} = 0` it is exactly batch normalization; the
paper starts there and relaxes the clipping while the moving averages settle
(:class:`RenormSchedule`). At inference both methods compute
:math:`y = \gamma\,(x - \mu)/\sigma + \beta`.

**Moving variance, not moving standard deviation.** The paper's Algorithm 1
averages :math:`\sigma`; this implementation averages the (unbiased) variance,
like batch normalization, and uses :math:`\sigma = \sqrt{\hat\sigma^2 + \epsilon}`.
Then the buffers (``running_mean``, ``running_var``, ``num_batches_tracked``),
the ``state_dict`` and the inference computation are those of
``torch.nn.BatchNorm*d``, a batch-norm checkpoint loads unchanged, and with
:math:`r_{\max}=1, d_{\max}=0` the buffers evolve exactly as batch norm's. The two
averages differ only by Jensen's inequality (:math:`\sqrt{\overline{\sigma^2}}
\ge \overline{\sigma}`), a small effect once the batch statistics are stable;
Chainer's implementation makes the same choice.
"""
from __future__ import annotations

from typing import Optional

import torch

from . import _checks
from ._base import ChannelNorm
from .functional import affine
from .stats import count, moments, normalize, reduction_dims, unbiased, update_running

__all__ = ["RenormSchedule", "batch_renorm", "BatchRenorm"]


def _check_clipping(r_max: float, d_max: float) -> None:
    if not r_max >= 1.0:  # also catches NaN
        raise ValueError(
            f"r_max must be at least 1, got {r_max!r}; r is clipped to [1/r_max, r_max], an empty interval "
            f"when r_max < 1 (r_max = 1 fixes r = 1, which is batch normalization)."
        )
    if not d_max >= 0.0:
        raise ValueError(
            f"d_max must be at least 0, got {d_max!r}; d is clipped to [-d_max, d_max], an empty interval "
            f"when d_max < 0 (d_max = 0 fixes d = 0, which is batch normalization)."
        )


class RenormSchedule:
    r"""The clipping bounds :math:`r_{\max}, d_{\max}` as a function of the training step.

    .. math::

        r_{\max}(t) = 1 + (R - 1)\,\lambda_r(t), \qquad d_{\max}(t) = D\,\lambda_d(t),
        \qquad \lambda(t) = \operatorname{clip}_{[0,1]}\Bigl(\frac{t - t_0}{t_{\text{end}} - t_0}\Bigr)

    Batch normalization (:math:`r_{\max}=1, d_{\max}=0`) for the first ``warmup_steps``
    steps :math:`t_0`, then a linear relaxation reaching :math:`R` = ``r_max`` at step
    ``r_max_full_at`` and :math:`D` = ``d_max`` at step ``d_max_full_at``. The paper's
    defaults (§4.1: 5k warm-up steps, :math:`r_{\max}=3` at 40k, :math:`d_{\max}=5` at
    25k) are the defaults; the paper only says the bounds are relaxed "gradually",
    linear is the usual reading. Steps count from 0.

    Args:
        r_max: final :math:`r_{\max}`, at least 1. Default: ``3.0``.
        d_max: final :math:`d_{\max}`, at least 0. Default: ``5.0``.
        warmup_steps: steps of pure batch normalization. Default: ``5000``.
        r_max_full_at: step at which :math:`r_{\max}` reaches ``r_max``. Default: ``40000``.
        d_max_full_at: step at which :math:`d_{\max}` reaches ``d_max``. Default: ``25000``.

    Example:
        >>> s = RenormSchedule()
        >>> s(0), s(5000), s(25000), s(40000)
        ((1.0, 0.0), (1.0, 0.0), (2.142857142857143, 5.0), (3.0, 5.0))
        >>> RenormSchedule.constant(2.0, 1.0)(0)
        (2.0, 1.0)
    """

    def __init__(self, r_max: float = 3.0, d_max: float = 5.0, warmup_steps: int = 5000,
                 r_max_full_at: int = 40000, d_max_full_at: int = 25000) -> None:
        _check_clipping(r_max, d_max)
        if warmup_steps < 0 or r_max_full_at < warmup_steps or d_max_full_at < warmup_steps:
            raise ValueError(
                f"RenormSchedule needs 0 <= warmup_steps <= r_max_full_at and warmup_steps <= d_max_full_at, got "
                f"warmup_steps={warmup_steps}, r_max_full_at={r_max_full_at}, d_max_full_at={d_max_full_at}."
            )
        self.r_max = float(r_max)
        self.d_max = float(d_max)
        self.warmup_steps = int(warmup_steps)
        self.r_max_full_at = int(r_max_full_at)
        self.d_max_full_at = int(d_max_full_at)

    @classmethod
    def constant(cls, r_max: float, d_max: float) -> "RenormSchedule":
        """The same bounds at every step (no warm-up)."""
        return cls(r_max, d_max, warmup_steps=0, r_max_full_at=0, d_max_full_at=0)

    def _progress(self, step: int, full_at: int) -> float:
        if step < self.warmup_steps:
            return 0.0
        if full_at == self.warmup_steps:
            return 1.0
        return min(1.0, (step - self.warmup_steps) / (full_at - self.warmup_steps))

    def __call__(self, step: int) -> tuple[float, float]:
        """``(r_max, d_max)`` at training step ``step`` (0 for the first batch)."""
        r = 1.0 + (self.r_max - 1.0) * self._progress(step, self.r_max_full_at)
        d = self.d_max * self._progress(step, self.d_max_full_at)
        return r, d

    def __repr__(self) -> str:
        return (f"RenormSchedule(r_max={self.r_max}, d_max={self.d_max}, warmup_steps={self.warmup_steps}, "
                f"r_max_full_at={self.r_max_full_at}, d_max_full_at={self.d_max_full_at})")


def batch_renorm(
    x: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    weight: Optional[torch.Tensor] = None,
    bias: Optional[torch.Tensor] = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
    r_max: float = 1.0,
    d_max: float = 0.0,
) -> torch.Tensor:
    r"""Batch renormalization of an ``(N, C, *spatial)`` input.

    In training, with :math:`\sigma_B = \sqrt{\sigma_B^2 + \epsilon}` (biased batch
    variance) and :math:`\sigma = \sqrt{\hat\sigma^2 + \epsilon}` (the running
    variance *before* this call updates it),

    .. math::

        r = \operatorname{sg}\Bigl(\operatorname{clip}_{[1/r_{\max}, r_{\max}]}\frac{\sigma_B}{\sigma}\Bigr),\quad
        d = \operatorname{sg}\Bigl(\operatorname{clip}_{[-d_{\max}, d_{\max}]}\frac{\mu_B - \hat\mu}{\sigma}\Bigr),\quad
        y = \gamma\Bigl(\frac{x - \mu_B}{\sigma_B}\,r + d\Bigr) + \beta

    (sg = stop-gradient), then the running buffers are updated as batch
    normalization updates them (unbiased variance). In evaluation
    :math:`y = \gamma\,(x - \hat\mu)/\sigma + \beta`.

    Args:
        x: input ``(N, C, *spatial)``, floating point.
        running_mean, running_var: buffers ``(C,)``; required, since :math:`r`
            and :math:`d` are defined by them.
        weight, bias: γ and β, ``(C,)`` or ``None``.
        training: use batch statistics corrected by :math:`r, d`, and update
            the buffers. Default: ``False``.
        momentum: factor of the moving average (PyTorch's convention). Default: ``0.1``.
        eps: added to both variances inside the square roots. Default: ``1e-5``.
        r_max: :math:`r_{\max} \ge 1`. Default: ``1.0`` (batch normalization).
        d_max: :math:`d_{\max} \ge 0`. Default: ``0.0`` (batch normalization).

    Returns:
        Tensor of the same shape as ``x``.

    Example:
        >>> rm, rv = torch.zeros(3), torch.ones(3)
        >>> y = batch_renorm(torch.randn(8, 3), rm, rv, training=True, r_max=3.0, d_max=5.0)
        >>> tuple(y.shape)
        (8, 3)
    """
    _checks.check_floating(x, "batch_renorm")
    _checks.check_min_dims(x, 2, "batch_renorm", "(N, C, *spatial)")
    _checks.check_eps(eps)
    _check_clipping(r_max, d_max)
    if running_mean is None or running_var is None:
        raise ValueError("batch_renorm needs running_mean and running_var: r and d are defined by them.")
    dims = reduction_dims("batch", x.dim())
    shape = [1, -1] + [1] * (x.dim() - 2)
    mu = running_mean.reshape(shape)
    sigma = torch.sqrt(running_var.reshape(shape) + eps)      # sigma from the moving variance, pre-update
    if not training:
        _checks.check_finite_input(x, "batch_renorm")
        return affine(normalize(x, mu, running_var.reshape(shape), eps), weight, bias)  # as batch norm
    m = count(x, dims)
    if m <= 1:
        raise ValueError(
            f"batch renormalization in training needs more than 1 value per channel to compute a variance, "
            f"got input of shape {tuple(x.shape)}; use a batch of at least 2 examples or call model.eval()."
        )
    mean_b, var_b = moments(x, dims)                             # mu_B, sigma_B^2 (biased), in the graph
    _checks.check_finite_stats(mean_b, var_b, "batch_renorm")
    inv_sigma_b = torch.rsqrt(var_b + eps)                       # 1 / sigma_B
    # r and d are constants for backprop (stop-gradient), computed before the buffers move.
    r = (torch.sqrt(var_b.detach() + eps) / sigma).clamp(1.0 / r_max, r_max)   # r = clip(sigma_B / sigma)
    d = ((mean_b.detach() - mu) / sigma).clamp(-d_max, d_max)              # d = clip((mu_B - mu) / sigma)
    update_running(running_mean, mean_b.flatten(), momentum)
    update_running(running_var, unbiased(var_b.flatten(), m), momentum)
    # y = gamma * ((x - mu_B)/sigma_B * r + d) + beta, written as (x - mu_B) * scale + shift with the
    # per-channel scale = gamma r / sigma_B and shift = gamma d + beta formed first: the full-size
    # tensor is then touched twice (subtract, multiply-add) instead of six times.
    gamma = weight.reshape(shape) if weight is not None else 1.0
    scale = gamma * r * inv_sigma_b
    shift = gamma * d + (bias.reshape(shape) if bias is not None else 0.0)
    return torch.addcmul(shift, x - mean_b, scale)


class BatchRenorm(ChannelNorm):
    r"""Batch renormalization over the channel axis of an ``(N, C, *spatial)`` input.

    .. math::

        y = \gamma\Bigl(\frac{x - \mu_B}{\sigma_B}\,r + d\Bigr) + \beta \quad\text{(training)},
        \qquad
        y = \gamma\,\frac{x - \hat\mu}{\sqrt{\hat\sigma^2+\epsilon}} + \beta \quad\text{(evaluation)}

    with :math:`r, d` the clipped, stop-gradient corrections of
    :func:`batch_renorm`. The module counts its own training steps in
    ``num_batches_tracked`` (saved in the ``state_dict``) and asks its schedule
    for :math:`(r_{\max}, d_{\max})` at each step; :meth:`clipping` tells the
    current values. Parameters and buffers are named as in ``torch.nn.BatchNorm*d``.

    Args:
        num_features: ``C``, the number of channels.
        eps: added to the variances inside the square roots. Default: ``1e-5``.
        momentum: factor of the moving averages (PyTorch's convention; the
            paper's and Keras's 0.99 is 0.01 here), or ``None`` for a cumulative
            average. Default: ``0.1``.
        affine: learn γ (init 1) and β (init 0). Default: ``True``.
        schedule: a :class:`RenormSchedule`. Default: ``None``, meaning the
            paper's schedule ``RenormSchedule()``, unless ``r_max`` and ``d_max``
            are given.
        r_max, d_max: fixed bounds at every step (shortcut for
            ``schedule=RenormSchedule.constant(r_max, d_max)``); give both or
            neither, and not together with ``schedule``. Default: ``None``.

    Shape:
        - Input: ``(N, C, *spatial)``, any number of spatial axes (zero for an MLP).
        - Output: same shape as the input.

    Example:
        >>> brn = BatchRenorm(3, r_max=3.0, d_max=5.0)
        >>> y = brn(torch.randn(8, 3, 5, 5))
        >>> tuple(y.shape), brn.clipping()
        ((8, 3, 5, 5), (3.0, 5.0))
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, schedule: Optional[RenormSchedule] = None,
                 r_max: Optional[float] = None, d_max: Optional[float] = None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats=True)
        if (r_max is None) != (d_max is None):
            raise ValueError(
                f"give both r_max and d_max for fixed clipping bounds (got r_max={r_max}, d_max={d_max}); "
                f"r_max=1.0, d_max=0.0 is batch normalization."
            )
        if r_max is not None:
            if schedule is not None:
                raise ValueError("give either a schedule or fixed r_max and d_max, not both.")
            schedule = RenormSchedule.constant(r_max, d_max)
        self.schedule = schedule if schedule is not None else RenormSchedule()

    def clipping(self) -> tuple[float, float]:
        """``(r_max, d_max)`` that the next training step will use."""
        return self.schedule(int(self.num_batches_tracked))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        _checks.check_channels_first_input(x, self.num_features, name)
        r_max, d_max, momentum = 1.0, 0.0, 0.0
        if self.training:
            r_max, d_max = self.clipping()          # bounds for this step (counted from 0)
            momentum = self.count_batch()
        return batch_renorm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            training=self.training, momentum=momentum, eps=self.eps,
                            r_max=r_max, d_max=d_max)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"schedule={self.schedule!r}")
