r"""A small recurrent network that reads a digit row by row, with or without normalization in its recurrence.

The layer normalization chapter needs a sequence task that trains in seconds.
:func:`digit_rows` turns each 8×8 digit into a sequence of :math:`T = 8` time
steps of 8 pixels (one row per step, top to bottom); :class:`RecurrentClassifier`
reads it with an Elman cell and classifies the digit from its last hidden state.

The cell follows Ba, Kiros & Hinton (2016, arXiv 1607.06450, Section 3.1). With
the summed inputs :math:`a_t = W_{hh} h_{t-1} + W_{xh} x_t` at step :math:`t`,

.. math::

    h_t = \tanh\Big(\frac{\gamma}{\sigma_t} \odot (a_t - \mu_t) + \beta\Big),\qquad
    \mu_t = \frac{1}{H}\sum_{i=1}^{H} a_{t,i},\quad
    \sigma_t = \sqrt{\frac{1}{H}\sum_{i=1}^{H} (a_{t,i} - \mu_t)^2 + \epsilon}

for ``norm="layer"`` (:class:`normcode.LayerNorm` over the :math:`H` hidden
units of one example at one step), :math:`h_t = \tanh(a_t + \beta)` for
``norm="none"``, and for ``norm="batch"`` one :class:`normcode.BatchNorm1d` *per
time step* (each with its own running estimates, as recurrent batch
normalization must, Cooijmans et al. 2016, arXiv 1603.09025).

Sequences of different lengths: :func:`crop_rows` keeps the first ``length``
rows of every digit and fills the rest with NaN. The network treats a row of
NaN as "this sequence has ended": the hidden state is carried unchanged, and
per-step batch normalization computes its statistics from the sequences still
running (:func:`examples_per_step` counts them). A batch-normalized network has
running estimates for ``max_steps`` steps only; a longer sequence at evaluation
raises an error, while layer normalization reads any length.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
from torch import nn

from ..batchnorm import BatchNorm1d
from ..layernorm import LayerNorm
from .data import Split
from .training import History, train

__all__ = ["digit_rows", "crop_rows", "random_lengths", "examples_per_step", "RecurrentClassifier", "hidden_state_rms", "compare_norms"]

_NORMS = ("none", "layer", "batch")


def digit_rows(data: Split) -> Split:
    """The digits as sequences: ``(N, 1, 8, 8)`` images (or ``(N, 64)`` vectors) → ``(N, T=8, 8)``, one row per step.

    Example:
        >>> from normcode.experiments.data import load_digits
        >>> tuple(digit_rows(load_digits()).X_train.shape)
        (1347, 8, 8)
    """
    return data.images((8, 8))


def random_lengths(n: int, low: int, high: int, seed: int = 0) -> torch.Tensor:
    """``n`` sequence lengths drawn uniformly from ``low … high`` (both included), seeded.

    Example:
        >>> lengths = random_lengths(100, 3, 8, seed=0)
        >>> int(lengths.min()) >= 3 and int(lengths.max()) <= 8
        True
    """
    if not 1 <= low <= high:
        raise ValueError(f"lengths must satisfy 1 <= low <= high, got low={low}, high={high}")
    g = torch.Generator().manual_seed(seed)
    return torch.randint(low, high + 1, (n,), generator=g)


def crop_rows(X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Keep the first ``lengths[n]`` steps of sequence ``n`` and mark the others as ended (NaN).

    Args:
        X: ``(N, T, F)`` sequences.
        lengths: ``(N,)`` integers in ``1 … T``.

    Returns:
        ``(N, T, F)``: a copy in which the steps ``t >= lengths[n]`` of sequence ``n`` are NaN.

    Example:
        >>> crop_rows(torch.ones(2, 3, 1), torch.tensor([1, 3]))[:, :, 0]
        tensor([[1., nan, nan],
                [1., 1., 1.]])
    """
    if X.dim() != 3 or lengths.shape != (X.shape[0],):
        raise ValueError(f"expected X of shape (N, T, F) and lengths of shape (N,), got {tuple(X.shape)} "
                         f"and {tuple(lengths.shape)}")
    if int(lengths.min()) < 1 or int(lengths.max()) > X.shape[1]:
        raise ValueError(f"lengths must lie in 1 … T={X.shape[1]}, got {int(lengths.min())} … {int(lengths.max())}")
    ended = torch.arange(X.shape[1]).unsqueeze(0) >= lengths.unsqueeze(1)          # (N, T)
    return X.masked_fill(ended.unsqueeze(-1), float("nan"))


