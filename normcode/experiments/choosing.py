r"""Choosing a normalization (chapter 13): every technique of the book in one table, checked by code.

The table's data lives here, one :class:`TechniqueRow` per technique, keyed by
the names of :func:`normcode.make_norm` and :mod:`normcode.plotting.style`
(``"batch"``, ``"layer"``, ..., ``"spectral"``; ``"rms"`` and ``"dyt"`` for
chapter 14). :func:`technique_table` renders any selection of rows and columns
in the edition's language (every cell is a catalogue key, looked up with
:func:`normcode.book._`), so chapter 14 extends the same table with
``technique_table(["layer", "rms", "dyt"])``.

Three columns are facts a measurement can confirm, and :func:`measure_technique`
measures them on the layer itself:

* *depends on the batch in training* — does one example's output move when its
  batch-mates are replaced (:func:`normcode.experiments.small_batches.batch_dependence`)?
* *inference* — does the layer compute something else in evaluation mode than in
  training mode (running estimates, a frozen :math:`\sigma` estimate)?
* *learnable parameters* — counted on the module for :math:`C` channels.

The rest of the module supports the chapter's other sections: the accuracy sweep
of every technique on one task (:func:`comparison_model`, :func:`accuracy_sweep`),
the textbook variance :math:`E[x^2] - E[x]^2` and its cancellation
(:func:`textbook_variance`, :func:`two_pass_variance`, :class:`TextbookNorm`,
:func:`cancellation`), and the committed speed measurements of
``benchmarks/bench_layers.py`` (:func:`load_benchmark`, :func:`speed_table`).
"""
from __future__ import annotations

import copy
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

import torch
from torch import nn

from ..book.i18n import N_, _
from ..registry import make_norm
from ..spectralnorm import spectral_norm
from ..weightnorm import weight_norm
from .data import Split
from .models import Net, mlp
from .small_batches import BatchSizeSweep, batch_dependence, batch_size_sweep

__all__ = ["TechniqueRow", "ROWS", "BOOK_TECHNIQUES", "COLUMNS", "Table", "technique_table", "layer_for",
           "Measured", "gradient_dependence", "measure_technique", "check_row", "comparison_model", "accuracy_sweep",
           "textbook_variance", "two_pass_variance", "TextbookNorm", "cancellation", "load_benchmark",
           "speed_table", "BENCHMARK_FILE"]


@dataclass(frozen=True)
class TechniqueRow:
    r"""One technique's row of the table. Text fields are English catalogue keys (translated when rendered).

    Attributes:
        key: the technique's name in :func:`normcode.make_norm` and :mod:`normcode.plotting.style`.
        chapter: the chapter of the book that shows it.
        axes: over which values its statistics are computed (or what it divides by).
        inference: what it computes at inference.
        batch_dependent: in training, one example's output depends on the other examples of the batch.
        modes_differ: evaluation mode gives a batch of 16 other outputs than training mode does.
        parameters: the learnable parameters, as a formula in :math:`C`.
        per_channel, constant: learnable parameters added for :math:`C` channels are
            ``per_channel * C + constant`` (checked on the module by :func:`measure_technique`).
        use: where it is typically used.
        cost: what it costs, relative to the layer it normalizes.
    """
    key: str
    chapter: int
    axes: str
    inference: str
    batch_dependent: bool
    modes_differ: bool
    parameters: str
    per_channel: int
    constant: int
    use: str
    cost: str

    def parameter_count(self, channels: int) -> int:
        """Learnable parameters the technique adds to a layer of ``channels`` channels."""
        return self.per_channel * channels + self.constant


_SAME = N_("the same as in training")

