r"""Why the moving averages cannot simply replace the batch statistics in training (Ioffe 2017, §2).

Batch normalization normalizes with the statistics of the current mini-batch, so
in training an example's output depends on its batch-mates, and inference (which
uses the moving averages :math:`\hat\mu, \hat\sigma`) computes another function.
The obvious fix is to normalize with the moving averages in training too:

.. math::

    y = \gamma\,\frac{x - \hat\mu}{\hat\sigma} + \beta, \qquad \hat\mu, \hat\sigma \text{ treated as constants.}

:class:`MovingAverageNorm` is that fix. Its forward pass is *exactly* batch
renormalization's with unclipped :math:`r, d` (:class:`normcode.BatchRenorm` with
``r_max = d_max = inf``), because :math:`\frac{x-\mu_B}{\sigma_B}\,r + d =
\frac{x - \hat\mu}{\hat\sigma}` when :math:`r = \sigma_B/\hat\sigma` and
:math:`d = (\mu_B - \hat\mu)/\hat\sigma`. The backward passes differ. Batch
renormalization differentiates through :math:`\mu_B` and :math:`\sigma_B`, as
batch normalization does; the naive layer treats the whole normalization as a
fixed affine map, so the gradient "ignores" it. Nothing then stops a step from
moving the mean or scale of :math:`x` and the moving averages from chasing it,
which is the instability the paper describes.
"""
from __future__ import annotations

from typing import Optional

import torch

from .._base import ChannelNorm
from .. import _checks
from ..stats import count, moments, reduction_dims, unbiased, update_running

__all__ = ["MovingAverageNorm", "shift_and_scale_gradient", "paper_schedule", "non_iid_train_mode_accuracy",
           "non_iid_run"]


class MovingAverageNorm(ChannelNorm):
    r"""Normalization by the moving averages in training as well, with no gradient through them.

    .. math::

        y = \gamma\,\frac{x - \hat\mu}{\sqrt{\hat\sigma^2 + \epsilon}} + \beta

    with :math:`\hat\mu, \hat\sigma^2` the running estimates *before* this batch updates them
    (the same moment :class:`normcode.BatchRenorm` reads them), updated afterwards exactly as
    batch normalization updates them. A teaching layer: it shows what batch renormalization's
    :math:`r` and :math:`d` are for.

    Args:
        num_features: ``C``.
        eps, momentum, affine: as for :class:`normcode.BatchNorm`.

    Shape:
        - Input: ``(N, C, *spatial)``.
        - Output: same shape as the input.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        _checks.check_floating(x, name)
        _checks.check_min_dims(x, 2, name, "(N, C, *spatial)")
        _checks.check_channels(x, self.num_features, name)
        shape = [1, -1] + [1] * (x.dim() - 2)
        mean = self.running_mean.clone().reshape(shape)            # constants: no gradient flows into them
        std = torch.sqrt(self.running_var.clone().reshape(shape) + self.eps)
        if self.training:
            momentum = self.count_batch()
            dims = reduction_dims("batch", x.dim())
            with torch.no_grad():
                mean_b, var_b = moments(x, dims)
                update_running(self.running_mean, mean_b.flatten(), momentum)
                update_running(self.running_var, unbiased(var_b.flatten(), count(x, dims)), momentum)
        y = (x - mean) / std
        if self.weight is not None:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y


def _register() -> None:
    from ..registry import available, register

    if "moving_average" not in available():
        register("moving_average", MovingAverageNorm)


_register()


# --------------------------------------------------------------------------- chapter 9's experiments


def shift_and_scale_gradient(layer: torch.nn.Module, x: torch.Tensor, upstream: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""How strongly the gradient pushes a layer's input along the two directions a normalization removes.

    For :math:`L = \sum_{i,c} g_{ic}\,y_{ic}` with :math:`y` = ``layer(x)`` (in training mode), returns
    per channel

    .. math::

        s_c = \sum_i \frac{\partial L}{\partial x_{ic}}, \qquad
        t_c = \sum_i \frac{\partial L}{\partial x_{ic}}\,(x_{ic} - \mu_{B,c}),

    the derivatives of :math:`L` with respect to shifting every example of channel :math:`c` by the same
    amount and to scaling it about its batch mean. A layer that normalizes by the batch statistics
    *inside the graph* (batch normalization, batch renormalization) gives :math:`s = t = 0`: its output
    does not change under those moves, and the gradient knows it. A layer that divides by constants
    (:class:`MovingAverageNorm`) gives :math:`s, t \ne 0`. The layer is run on a copy, so its buffers
    do not move.

    Args:
        layer: a normalization layer over ``C`` channels.
        x: ``(m, C)`` input batch.
        upstream: ``(m, C)`` upstream gradient :math:`g`.

    Returns:
        ``(s, t)``, each ``(C,)``.
    """
    import copy

    if x.shape != upstream.shape or x.dim() != 2:
        raise ValueError(f"x and upstream must both be (m, C), got {tuple(x.shape)} and {tuple(upstream.shape)}")
    net = copy.deepcopy(layer).train()
    x = x.detach().clone().requires_grad_(True)
    (net(x) * upstream).sum().backward()
    grad = x.grad
    return grad.sum(0), (grad * (x.detach() - x.detach().mean(0))).sum(0)