def examples_per_step(X: torch.Tensor) -> list[int]:
    """How many sequences of the batch ``X`` (``(N, T, F)``, NaN after the end) are still running at each step.

    These are the examples from which per-step batch normalization takes its statistics.

    Example:
        >>> examples_per_step(crop_rows(torch.ones(3, 4, 2), torch.tensor([1, 2, 4])))
        [3, 2, 1, 1]
    """
    return [int(n) for n in torch.isfinite(X).all(dim=2).sum(dim=0)]


class RecurrentClassifier(nn.Module):
    r"""An Elman recurrent network with optional normalization of its summed inputs, then a linear head.

    Per step (see the module docstring): :math:`a_t = W_{hh} h_{t-1} + W_{xh} x_t`,
    :math:`h_t = \tanh(\mathrm{norm}(a_t))`, starting from :math:`h_0 = 0`; the
    logits are :math:`W_{hy} h_T + b_y`. The learned bias :math:`\beta` is the
    normalization's own (for ``"none"``, a separate bias vector).

    Args:
        input_size: features per step (8 pixels for a digit row).
        hidden_size: :math:`H`, units of the hidden state.
        num_classes: number of logits.
        norm: ``"none"``, ``"layer"`` (:class:`normcode.LayerNorm` on :math:`a_t`) or
            ``"batch"`` (one :class:`normcode.BatchNorm1d` per step).
        max_steps: steps with their own batch normalization (only for ``"batch"``).
        recurrent_scale: :math:`W_{hh}` is initialized as this multiple of a random
            orthogonal matrix (1.0 keeps the length of :math:`h` on average).
        seed: if given, initialize the parameters from this seed (the global RNG is left untouched).

    Shape:
        input ``(N, T, input_size)`` (rows of NaN after a sequence's end) → logits ``(N, num_classes)``.

    Example:
        >>> net = RecurrentClassifier(norm="layer", seed=0)
        >>> tuple(net(torch.rand(5, 8, 8)).shape)
        (5, 10)
    """

    def __init__(self, input_size: int = 8, hidden_size: int = 64, num_classes: int = 10, norm: str = "none",
                 max_steps: int = 8, recurrent_scale: float = 1.0, seed: Optional[int] = None) -> None:
        super().__init__()
        if norm not in _NORMS:
            raise ValueError(f"norm must be one of {_NORMS} for the recurrent network, got {norm!r}")
        self.norm = norm
        self.max_steps = max_steps
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.input_weight = nn.Linear(input_size, hidden_size, bias=False)      # W_xh
            self.recurrent_weight = nn.Linear(hidden_size, hidden_size, bias=False)  # W_hh
            nn.init.orthogonal_(self.recurrent_weight.weight, gain=recurrent_scale)
            self.head = nn.Linear(hidden_size, num_classes)                          # W_hy, b_y
        if norm == "layer":
            self.normalize = LayerNorm(hidden_size)
        elif norm == "batch":
            self.normalize = nn.ModuleList(BatchNorm1d(hidden_size) for _step in range(max_steps))
        else:
            self.bias = nn.Parameter(torch.zeros(hidden_size))

    def _normalize(self, a: torch.Tensor, t: int) -> torch.Tensor:
        if self.norm == "layer":
            return self.normalize(a)
        if self.norm == "batch":
            if t >= self.max_steps:
                raise ValueError(
                    f"this batch-normalized network keeps statistics for {self.max_steps} time steps, and the "
                    f"input has a step {t + 1}: build it with max_steps >= the longest sequence (or use norm='layer', "
                    "whose statistics do not depend on the step)")
            return self.normalize[t](a)
        return a + self.bias

    def hidden_states(self, x: torch.Tensor) -> torch.Tensor:
        """All hidden states :math:`h_1 … h_T`: ``(N, T, H)`` (a finished sequence repeats its last state)."""
        if x.dim() != 3:
            raise ValueError(f"expected sequences of shape (N, T, features), got {tuple(x.shape)}")
        running = torch.isfinite(x).all(dim=2)                               # (N, T)
        x = torch.where(running.unsqueeze(-1), x, torch.zeros_like(x))
        h = x.new_zeros(x.shape[0], self.recurrent_weight.in_features)
        states = []
        for t in range(x.shape[1]):
            a = self.recurrent_weight(h) + self.input_weight(x[:, t])
            keep = running[:, t]
            if bool(keep.all()):
                h = torch.tanh(self._normalize(a, t))
            elif bool(keep.any()):
                # statistics (for BN) from the sequences still running; the others keep their state
                new = torch.tanh(self._normalize(a[keep], t))
                h = h.index_put((keep.nonzero().squeeze(1),), new)
            states.append(h)
        return torch.stack(states, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden_states(x)[:, -1])