ROWS: dict[str, TechniqueRow] = {row.key: row for row in (
    TechniqueRow("batch", 3, N_("N, H, W: per channel, over the batch"),
                 N_("running averages of μ_B and σ²_B"), True, True, N_("2C: γ, β"), 2, 0,
                 N_("CNNs with 16 or more i.i.d. examples per device"),
                 N_("one reduction per channel; free at inference (folds into the layer before)")),
    TechniqueRow("layer", 5, N_("C, H, W: per example"), _SAME, False, False, N_("2C: γ, β"), 2, 0,
                 N_("Transformers, recurrent networks, any batch size"),
                 N_("one reduction per example, also at inference")),
    TechniqueRow("instance", 6, N_("H, W: per example and channel"), _SAME, False, False,
                 N_("2C: γ, β"), 2, 0, N_("style transfer, image generation"),
                 N_("one reduction per example and channel, also at inference")),
    TechniqueRow("group", 7, N_("C/G, H, W: per example and group of channels"), _SAME, False, False,
                 N_("2C: γ, β"), 2, 0, N_("detection, segmentation, video: few images per device"),
                 N_("one reduction per example and group, also at inference")),
    TechniqueRow("weight", 8, N_("none: divides each weight vector by its norm ‖v‖"), _SAME, False, False,
                 N_("C: one length g per output unit"), 1, 0,
                 N_("reinforcement learning, generative models: noise-sensitive tasks"),
                 N_("a norm per output unit of the weight, whatever the batch and image size; free at inference (folds into the weight)")),
    TechniqueRow("mean_only", 8, N_("N, H, W: per channel, the mean only"), N_("running average of μ_B"),
                 True, True, N_("C: β"), 1, 0, N_("together with weight normalization"),
                 N_("one mean per channel, no variance")),
    TechniqueRow("batch_renorm", 9, N_("N, H, W: per channel, corrected by the moving averages (r, d)"),
                 N_("moving averages; the same output as in training while r and d are not clipped"),
                 True, False, N_("2C: γ, β"), 2, 0,
                 N_("small or non-i.i.d. batches where batch norm is wanted"),
                 N_("batch norm plus r and d per channel")),
    TechniqueRow("batch_instance", 10, N_("batch norm's and instance norm's, mixed by a gate ρ per channel"),
                 N_("running averages for the batch-norm part"), True, True, N_("3C: γ, β, ρ"), 3, 0,
                 N_("recognition where style is partly informative"),
                 N_("batch norm and instance norm both")),
    TechniqueRow("switch", 11, N_("instance, layer and batch norm's, mixed by learned weights"),
                 N_("running averages for the batch-norm part"), True, True,
                 N_("2C + 6: γ, β and two sets of 3 weights"), 2, 6,
                 N_("when the right statistics are not known in advance"),
                 N_("three sets of statistics, computed from shared sums")),
    TechniqueRow("spectral", 12, N_("none: divides the weight matrix by its largest singular value σ(W)"),
                 N_("the σ(W) estimate is frozen"), False, False, N_("none: u and v are buffers"), 0, 0,
                 N_("GAN discriminators, Lipschitz bounds"),
                 N_("one power iteration per training step, on the weight; free at inference (folds into the weight)")),
    TechniqueRow("rms", 14, N_("C, H, W: per example, root mean square, no mean"), _SAME, False, False,
                 N_("C: γ"), 1, 0, N_("large language models"),
                 N_("one reduction per example, one pass fewer than layer norm")),
    TechniqueRow("dyt", 14, N_("none: γ tanh(αx) + β elementwise"), _SAME, False, False,
                 N_("2C + 1: γ, β, α"), 2, 1, N_("Transformers without normalization layers"),
                 N_("elementwise, no reduction")),
)}

#: The techniques of chapters 3-12, in the order of the book.
BOOK_TECHNIQUES = ("batch", "layer", "instance", "group", "weight", "mean_only", "batch_renorm",
                   "batch_instance", "switch", "spectral")

#: Column name -> header (a catalogue key).
COLUMNS = {
    "technique": N_("technique"),
    "chapter": N_("chapter"),
    "axes": N_("statistics over"),
    "batch": N_("depends on the batch in training"),
    "inference": N_("at inference"),
    "parameters": N_("learnable parameters (C channels)"),
    "use": N_("typical use"),
    "cost": N_("cost"),
}


