"""One language per edition: the message catalogue is complete and used, and each edition's
stored outputs are in its own language.

The code cells of a chapter are identical in both editions and carry no Hangul; every word a
reader sees goes through ``normcode.book._`` with its Korean text in
``normcode/book/locale/ko.po``. These tests check the catalogue against the code (like xgettext),
the parser against Babel's (an independent PO reader), and the stored outputs of every notebook.
"""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from _book import ROOT, code_cells, notebook_paths, read_notebook, source

from normcode.book import i18n, session

PO = i18n.CATALOGUE_DIR / "ko.po"
HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
PACKAGE_SOURCES = sorted(p for p in (ROOT / "normcode").rglob("*.py"))


def _calls(code: str, where: str) -> list[str]:
    """The string literals passed to ``_(...)`` or ``N_(...)`` in a piece of Python code."""
    code = "\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in code.splitlines())  # IPython magics
    keys = []
    for node in ast.walk(ast.parse(code, filename=where)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_"):
            assert len(node.args) == 1, f"{where}: {node.func.id}() takes one argument"
            arg = node.args[0]
            assert not isinstance(arg, (ast.JoinedStr, ast.BinOp)), (
                f"{where}, line {node.lineno}: {node.func.id}() needs the catalogue key itself, not an f-string or "
                f"a sum; put the variable parts in {{placeholders}} and call .format() on the result")
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                keys.append(arg.value)  # a variable argument must hold a key marked with N_() somewhere
    return keys


def used_keys() -> dict[str, str]:
    """Every catalogue key the package and the notebooks use -> one place that uses it."""
    keys = {}
    for path in PACKAGE_SOURCES:
        for key in _calls(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))):
            keys.setdefault(key, str(path.relative_to(ROOT)))
    assignments = sorted((ROOT / "assignments" / "en").glob("*.ipynb"))   # the course assignments use it too
    for path in notebook_paths("en") + assignments:
        for i, cell in enumerate(code_cells(read_notebook(path))):
            for key in _calls(source(cell), f"{path.relative_to(ROOT)} code cell {i}"):
                keys.setdefault(key, f"{path.relative_to(ROOT)} code cell {i}")
    return keys


def test_our_po_reader_agrees_with_babel():
    babel = pytest.importorskip("babel.messages.pofile")
    with PO.open("rb") as f:
        theirs = {m.id: m.string for m in babel.read_po(f) if m.id and m.string}
    assert i18n.read_po(PO) == theirs


def test_every_message_used_has_a_korean_entry():
    korean = i18n.read_po(PO)
    missing = {key: where for key, where in used_keys().items() if key not in korean}
    assert not missing, "add these messages to normcode/book/locale/ko.po:\n" + "\n".join(
        f"  {key!r}  (used in {where})" for key, where in missing.items())


def test_no_catalogue_entry_is_unused():
    unused = sorted(set(i18n.read_po(PO)) - set(used_keys()))
    assert not unused, f"entries of ko.po no code uses (remove them): {unused}"


def test_translations_keep_the_placeholders():
    fields = lambda s: sorted(f for _, f, spec, _ in string.Formatter().parse(s) if f is not None)
    bad = {k: v for k, v in i18n.read_po(PO).items() if fields(k) != fields(v)}
    assert not bad, f"msgstr with other {{placeholders}} than its msgid: {bad}"


def test_translations_are_korean():
    # A Korean entry is either Korean text or a symbol kept as it is (BN, ReLU, cos(G, G')...).
    bad = {k: v for k, v in i18n.read_po(PO).items() if not HANGUL.search(v) and v != k}
    assert not bad, f"entries whose Korean text has no Hangul and differs from the English: {bad}"


def test_lookup(monkeypatch):
    monkeypatch.setattr(session, "_language", "en")
    assert i18n._("batch norm") == "batch norm"
    monkeypatch.setattr(session, "_language", "ko")
    assert i18n._("batch norm") == "배치 정규화"
    with pytest.raises(i18n.MissingTranslation, match="ko.po"):
        i18n._("a message nobody translated")