@torch.no_grad()
def hidden_state_rms(model: RecurrentClassifier, X: torch.Tensor) -> torch.Tensor:
    r"""The size of the hidden state at every step: :math:`\sqrt{\frac{1}{NC}\sum_{n,k} h_{t,n,k}^2}` for :math:`t = 1 … T`.

    A state whose size creeps towards 1 is saturating its tanh units (gradients
    :math:`1 - h^2` near 0); one that stays put from step to step has stable dynamics.

    Args:
        model: a :class:`RecurrentClassifier` (run in its current mode).
        X: ``(N, T, F)`` sequences (all of length ``T``).

    Returns:
        ``(T,)``.

    Example:
        >>> tuple(hidden_state_rms(RecurrentClassifier(seed=0), torch.rand(4, 8, 8)).shape)
        (8,)
    """
    return model.hidden_states(X).pow(2).mean(dim=(0, 2)).sqrt()


def compare_norms(make_model: Callable[[str, int], nn.Module], data: Split, norms: Sequence[str],
                  seeds: Sequence[int] = (0, 1, 2), **train_kwargs) -> dict[str, list[History]]:
    """Train one fresh model per normalization and seed; return every :class:`~normcode.experiments.training.History`.

    Works for any model (the chapter uses it for the recurrent network and for
    :func:`~normcode.experiments.models.small_cnn`).

    Args:
        make_model: ``make_model(norm, seed)`` returns a fresh model initialized from ``seed``.
        data: the :class:`~normcode.experiments.data.Split` to train on.
        norms: normalization names, e.g. ``("none", "layer")``.
        seeds: one run per seed (the seed of the initialization and of the batches).
        **train_kwargs: passed to :func:`~normcode.experiments.training.train` (``steps``, ``lr``, ...).

    Returns:
        ``{norm: [History for each seed]}``.

    Example:
        >>> from normcode.experiments.data import load_digits
        >>> runs = compare_norms(lambda norm, seed: RecurrentClassifier(norm=norm, hidden_size=8, seed=seed),
        ...                      digit_rows(load_digits()), ["none", "layer"], seeds=[0], steps=2, eval_every=2)
        >>> sorted(runs), len(runs["layer"])
        (['layer', 'none'], 1)
    """
    return {norm: [train(make_model(norm, seed), data, seed=seed, **train_kwargs) for seed in seeds]
            for norm in norms}
