"""Animations that play on the static web site, and live controls for a running kernel.

The book is read mostly as a static web site, where no Python runs. A figure
that changes over time (training steps, a swept parameter) therefore needs a
version that was computed in advance. This module provides both versions:

* :func:`animate` draws every frame once with matplotlib and returns a
  :class:`Player`: the frames as PNG images embedded in one block of HTML, with a
  play/pause button and a slider, that starts playing by itself. It needs no
  kernel, no widget state and no JavaScript file from elsewhere (the little
  script it needs is inline), so the output stored in the notebook plays in
  the page Jupyter Book builds, in Jupyter, on Colab, and in a saved ``.html``
  file (:meth:`Player.save`). Without JavaScript the first frame is shown.
  :func:`player` does the same for figures or PNG images made elsewhere.
* On paper (the book's PDF) a player becomes :meth:`Player.grid`: a few of its
  frames side by side with their labels, in one PNG. The PDF build finds the
  players in the stored HTML outputs with :meth:`Player.from_html`, so the
  notebooks' stored outputs stay as they are.
* :func:`controls` and :func:`live` are the live-kernel versions: ipywidgets
  controls that re-run a function whenever a control changes. When ipywidgets
  is not installed they degrade instead of failing: :func:`controls` runs the
  function once with the default values, :func:`live` returns the static
  :class:`Player`.

In a chapter::

    from normcode import animation

    def draw(step, ax):                    # one frame: fixed axis limits keep frames comparable
        ax.plot(...); ax.set_ylim(-3, 3)

    animation.animate(draw, 40, name="ics-drift", labels=[f"step {s}" for s in steps])

The HTML element of a player has the id ``normcode-player-<name>``, derived from
``name`` only, so a re-executed notebook prints the same HTML apart from the
PNG data (``tests/nbval_sanitize.cfg`` masks the base64 payloads, whose bytes
may differ between machines). ``name`` must be unique within a page.
"""
from __future__ import annotations

import base64
import html
import inspect
import io
import json
import re
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from .i18n import _

