"""The Korean edition's wording: glossary terms, normalization ≠ regularization, spacing."""
from __future__ import annotations

import re

import pytest

from _book import GLOSSARY, markdown_text, notebook_paths, read_notebook, ROOT

KO = notebook_paths("ko") + sorted((ROOT / "assignments" / "ko").glob("*.ipynb"))  # chapters and assignments
KO_PAGES = sorted((ROOT / "book" / "ko").glob("*.md"))


def _prose(path):
    if path.suffix == ".ipynb":
        return markdown_text(read_notebook(path))
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", KO + KO_PAGES, ids=lambda p: p.name)
def test_regularization_is_never_called_normalization(path):
    text = _prose(path)
    for entry in GLOSSARY:
        for wrong in entry.get("forbidden", []):
            bad = re.findall(rf"{wrong}\s*\(\s*{entry['en']}", text, flags=re.I)
            assert not bad, f"{path.name}: '{bad[0]}': {entry['en']} is {entry['ko']}, never {wrong}"
    for match in re.finditer(r"(\S*)\s*\(\s*regulari[sz]", text, flags=re.I):
        assert match.group(1).rstrip("(").endswith(("정칙화", "규제")), (
            f"{path.name}: 'regularization' glossed as '{match.group(1)}'; use 정칙화 or 규제")


def _without_headings(text: str) -> str:
    """Prose without heading lines (a chapter's title names its subject before the text introduces it)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


@pytest.mark.parametrize("path", KO, ids=lambda p: p.name)
def test_glossary_terms_are_introduced_with_their_english_name_at_first_use(path):
    # The first time a chapter's prose uses a glossary term, the English term follows in
    # parentheses: 배치 정규화(batch normalization). Occurrences inside a longer glossary term
    # (정규화 inside 배치 정규화) do not count as uses of the shorter one. Line breaks count as spaces.
    text = re.sub(r"\s+", " ", _without_headings(_prose(path)))
    terms = sorted({e["ko"]: e for e in GLOSSARY}.values(), key=lambda e: -len(e["ko"]))
    for entry in terms:
        ko, en = entry["ko"], entry["en"]
        masked = text
        for longer in terms:
            if ko in longer["ko"] and longer["ko"] != ko:
                masked = masked.replace(longer["ko"], "\0" * len(longer["ko"]))
        first = masked.find(ko)
        if first < 0:
            continue
        after = text[first + len(ko):first + len(ko) + 80]
        assert re.match(rf"\s*\([^)]*{re.escape(en)}", after, flags=re.I), (
            f"{path.name}: the first use of '{ko}' ('...{text[max(0, first - 30):first + len(ko) + 20]}...') "
            f"must introduce it as '{ko}({en})'")


@pytest.mark.parametrize("path", KO + KO_PAGES, ids=lambda p: p.name)
def test_sentences_are_followed_by_a_space(path):
    # Machine-translated Korean often glues sentences together: "정규화한다.그러면".
    text = _prose(path)
    glued = re.findall(r"[가-힣][.!?][가-힣]", text)
    assert not glued, f"{path.name}: no space after a sentence in {glued[:5]}"


@pytest.mark.parametrize("path", KO + KO_PAGES, ids=lambda p: p.name)
def test_emphasis_is_not_glued_to_hangul_in_a_way_markdown_cannot_parse(path):
    # CommonMark does not close '**강조**' directly followed by a letter after punctuation,
    # e.g. '**정규화(normalization)**는' renders the asterisks literally.
    text = _prose(path)
    bad = re.findall(r"\*\*[^*\n]*[)\]\"'.,]\*\*[가-힣]", text)
    assert not bad, f"{path.name}: emphasis that will not render: {bad[:3]}; rephrase or move the particle inside"


def test_glossary_entries_are_complete():
    for entry in GLOSSARY:
        for key in ("en", "ko", "en_def", "ko_def"):
            assert entry.get(key), f"glossary entry {entry} lacks {key}"
    ko_terms = [e["ko"] for e in GLOSSARY]
    assert len(ko_terms) == len(set(ko_terms)), "a Korean term is used for two English terms"
    en_terms = [e["en"].lower() for e in GLOSSARY]
    assert len(en_terms) == len(set(en_terms)), "an English term has two entries"
    for entry in GLOSSARY:  # an alternative Korean word is not another entry's term
        for alt in entry.get("ko_alt", []):
            assert alt not in ko_terms, f"{entry['en']}: alternative {alt!r} is the term of another entry"
