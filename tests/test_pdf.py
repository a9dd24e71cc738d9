"""The PDF of each edition (python3 dev.py pdf, which python3 dev.py test runs before pytest).

Both PDFs built; every title of the edition's table of contents in the text; a Korean font
embedded in the Korean PDF; no "Missing character" in the LaTeX log; under 20 MB; the print
forms of the web-only things (animation grids, solutions in the appendix, no Colab cell);
one PDF per chapter, linked from every chapter page of the site with the notebook and the book.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from _book import LANGS, ROOT, site_dir

sys.path.insert(0, str(ROOT / "tools"))
from build_book import PDF_DIR, SITE_PDF_FOLDER, edition_toc, load_editions, pdf_name, toc_entries, toc_notebooks  # noqa: E402

MAX_BYTES = 20e6
#: The title sphinx-exercise gives a solution, in each edition (solutions belong in the appendix).
SOLUTION_TITLE = {"en": "Solution to Exercise", "ko": "해답 연습"}
APPENDIX_TITLE = {"en": "Solutions to the exercises", "ko": "연습문제 풀이"}
COLAB_CELL = "google.colab"


def book(lang: str) -> Path:
    path = PDF_DIR / pdf_name(lang)
    if not path.exists():
        raise AssertionError(f"no {path}: build the PDFs with  python3 dev.py pdf  (dev.py test does)")
    return path


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} (poppler-utils) is needed: python3 dev.py pdf installs it"
    return path


@lru_cache(maxsize=None)
def pdf_text(path: Path, last_page: int = 0) -> str:
    """The text of a PDF (pdftotext; up to ``last_page`` if given), whitespace collapsed to single spaces."""
    pages = ["-l", str(last_page)] if last_page else []
    out = subprocess.run([_tool("pdftotext"), "-enc", "UTF-8", *pages, str(path), "-"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return " ".join(out.stdout.split())


def toc_titles(lang: str) -> dict[str, str]:
    """``docname -> title`` of every document in the edition's table of contents (its first heading)."""
    editions = load_editions()
    files = toc_entries(edition_toc(lang, editions))
    titles = {}
    for file in files:
        path = ROOT / f"{file}.ipynb"
        if path.exists():
            import json
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        else:
            text = (ROOT / f"{file}.md").read_text(encoding="utf-8")
        heading = next(line[2:].strip() for line in text.splitlines() if line.startswith("# "))
        titles[file] = heading.replace("`", "")
    return titles


@pytest.mark.parametrize("lang", LANGS)
def test_pdf_is_built_and_small_enough(lang):
    from pypdf import PdfReader

    path = book(lang)
    pages = len(PdfReader(path).pages)
    size = path.stat().st_size
    print(f"{path.name}: {pages} pages, {size / 1e6:.1f} MB")
    assert pages > 50
    assert size < MAX_BYTES, f"{path.name} is {size / 1e6:.1f} MB (limit {MAX_BYTES / 1e6:.0f} MB)"


@pytest.mark.parametrize("lang", LANGS)
def test_every_title_of_the_table_of_contents_is_in_the_pdf(lang):
    text = pdf_text(book(lang))
    missing = [title for title in toc_titles(lang).values() if " ".join(title.split()) not in text]
    assert not missing, f"{pdf_name(lang)} lacks the titles {missing}"


@pytest.mark.parametrize("lang", LANGS)
def test_latex_log_has_no_missing_character(lang):
    log = PDF_DIR / lang / "build.log"
    assert log.exists(), f"no LaTeX log {log}"
    missing = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
               if "Missing character" in line]
    assert not missing, f"{len(missing)} glyphs missing from the fonts, e.g. {missing[:5]}"


def test_korean_pdf_embeds_a_korean_font():
    out = subprocess.run([_tool("pdffonts"), str(book("ko"))], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    fonts = out.stdout.splitlines()[2:]
    korean = [line for line in fonts if "Nanum" in line]
    assert korean, "no Korean font in the Korean PDF:\n" + out.stdout
    assert all(line.split()[-5] == "yes" for line in korean), "a Korean font is not embedded:\n" + out.stdout


def test_korean_pdf_has_korean_text_and_no_replacement_boxes():
    text = pdf_text(book("ko"))
    assert "배치 정규화" in text and "원자료 바로잡기" in text
    assert "\ufffd" not in text


@pytest.mark.parametrize("lang", LANGS)
def test_solutions_are_in_an_appendix_not_in_the_chapters(lang):
    text = pdf_text(book(lang))
    appendix = text.rfind(APPENDIX_TITLE[lang])
    assert appendix > 0, f"no appendix {APPENDIX_TITLE[lang]!r}"
    assert text.find(SOLUTION_TITLE[lang]) > appendix, "a solution is printed before the appendix"
    for chapter in sorted((PDF_DIR / lang).glob("*.pdf")):
        assert SOLUTION_TITLE[lang] not in pdf_text(chapter), f"{chapter.name} prints a solution inline"


@pytest.mark.parametrize("lang", LANGS)
def test_web_only_cells_have_a_print_form(lang):
    text = pdf_text(book(lang))
    assert COLAB_CELL not in text, "the Colab install cell is printed"
    assert "interactive(children" not in text, "a live widget is printed as its text"
    assert "Player(" not in text, "an animation is printed as its text instead of a grid of frames"
    note = {"en": "of the animation on the web page", "ko": "웹 페이지에서 재생되는 애니메이션"}[lang]
    assert text.count(note) >= 2, "the animations of chapters 2 and 12 are not printed as frame grids"


@pytest.mark.parametrize("lang", LANGS)
def test_each_chapter_has_its_pdf_starting_with_its_title(lang):
    titles = toc_titles(lang)
    for file in toc_notebooks(edition_toc(lang, load_editions())):
        chapter = PDF_DIR / lang / f"{Path(file).name}.pdf"
        assert chapter.exists(), f"no chapter PDF {chapter}"
        first_page = pdf_text(chapter, last_page=1)
        assert " ".join(titles[file].split()) in first_page, f"{chapter.name} does not start with its title"


@pytest.mark.parametrize("lang", LANGS)
def test_every_chapter_page_links_its_pdf_its_notebook_and_the_book(lang):
    site = site_dir()
    for file in toc_notebooks(edition_toc(lang, load_editions())):
        page = site / lang / f"{file}.html"
        text = page.read_text(encoding="utf-8")
        stem = Path(file).name
        for href in (f"{SITE_PDF_FOLDER}/{stem}.pdf", f"_sources/{file}.ipynb",
                     f"{SITE_PDF_FOLDER}/{pdf_name(lang)}"):
            links = re.findall(r'href="((?:\.\./)*' + re.escape(href) + ')"', text)
            assert links, f"{page.name} has no link to {href}"
            assert (page.parent / links[0]).resolve().is_file(), f"{page.name}: {links[0]} leads nowhere"