def test_read_po_reports_bad_files(tmp_path):
    bad = tmp_path / "x.po"
    bad.write_text('msgid "a"\nmsgstr "b"\nmsgid "a"\nmsgstr "c"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="twice"):
        i18n.read_po(bad)
    bad.write_text('msgid "a"\nnot a po line\n', encoding="utf-8")
    with pytest.raises(ValueError, match=":2:"):
        i18n.read_po(bad)
    good = tmp_path / "y.po"
    good.write_text('msgid ""\nmsgstr "header"\n\nmsgid "two "\n"lines"\nmsgstr "두 \\"줄\\""\n', encoding="utf-8")
    assert i18n.read_po(good) == {"two lines": '두 "줄"'}


# --- the stored outputs of each edition ----------------------------------------------------------------

# Words that are not English prose when they stand in a Korean line: code identifiers, units, symbols.
NOT_PROSE = {"True", "False", "nan", "inf", "tanh", "ReLU", "relu", "sigmoid", "cos", "log", "exp", "max", "min",
             "tensor", "dtype", "float", "torch", "vs"}
WORD = re.compile(r"^[A-Za-z][a-z]+[,.:;!?)]*$")


def text_outputs(nb: dict):
    """(code cell index, line) of every printed or displayed text line a reader sees."""
    for i, cell in enumerate(code_cells(nb)):
        if "remove-output" in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                text = "".join(out["text"])
            elif "text/plain" in out.get("data", {}) and not any(k.startswith("image/") or k == "text/html"
                                                                  for k in out["data"]):
                text = "".join(out["data"]["text/plain"])
            else:
                continue
            for line in text.splitlines():
                yield i, line


def english_prose(line: str) -> bool:
    """Three or more English words and no Hangul."""
    if HANGUL.search(line):
        return False
    words = [w for w in line.split() if WORD.match(w) and w.rstrip(",.:;!?)") not in NOT_PROSE]
    return len(words) >= 3


@pytest.mark.parametrize("path", notebook_paths("ko"), ids=lambda p: p.name)
def test_korean_outputs_are_korean(path):
    english = [f"code cell {i}: {line!r}" for i, line in text_outputs(read_notebook(path)) if english_prose(line)]
    assert not english, f"{path.name}: English output lines in the Korean edition (route them through _()):\n" + \
        "\n".join(english)


@pytest.mark.parametrize("path", notebook_paths("en"), ids=lambda p: p.name)
def test_english_edition_has_no_hangul(path):
    nb = read_notebook(path)
    found = [f"cell {i} ({c['cell_type']})" for i, c in enumerate(nb["cells"]) if HANGUL.search(source(c))]
    found += [f"output of code cell {i}: {line!r}" for i, line in text_outputs(nb) if HANGUL.search(line)]
    assert not found, f"{path.name}: Hangul in the English edition:\n" + "\n".join(found)


@pytest.mark.parametrize("path", notebook_paths("ko"), ids=lambda p: p.name)
def test_code_cells_carry_no_hangul(path):
    found = [i for i, c in enumerate(code_cells(read_notebook(path))) if HANGUL.search(source(c))]
    assert not found, f"{path.name}: code cells {found} contain Hangul; use _(\"English\") and the catalogue"


def test_english_prose_detector():
    assert english_prose("training mode, batches of 2: mean |logit gap| 2.04")
    assert not english_prose("학습 모드, 배치 크기 2: 평균 |logit gap| 2.04")
    assert not english_prose("normcode.BatchNorm2d == torch.nn.BatchNorm2d: True")
    assert not english_prose("{'batch': 20, 'layer': 30}")


@pytest.mark.parametrize("path", notebook_paths("en"), ids=lambda p: p.name)
def test_notebooks_never_rebind_the_lookup_function(path):
    # `x, _ = f()` at the top level of a notebook would replace normcode.book._ for every later cell.
    bad = []
    for i, cell in enumerate(code_cells(read_notebook(path))):
        code = "\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in source(cell).splitlines())
        tree = ast.parse(code)
        scoped = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.Lambda, ast.ListComp,
                                                                     ast.SetComp, ast.DictComp, ast.GeneratorExp))
                  for n in ast.walk(f)}
        bad += [f"code cell {i}, line {n.lineno}" for n in ast.walk(tree)
                if isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store) and id(n) not in scoped]
    assert not bad, f"{path.name}: `_` is the message lookup; name the unused value instead: {bad}"
