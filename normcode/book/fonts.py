"""A Korean font for matplotlib, registered from its file.

The package ``koreanize-matplotlib`` ships the NanumGothic font, but importing it
fails on Python 3.12 without setuptools (it imports ``distutils``). So the font
file is found through the package's *location*, without importing the package,
and registered with matplotlib's font manager directly.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Optional

__all__ = ["korean_font_path", "use_korean_font"]

KOREAN_FONT_FILE = "NanumGothic.ttf"
KOREAN_FONT_NAME = "NanumGothic"


def korean_font_path() -> Optional[Path]:
    """Path of NanumGothic.ttf inside koreanize-matplotlib, or ``None`` if it is not installed.

    ``importlib.util.find_spec`` locates a top-level package without executing it.
    """
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "fonts" / KOREAN_FONT_FILE
        if path.exists():
            return path
    return None


def use_korean_font() -> str:
    """Register NanumGothic and make it matplotlib's default font; return the font's name.

    NanumGothic lacks some symbols, the minus sign U+2212 among them, and
    matplotlib's mathtext (used for log-scale tick labels such as 10⁻¹) cannot fall
    back to a second font. So DejaVu Sans stays the first family, for Latin text,
    digits and symbols, and Hangul falls back to NanumGothic glyph by glyph.

    Raises:
        RuntimeError: if koreanize-matplotlib is not installed (Korean labels would
            be drawn as empty boxes).
    """
    import matplotlib as mpl
    from matplotlib import font_manager

    path = korean_font_path()
    if path is None:
        raise RuntimeError(
            "Korean figure labels need the NanumGothic font from the package koreanize-matplotlib; "
            "install it with: pip install 'koreanize-matplotlib>=0.1.1' (or this project's 'book' extra)."
        )
    if KOREAN_FONT_NAME not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    # DejaVu Sans first: Latin letters, digits and the minus sign of tick labels (also inside mathtext,
    # which cannot fall back to a second font) come from it; Hangul falls back to NanumGothic.
    mpl.rcParams["font.family"] = ["DejaVu Sans", KOREAN_FONT_NAME]
    return KOREAN_FONT_NAME
