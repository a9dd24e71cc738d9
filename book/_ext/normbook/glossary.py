"""The ``glossary-table`` and ``glossary-index`` directives: the one shared glossary in each edition.

The terms live in ``book/glossary.yml``. ``glossary-table`` shows every term with
its definition in the edition's language and order: the English edition
English | 한국어 | definition sorted by the English term, the Korean edition
한국어 | English | 뜻 sorted by the Korean term (가나다순: Unicode orders the Hangul
syllables as a dictionary does). ``glossary-index`` is the short index the other
way: the English term → the Korean term in the Korean edition (for a reader
who meets the English word in a paper), the Korean term → the English term in
the English edition. Tests read the same file to check the Korean edition's wording.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from docutils import nodes
from sphinx.util.docutils import SphinxDirective

GLOSSARY_FILE = Path(__file__).resolve().parents[2] / "glossary.yml"


def load_glossary() -> list[dict]:
    """The entries of ``book/glossary.yml``."""
    return yaml.safe_load(GLOSSARY_FILE.read_text(encoding="utf-8"))


def korean_sort_key(term: str) -> str:
    """Sort key of a Korean term in 가나다순 (the code points of Hangul syllables are in dictionary order)."""
    return term.replace(" ", "")


def _table(header: list[str], rows: list[list[str]], widths=(20, 20, 60),
           classes=("glossary-table",)) -> nodes.table:
    table = nodes.table(classes=list(classes))
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    thead = nodes.thead()
    group += thead
    tbody = nodes.tbody()
    group += tbody
    for target, cells in ((thead, [header]), (tbody, rows)):
        for cells_of_row in cells:
            row = nodes.row()
            for text in cells_of_row:
                row += nodes.entry("", nodes.paragraph(text=text))
            target += row
    return table


class GlossaryTable(SphinxDirective):
    """Render ``book/glossary.yml`` as a table in this edition's language."""

    has_content = False

    def run(self):
        self.env.note_dependency(str(GLOSSARY_FILE))
        entries = load_glossary()
        if self.config.language == "ko":
            header = ["한국어", "English", "뜻"]
            rows = [[e["ko"] + ("".join(f", {a}" for a in e.get("ko_alt", []))), e["en"], e["ko_def"]]
                    for e in sorted(entries, key=lambda e: korean_sort_key(e["ko"]))]
        else:
            header = ["English", "한국어", "Meaning"]
            rows = [[e["en"], e["ko"] + ("".join(f", {a}" for a in e.get("ko_alt", []))), e["en_def"]]
                    for e in sorted(entries, key=lambda e: e["en"].lower())]
        return [_table(header, rows)]


class GlossaryIndex(SphinxDirective):
    """The short index the other way: English → 한국어 in the Korean edition, 한국어 → English in the English one."""

    has_content = False

    def run(self):
        self.env.note_dependency(str(GLOSSARY_FILE))
        entries = load_glossary()
        if self.config.language == "ko":
            header = ["English", "한국어"]
            rows = [[e["en"], e["ko"]] for e in sorted(entries, key=lambda e: e["en"].lower())]
        else:
            header = ["한국어", "English"]
            rows = [[e["ko"], e["en"]] for e in sorted(entries, key=lambda e: korean_sort_key(e["ko"]))]
        return [_table(header, rows, widths=(50, 50), classes=("glossary-table", "glossary-index"))]


def setup(app):
    app.add_directive("glossary-table", GlossaryTable)
    app.add_directive("glossary-index", GlossaryIndex)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
