r"""The experiments of the chapter "Why does batch normalization work?", over several seeds.

Three groups of seeded runs, each returning :class:`~normcode.experiments.training.History`
objects so that a notebook only summarizes and asserts:

* :func:`noisy_bn_runs` — Santurkar et al.'s noisy-BN test (arXiv 1805.11604, Section 2.1):
  the same MLP with no normalization, BN, BN followed by injected noise
  (:class:`~normcode.experiments.noisy.NoisyNorm`) and the noise alone, at one or
  more learning rates, scored *in training mode* (batch statistics and noise on);
  :func:`jumpiness` measures how far a watched unit's median moves between evaluations.
* :func:`landscape_record` and :func:`matched_medians` — the loss landscape along the
  gradient and gradient-based ICS, compared at matched loss rather than matched step.
* :func:`linear_chain` and :func:`first_order_error` — Goodfellow et al.'s deep linear
  network (Deep Learning, 2016, Section 8.7.1): without BN the moments of a hidden
  value are a product of every weight below it, so a gradient step that moves all
  weights at once changes them by more than the first-order (one-layer-at-a-time)
  prediction; with BN they are set by :math:`\gamma` and :math:`\beta` alone.

Every run is seeded (model, batches and noise), so a seed gives the same numbers on
every call on one machine; the book asserts its claims on the worst of several seeds
because small networks trained at large learning rates are chaotic across machines.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F

from .noisy import NoisyNorm  # importing noisy registers "noisy_batch" and "noise_only"
from .data import Split
from .landscape_bands import ETAS
from .models import mlp
from .probes import ics_probe, loss_landscape
from .train_mode import train_mode_accuracy_probe, train_mode_percentile_probe
from .training import History, train

__all__ = ["NoisyRuns", "noisy_bn_runs", "jumpiness", "landscape_record", "probe_loss", "matched_medians",
           "MATCHED_KEYS", "without_noise", "linear_chain", "first_order_error"]


@dataclass
class NoisyRuns:
    """What :func:`noisy_bn_runs` returns.

    Attributes:
        histories: ``{norm: [History for each seed]}``; each history records ``"acc"``
            (training-mode test accuracy), ``"pct"`` (15/50/85th percentiles of the watched
            unit) if a watch batch was given, and the landscape and ICS series of
            :func:`landscape_record` for the probed techniques.
        models: ``{norm: [trained model for each seed]}``.
        seeds: the seeds, in the order of the lists.
    """
    histories: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    seeds: tuple = ()

    def final(self, norm: str, name: str = "acc") -> list[float]:
        """The last recorded value of ``name`` for every seed (``"test_accuracy"``: evaluation mode)."""
        return [float(h.series(name)[-1]) for h in self.histories[norm]]


def _bands(etas: torch.Tensor, losses: torch.Tensor, changes: torch.Tensor, g_norm: float, start: float) -> dict:
    """The band edges of :func:`~normcode.experiments.landscape_bands.landscape_bands` for one grid of step sizes."""
    beta = float((changes / (etas * g_norm)).max()) if g_norm > 0 else 0.0
    return {"loss": start, "loss_min": float(losses.min()), "loss_max": float(losses.max()),
            "grad_change_min": float(changes.min()), "grad_change_max": float(changes.max()),
            "beta_smoothness": beta}


def landscape_record(X: torch.Tensor, y: torch.Tensor, etas: Sequence[float] = ETAS,
                     small_etas: Optional[Sequence[float]] = None, ics_layers: Sequence[int] = (4,),
                     lr: float = 0.1) -> Callable[[torch.nn.Module], dict]:
    r"""A probe for :func:`noisy_bn_runs`: the landscape along the gradient and gradient-based ICS.

    The probe returns

    * ``"land"`` — the edges of the loss and gradient-change bands over ``etas``, as
      :func:`~normcode.experiments.landscape_bands.landscape_bands` (loss where the walk
      starts, loss band, gradient-change band, effective β-smoothness);
    * ``"small"`` — the same over ``small_etas``, if given (one walk along the same
      gradient covers both grids);
    * ``"ics{i}"`` — Santurkar et al.'s ICS of weight layer ``i`` (0-based), for ``i`` in
      ``ics_layers``, with the earlier layers stepping at learning rate ``lr``.

    Args:
        X: ``(B, 64)`` the fixed probe batch; y: ``(B,)``.

    Example:
        >>> from normcode.experiments.models import mlp
        >>> out = landscape_record(torch.rand(8, 64), torch.zeros(8, dtype=torch.long), small_etas=(0.01,),
        ...                        ics_layers=(2,))(mlp(hidden=(8, 8, 8), norm="batch", seed=0))
        >>> sorted(out), out["land"]["loss"] == out["small"]["loss"]
        (['ics2', 'land', 'small'], True)
    """
    main = [float(e) for e in etas]
    small = [float(e) for e in small_etas] if small_etas is not None else []
    ics = {i: ics_probe(X, y, layer=i, lr=lr) for i in ics_layers}

    def probe(model: torch.nn.Module) -> dict:
        land = loss_landscape(model, X, y, main + small)
        k = len(main)
        out = {"land": _bands(land.etas[:k], land.losses[:k], land.gradient_change[:k], land.gradient_norm,
                              land.start_loss)}
        if small:
            out["small"] = _bands(land.etas[k:], land.losses[k:], land.gradient_change[k:], land.gradient_norm,
                                  land.start_loss)
        for i, f in ics.items():
            out[f"ics{i}"] = f(model)
        return out

    return probe


@torch.no_grad()
def probe_loss(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    r"""Cross-entropy of ``model`` on ``(X, y)`` in training mode (batch statistics), leaving the model as it was.

    The same number as ``landscape_bands(...)["loss"]`` for a model without injected noise,
    but without copying the model: the normalization layers' running estimates are saved
    and restored around one forward pass.

    Example:
        >>> from normcode.experiments.models import mlp
        >>> net = mlp(hidden=(8,), norm="batch", seed=0)
        >>> before = [b.clone() for b in net.buffers()]
        >>> loss = probe_loss(net, torch.rand(16, 64), torch.zeros(16, dtype=torch.long))
        >>> all(torch.equal(a, b) for a, b in zip(before, net.buffers())), loss > 0
        (True, True)
    """
    saved = [b.clone() for b in model.buffers()]
    was_training = model.training
    model.train()
    try:
        with torch.random.fork_rng(devices=[]):
            return float(F.cross_entropy(model(X), y))
    finally:
        model.train(was_training)
        for b, v in zip(model.buffers(), saved):
            b.copy_(v)


def _nan_like(value):
    if isinstance(value, dict):
        return {k: _nan_like(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return torch.full_like(value, float("nan"), dtype=torch.float32)
    return float("nan")


def _scheduled(probes: dict, eval_every: int, every: dict, merged: Sequence[str] = ()) -> Callable[[torch.nn.Module], dict]:
    """A recorder that runs ``probes[name]`` only at the steps where ``every[name](step)`` is true (NaN elsewhere).

    The ``{name: value}`` results of the probes named in ``merged`` are recorded under their own names.
    """
    state = {"call": 0, "shape": {}}

    def record(model: torch.nn.Module) -> dict:
        step = state["call"] * eval_every
        state["call"] += 1
        out = {}
        for name, f in probes.items():
            if name not in state["shape"] or every[name](step, model):
                value = f(model)
                state["shape"][name] = value
            else:
                value = _nan_like(state["shape"][name])
            if name in merged:
                out.update(value)      # {"land": {...}, "ics4": {...}} recorded as "land.*", "ics4.*"
            else:
                out[name] = value
        return out

    return record


def noisy_bn_runs(data: Split, norms: Sequence[str] = ("none", "batch", "noisy_batch", "noise_only"),
                  seeds: Sequence[int] = (0, 1, 2), steps: int = 300, lr: float = 0.1, eval_every: int = 25,
                  hidden: Sequence[int] = (100,) * 6, watch: Optional[torch.Tensor] = None, layer: int = 3,
                  unit: int = 0, norm_kwargs: Optional[dict] = None, batch_size: int = 60,
                  probed: Optional[dict] = None, probe_every: int = 5,
                  probe_until: Optional[dict] = None, window: Optional[tuple[float, float]] = None,
                  window_batch: Optional[tuple[torch.Tensor, torch.Tensor]] = None) -> NoisyRuns:
    r"""Train one ReLU MLP per normalization and seed, with SGD and momentum 0.9 (Santurkar et al.'s noisy-BN test).

    Every run records, every ``eval_every`` steps, ``"acc"`` (training-mode test accuracy)
    and, if a watch batch is given, ``"pct"`` (15/50/85th percentiles of one unit). A run
    of a technique in ``probed`` is evaluated every ``probe_every`` steps instead, with
    that probe (e.g. :func:`landscape_record`) recorded at every evaluation up to step
    ``probe_until[norm]`` (all of them if absent) and at multiples of ``eval_every`` after
    it (and, with ``window``, wherever the loss lies in the window); the other records stay
    at multiples of ``eval_every``. Records skipped at an evaluation are NaN.

    Args:
        data: the digits :class:`~normcode.experiments.data.Split` (inputs ``(N, 64)``).
        norms: registry names: ``"none"``, ``"batch"``, ``"noisy_batch"``, ``"noise_only"``, ...
        seeds: one run per seed (the seed fixes the initial weights, the batches and the noise).
        steps, lr, eval_every, batch_size: as in :func:`~normcode.experiments.training.train`.
        hidden: widths of the hidden layers.
        watch: ``(B, 64)`` a fixed batch on which the 15/50/85th percentiles of unit
            ``unit`` of hidden layer ``layer`` (its pre-activation, after BN and noise)
            are recorded in training mode; ``None`` records no percentiles.
        norm_kwargs: passed to every normalization layer (e.g. ``{"per_sample": True}``).
        probed: ``{norm: probe}``, a probe returning ``{name: value}`` for some techniques.
        probe_every: the evaluation interval of the probed runs (``eval_every`` must be a multiple of it).
        probe_until: ``{norm: step}``, the last step at which the probe runs every ``probe_every`` steps.
        window, window_batch: ``(lo, hi)`` and ``(X, y)``: after ``probe_until`` the probe also runs at
            every evaluation at which the training-mode loss on ``(X, y)`` lies in ``(lo, hi)``
            (:func:`probe_loss`), so that comparisons at matched loss (:func:`matched_medians`) keep
            every evaluation they use.

    Returns:
        A :class:`NoisyRuns`.

    Example:
        >>> from normcode.experiments.data import load_digits
        >>> runs = noisy_bn_runs(load_digits(seed=0), ["batch"], seeds=(0,), steps=2, eval_every=1, hidden=(8,))
        >>> len(runs.final("batch"))
        1
    """
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed, e.g. seeds=(0, 1, 2)")
    probed, probe_until = dict(probed or {}), dict(probe_until or {})
    if (window is None) != (window_batch is None):
        raise ValueError("give window=(lo, hi) together with window_batch=(X, y), or neither")
    if probed and eval_every % probe_every:
        raise ValueError(f"eval_every ({eval_every}) must be a multiple of probe_every ({probe_every})")
    runs = NoisyRuns(seeds=tuple(seeds))
    for norm in norms:
        for seed in seeds:
            model = mlp(hidden=tuple(hidden), activation="relu", norm=norm, seed=seed,
                        norm_kwargs=None if norm == "none" else norm_kwargs)
            probes = {"acc": train_mode_accuracy_probe(data.X_test, data.y_test)}
            if watch is not None:
                probes["pct"] = train_mode_percentile_probe(watch, layer=layer, unit=unit)
            sparse = lambda step, net: step % eval_every == 0  # noqa: E731
            every = {name: sparse for name in probes}
            interval = eval_every
            if norm in probed:
                until = probe_until.get(norm, steps)

                def dense(step, net, until=until):
                    if step <= until or step % eval_every == 0:
                        return True
                    return window is not None and window[0] < probe_loss(net, *window_batch) < window[1]

                probes["probe"] = probed[norm]
                every["probe"] = dense
                interval = probe_every
            record = _scheduled(probes, interval, every, merged=("probe",))
            history = train(model, data, steps=steps, lr=lr, optimizer="momentum", seed=seed,
                            eval_every=interval, record=record, batch_size=batch_size)
            runs.histories.setdefault(norm, []).append(history)
            runs.models.setdefault(norm, []).append(model)
    return runs


def jumpiness(history: History, name: str = "pct", column: int = 1, every: Optional[int] = None,
              until: Optional[int] = None) -> float:
    r"""Mean absolute change of a recorded percentile between consecutive evaluations.

    .. math::

        J = \frac{1}{K-1}\sum_{k=2}^{K} |q_k - q_{k-1}|

    over the evaluations after step 0 (the first one, before training, is left out).

    Args:
        history: with ``records[name]`` of shape ``(K + 1, 3)`` (15/50/85th percentiles).
        column: which percentile (``1``: the median).
        every: keep only the evaluations at multiples of ``every`` steps, so that runs
            evaluated at different intervals are compared over the same interval.
        until: keep only the evaluations up to this step (to compare runs of different lengths).

    Example:
        >>> h = History(eval_step=[0, 1, 2, 3, 4], records={"pct": [[0, 0, 0], [0, 1, 0], [0, 3, 0], [0, 2, 0], [0, 4, 0]]})
        >>> round(jumpiness(h), 3), jumpiness(h, every=2), jumpiness(h, until=3)
        (1.667, 1.0, 1.5)
    """
    keep = [i for i, s in enumerate(history.eval_step)
            if s > 0 and (every is None or s % every == 0) and (until is None or s <= until)]
    values = history.series(name)[keep, column].double()
    if values.numel() < 2:
        raise ValueError(f"jumpiness needs at least two evaluations after step 0, got {values.numel()}")
    return float((values[1:] - values[:-1]).abs().mean())


def without_noise(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` whose :class:`~normcode.experiments.noisy.NoisyNorm` layers inject no noise.

    Batch statistics are still used in training mode; only :math:`s = 1, \\delta = 0` is fixed.

    Example:
        >>> net = mlp(hidden=(4,), norm="noisy_batch", seed=0)
        >>> quiet = without_noise(net).train()
        >>> x = torch.randn(8, 64)
        >>> bool(torch.allclose(quiet(x), quiet(x)))
        True
    """
    quiet = copy.deepcopy(model)
    for layer in quiet.modules():
        if isinstance(layer, NoisyNorm):
            layer.mean_range, layer.scale_range = 0.0, (1.0, 1.0)
    return quiet


#: The quantities :func:`matched_medians` returns.
MATCHED_KEYS = ("loss band", "gradient change", "beta-smoothness", "ICS l2", "ICS cosine")


def matched_medians(history: History, lo: float = 0.2, hi: float = 1.5, name: str = "land",
                    ics: str = "ics4") -> tuple[int, dict[str, float]]:
    r"""Medians over the evaluations whose probe-batch loss lies in ``(lo, hi)``: equal loss, not equal step.

    Args:
        history: recorded with :func:`landscape_record`.
        lo, hi: the loss window.
        name: ``"land"`` or ``"small"`` (the step-size grid).
        ics: the name the ICS probe was recorded under (skipped if absent).

    Returns:
        ``(n, medians)``: the number of evaluations in the window and ``{key: median}`` for
        the keys of :data:`MATCHED_KEYS` (width of the loss band, top of the gradient-change
        band, effective β-smoothness, and ICS ``l2`` and ``cosine`` when recorded).

    Example:
        >>> h = History(eval_step=[0, 5, 10], records={"land.loss": [2.3, 1.0, 0.1],
        ...     "land.loss_min": [2.2, 0.8, 0.1], "land.loss_max": [2.3, 1.2, 0.1],
        ...     "land.grad_change_max": [0.1, 2.0, 0.5], "land.beta_smoothness": [1.0, 4.0, 2.0]})
        >>> n, medians = matched_medians(h)
        >>> n, {k: round(v, 3) for k, v in medians.items()}
        (1, {'loss band': 0.4, 'gradient change': 2.0, 'beta-smoothness': 4.0})
    """
    loss = history.series(f"{name}.loss")
    keep = (loss > lo) & (loss < hi)
    series = {"loss band": history.series(f"{name}.loss_max") - history.series(f"{name}.loss_min"),
              "gradient change": history.series(f"{name}.grad_change_max"),
              "beta-smoothness": history.series(f"{name}.beta_smoothness")}
    if f"{ics}.l2" in history.records:
        series["ICS l2"] = history.series(f"{ics}.l2")
        series["ICS cosine"] = history.series(f"{ics}.cosine")
    n = int(keep.sum())
    if n == 0:
        return 0, {k: float("nan") for k in series}
    return n, {k: float(v[keep].median()) for k, v in series.items()}


def linear_chain(x: torch.Tensor, weights: torch.Tensor, gamma: Optional[torch.Tensor] = None,
                 beta: Optional[torch.Tensor] = None, eps: float = 1e-5) -> torch.Tensor:
    r"""The hidden value :math:`h` of a deep linear network with one unit per layer.

    Without normalization (``gamma is None``), :math:`h = w_k \cdots w_2 w_1 x`: its
    standard deviation over the batch is :math:`|w_1 \cdots w_k|\,\mathrm{std}(x)`, a
    product of every weight. With batch normalization,
    :math:`h = \gamma\,\hat u + \beta` where :math:`\hat u` normalizes
    :math:`u = w_k \cdots w_1 x` with its batch mean and variance: the mean of
    :math:`h` is :math:`\beta` and its standard deviation :math:`|\gamma|` (up to ε),
    whatever the weights (Goodfellow et al., 2016, Section 8.7.1).

    Args:
        x: ``(m,)`` a batch of scalar inputs.
        weights: ``(k,)`` the weights :math:`w_1, \dots, w_k`.
        gamma, beta: scalars (0-dimensional tensors); both ``None`` for no normalization.

    Returns:
        ``(m,)``.

    Example:
        >>> x = torch.randn(1000)
        >>> h = linear_chain(x, torch.tensor([3.0, -2.0, 0.1]), torch.tensor(2.0), torch.tensor(0.5))
        >>> round(float(h.mean()), 4), round(float(h.std(unbiased=False)), 3)
        (0.5, 2.0)
    """
    if (gamma is None) != (beta is None):
        raise ValueError("give both gamma and beta (batch normalization) or neither (no normalization)")
    u = x * torch.prod(weights)
    if gamma is None:
        return u
    u_hat = (u - u.mean()) / torch.sqrt(u.var(unbiased=False) + eps)
    return gamma * u_hat + beta


def first_order_error(x: torch.Tensor, weights: torch.Tensor, gamma: Optional[float] = None,
                      beta: Optional[float] = None, target_std: float = 2.0, lr: float = 0.05) -> float:
    r"""Relative error of the first-order prediction of how one gradient step changes :math:`\mathrm{std}(h)`.

    With the loss :math:`L = (\mathrm{std}(h) - \text{target})^2` and all parameters
    :math:`\theta` (the weights, and :math:`\gamma, \beta` with BN) updated together,
    :math:`\Delta\theta = -\eta \nabla L`, the first-order prediction of the change is
    :math:`\nabla_\theta \mathrm{std}(h) \cdot \Delta\theta`: it treats every layer's
    update as if the others stayed put. The function returns
    :math:`|\Delta_\text{actual} - \Delta_\text{predicted}| / |\Delta_\text{actual}|`.
    Without BN the products of the weights' updates (second- and higher-order terms)
    make it large; with BN :math:`\mathrm{std}(h) = |\gamma|\,\sigma/\sqrt{\sigma^2+\epsilon}`
    is linear in :math:`\gamma` and independent of the weights, so it vanishes.

    Args:
        x: ``(m,)``; weights: ``(k,)``; gamma, beta: floats, or ``None`` for no normalization.
        target_std: the standard deviation the loss asks for; lr: the step size :math:`\eta`.

    Example:
        >>> x = torch.randn(500, dtype=torch.float64)
        >>> w = torch.full((5,), 1.0, dtype=torch.float64)
        >>> first_order_error(x, w) > 0.05, first_order_error(x, w, 1.0, 0.0) < 1e-9
        (True, True)
    """
    params = [weights.clone().requires_grad_(True)]
    if gamma is not None:
        params += [torch.tensor(float(gamma), dtype=x.dtype, requires_grad=True),
                   torch.tensor(float(beta), dtype=x.dtype, requires_grad=True)]

    def spread(ps):
        return linear_chain(x, *ps).std(unbiased=False)

    before = spread(params)
    grads = torch.autograd.grad(before, params)                       # d std(h) / d theta
    loss_grad = [2 * (before.detach() - target_std) * g for g in grads]  # d L / d theta
    with torch.no_grad():
        steps = [-lr * g for g in loss_grad]
        predicted = sum(float((g * s).sum()) for g, s in zip(grads, steps))
        after = float(spread([p + s for p, s in zip(params, steps)]))
    actual = after - float(before.detach())
    if actual == 0:
        raise ValueError("the step did not change std(h); use a target_std different from the current one")
    return abs(actual - predicted) / abs(actual)
