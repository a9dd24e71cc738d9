"""One look for every figure of the book: each technique has one colour, one line style, one name.

Batch normalization is orange with a solid line in chapter 2, in chapter 13 and
in every chapter between; "no normalization" is always blue. A figure asks for a
technique's style by the name the registry uses (:func:`normcode.make_norm`)::

    from normcode.plotting import style
    ax.plot(steps, accuracy, **style.line("batch"))        # color, linestyle, label (translated)
    ax.legend()

Labels are catalogue keys (:mod:`normcode.book.i18n`), so the same call gives
"batch norm" in the English edition and "배치 정규화" in the Korean one.
:func:`apply_style` sets the matplotlib defaults every notebook starts from
(called by :func:`normcode.book.setup`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

from ..book.i18n import N_, _

__all__ = ["Technique", "TECHNIQUES", "technique", "line", "label", "short_label", "color", "apply_style"]


@dataclass(frozen=True)
class Technique:
    """How one technique looks in every figure.

    Attributes:
        label: its name in legends and titles (an English catalogue key).
        short: its abbreviation (BN, LN, ...), also a catalogue key.
        color: a matplotlib colour.
        linestyle: a matplotlib line style.
        marker: a marker for line plots with few points.
    """
    label: str
    short: str
    color: str
    linestyle: str = "-"
    marker: str = "o"


#: Registry name -> look. Colours follow matplotlib's tab10 order for the main
#: techniques, so a reader's eye can carry "orange = BN" from chapter to chapter.
TECHNIQUES: Dict[str, Technique] = {
    "none": Technique(N_("no normalization"), N_("no norm"), "#1f77b4"),
    "batch": Technique(N_("batch norm"), N_("BN"), "#ff7f0e"),
    "layer": Technique(N_("layer norm"), N_("LN"), "#2ca02c", marker="s"),
    "instance": Technique(N_("instance norm"), N_("IN"), "#d62728", marker="^"),
    "group": Technique(N_("group norm"), N_("GN"), "#9467bd", marker="D"),
    "weight": Technique(N_("weight norm"), N_("WN"), "#8c564b", marker="v"),
    "mean_only": Technique(N_("mean-only batch norm"), N_("mean-only BN"), "#c49c94", "--", "v"),
    "weight+mean_only": Technique(N_("weight norm + mean-only BN"), N_("WN + mean-only BN"), "#8c564b", "--", "v"),
    "batch_renorm": Technique(N_("batch renorm"), N_("BRN"), "#e377c2", marker="P"),
    "moving_average": Technique(N_("moving averages, no gradient"), N_("MA norm"), "#e377c2", ":", "P"),
    "batch_instance": Technique(N_("batch-instance norm"), N_("BIN"), "#7f7f7f", marker="X"),
    "switch": Technique(N_("switchable norm"), N_("SwN"), "#bcbd22", marker="*"),
    "spectral": Technique(N_("spectral norm"), N_("SN"), "#17becf", marker="h"),
    "rms": Technique(N_("RMS norm"), N_("RMSNorm"), "#006d5b", marker="s"),
    "dyt": Technique(N_("dynamic tanh"), N_("DyT"), "#a05195", marker="d"),
    "noisy_batch": Technique(N_("noisy batch norm"), N_("noisy BN"), "#ff7f0e", "--", "s"),
    "noise_only": Technique(N_("noise, no BN"), N_("noise, no BN"), "#1f77b4", ":", "s"),
}

_ALIASES = {"brn": "batch_renorm", "bin": "batch_instance", "switchable": "switch", "rmsnorm": "rms"}


def technique(name: str) -> Technique:
    """The :class:`Technique` registered under ``name`` (registry names and their aliases)."""
    key = _ALIASES.get(name, name)
    if key not in TECHNIQUES:
        raise KeyError(f"no plotting style for technique {name!r}; known: {sorted(TECHNIQUES)} "
                       f"(add one to normcode.plotting.style.TECHNIQUES)")
    return TECHNIQUES[key]


def label(name: str) -> str:
    """The technique's translated name, e.g. ``label("batch")`` -> "batch norm" / "배치 정규화"."""
    return _(technique(name).label)


def short_label(name: str) -> str:
    """The technique's translated abbreviation, e.g. ``short_label("batch")`` -> "BN"."""
    return _(technique(name).short)


def color(name: str) -> str:
    """The technique's colour."""
    return technique(name).color


def line(name: str, short: bool = False, marker: bool = False) -> dict:
    """Keyword arguments for ``ax.plot``: ``color``, ``linestyle``, ``label`` (and ``marker``)."""
    look = technique(name)
    kwargs = {"color": look.color, "linestyle": look.linestyle, "label": short_label(name) if short else label(name)}
    if marker:
        kwargs["marker"] = look.marker
    return kwargs


def apply_style() -> None:
    """Matplotlib defaults of every figure of the book (size, grid, spines, fonts)."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "figure.figsize": (6.4, 3.6),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.family": ["DejaVu Sans"],
        "axes.unicode_minus": True,
        "legend.fontsize": 8,
    })