class Table:
    """A table of translated strings that shows itself as HTML in Jupyter and the built book (text: Markdown).

    Attributes:
        header: the column headers.
        rows: one list of cells per row.
    """

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        if any(len(row) != len(header) for row in rows):
            raise ValueError(f"every row needs {len(header)} cells, one per column of {list(header)}")
        self.header = [str(h) for h in header]
        self.rows = [[str(cell) for cell in row] for row in rows]

    def to_markdown(self) -> str:
        """The table in Markdown (pipes in cells escaped)."""
        def line(cells):
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
        return "\n".join([line(self.header), "|" + "---|" * len(self.header)] + [line(r) for r in self.rows])

    def to_html(self) -> str:
        """The table as an HTML ``<table>`` (cells escaped): what Jupyter and the built book show."""
        row = lambda cells, tag: "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"
        return ("<table class=\"table\">\n<thead>" + row(self.header, "th") + "</thead>\n<tbody>\n"
                + "\n".join(row(r, "td") for r in self.rows) + "\n</tbody>\n</table>")

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return self.to_markdown()

    def column(self, header: str) -> list[str]:
        """The cells of one column, by its (translated) header."""
        return [row[self.header.index(header)] for row in self.rows]


def _cell(row: TechniqueRow, column: str) -> str:
    from ..plotting import style

    if column == "technique":
        return f"{style.short_label(row.key)} ({style.label(row.key)})"
    if column == "chapter":
        return str(row.chapter)
    if column == "batch":
        return _("yes") if row.batch_dependent else _("no")
    return _({"axes": row.axes, "inference": row.inference, "parameters": row.parameters,
              "use": row.use, "cost": row.cost}[column])


def technique_table(keys: Sequence[str] = BOOK_TECHNIQUES,
                    columns: Sequence[str] = ("technique", "chapter", "axes", "batch", "inference",
                                              "parameters")) -> Table:
    """The rows ``keys`` of the table, with ``columns`` (names of :data:`COLUMNS`), in the edition's language.

    Example:
        >>> print(technique_table(["batch"], ["technique", "batch"]))
        | technique | depends on the batch in training |
        |---|---|
        | BN (batch norm) | yes |
    """
    unknown = [k for k in keys if k not in ROWS]
    if unknown:
        raise ValueError(f"no table row for {unknown}; rows exist for {list(ROWS)}")
    bad = [c for c in columns if c not in COLUMNS]
    if bad:
        raise ValueError(f"unknown columns {bad}; choose from {list(COLUMNS)}")
    return Table([_(COLUMNS[c]) for c in columns], [[_cell(ROWS[k], c) for c in columns] for k in keys])


# --------------------------------------------------------------------------- the checks


def layer_for(key: str, channels: int = 8) -> nn.Module:
    r"""A module of technique ``key`` that maps ``(N, channels, H, W)`` to the same shape.

    Activation normalizations come from :func:`normcode.make_norm`; weight and
    spectral normalization are applied to a 1×1 convolution (``channels`` to
    ``channels``), the layer they would reparametrize. Spectral normalization starts
    with 1000 power iterations, so that the small step-to-step change of its estimate
    of :math:`\sigma` in training mode does not pass for a dependence on the batch.
    """
    if key == "weight":
        return weight_norm(nn.Conv2d(channels, channels, 1))
    if key == "spectral":
        return spectral_norm(nn.Conv2d(channels, channels, 1), warmup_iterations=1000)
    if key == "batch_renorm":   # chapter 9's bounds from the first step (the default warm-up would be BN)
        return make_norm(key, channels, r_max=3.0, d_max=5.0)
    return make_norm(key, channels)


def _added_parameters(key: str, channels: int) -> int:
    count = lambda module: sum(p.numel() for p in module.parameters() if p.requires_grad)
    layer = layer_for(key, channels)
    if key in ("weight", "spectral"):
        return count(layer) - count(nn.Conv2d(channels, channels, 1))
    return count(layer)


def gradient_dependence(layer: nn.Module, x: torch.Tensor, others: torch.Tensor, draws: int = 20,
                        seed: int = 0) -> float:
    r"""Largest change of the gradient of one example's output with respect to its own input, over batch-mates.

    As :func:`~normcode.experiments.small_batches.batch_dependence` (``draws`` random sets of
    ``min(3, K)`` batch-mates from ``others``, training mode, a fresh copy each), but for
    :math:`\partial (\mathbf u \cdot f(x \mid \text{batch}))/\partial x` with a fixed random
    :math:`\mathbf u`: a layer can give an example the same output in every batch and still
    pass it a gradient that depends on the batch (batch renormalization while r and d are not
    clipped).
    """
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(x.shape[1:], generator=g)
    mates = min(3, others.shape[0])
    grads = []
    for _draw in range(draws):
        idx = torch.randperm(others.shape[0], generator=g)[:mates]
        net = copy.deepcopy(layer).train()      # a fresh copy per draw, as batch_dependence
        xi = x.clone().requires_grad_(True)
        out = net(torch.cat([xi, others[idx]]))[0]
        grad, = torch.autograd.grad((out * u).sum(), xi)
        grads.append(grad)
    return max(float((gr - grads[0]).abs().max()) for gr in grads)


