"""book/references.bib: every entry is cited, every citation has an entry, every arXiv id is well formed.

The bibliography pages use ``:all:``; with every entry cited somewhere, that is exactly the list of
the papers the book cites. Each arXiv id was checked against the paper's abstract page or its official
code when it was added; this test checks their form and that ``eprint``, ``url`` and year agree.
"""
from __future__ import annotations

import re

import pytest
from pybtex.database import parse_file

from _book import ROOT, notebook_paths, read_notebook, source

BIB = parse_file(str(ROOT / "book" / "references.bib"))
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def _cited() -> dict[str, set[str]]:
    """Every key cited in the chapters, assignments and book pages, with where it is cited."""
    texts = {}
    for path in notebook_paths() + sorted((ROOT / "assignments").glob("*/*.ipynb")):
        texts[path.name] = "\n".join(source(c) for c in read_notebook(path)["cells"] if c["cell_type"] == "markdown")
    for path in sorted((ROOT / "book").glob("*/*.md")):
        texts[path.name] = path.read_text(encoding="utf-8")
    cited: dict[str, set[str]] = {}
    for name, text in texts.items():
        for m in CITE.finditer(text):
            for key in m.group(1).split(","):
                cited.setdefault(key.strip(), set()).add(name)
    return cited


CITED = _cited()


def test_every_citation_has_an_entry():
    missing = {key: sorted(where) for key, where in CITED.items() if key not in BIB.entries}
    assert not missing, f"cited but not in book/references.bib: {missing}"


def test_every_entry_is_cited():
    uncited = [key for key in BIB.entries if key not in CITED]
    assert not uncited, f"in book/references.bib but cited nowhere (cite them or remove them): {uncited}"


@pytest.mark.parametrize("key", list(BIB.entries))
def test_entry_is_complete(key):
    entry = BIB.entries[key]
    fields = {k.lower(): v for k, v in entry.fields.items()}
    assert entry.persons.get("author"), f"{key}: no authors"
    assert re.fullmatch(r"(19|20)\d\d", fields.get("year", "")), f"{key}: year {fields.get('year')!r}"
    assert fields.get("title"), f"{key}: no title"
    assert fields.get("journal") or fields.get("booktitle") or fields.get("publisher"), f"{key}: no venue"
    if "eprint" in fields:
        eprint = fields["eprint"]
        assert re.fullmatch(r"\d{4}\.\d{4,5}", eprint), f"{key}: arXiv id {eprint!r}"
        assert fields.get("archiveprefix") == "arXiv", f"{key}: archivePrefix"
        assert fields.get("url") == f"https://arxiv.org/abs/{eprint}", f"{key}: url {fields.get('url')!r}"
        yymm = eprint[:4]
        # published in the year of the preprint or a few years later (a journal version), never before it
        assert 2000 + int(yymm[:2]) <= int(fields["year"]) <= 2000 + int(yymm[:2]) + 3, (
            f"{key}: year {fields['year']} does not fit the arXiv id {eprint}")
        if "journal" in fields and fields["journal"].startswith("arXiv preprint"):
            assert eprint in fields["journal"], f"{key}: journal names another arXiv id"
