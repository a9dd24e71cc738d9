"""Korean figure labels render with a real Korean font, without importing koreanize_matplotlib."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from normcode.book import fonts

SCRIPT = textwrap.dedent("""
    import sys, warnings, logging
    {prelude}
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager
    from normcode import book
    book.setup("ko")
    messages = []
    class Catch(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())
    logging.getLogger("matplotlib").addHandler(Catch())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig, ax = plt.subplots()
        ax.plot([-2, -1, 0, 1], [0.5, -0.5, 1, 0])
        ax2 = fig.add_axes([0.6, 0.6, 0.3, 0.3])
        ax2.loglog([1e-3, 1e-1, 10], [1e-2, 1, 100])  # mathtext tick labels with a minus: 10^-3
        ax.set_title("배치 정규화: 테스트 정확도 −")
        ax.set_xlabel("학습 단계")
        fig.canvas.draw()
    missing = [str(w.message) for w in caught if "missing" in str(w.message).lower()]
    missing += [m for m in messages if "missing" in m.lower()]
    hangul = font_manager.findfont(font_manager.FontProperties(family="NanumGothic"), fallback_to_default=False)
    print("FONT", hangul if "NanumGothic" in matplotlib.rcParams["font.family"] else None)
    print("MISSING", missing)
    print("IMPORTED", "koreanize_matplotlib" in sys.modules)
""")

# On Python 3.12 without setuptools, `import koreanize_matplotlib` fails on its distutils import.
BREAK_DISTUTILS = textwrap.dedent("""
    import importlib.abc
    class NoDistutils(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "distutils" or name.startswith("distutils.") or name == "setuptools":
                raise ImportError("No module named 'distutils' (simulated Python 3.12 without setuptools)")
    sys.meta_path.insert(0, NoDistutils())
    sys.modules.pop("distutils", None)
""")


def _run(prelude: str) -> str:
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(prelude=prelude)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_korean_labels_use_nanumgothic_with_no_missing_glyphs():
    out = _run("")
    assert "NanumGothic.ttf" in out.split("FONT", 1)[1].splitlines()[0]
    assert "MISSING []" in out, out
    assert "IMPORTED False" in out, "the font must be registered without importing koreanize_matplotlib"


def test_korean_font_works_when_koreanize_matplotlib_cannot_be_imported():
    out = _run(BREAK_DISTUTILS)
    assert "NanumGothic.ttf" in out and "MISSING []" in out, out


def test_font_file_is_found_without_executing_the_package():
    before = "koreanize_matplotlib" in sys.modules
    path = fonts.korean_font_path()
    assert path is not None and path.name == "NanumGothic.ttf" and path.exists()
    assert ("koreanize_matplotlib" in sys.modules) == before
