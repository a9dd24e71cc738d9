"""The notebooks are honest: executed, error-free, twins of each other, listed in the book."""
from __future__ import annotations

import re

import pytest

import normcode
from _book import (CONFIG, DEFAULT, LANGS, NOTEBOOKS, ROOT, code_cells, notebook_paths, read_notebook,
                   source, toc_files)

EN = notebook_paths(DEFAULT)
ALL = notebook_paths()


def test_there_are_notebooks_in_every_edition():
    for lang in LANGS:
        assert notebook_paths(lang), f"no notebooks in notebooks/{lang}/"


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_code_cell_was_executed_in_order_without_errors(path):
    # nbval skips cells without a stored execution count, so a stripped notebook would "pass".
    nb = read_notebook(path)
    cells = code_cells(nb)
    counts = [c.get("execution_count") for c in cells]
    missing = [i for i, n in enumerate(counts) if n is None]
    assert not missing, f"{path}: code cells {missing} have no stored execution; run  python3 dev.py execute {path}"
    assert counts == list(range(1, len(cells) + 1)), (
        f"{path}: execution counts {counts} are not 1..{len(cells)}: execute the notebook top to bottom in a fresh kernel")
    for i, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{path}: code cell {i} stored an error"
    assert any(c.get("outputs") for c in cells), f"{path}: no stored outputs at all"


@pytest.mark.parametrize("path", EN, ids=lambda p: p.name)
def test_each_chapter_exists_in_every_edition_with_the_same_code(path):
    twins = {lang: NOTEBOOKS / lang / path.name for lang in LANGS}
    for lang, twin in twins.items():
        assert twin.exists(), f"{path.name} exists in {DEFAULT} but not in {lang}: write {twin.relative_to(ROOT)}"
    cells = {lang: code_cells(read_notebook(p)) for lang, p in twins.items()}
    for lang in LANGS:
        assert len(cells[lang]) == len(cells[DEFAULT]), (
            f"{path.name}: {len(cells[lang])} code cells in {lang}, {len(cells[DEFAULT])} in {DEFAULT}")
        for i, (ours, theirs) in enumerate(zip(cells[lang], cells[DEFAULT])):
            tags = set(ours.get("metadata", {}).get("tags", []))
            if "edition" in tags:
                assert source(ours).strip().startswith(f'LANG = "{lang}"'), (
                    f"{lang}/{path.name}: the edition cell must set LANG = \"{lang}\"")
                continue
            assert source(ours) == source(theirs), (
                f"{path.name}: code cell {i} differs between {lang} and {DEFAULT}; only the cell tagged "
                f"'edition' may differ")


def test_no_chapter_exists_in_only_one_non_default_edition():
    names = {lang: {p.name for p in notebook_paths(lang)} for lang in LANGS}
    for lang in LANGS:
        extra = names[lang] - names[DEFAULT]
        assert not extra, f"notebooks only in {lang}: {sorted(extra)}"


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_has_exactly_one_edition_cell(path):
    tagged = [c for c in code_cells(read_notebook(path)) if "edition" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path}: {len(tagged)} cells tagged 'edition', expected exactly 1"


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_first_cell_installs_this_release_only_on_colab(path):
    first = source(code_cells(read_notebook(path))[0])
    url = CONFIG["repository"]["url"]
    assert 'if "google.colab" in sys.modules:' in first, f"{path}: the first code cell must be the Colab install cell"
    pins = re.findall(r"git\+(\S+?)@(v[\w.]+)", first)
    assert pins == [(url, f"v{normcode.__version__}")], (
        f"{path}: the Colab cell must install {url}@v{normcode.__version__} (the release tag), found {pins}")
    assert "normcode-textbook" in first and "pip install normcode" not in first


def test_every_notebook_and_page_is_in_the_table_of_contents():
    files = toc_files()
    for f in files:
        assert any((ROOT / f"{f}{ext}").exists() for ext in (".ipynb", ".md")), f"_toc.yml lists {f}, which does not exist"
    listed = {f for f in files}
    for path in EN:
        rel = path.relative_to(ROOT).with_suffix("").as_posix()
        assert rel in listed, f"{rel} is not in _toc.yml: add one line for it"


PLOTTING_CALL = re.compile(r"\b(plt|fig|axes|ax[0-9]?)\b[.,\[]|\bfor ax\b|\.(plot|hist|imshow|fill_between|"
                           r"axvspan|legend|set_[a-z]+|set|tight_layout|subplots)\(")


@pytest.mark.parametrize("path", notebook_paths(DEFAULT), ids=lambda p: p.name)
def test_no_cell_carries_a_page_of_plotting_code(path):
    # Figures are drawn by normcode.plotting; a cell may adjust one (a title, plt.show()), not build it.
    heavy = {}
    for i, cell in enumerate(code_cells(read_notebook(path))):
        lines = [line for line in source(cell).splitlines() if PLOTTING_CALL.search(line)]
        if len(lines) > 15:
            heavy[i] = len(lines)
    assert not heavy, f"{path.name}: code cells with more than 15 lines of plotting {heavy}; move the figure " \
                      f"into a function of normcode/plotting/"
