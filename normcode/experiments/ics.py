"""The book's signature experiment: internal covariate shift with and without batch normalization.

Ioffe & Szegedy (2015, arXiv 1502.03167) open with Figure 1: a network of three
fully connected hidden layers of 100 sigmoid units, trained on MNIST with and
without BN, showing (a) test accuracy against training steps and (b, c) the 15th,
50th and 85th percentiles of the input of one sigmoid of the last hidden layer.
Without BN that distribution drifts as the earlier layers learn; with BN it stays
put, and the network learns much faster.

:func:`run_ics_experiment` is the same experiment at small scale on the 8×8 digits
(64 inputs instead of 784), with the setting of chapter 2 of the book.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch

from .data import Split, load_digits
from .models import Net, mlp, record
from .probes import percentile_probe
from .training import History, train

__all__ = ["run_ics_experiment", "median_drift", "layer_median_probe", "median_drifts"]


def run_ics_experiment(use_bn: bool, steps: int = 5000, seed: int = 0, eval_every: int = 50,
                       batch_size: int = 60, lr: float = 0.5, hidden: Sequence[int] = (100, 100, 100),
                       activation: str = "sigmoid", init_std: float = 0.1, unit: int = 0,
                       q: Sequence[float] = (15, 50, 85), data: Optional[Split] = None,
                       progress: Optional[bool] = None) -> History:
    """Train the Figure 1 network with or without BN and watch one last-hidden-layer sigmoid input.

    The setting (chapter 2): 64 inputs (pixels in [0, 1]), ``hidden`` = 3 × 100
    sigmoid units, every weight drawn from N(0, 0.1²) and biases 0, batch 60, plain
    SGD at learning rate 0.5, 5000 steps; with BN, batch normalization sits between
    each linear layer and its sigmoid (the paper's placement). Every ``eval_every``
    steps the test accuracy and the percentiles ``q`` of unit ``unit``'s sigmoid input
    (on the whole test set, the fixed probe batch) are recorded. The probe runs in
    evaluation mode, so the BN network normalizes with its running estimates.

    Args:
        use_bn: insert batch normalization before every sigmoid.
        steps: SGD steps.
        seed: seed of the initialisation, the batches and the split.
        eval_every: evaluate every this many steps.
        batch_size, lr, hidden, activation, init_std: the network and optimiser (see above).
        unit: the watched unit of the last hidden layer.
        q: the percentiles recorded (0–100).
        data: the digits split to use; default ``load_digits(seed=seed)``.
        progress: progress bar (see :func:`~normcode.experiments.training.train`).

    Returns:
        A :class:`~normcode.experiments.training.History` whose ``records["percentiles"]``
        holds ``len(q)`` values per evaluation (``history.series("percentiles")`` is
        ``(len(eval_step), len(q))``).

    Example:
        >>> h = run_ics_experiment(use_bn=True, steps=100)
        >>> tuple(h.series("percentiles").shape)
        (3, 3)
    """
    data = data if data is not None else load_digits(seed=seed)
    model = mlp(in_features=data.X_train[0].numel(), hidden=hidden, out_features=data.num_classes,
                norm="batch" if use_bn else "none", activation=activation, init_std=init_std, seed=seed)
    probe = percentile_probe(data.X_test, layer=-1, unit=unit, q=q)
    return train(model, data, steps=steps, batch_size=batch_size, lr=lr, optimizer="sgd", seed=seed,
                 eval_every=eval_every, record={"percentiles": probe}, progress=progress)


def median_drift(history: History, name: str = "percentiles", column: Optional[int] = None,
                 since: int = 1) -> float:
    """How far the watched median travels during training: max − min over the evaluations at steps ≥ ``since``.

    Step 0 is left out by default: before the first step a BN network's running
    estimates are still their initial values (mean 0, variance 1), so in evaluation
    mode it does not normalize yet and its step-0 percentiles are those of the
    network without BN.

    Args:
        history: from :func:`run_ics_experiment`.
        name: the recorded percentiles.
        column: which percentile is the median; default the middle one.
        since: first training step counted.

    Example:
        >>> h = History(eval_step=[0, 1, 2], records={"percentiles": [[0, 9, 2], [0, 3, 4], [0, 2, 4]]})
        >>> median_drift(h)
        1.0
    """
    values = history.series(name)
    col = values.shape[1] // 2 if column is None else column
    keep = [i for i, s in enumerate(history.eval_step) if s >= since]
    median = values[keep, col]
    return float(median.max() - median.min())


def layer_median_probe(X: torch.Tensor, layer: int = -1,
                       point: str = "pre_activation") -> Callable[[Net], torch.Tensor]:
    """The median of *every* unit's input of one layer on a fixed batch — a probe for ``train(record=...)``.

    Where :func:`~normcode.experiments.probes.percentile_probe` follows one unit,
    this follows all of them, so a claim about a layer does not rest on one unit.

    Args:
        X: ``(N, features)`` fixed probe batch.
        layer: index into ``model.blocks`` (``-1``: last hidden layer).
        point: where to look (see :func:`~normcode.experiments.models.record`).

    Returns:
        ``probe(model) -> (units,)`` medians (``torch.quantile`` at 0.5, linear interpolation).

    Example:
        >>> probe = layer_median_probe(torch.rand(50, 64), layer=0)
        >>> tuple(probe(mlp(seed=0)).shape)
        (100,)
    """
    @torch.no_grad()
    def probe(model: Net) -> torch.Tensor:
        was_training = model.training
        model.eval()                                   # as unit_values: running estimates, no update
        try:
            with record(model, layers=layer, point=point) as seen:
                model(X)
        finally:
            model.train(was_training)
        return torch.quantile(seen[layer].flatten(1).double(), 0.5, dim=0)
    return probe


def median_drifts(history: History, name: str, since: int = 1) -> torch.Tensor:
    """:func:`median_drift` of every column of a record: max − min over the evaluations at steps ≥ ``since``.

    Args:
        history: a :class:`~normcode.experiments.training.History` whose record ``name`` holds one
            value per unit at each evaluation (e.g. from :func:`layer_median_probe`).
        name: the record.
        since: first training step counted (step 0 is left out by default, as in :func:`median_drift`).

    Returns:
        ``(units,)`` ranges.

    Example:
        >>> h = History(eval_step=[0, 1, 2], records={"m": [[9, 0], [1, 3], [2, 4]]})
        >>> median_drifts(h, "m").tolist()
        [1.0, 1.0]
    """
    values = history.series(name)
    keep = [i for i, s in enumerate(history.eval_step) if s >= since]
    if not keep:
        raise ValueError(f"no evaluation at step >= {since}; evaluated steps: {history.eval_step[:5]}")
    kept = values[keep]
    return (kept.max(dim=0).values - kept.min(dim=0).values).double()