__all__ = ["Player", "animate", "player", "render_figure", "element_id", "controls", "live", "grid_indices"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CSS_CLASS = "normcode-player"


def element_id(name: str) -> str:
    """The HTML id of the player called ``name``: ``normcode-player-`` and a slug of the name.

    >>> element_id("ICS drift, layer 2")
    'normcode-player-ics-drift-layer-2'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")
    if not slug:
        raise ValueError(f"a player needs a name with letters or digits (it becomes the HTML id), got {name!r}")
    return f"{CSS_CLASS}-{slug}"


def render_figure(fig, *, dpi: Optional[float] = None, palette: bool = True, close: bool = True) -> bytes:
    """One matplotlib figure as PNG bytes.

    Args:
        fig: a :class:`matplotlib.figure.Figure`.
        dpi: resolution; ``None`` uses ``savefig.dpi`` (100 after :func:`normcode.book.setup`).
        palette: reduce the image to at most 256 colours (a palette PNG is about a third
            of the size of a full-colour one and looks the same for line plots).
        close: close the figure afterwards (so the notebook does not also show it).
    """
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    # No "Software: matplotlib x.y" text chunk: the bytes depend on the drawing only.
    fig.savefig(buf, format="png", dpi=dpi if dpi is not None else "figure", metadata={"Software": None})
    if close:
        plt.close(fig)
    data = buf.getvalue()
    if palette:
        from PIL import Image

        image = Image.open(io.BytesIO(data)).convert("RGB")
        small = io.BytesIO()
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            small, format="PNG")
        if len(small.getvalue()) < len(data):
            data = small.getvalue()
    return data


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("a frame must be PNG bytes or a matplotlib figure")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


class Player:
    """A precomputed animation: PNG frames and the HTML that plays them without a kernel.

    Made by :func:`animate` or :func:`player`. Displayed in a notebook as its HTML
    (``_repr_html_``); :meth:`to_html` gives the fragment, :meth:`save` a standalone page.
    """

    def __init__(self, frames: Sequence[bytes], *, name: str, fps: float = 8.0,
                 labels: Optional[Sequence[str]] = None, autoplay: bool = True, loop: bool = True,
                 hold_last: int = 4, alt: str = "", width: Optional[int] = None):
        frames = [bytes(f) for f in frames]
        if not frames:
            raise ValueError("a player needs at least one frame")
        sizes = {_png_size(f) for f in frames}
        if len(sizes) != 1:
            raise ValueError(f"all frames must have the same pixel size (draw them with one figsize and dpi), got {sorted(sizes)}")
        if labels is not None:
            labels = [str(label) for label in labels]
            if len(labels) != len(frames):
                raise ValueError(f"{len(labels)} labels for {len(frames)} frames")
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.name = str(name)
        self.element_id = element_id(name)
        self.frames = frames
        self.fps = float(fps)
        self.labels = labels
        self.autoplay = bool(autoplay)
        self.loop = bool(loop)
        self.hold_last = int(hold_last)
        self.alt = alt
        self.size = sizes.pop()
        self.width = width

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        return f"Player({self.name!r}, {len(self.frames)} frames)"

    @property
    def nbytes(self) -> int:
        """Size of the HTML fragment in bytes (what the player adds to a page)."""
        return len(self.to_html().encode("utf-8"))

    def to_html(self) -> str:
        """The self-contained HTML fragment: first frame, controls, frames as data, inline script."""
        uris = ["data:image/png;base64," + base64.b64encode(f).decode("ascii") for f in self.frames]
        n = len(uris)
        labels = self.labels or [f"{i + 1} / {n}" for i in range(n)]
        # The first frame is the <img>'s own src; the data holds the others (no frame is stored twice).
        data = json.dumps({"frames": uris[1:], "labels": labels, "fps": self.fps, "autoplay": self.autoplay,
                           "loop": self.loop, "hold": self.hold_last,
                           "text": {"play": _("Play"), "pause": _("Pause")}},
                          ensure_ascii=False, separators=(",", ":"))
        data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        w, h = self.size
        shown_width = self.width or w
        esc = html.escape
        alt = esc(self.alt or _("animation {name}").format(name=self.name))
        return (
            f'<div class="{CSS_CLASS}" id="{self.element_id}" data-frame="0" data-frames="{n}" '
            f'style="max-width:{shown_width}px;margin:0.5em 0">\n'
            f'<img class="{CSS_CLASS}-frame" src="{uris[0]}" width="{w}" height="{h}" alt="{alt}" '
            f'style="display:block;width:100%;height:auto;background:#fff">\n'
            f'<div class="{CSS_CLASS}-controls" hidden style="display:flex;align-items:center;gap:0.6em;'
            f'margin-top:0.3em;font-size:0.9em">'
            f'<button type="button" class="{CSS_CLASS}-toggle" aria-label="{esc(_("Play"))}" '
            f'style="min-width:2.6em;padding:0.1em 0.6em;cursor:pointer">&#9654;</button>'
            f'<input type="range" class="{CSS_CLASS}-slider" min="0" max="{n - 1}" step="1" value="0" '
            f'aria-label="{esc(_("Frame"))}" style="flex:1;min-width:6em">'
            f'<span class="{CSS_CLASS}-label" aria-live="off" style="min-width:5em;text-align:right;'
            f'font-variant-numeric:tabular-nums">{esc(labels[0])}</span></div>\n'
            f'<script type="application/json" class="{CSS_CLASS}-data">{data}</script>\n'
            f"<script>{_PLAYER_JS.replace('ELEMENT_ID', self.element_id)}</script>\n"
            f"</div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    @classmethod
    def from_html(cls, fragment: str) -> "Player":
        """The player whose HTML (:meth:`to_html`) is ``fragment``: its frames, labels, name and timing.

        Used by the PDF build, which sees only a notebook's stored HTML output.

        Raises:
            ValueError: if ``fragment`` holds no player.
        """
        m = re.search(rf'<div class="{CSS_CLASS}" id="{CSS_CLASS}-([^"]+)"', fragment)
        first = re.search(rf'<img class="{CSS_CLASS}-frame" src="data:image/png;base64,([^"]+)"', fragment)
        data = re.search(rf'<script type="application/json" class="{CSS_CLASS}-data">(.*?)</script>', fragment, re.S)
        if not (m and first and data):
            raise ValueError("no normcode player in this HTML (made by normcode.book.animation.Player.to_html)")
        cfg = json.loads(data.group(1))
        frames = [base64.b64decode(first.group(1))]
        frames += [base64.b64decode(uri.split(",", 1)[1]) for uri in cfg["frames"]]
        return cls(frames, name=m.group(1), fps=cfg.get("fps", 8.0), labels=cfg.get("labels"),
                   autoplay=cfg.get("autoplay", True), loop=cfg.get("loop", True), hold_last=cfg.get("hold", 4))

    def grid(self, n: int = 6, ncols: int = 2, *, dpi: float = 100.0) -> bytes:
        """The print form of the player: ``n`` of its frames (first and last included) in a grid, as PNG.

        Each frame keeps its pixel size; its label (the caption beside the slider on the web
        page) is written under it. ``n`` is lowered to the number of frames.
        """
        import matplotlib.pyplot as plt

        from .fonts import KOREAN_FONT_NAME, korean_font_path

        chosen = grid_indices(len(self.frames), n)
        labels = self.labels or [f"{i + 1} / {len(self.frames)}" for i in range(len(self.frames))]
        ncols = max(1, min(int(ncols), len(chosen)))
        nrows = -(-len(chosen) // ncols)
        w, h = self.size
        gap = 26  # pixels under each frame for its label
        family = ["DejaVu Sans"]
        if any(ord(c) > 0x2FFF for i in chosen for c in labels[i]) and korean_font_path() is not None:
            from matplotlib import font_manager

            if KOREAN_FONT_NAME not in {f.name for f in font_manager.fontManager.ttflist}:
                font_manager.fontManager.addfont(str(korean_font_path()))
            family.append(KOREAN_FONT_NAME)
        width, height = ncols * w, nrows * (h + gap)
        with plt.rc_context({"font.family": family}):
            fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
            for k, i in enumerate(chosen):
                row, col = divmod(k, ncols)
                left, top = col * w, row * (h + gap)
                ax = fig.add_axes((left / width, 1 - (top + h) / height, w / width, h / height))
                ax.imshow(plt.imread(io.BytesIO(self.frames[i]), format="png"), interpolation="nearest")
                ax.set_axis_off()
                fig.text((left + w / 2) / width, 1 - (top + h + gap * 0.55) / height, labels[i],
                         ha="center", va="center", fontsize=10)
            return render_figure(fig, dpi=dpi)

    def save(self, path, title: Optional[str] = None) -> Path:
        """Write a standalone HTML page holding this player; return its path."""
        path = Path(path)
        title = html.escape(title or self.name)
        path.write_text(
            f'<!DOCTYPE html>\n<html lang="{html.escape(_language())}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{title}</title>\n'
            f"</head>\n<body style=\"font-family:system-ui,sans-serif;margin:1rem\">\n<h1 style=\"overflow-wrap:anywhere\">{title}</h1>\n"
            f"{self.to_html()}\n</body>\n</html>\n",
            encoding="utf-8")
        return path


def grid_indices(n_frames: int, n: int) -> list[int]:
    """``n`` frame indices spread evenly over ``n_frames`` frames, the first and the last included.

    >>> grid_indices(19, 6)
    [0, 4, 7, 11, 14, 18]
    """
    if n_frames < 1 or n < 1:
        raise ValueError(f"need at least one frame and n >= 1, got {n_frames} frames and n={n}")
    n = min(int(n), n_frames)
    if n == 1:
        return [0]
    return sorted({round(k * (n_frames - 1) / (n - 1)) for k in range(n)})


def _language() -> str:
    from .session import language

    return language()


# The player's script: plain ES5, no globals, one instance per player element.
_PLAYER_JS = r"""(function () {
  var root = (document.currentScript && document.currentScript.parentNode) || document.getElementById("ELEMENT_ID");
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "1");
  var q = function (c) { return root.querySelector(".normcode-player-" + c); };
  var img = q("frame"), button = q("toggle"), slider = q("slider"), label = q("label"), box = q("controls");
  var cfg = JSON.parse(q("data").textContent);
  var frames = [img.getAttribute("src")].concat(cfg.frames);
  var n = frames.length, i = 0, timer = null, hold = 0;
  var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  function show(k) {
    i = k;
    img.setAttribute("src", frames[k]);
    slider.value = k;
    label.textContent = cfg.labels[k];
    root.setAttribute("data-frame", k);
  }
  function step() {
    if (i < n - 1) { show(i + 1); return; }
    if (!cfg.loop) { pause(); return; }
    if (hold++ < cfg.hold) return;
    hold = 0;
    show(0);
  }
  function play() {
    if (timer || n < 2) return;
    if (i === n - 1 && !cfg.loop) show(0);
    timer = setInterval(step, 1000 / cfg.fps);
    button.innerHTML = "&#10074;&#10074;";
    button.setAttribute("aria-label", cfg.text.pause);
    root.setAttribute("data-playing", "1");
  }
  function pause() {
    if (timer) clearInterval(timer);
    timer = null;
    button.innerHTML = "&#9654;";
    button.setAttribute("aria-label", cfg.text.play);
    root.setAttribute("data-playing", "0");
  }
  button.addEventListener("click", function () { if (timer) pause(); else play(); });
  slider.addEventListener("input", function () { pause(); show(parseInt(slider.value, 10)); });
  box.hidden = false;
  root.setAttribute("data-playing", "0");
  if (cfg.autoplay && !reduce) play();
})();"""


def _figure_frames(frames: Iterable, dpi, palette) -> list[bytes]:
    out = []
    for frame in frames:
        if isinstance(frame, (bytes, bytearray)):
            out.append(bytes(frame))
        elif hasattr(frame, "savefig"):
            out.append(render_figure(frame, dpi=dpi, palette=palette))
        else:
            raise TypeError(f"a frame must be a matplotlib figure or PNG bytes, got {type(frame).__name__}")
    return out


def player(frames: Iterable, *, name: str, fps: float = 8.0, labels: Optional[Sequence[str]] = None,
           dpi: Optional[float] = None, palette: bool = True, **options) -> Player:
    """A :class:`Player` of ready frames: matplotlib figures (rendered, then closed) or PNG bytes.

    ``options`` are passed to :class:`Player` (``autoplay``, ``loop``, ``hold_last``, ``alt``, ``width``).
    """
    return Player(_figure_frames(frames, dpi, palette), name=name, fps=fps, labels=labels, **options)


def animate(draw: Callable[[int, Any], Any], n_frames: int, *, name: str, fps: float = 8.0,
            labels: Optional[Sequence[str]] = None, figsize=None, dpi: Optional[float] = None,
            palette: bool = True, subplots: Optional[dict] = None, **options) -> Player:
    """Draw ``n_frames`` frames with ``draw(i, ax)`` and return a :class:`Player` of them.

    Each frame is drawn on a fresh figure (``plt.subplots(figsize=figsize, **subplots)``;
    with ``subplots={"ncols": 2}`` ``draw`` receives the array of axes), rendered to
    PNG and closed, so nothing leaks from one frame into the next. Fix the axis
    limits inside ``draw`` so that the frames can be compared.

    Args:
        draw: ``draw(i, ax)`` draws frame ``i`` (0-based).
        n_frames: number of frames.
        name: the player's name; its HTML id is :func:`element_id` of it.
        fps: frames per second when playing.
        labels: one caption per frame shown beside the slider (default ``"i / n"``).
        figsize, dpi: size of every frame (default: matplotlib's current settings).
        palette: store frames as 256-colour PNGs (about three times smaller).
        options: passed to :class:`Player` (``autoplay``, ``loop``, ``hold_last``, ``alt``, ``width``).
    """
    import matplotlib.pyplot as plt

    if int(n_frames) < 1:
        raise ValueError(f"n_frames must be at least 1, got {n_frames}")
    frames = []
    for i in range(int(n_frames)):
        fig, ax = plt.subplots(figsize=figsize, **(subplots or {}))
        try:
            draw(i, ax)
        except BaseException:
            plt.close(fig)
            raise
        frames.append(render_figure(fig, dpi=dpi, palette=palette))
    return Player(frames, name=name, fps=fps, labels=labels, **options)


# --- live kernel -------------------------------------------------------------------------------

def _ipywidgets():
    try:
        import ipywidgets
    except ImportError:
        return None
    return ipywidgets


_EMPTY = inspect.Parameter.empty


def _default_value(param: Optional[inspect.Parameter], abbrev):
    """The value ipywidgets' ``interactive`` starts a control at, computed without ipywidgets.

    Same rules as ipywidgets 8: a numeric range starts in its middle (on a step), a
    list or dict at its first choice, each unless the function's own default is a
    valid value of the control; a single value (number, text, bool) is the start value.
    """
    default = param.default if param is not None else _EMPTY
    if hasattr(abbrev, "value"):  # a widget, or ipywidgets.fixed
        return abbrev.value
    if (isinstance(abbrev, tuple) and len(abbrev) in (2, 3)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in abbrev)):
        lo, hi = abbrev[0], abbrev[1]
        diff = hi - lo
        value = lo + diff / 2
        if not isinstance(value, type(diff)):
            value = lo + diff // 2
        if len(abbrev) == 3:
            value = lo + int((value - lo) / abbrev[2]) * abbrev[2]
        if isinstance(default, (int, float)) and not isinstance(default, bool) and lo <= default <= hi:
            return default
        return value
    if isinstance(abbrev, (str, bool, int, float)):
        return abbrev
    if isinstance(abbrev, dict):
        options = list(abbrev.values())
    else:
        options = [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in abbrev]
    if default is not _EMPTY and default in options:
        return default
    return options[0]


def controls(func: Callable, /, **widgets):
    """Live controls: re-run ``func(**values)`` whenever one of the controls changes.

    ``widgets`` use ipywidgets' abbreviations (``(0, 10)`` is an integer slider,
    ``(0.0, 1.0, 0.1)`` a float slider, ``["a", "b"]`` a drop-down, ``True`` a
    check box) or widgets. ``func`` draws its figure and calls ``plt.show()``. The
    controls are returned (an ``ipywidgets.interactive``): make the call the last
    line of the cell so that the notebook displays them.

    Without ipywidgets (and so on the static site, where no kernel runs) ``func`` is
    run once with the values ipywidgets would start at (the middle of a range, the
    first choice, or the function's own default where the control allows it), a
    warning says how to get the controls, and ``None`` is returned.
    """
    widgets_module = _ipywidgets()
    if widgets_module is None:
        try:
            params = inspect.signature(func).parameters
        except (TypeError, ValueError):
            params = {}
        values = {k: _default_value(params.get(k), v) for k, v in widgets.items()}
        warnings.warn("ipywidgets is not installed, so the figure is drawn once with its default values; "
                      "pip install ipywidgets for live controls", RuntimeWarning, stacklevel=2)
        func(**values)
        return None
    return widgets_module.interactive(func, **widgets)


def live(draw: Callable[[int, Any], Any], n_frames: int, *, name: str, fps: float = 8.0,
         labels: Optional[Sequence[str]] = None, figsize=None, subplots: Optional[dict] = None, **options):
    """The live-kernel twin of :func:`animate`: a play button and a slider that re-run ``draw(i, ax)``.

    With ipywidgets the frame is drawn when it is asked for (so ``draw`` may read
    state the reader changed in earlier cells), and an ``ipywidgets.VBox`` is
    returned (the last line of a cell displays it). Without ipywidgets the precomputed :class:`Player` of
    :func:`animate` is returned instead, which plays without a kernel.
    """
    widgets_module = _ipywidgets()
    if widgets_module is None:
        return animate(draw, n_frames, name=name, fps=fps, labels=labels, figsize=figsize,
                       subplots=subplots, **options)
    import matplotlib.pyplot as plt

    n = int(n_frames)
    play = widgets_module.Play(min=0, max=n - 1, step=1, value=0, interval=int(1000 / fps),
                               description=_("Play"))
    slider = widgets_module.IntSlider(min=0, max=n - 1, step=1, value=0, description=_("Frame"))
    widgets_module.jslink((play, "value"), (slider, "value"))
    caption = widgets_module.Label()
    out = widgets_module.Output()

    def redraw(change=None):
        i = slider.value
        caption.value = (labels[i] if labels else f"{i + 1} / {n}")
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=figsize, **(subplots or {}))
            draw(i, ax)
            plt.show()
            plt.close(fig)

    slider.observe(redraw, names="value")
    redraw()
    box = widgets_module.VBox([widgets_module.HBox([play, slider, caption]), out])
    box.add_class(CSS_CLASS + "-live")
    return box
