r"""Watching a layer's input distribution drift while a network trains: figures, animation, live explorer.

Ioffe & Szegedy (2015, arXiv 1502.03167, Figure 1) follow one sigmoid input of
the last hidden layer of a small network, on a fixed set of test examples, while
the network trains: its 15th, 50th and 85th percentiles move a long way without
batch normalization and hardly at all with it. This module draws that evidence
from the :class:`~normcode.experiments.training.History` returned by
:func:`normcode.experiments.run_ics_experiment`:

* :func:`plot_ics_figure` — the paper's figure: (a) test accuracy against steps for
  every run, then one panel per run with the percentile bands of the watched input;
* :func:`quantile_histogram` — a histogram recovered from recorded quantiles
  (equal-mass bins), so one run that records a fine grid of percentiles
  (:data:`PERCENT_GRID`) gives both the bands and the whole distribution;
* :func:`ics_animation` — that distribution, frame by frame, for every run side by
  side, as a :class:`normcode.animation.Player` that plays in a static web page;
* :func:`ics_explorer` — ipywidgets controls (depth, activation, learning rate,
  initialisation scale) that re-run a shorter experiment *only when the reader
  presses the button*, so executing the notebook never starts a run.

Every label goes through :func:`normcode.book.t`, so one code cell serves both
editions of the book.
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import torch

from ..book.i18n import N_, _

__all__ = ["PERCENT_GRID", "percentile_columns", "truncate", "quantile_histogram", "plot_ics_figure",
           "draw_histogram_frame", "ics_animation", "ics_explorer", "INPUT_LABELS", "input_label"]

#: Percentiles 0, 2.5, 5, …, 100 (41 values): they contain 15, 50 and 85 exactly, and
#: are fine enough to redraw the distribution with :func:`quantile_histogram`.
PERCENT_GRID: tuple[float, ...] = tuple(2.5 * i for i in range(41))


def percentile_columns(q: Sequence[float], wanted: Sequence[float] = (15, 50, 85)) -> list[int]:
    """Indices in ``q`` of the percentiles ``wanted`` (each must be in ``q``).

    Example:
        >>> percentile_columns(PERCENT_GRID)
        [6, 20, 34]
    """
    q = [float(v) for v in q]
    out = []
    for w in wanted:
        matches = [i for i, v in enumerate(q) if abs(v - float(w)) < 1e-9]
        if not matches:
            raise ValueError(f"percentile {w} was not recorded; recorded: {q}")
        out.append(matches[0])
    return out


def truncate(history, until: int):
    """The part of a :class:`~normcode.experiments.training.History` evaluated at steps ≤ ``until``.

    Keeps ``eval_step``, ``test_accuracy`` and every record up to that step (and the
    per-step ``step``/``loss`` up to it), so :func:`~normcode.experiments.median_drift`
    can compare the first ``until`` steps of a long run with a short run.

    Example:
        >>> from normcode.experiments import History
        >>> h = History(step=[1, 2], loss=[1.0, 0.5], eval_step=[0, 1, 2], test_accuracy=[0.1, 0.2, 0.3],
        ...             records={"m": [5, 6, 7]})
        >>> truncate(h, 1).records
        {'m': [5, 6]}
    """
    from ..experiments.training import History

    keep = sum(1 for s in history.eval_step if s <= until)
    per_step = sum(1 for s in history.step if s <= until)
    return History(step=history.step[:per_step], loss=history.loss[:per_step],
                   eval_step=history.eval_step[:keep], test_accuracy=history.test_accuracy[:keep],
                   records={k: v[:keep] for k, v in history.records.items()})


def quantile_histogram(quantiles, q: Sequence[float] = PERCENT_GRID, min_width: float = 1e-3):
    r"""A histogram rebuilt from quantiles: bin :math:`k` spans :math:`[Q_k, Q_{k+1}]` and holds
    the probability mass :math:`(q_{k+1} - q_k)/100`.

    .. math::

        \text{density}_k = \frac{(q_{k+1} - q_k)/100}{\max(Q_{k+1} - Q_k,\ \text{min\_width})}

    so the bars integrate to 1 (exactly, unless a bin is narrower than ``min_width``,
    which keeps the density of tied values finite).

    Args:
        quantiles: ``(K,)`` non-decreasing values :math:`Q_k`, the ``q``-th percentiles of a sample.
        q: ``(K,)`` increasing percentiles in [0, 100].
        min_width: the smallest bin width used in the division.

    Returns:
        ``(edges, density)``: NumPy arrays of shapes ``(K,)`` and ``(K-1,)``.

    Example:
        >>> edges, density = quantile_histogram([0.0, 0.5, 1.0], q=[0, 50, 100])
        >>> density.tolist()
        [1.0, 1.0]
    """
    edges = np.asarray(torch.as_tensor(quantiles, dtype=torch.float64), dtype=float)
    q = np.asarray(q, dtype=float)
    if edges.shape != q.shape or edges.ndim != 1 or len(q) < 2:
        raise ValueError(f"quantiles {edges.shape} and q {q.shape} must be two equal 1-D sequences of 2 or more")
    mass = np.diff(q) / 100.0
    return edges, mass / np.maximum(np.diff(edges), min_width)


#: The axis label of the watched value, per activation function (looked up with ``_`` when drawn).
INPUT_LABELS = {"sigmoid": N_("sigmoid input"), "tanh": N_("tanh input"), "relu": N_("ReLU input")}


def input_label(activation: str = "sigmoid") -> str:
    """The axis label of the watched unit's input for ``activation``, in the edition's language.

    Example:
        >>> input_label("tanh")
        'tanh input'
    """
    if activation not in INPUT_LABELS:
        raise ValueError(f"activation must be one of {sorted(INPUT_LABELS)}, got {activation!r}")
    return _(INPUT_LABELS[activation])


def _run_labels(runs: Mapping[str, object]) -> list[str]:
    return list(runs.keys())


def plot_ics_figure(runs: Mapping[str, "History"], q: Sequence[float] = (15, 50, 85),  # noqa: F821
                    name: str = "percentiles", wanted: Sequence[float] = (15, 50, 85),
                    figsize=(11, 3.3), ylim: Optional[tuple[float, float]] = None,
                    activation: str = "sigmoid"):
    """Ioffe & Szegedy's Figure 1 for any number of runs.

    Panel (a): test accuracy against training steps, one line per run. Then one
    panel per run: the percentiles ``wanted`` of the watched input against steps
    (the middle one bold), all on the same y-axis so the drifts compare at a glance.

    Args:
        runs: ``{label: history}`` from :func:`~normcode.experiments.run_ics_experiment`.
        q: the percentiles the histories recorded (e.g. :data:`PERCENT_GRID`).
        name: the record holding them.
        wanted: the three percentiles drawn (low, median, high).
        figsize: size of the figure.
        ylim: y-limits of the percentile panels; default: the range of all runs.
        activation: the watched unit's activation (``"sigmoid"``, ``"tanh"``, ``"relu"``),
            which names the y-axis (:func:`input_label`).

    Returns:
        ``(fig, axes)`` with ``1 + len(runs)`` axes.
    """
    import matplotlib.pyplot as plt

    cols = percentile_columns(q, wanted)
    fig, axes = plt.subplots(1, 1 + len(runs), figsize=figsize)
    axes = np.atleast_1d(axes)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (label, h) in enumerate(runs.items()):
        axes[0].plot(h.eval_step, h.test_accuracy, color=colors[k % len(colors)], label=label)
    axes[0].set_ylim(0, 1.02)
    axes[0].set_xlabel(_("training step"))
    axes[0].set_title(_("(a) test accuracy"))
    axes[0].legend(loc="lower right")
    bands = [h.series(name)[:, cols] for h in runs.values()]
    if ylim is None:
        lo = min(float(b.min()) for b in bands)
        hi = max(float(b.max()) for b in bands)
        pad = 0.05 * (hi - lo + 1e-9)
        ylim = (lo - pad, hi + pad)
    letters = "bcdefgh"
    for k, ((label, h), band) in enumerate(zip(runs.items(), bands)):
        ax = axes[1 + k]
        color = colors[k % len(colors)]
        for j, w in enumerate(wanted):
            ax.plot(h.eval_step, band[:, j], color=color, lw=2.2 if j == len(wanted) // 2 else 1.0,
                    label=f"{w:g}%")
        ax.set_ylim(*ylim)
        ax.set_xlabel(_("training step"))
        ax.set_title(f"({letters[k]}) {label}")
        ax.legend(loc="upper left", fontsize="small", ncol=len(wanted))
    axes[1].set_ylabel(input_label(activation))
    fig.tight_layout()
    return fig, axes


def draw_histogram_frame(axes, runs: Mapping[str, "History"], index: int,  # noqa: F821
                         q: Sequence[float] = PERCENT_GRID, name: str = "percentiles",
                         xlim: tuple[float, float] = (-4, 5), ymax: float = 1.2,
                         start: Optional[Mapping[str, np.ndarray]] = None) -> None:
    """Draw evaluation ``index`` of every run: the distribution of the watched input.

    Each axis gets the :func:`quantile_histogram` of its run at ``history.eval_step[index]``,
    a vertical line at the median, and (if ``start`` holds a run's quantiles) the
    run's earlier distribution as a grey outline for reference.

    Args:
        axes: one matplotlib axis per run.
        runs: ``{label: history}``; every history evaluated at the same steps.
        index: which evaluation to draw.
        q, name: the recorded percentiles and their record name.
        xlim, ymax: fixed limits, so that frames can be compared.
        start: ``{label: quantiles}`` drawn as a grey reference outline.
    """
    colors = ["C0", "C1", "C2", "C3"]
    mid = percentile_columns(q, (50,))[0]
    for k, (ax, (label, h)) in enumerate(zip(np.atleast_1d(axes), runs.items())):
        values = h.series(name)[index]
        if start is not None and label in start:
            e0, d0 = quantile_histogram(start[label], q)
            ax.stairs(d0, e0, color="0.6", lw=1.0, label=_("reference"))
        edges, density = quantile_histogram(values, q)
        ax.stairs(density, edges, fill=True, color=colors[k % len(colors)], alpha=0.55)
        ax.axvline(float(values[mid]), color="k", lw=1.2)
        ax.set_xlim(*xlim)
        ax.set_ylim(0, ymax)
        ax.set_title(f"{label}: " + _("step") + f" {h.eval_step[index]}", fontsize="medium")
        ax.set_xlabel(_("sigmoid input"))
    np.atleast_1d(axes)[0].set_ylabel(_("density"))


def ics_animation(runs: Mapping[str, "History"], steps: Sequence[int], *, name: str,  # noqa: F821
                  q: Sequence[float] = PERCENT_GRID, record: str = "percentiles",
                  xlim: Optional[tuple[float, float]] = None, ymax: float = 1.2,
                  reference_step: Optional[int] = None,
                  figsize=(7.5, 2.6), dpi: float = 72, fps: float = 4.0, **options):
    """The distribution of the watched input over training, every run side by side, as a
    kernel-free :class:`normcode.animation.Player` (one frame per entry of ``steps``).

    Args:
        runs: ``{label: history}`` evaluated at every step in ``steps``.
        steps: the training steps to show, one frame each (keep it short: each frame is a PNG in the page).
        name: the player's name (its HTML id).
        q, record: the recorded percentiles and their record name.
        xlim, ymax: fixed axis limits; ``xlim=None`` spans the smallest and largest recorded
            quantile of every run over the frames shown.
        reference_step: if given, each run's distribution at this step is outlined in grey in every frame.
        figsize, dpi, fps: size of a frame and playing speed.
        options: passed to :func:`normcode.animation.animate` (``hold_last``, ``alt``, ...).

    Returns:
        A :class:`normcode.animation.Player`.
    """
    from ..book import animation

    first = next(iter(runs.values()))
    indices = []
    for s in steps:
        if s not in first.eval_step:
            raise ValueError(f"step {s} was not evaluated; evaluated steps: {first.eval_step[:5]}…")
        indices.append(first.eval_step.index(s))
    if xlim is None:
        shown = [h.series(record)[indices] for h in runs.values()]
        lo, hi = min(float(v.min()) for v in shown), max(float(v.max()) for v in shown)
        pad = 0.03 * (hi - lo + 1e-9)
        xlim = (lo - pad, hi + pad)
    start = None
    if reference_step is not None:
        start = {label: h.series(record)[h.eval_step.index(reference_step)].numpy() for label, h in runs.items()}

    def draw(i, axes):
        draw_histogram_frame(axes, runs, indices[i], q=q, name=record, xlim=xlim, ymax=ymax, start=start)
        axes[0].figure.tight_layout()

    labels = [_("step") + f" {s}" for s in steps]
    return animation.animate(draw, len(indices), name=name, fps=fps, labels=labels, figsize=figsize, dpi=dpi,
                             subplots={"ncols": len(runs), "sharey": True}, **options)


def ics_explorer(steps: int = 1000, run: Optional[Callable] = None, data=None):
    """Live controls for the ICS experiment: depth, activation, learning rate, initialisation scale.

    Pressing the button trains the chosen network twice (without and with batch
    normalization, ``steps`` steps each, with
    :func:`~normcode.experiments.run_ics_experiment`) and draws :func:`plot_ics_figure`.
    Nothing runs when the controls are built (ipywidgets' ``manual`` mode), so a
    notebook that is executed from top to bottom only creates them.

    Args:
        steps: SGD steps per run (1000 takes a few seconds on a laptop).
        run: the experiment, ``run(use_bn, steps=..., hidden=..., activation=..., lr=...,
            init_std=..., data=...)``; default :func:`~normcode.experiments.run_ics_experiment`
            (the tests pass a stub).
        data: the digits split; default loaded on the first run.

    Returns:
        An ``ipywidgets.interactive`` (display it as the last line of a cell), or ``None``
        if ipywidgets is not installed.
    """
    try:
        import ipywidgets as widgets
    except ImportError:
        return None

    def experiment(depth=3, activation="sigmoid", lr=0.5, init_std=0.1):
        import matplotlib.pyplot as plt

        nonlocal data, run
        if run is None:
            from ..experiments import run_ics_experiment as run
        if data is None:
            from ..experiments import load_digits
            data = load_digits(seed=0)
        settings = dict(steps=steps, hidden=(100,) * depth, activation=activation, lr=lr, init_std=init_std,
                        data=data)
        runs = {_("without BN"): run(False, **settings), _("with BN"): run(True, **settings)}
        plot_ics_figure(runs, activation=activation)
        plt.show()

    style = {"description_width": "initial"}
    return widgets.interactive(
        experiment,
        {"manual": True, "manual_name": _("Train both networks")},
        depth=widgets.IntSlider(value=3, min=1, max=6, description=_("hidden layers"), style=style),
        activation=widgets.Dropdown(options=["sigmoid", "tanh", "relu"], value="sigmoid",
                                    description=_("activation"), style=style),
        lr=widgets.FloatLogSlider(value=0.5, base=10, min=-2, max=0.5, step=0.1,
                                  description=_("learning rate"), style=style),
        init_std=widgets.FloatLogSlider(value=0.1, base=10, min=-3, max=0, step=0.5,
                                        description=_("init. std"), style=style),
    )