def paper_schedule(divide_by: int = 100) -> "RenormSchedule":
    """The paper's clipping schedule (§4.1) with its step counts divided by ``divide_by``.

    Ioffe (2017) trains with batch normalization (:math:`r_{\\max}=1, d_{\\max}=0`) for 5,000 steps,
    then relaxes the bounds to :math:`r_{\\max}=3` by step 40,000 and :math:`d_{\\max}=5` by step 25,000.
    ``paper_schedule(100)`` does the same in 50, 400 and 250 steps.
    """
    from ..batchrenorm import RenormSchedule

    if divide_by < 1:
        raise ValueError(f"divide_by must be a positive integer, got {divide_by}")
    return RenormSchedule(r_max=3.0, d_max=5.0, warmup_steps=5000 // divide_by,
                          r_max_full_at=40000 // divide_by, d_max_full_at=25000 // divide_by)


@torch.no_grad()
def non_iid_train_mode_accuracy(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int,
                                k: int, seed: int = 0) -> float:
    """Accuracy in *training* mode on test batches built like the training batches (``k`` classes each).

    The test set is cut into ``len(X) // batch_size`` batches drawn by
    :func:`~normcode.experiments.data.non_iid_batches` (each from ``k`` random classes); every
    batch is normalized with its own statistics, as it would be in a training step. Runs on a
    copy with momentum 0, so the running estimates of ``model`` do not move.

    Args:
        model: a network with batch normalization or batch renormalization.
        X: ``(N, *features)``; y: ``(N,)`` labels.
        batch_size: examples per batch, at least 2. k: classes per batch.
        seed: seed of the batches.

    Returns:
        The fraction of the examples (over all batches) classified correctly.
    """
    from .data import non_iid_batches
    from .sweeps import _frozen_copy

    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2 in training mode, got {batch_size}")
    net = _frozen_copy(model).train()
    correct, seen = 0, 0
    for idx in non_iid_batches(y, batch_size, k, seed=seed, num_batches=len(y) // batch_size):
        correct += int((net(X[idx]).argmax(dim=1) == y[idx]).sum())
        seen += len(idx)
    return correct / seen


def non_iid_run(norm: str, data, seed: int, batch_size: int = 4, k: int = 2, steps: int = 800,
                lr: float = 0.05, eval_every: int = 100, schedule=None,
                hidden: tuple[int, ...] = (100, 100)):
    """Train a ReLU MLP with ``norm`` ("batch" or "batch_renorm") on batches drawn from ``k`` classes.

    Momentum SGD on :func:`~normcode.experiments.data.non_iid_batches`; at every evaluation the
    test accuracy in inference mode (moving averages) and in training mode on non-i.i.d. test
    batches (:func:`non_iid_train_mode_accuracy`, recorded as ``"train_mode"``) are recorded.

    Args:
        norm: ``"batch"`` or ``"batch_renorm"`` (any registry name works).
        data: a :class:`~normcode.experiments.data.Split` (flat or image inputs).
        seed: seed of the initialisation, the batches and the run.
        batch_size, k: the training batches: ``batch_size`` examples from ``k`` classes.
        steps, lr, eval_every: as for :func:`~normcode.experiments.training.train`.
        schedule: the :class:`~normcode.RenormSchedule` of batch renorm; default
            :func:`paper_schedule` (the paper's steps divided by 100).
        hidden: widths of the hidden layers.

    Returns:
        A :class:`~normcode.experiments.training.History`; the trained model is ``history.model``.
    """
    from .data import non_iid_batches
    from .models import mlp
    from .training import train

    kwargs = {"schedule": schedule if schedule is not None else paper_schedule()} if norm == "batch_renorm" else None
    model = mlp(hidden=hidden, activation="relu", norm=norm, norm_kwargs=kwargs, seed=seed)
    probe = {"train_mode": lambda m: non_iid_train_mode_accuracy(m, data.X_test, data.y_test, batch_size, k, seed)}
    history = train(model, data, steps=steps, lr=lr, optimizer="momentum", seed=seed, eval_every=eval_every,
                    batch_sampler=non_iid_batches(data.y_train, batch_size, k, seed=seed), record=probe)
    history.model = model
    return history
