"""The ``glossary-table`` directive: the one shared glossary, rendered in each edition's language.

The terms live in ``book/glossary.yml``; the English edition shows
English | 한국어 | definition, the Korean edition 한국어 | English | 뜻. Tests read
the same file to check the Korean edition's wording.
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


def _table(header: list[str], rows: list[list[str]]) -> nodes.table:
    table = nodes.table(classes=["glossary-table"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in (20, 20, 60):
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
                    for e in sorted(entries, key=lambda e: e["ko"])]
        else:
            header = ["English", "한국어", "Meaning"]
            rows = [[e["en"], e["ko"] + ("".join(f", {a}" for a in e.get("ko_alt", []))), e["en_def"]]
                    for e in sorted(entries, key=lambda e: e["en"].lower())]
        return [_table(header, rows)]


def setup(app):
    app.add_directive("glossary-table", GlossaryTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