@dataclass(frozen=True)
class Measured:
    """What :func:`measure_technique` found for one technique.

    Attributes:
        output_change: largest change of one example's output when its batch-mates change (training mode).
        gradient_change: the same for the gradient of that output with respect to the example's input.
        mode_gap: largest difference between training-mode and evaluation-mode outputs of one batch.
        parameters: learnable parameters the technique adds, counted on the module.
    """
    output_change: float
    gradient_change: float
    mode_gap: float
    parameters: int

    @property
    def batch_change(self) -> float:
        """The larger of the output's and the gradient's change: how much training depends on batch-mates."""
        return max(self.output_change, self.gradient_change)


def measure_technique(key: str, channels: int = 8, seed: int = 0, spatial: tuple[int, int] = (4, 4)) -> Measured:
    r"""Measure the three checkable columns of technique ``key`` on a layer of ``channels`` channels.

    Inputs are ``(N, C, *spatial)`` (default ``(N, C, 4, 4)``) with mean 1 and standard deviation 3
    per value; with ``spatial=(1, 1)`` a batch of 4 gives batch statistics of 4 values per
    channel, small enough for batch renormalization's ``r`` to be clipped. The
    layer first runs 30 training-mode steps on such batches of 16 so that running estimates
    settle; then, on a copy each:

    * output change: :func:`~normcode.experiments.small_batches.batch_dependence` of one
      example among 20 draws of batch-mates, and gradient change: :func:`gradient_dependence`;
    * mode gap: :math:`\max |f_\text{train}(x) - f_\text{eval}(x)|` on a fresh batch of 16.

    Returns:
        A :class:`Measured`.
    """
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    if len(spatial) != 2 or min(spatial) < 1:
        raise ValueError(f"spatial must be (H, W) with H, W >= 1, got {spatial}")
    draw = lambda n: 3 * torch.randn(n, channels, *spatial, generator=g) + 1
    layer = layer_for(key, channels).train()
    with torch.no_grad():
        for _step in range(30):
            layer(draw(16))
    pool = draw(41)
    change = batch_dependence(layer, pool[:1], pool[1:], draws=20, seed=seed)
    grad_change = gradient_dependence(layer, pool[:1], pool[1:], draws=20, seed=seed)
    x = draw(16)
    with torch.no_grad():
        in_train, in_eval = copy.deepcopy(layer).train()(x), copy.deepcopy(layer).eval()(x)
    return Measured(change, grad_change, float((in_train - in_eval).abs().max()), _added_parameters(key, channels))


def check_row(key: str, measured: Measured, channels: int = 8, clear: float = 1e-3,
              zero: float = 1e-5) -> dict[str, bool]:
    """Whether the table's row ``key`` agrees with ``measured``, column by column.

    A "yes" needs a measured change above ``clear``; a "no" needs one below ``zero``
    (the range between counts as disagreement, so a borderline measurement fails).

    Returns:
        ``{"batch": ok, "inference": ok, "parameters": ok}``.
    """
    row = ROWS[key]
    agrees = lambda claim, value: value > clear if claim else value < zero
    return {"batch": agrees(row.batch_dependent, measured.batch_change),
            "inference": agrees(row.modes_differ, measured.mode_gap),
            "parameters": row.parameter_count(channels) == measured.parameters}


# --------------------------------------------------------------------------- every technique on one task


#: Techniques of the accuracy sweep: those that can normalize a fully connected layer.
SWEEP_TECHNIQUES = ("none", "batch", "batch_renorm", "layer", "group", "switch", "weight")


