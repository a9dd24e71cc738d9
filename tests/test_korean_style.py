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


@pytest.mark.parametrize("path", KO, ids=lambda p: p.name)
def test_glossary_terms_are_introduced_with_their_english_name(path):
    # Each glossary term a chapter uses is introduced once with the English term in
    # parentheses, e.g. 배치 정규화(batch normalization). Line breaks count as spaces.
    text = re.sub(r"\s+", " ", _prose(path))
    for entry in GLOSSARY:
        ko, en = entry["ko"], entry["en"]
        if ko not in text:
            continue
        pattern = rf"{re.escape(ko)}\s*\([^)]*{re.escape(en)}"
        assert re.search(pattern, text, flags=re.I), (
            f"{path.name} uses '{ko}' but never introduces it as '{ko}({en})'")


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
