"""normcode.book.animation: the kernel-free player (its HTML) and the live-kernel controls.

The player's behaviour in a real browser (it plays, pauses, the slider moves it)
is tested in tests/test_browser.py; here its HTML, its frames and the fallbacks.
"""
from __future__ import annotations

import base64
import json
import re
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from normcode.book import session  # noqa: E402
from normcode.book import animation  # noqa: E402

SANITIZE_CFG = Path(__file__).with_name("nbval_sanitize.cfg")
X = np.linspace(-3, 3, 50)


def draw(i, ax):
    ax.plot(X, np.sin(X + 0.5 * i))
    ax.set_ylim(-1.1, 1.1)


@pytest.fixture(scope="module")
def anim():
    return animation.animate(draw, 5, name="Sine wave, drifting", figsize=(3, 2), dpi=50)


class _Tree(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in_script = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append([dict(attrs), ""])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            self.scripts[-1][1] += data


def parse(html: str) -> _Tree:
    tree = _Tree()
    tree.feed(html)
    return tree


def sanitize(text: str) -> str:
    """Apply tests/nbval_sanitize.cfg exactly as nbval does."""
    from nbval.plugin import get_sanitize_patterns

    for regex, replace in get_sanitize_patterns(SANITIZE_CFG.read_text(encoding="utf-8")):
        text = re.sub(regex, replace, text)
    return text


def test_element_id_is_a_stable_slug_of_the_name():
    assert animation.element_id("Sine wave, drifting") == "normcode-player-sine-wave-drifting"
    assert animation.element_id("ICS 2") == animation.element_id("ics-2")
    with pytest.raises(ValueError):
        animation.element_id("  --  ")


def test_animate_renders_one_png_per_frame_of_one_size(anim):
    assert len(anim) == 5 and len(anim.frames) == 5
    assert all(f.startswith(animation.PNG_SIGNATURE) for f in anim.frames)
    assert anim.size == (150, 100)  # figsize (3, 2) at 50 dpi
    assert len(set(anim.frames)) == 5, "the frames should differ: draw(i, ax) moves the curve"
    assert not plt.get_fignums(), "animate must close the figures it drew"


def test_html_is_self_contained_and_holds_every_frame_once(anim):
    html = anim.to_html()
    tree = parse(html)
    div = tree.tags[0]
    assert div[0] == "div" and div[1]["id"] == "normcode-player-sine-wave-drifting"
    assert div[1]["class"] == "normcode-player" and div[1]["data-frames"] == "5"
    # no external resources: every script inline, every image a data URI
    assert all("src" not in attrs for attrs, _ in tree.scripts)
    assert not re.search(r"(src|href)=\"(?!data:)", html), "the player must not load anything from elsewhere"
    imgs = [a for t, a in tree.tags if t == "img"]
    assert len(imgs) == 1 and imgs[0]["src"].startswith("data:image/png;base64,")
    (data,) = [body for attrs, body in tree.scripts if attrs.get("type") == "application/json"]
    cfg = json.loads(data)
    uris = [imgs[0]["src"]] + cfg["frames"]
    assert [base64.b64decode(u.split(",", 1)[1]) for u in uris] == anim.frames
    assert cfg["labels"] == [f"{i} / 5" for i in range(1, 6)]
    assert cfg["autoplay"] is True and cfg["fps"] == 8.0
    # controls: a play/pause button and a slider over every frame
    buttons = [a for t, a in tree.tags if t == "button"]
    sliders = [a for t, a in tree.tags if t == "input" and a.get("type") == "range"]
    assert len(buttons) == 1 and buttons[0]["aria-label"] == "Play"
    assert len(sliders) == 1 and (sliders[0]["min"], sliders[0]["max"]) == ("0", "4")
    code = [body for attrs, body in tree.scripts if not attrs.get("type")]
    assert len(code) == 1 and "setInterval" in code[0] and "normcode-player-sine-wave-drifting" in code[0]


def test_display_in_a_notebook_is_the_html_and_a_stable_text(anim):
    assert anim._repr_html_() == anim.to_html()
    # nbval compares text/plain too: no memory address in it
    assert repr(anim) == "Player('Sine wave, drifting', 5 frames)"


def test_output_is_reproducible_and_the_sanitizer_masks_only_the_images(anim):
    again = animation.animate(draw, 5, name="Sine wave, drifting", figsize=(3, 2), dpi=50)
    assert again.to_html() == anim.to_html(), "the same drawing must give the same HTML on one machine"
    other = animation.animate(lambda i, ax: ax.plot([0, i]), 5, name="Sine wave, drifting", figsize=(3, 2), dpi=50)
    assert other.to_html() != anim.to_html()
    # On another machine the pixels may differ; nbval sees the rest of the HTML unchanged.
    assert sanitize(other.to_html()) == sanitize(anim.to_html())
    masked = sanitize(anim.to_html())
    assert "base64,iVBOR" not in masked and len(masked) < 5000
    assert 'id="normcode-player-sine-wave-drifting"' in masked and "5 / 5" in masked
    # A different number of frames, labels or name is still a difference nbval reports.
    fewer = animation.animate(draw, 4, name="Sine wave, drifting", figsize=(3, 2), dpi=50)
    assert sanitize(fewer.to_html()) != masked
    renamed = animation.animate(draw, 5, name="Other", figsize=(3, 2), dpi=50)
    assert sanitize(renamed.to_html()) != masked


def test_sanitizer_leaves_ordinary_outputs_alone():
    text = "tensor([0.1234, 5.6789])\nBatchNorm2d largest difference below 1e-5: True\ndata:text/plain,abc"
    assert sanitize(text) == text


def test_labels_are_escaped_inside_the_script():
    p = animation.animate(draw, 2, name="x", figsize=(2, 1), dpi=30, labels=["</script><b>", "a & b"])
    html = p.to_html()
    assert html.count("</script>") == 2  # only the two script elements end; labels cannot close them
    (data,) = [b for a, b in parse(html).scripts if a.get("type") == "application/json"]
    assert json.loads(data)["labels"] == ["</script><b>", "a & b"]


def test_palette_frames_are_smaller():
    full = animation.animate(draw, 2, name="x", figsize=(4, 3), dpi=60, palette=False)
    small = animation.animate(draw, 2, name="x", figsize=(4, 3), dpi=60)
    assert sum(map(len, small.frames)) < sum(map(len, full.frames))


def test_player_of_figures_and_png_bytes():
    figs = []
    for i in range(3):
        fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
        draw(i, ax)
        figs.append(fig)
    p = animation.player(figs, name="figs", fps=2, autoplay=False, loop=False)
    assert len(p) == 3 and not plt.get_fignums()
    cfg = json.loads([b for a, b in parse(p.to_html()).scripts if a.get("type") == "application/json"][0])
    assert cfg["autoplay"] is False and cfg["loop"] is False and cfg["fps"] == 2
    q = animation.player(p.frames, name="bytes")
    assert q.frames == p.frames


def test_bad_input_is_refused_with_a_clear_message():
    small = animation.animate(draw, 1, name="s", figsize=(1, 1), dpi=30).frames[0]
    large = animation.animate(draw, 1, name="l", figsize=(2, 1), dpi=30).frames[0]
    with pytest.raises(ValueError, match="same pixel size"):
        animation.player([small, large], name="mixed")
    with pytest.raises(ValueError, match="labels"):
        animation.player([small, small], name="x", labels=["one"])
    with pytest.raises(ValueError, match="at least one"):
        animation.player([], name="x")
    with pytest.raises(TypeError, match="matplotlib figure or PNG"):
        animation.player(["not a frame"], name="x")
    with pytest.raises(ValueError, match="PNG"):
        animation.player([b"GIF89a......................"], name="x")
    with pytest.raises(RuntimeError):
        animation.animate(lambda i, ax: (_ for _ in ()).throw(RuntimeError("boom")), 2, name="x")
    assert not plt.get_fignums(), "a failing draw must not leave figures open"


def test_controls_follow_the_edition_language(monkeypatch):
    # the language book.setup(LANG) sets; set directly, since setup() also changes torch's global settings
    monkeypatch.setattr(session, "_language", "ko")
    html = animation.animate(draw, 2, name="ko", figsize=(1, 1), dpi=30).to_html()
    assert 'aria-label="재생"' in html and 'aria-label="프레임"' in html
    assert json.loads([b for a, b in parse(html).scripts if a.get("type") == "application/json"][0])["text"] == {
        "play": "재생", "pause": "일시 정지"}


def test_save_writes_a_standalone_page(anim, tmp_path):
    page = anim.save(tmp_path / "p.html", title="Drift")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<title>Drift</title>" in text and anim.to_html() in text


# --- live kernel -------------------------------------------------------------------------------

def test_controls_rerun_the_function_when_a_control_changes():
    ipywidgets = pytest.importorskip("ipywidgets")
    calls = []

    def f(step, scale=2.0):
        calls.append((step, scale))

    box = animation.controls(f, step=(0, 10), scale=(0.5, 4.0, 0.5))
    assert isinstance(box, ipywidgets.interactive)
    assert calls == [(5, 2.0)], "the controls run the function once with the start values"
    step_slider = box.children[0]
    step_slider.value = 7
    assert calls[-1] == (7, 2.0)


def _record(calls):
    def f(step, choice, on, scale=3.0, kind="layer", flag=True):
        calls.append((step, choice, on, scale, kind, flag))
    return f


CONTROLS = dict(step=(0, 10), choice=["batch", "layer"], on=False, scale=(0.5, 4.0), kind=["batch", "layer"],
                flag=False)


def test_controls_without_ipywidgets_draw_once_with_the_defaults(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now raises ImportError
    calls = []
    with pytest.warns(RuntimeWarning, match="pip install ipywidgets"):
        result = animation.controls(_record(calls), **CONTROLS)
    assert result is None
    # the middle of a range, the first choice, a single value as given; a function default the control allows
    assert calls == [(5, "batch", False, 3.0, "layer", False)]


def test_controls_start_where_ipywidgets_starts():
    pytest.importorskip("ipywidgets")
    with_widgets = []
    animation.controls(_record(with_widgets), **CONTROLS)
    saved = sys.modules["ipywidgets"]
    sys.modules["ipywidgets"] = None
    try:
        without = []
        with pytest.warns(RuntimeWarning):
            animation.controls(_record(without), **CONTROLS)
    finally:
        sys.modules["ipywidgets"] = saved
    assert without == with_widgets


def test_live_player_redraws_the_chosen_frame():
    ipywidgets = pytest.importorskip("ipywidgets")
    seen = []

    def d(i, ax):
        seen.append(i)
        draw(i, ax)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plt.show() on the Agg backend of the test
        box = animation.live(d, 6, name="live", figsize=(2, 1))
        assert isinstance(box, ipywidgets.VBox)
        play, slider, caption = box.children[0].children
        assert isinstance(play, ipywidgets.Play) and isinstance(slider, ipywidgets.IntSlider)
        assert (slider.min, slider.max, seen) == (0, 5, [0])
        slider.value = 4
    assert seen == [0, 4] and caption.value == "5 / 6"
    assert not plt.get_fignums()


def test_live_player_without_ipywidgets_is_the_static_player(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    p = animation.live(draw, 3, name="fallback", figsize=(2, 1), dpi=30)
    assert isinstance(p, animation.Player) and len(p) == 3


def test_print_form_is_a_grid_of_frames_read_back_from_the_html(anim):
    # The PDF build sees only a notebook's stored HTML: the player is read back from it, frames and labels.
    back = animation.Player.from_html(anim.to_html())
    assert back.frames == anim.frames and back.labels == [f"{i + 1} / 5" for i in range(5)]
    assert back.element_id == anim.element_id
    assert animation.grid_indices(19, 6) == [0, 4, 7, 11, 14, 18] and animation.grid_indices(3, 6) == [0, 1, 2]
    png = back.grid(4, 2)
    assert png.startswith(animation.PNG_SIGNATURE)
    w, h = animation._png_size(png)
    fw, fh = anim.size
    assert w == 2 * fw and h > 2 * fh  # two columns of frames at their own size, a label under each
    with pytest.raises(ValueError, match="no normcode player"):
        animation.Player.from_html("<p>not a player</p>")