def comparison_model(norm: str, seed: int, data: Optional[Split] = None, hidden: Sequence[int] = (64,)) -> Net:
    """The MLP of the accuracy sweep: 64 → ``hidden`` (ReLU) → 10, normalization ``norm`` after every hidden Linear.

    ``"group"`` uses 4 groups; ``"batch_renorm"`` fixed bounds :math:`r_{max} = 3, d_{max} = 5` from
    the first step (chapter 9's bounds without the warm-up, which would make it batch norm
    for a short run); ``"weight"`` is chapter 8's weight normalization of every Linear with the
    data-dependent initialisation on the first 100 training examples of ``data``.
    """
    if norm == "weight":
        from .reparam import wn_mlp

        if data is None:
            raise ValueError("weight normalization needs data= for its data-dependent initialisation")
        return wn_mlp("weight", hidden=hidden, activation="relu", init_batch=data.X_train[:100], seed=seed)
    kwargs = {"group": {"num_groups": 4}, "batch_renorm": {"r_max": 3.0, "d_max": 5.0}}.get(norm)
    return mlp(norm=norm, hidden=hidden, activation="relu", norm_kwargs=kwargs, seed=seed)


def accuracy_sweep(data: Split, norms: Sequence[str] = SWEEP_TECHNIQUES, batch_sizes: Sequence[int] = (2, 8, 64),
                   seeds: Sequence[int] = (0, 1, 2), steps: int = 200, lr: float = 0.1,
                   optimizer: str = "sgd") -> BatchSizeSweep:
    """Test accuracy of :func:`comparison_model` for every technique, batch size :math:`m` and seed.

    The same optimizer, learning rate ``lr`` and number of ``steps`` for every run
    (:func:`~normcode.experiments.small_batches.batch_size_sweep`); accuracy in evaluation mode.
    """
    return batch_size_sweep(lambda norm, seed: comparison_model(norm, seed, data), data, batch_sizes,
                            norms=norms, seeds=seeds, steps=steps, lr=lr, optimizer=optimizer)


# --------------------------------------------------------------------------- the textbook variance


def textbook_variance(x: torch.Tensor, dims: Union[int, Sequence[int]]) -> torch.Tensor:
    r"""The one-pass textbook formula :math:`\sigma^2 = E[x^2] - E[x]^2` over ``dims`` (keepdim).

    Cancels catastrophically when :math:`|\mu| \gg \sigma`: both terms are near
    :math:`\mu^2` and their rounding errors, of order :math:`\mu^2` times the machine
    epsilon, can exceed :math:`\sigma^2` itself. Shown for that reason; never used by normcode.
    """
    mean = x.mean(dims, keepdim=True)
    return (x * x).mean(dims, keepdim=True) - mean * mean


def two_pass_variance(x: torch.Tensor, dims: Union[int, Sequence[int]]) -> torch.Tensor:
    r"""The two-pass variance :math:`\frac1m\sum (x - \mu)^2` over ``dims`` (keepdim): the mean first, then the deviations."""
    centred = x - x.mean(dims, keepdim=True)
    return (centred * centred).mean(dims, keepdim=True)


class TextbookNorm(nn.Module):
    r"""Normalization written as the textbook formula: :math:`y = \gamma (x - \mu)/\sqrt{E[x^2] - \mu^2 + \epsilon} + \beta`.

    Composed torch operations with autograd, training-mode statistics only (no running
    estimates): the "plain formula" rows of ``benchmarks/bench_layers.py``.

    Args:
        shape: ``over="batch"``: the number of channels :math:`C` (dimension 1 of the input;
            one γ, β each); ``over="features"``: the trailing shape normalized over, as
            ``torch.nn.LayerNorm``'s ``normalized_shape`` (γ, β of that shape).
        over: ``"batch"`` (every dimension but 1, as batch norm) or ``"features"`` (the
            trailing dimensions, as layer norm).
        eps: added to the variance.

    Example:
        >>> x = torch.randn(8, 3, 4, 4)
        >>> bool((TextbookNorm(3)(x) - torch.nn.BatchNorm2d(3)(x)).abs().max() < 1e-4)
        True
    """

    def __init__(self, shape: Union[int, Sequence[int]], over: str = "batch", eps: float = 1e-5) -> None:
        super().__init__()
        if over not in ("batch", "features"):
            raise ValueError(f"over must be 'batch' or 'features', got {over!r}")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if over == "batch" and len(shape) != 1:
            raise ValueError(f"over='batch' takes the number of channels, got shape {shape}")
        self.over, self.eps, self.shape = over, eps, shape
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.over == "batch":
            dims = [0] + list(range(2, x.dim()))
            view = [1, -1] + [1] * (x.dim() - 2)
        else:
            dims, view = list(range(x.dim() - len(self.shape), x.dim())), list(self.shape)
        mean = x.mean(dims, keepdim=True)
        var = textbook_variance(x, dims)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight.view(view) + self.bias.view(view)


