"""The ``glossary-table`` directive: the one shared glossary, rendered in each edition's language.

The terms live in ``book/glossary.yml``. ``glossary-table`` shows every term with
its definition in the edition's language and order: the English edition
English | 한국어 | definition sorted by the English term, the Korean edition
한국어 | English | 뜻 sorted by the Korean term (가나다순: Unicode orders the Hangul
syllables as a dictionary does). With ``:index:`` it is the short index the other
way: the English term → the Korean term in the Korean edition (for a reader
who meets the English word in a paper), the Korean term → the English term in
the English edition. Tests read the same file to check the Korean edition's wording.
"""
from __future__ import annotations

from pathlib import Path

import yaml
from docutils import nodes
from docutils.parsers.rst import directives
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


#: Column headers of each language.
HEADERS = {"en": {"en": "English", "ko": "한국어", "def": "Meaning"},
           "ko": {"en": "English", "ko": "한국어", "def": "뜻"}}


def _term(entry: dict, lang: str) -> str:
    """The term in ``lang``; a Korean term is followed by its accepted alternatives (정칙화, 규제)."""
    return entry[lang] + "".join(f", {a}" for a in entry.get(f"{lang}_alt", []))


def _sort_key(lang: str):
    return (lambda e: e["en"].lower()) if lang == "en" else (lambda e: korean_sort_key(e["ko"]))


def glossary_rows(entries: list[dict], first: str, definitions: str | None) -> list[list[str]]:
    """One row per entry, sorted by the term in language ``first``: that term, the other, the definition."""
    second = "ko" if first == "en" else "en"
    return [[_term(e, first), _term(e, second)] + ([e[f"{definitions}_def"]] if definitions else [])
            for e in sorted(entries, key=_sort_key(first))]


class GlossaryTable(SphinxDirective):
    """Render ``book/glossary.yml`` as a table in this edition's language.

    Without options: every term with its definition, sorted by the term in the edition's language.
    With ``:index:``: the short index the other way (English → 한국어 in the Korean edition,
    한국어 → English in the English one), terms only.
    """

    has_content = False
    option_spec = {"index": directives.flag}

    def run(self):
        self.env.note_dependency(str(GLOSSARY_FILE))
        lang = "ko" if self.config.language == "ko" else "en"
        other = "en" if lang == "ko" else "ko"
        first = other if "index" in self.options else lang
        definitions = None if "index" in self.options else lang
        header = [HEADERS[lang][first], HEADERS[lang]["en" if first == "ko" else "ko"]]
        rows = glossary_rows(load_glossary(), first, definitions)
        if definitions:
            return [_table(header + [HEADERS[lang]["def"]], rows)]
        return [_table(header, rows, widths=(50, 50), classes=("glossary-table", "glossary-index"))]


def setup(app):
    app.add_directive("glossary-table", GlossaryTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