def cancellation(offsets: Sequence[float], n: int = 1000, spread: float = 1.0, seed: int = 0,
                 dtype: torch.dtype = torch.float32) -> dict[str, list[float]]:
    r"""Relative error of the textbook and two-pass variances of ``offset + spread·N(0, 1)`` in ``dtype``.

    For each offset, ``n`` values are drawn in float64, converted to ``dtype``, and
    both formulas are evaluated in ``dtype``; the reference is the two-pass variance of
    the *same converted values* in float64, so the error is the formula's alone.

    Returns:
        ``{"textbook": [...], "two_pass": [...], "textbook_value": [...]}``: relative errors
        :math:`|\hat\sigma^2 - \sigma^2| / \sigma^2` per offset, and the textbook values themselves.
    """
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(n, generator=g, dtype=torch.float64)
    result: dict[str, list[float]] = {"textbook": [], "two_pass": [], "textbook_value": []}
    for offset in offsets:
        x = (offset + spread * base).to(dtype)
        reference = float(two_pass_variance(x.double(), 0))
        textbook = float(textbook_variance(x, 0))
        result["textbook"].append(abs(textbook - reference) / reference)
        result["two_pass"].append(abs(float(two_pass_variance(x, 0)) - reference) / reference)
        result["textbook_value"].append(textbook)
    return result


# --------------------------------------------------------------------------- the speed table


#: Where ``benchmarks/bench_layers.py --json`` writes the committed measurements: inside the package
#: (package data), so that an installed copy (Colab) can show them too.
BENCHMARK_FILE = Path(__file__).resolve().parent / "results" / "bench_layers.json"


def load_benchmark(path: Union[str, Path, None] = None) -> dict:
    """The committed measurements of ``benchmarks/bench_layers.py`` (``{"meta": {...}, "rows": [...]}``).

    Default: :data:`BENCHMARK_FILE`, shipped with the package. Nothing is measured here.
    """
    path = Path(path) if path is not None else BENCHMARK_FILE
    if not path.exists():
        raise FileNotFoundError(f"no benchmark results at {path}; run "
                                f"`python benchmarks/bench_layers.py --json {path}` in the repository")
    return json.loads(path.read_text(encoding="utf-8"))


def speed_table(results: dict, names: Sequence[str], size: str = "large") -> Table:
    """Rows ``names`` of the benchmark results for inputs of ``size``: time per step and ratio to torch.

    Columns: the row's name, the input shape, the time of one training step (forward and
    backward) of the row's module and of torch's (medians over the timed blocks), the
    ratio of those medians, and the ratio of the two fastest blocks. On a shared machine
    the two ratios can disagree; a difference between rows means something only where
    both ratios show it.
    """
    found = {(r["name"], r["size"]): r for r in results["rows"]}
    missing = [n for n in names if (n, size) not in found]
    if missing:
        raise ValueError(f"no {size!r} row named {missing} in the results; rows: {sorted(found)}")
    fmt = lambda s: f"{s * 1e6:.0f} µs" if s < 1e-3 else f"{s * 1e3:.1f} ms"
    rows = [[n, found[n, size]["shape"], fmt(found[n, size]["ours_s"]), fmt(found[n, size]["torch_s"]),
             f"{found[n, size]['ratio']:.2f}", f"{found[n, size]['ratio_min']:.2f}"] for n in names]
    return Table([_("row"), _("input shape"), _("this row's module"), _("torch's layer"), _("ratio"),
                  _("ratio of the fastest blocks")], rows)
