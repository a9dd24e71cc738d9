"""Korean particles after rendered references fit what the reader sees.

``{eq}`bn-var``` renders as "(3.7)", a citation as "Ioffe and Szegedy, 2015", a figure
reference as "그림 3.2": the particle after it must agree with how the *last digit* is read
(일, 삼, 육, 칠, 팔, 영 end in a consonant: "(3.7)을"; 이, 사, 오, 구 do not: "(3.2)를").
The check reads the built Korean HTML, so it sees exactly what a reader sees.
"""
from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from _book import site_dir

# Korean reading of each digit ends in a final consonant (batchim)? And is it ㄹ (for 로/으로)?
BATCHIM = {"0": True, "1": True, "2": False, "3": True, "4": False, "5": False, "6": True, "7": True,
           "8": True, "9": False}
RIEUL = {"1", "7", "8"}
# particle -> (form after a consonant, form after a vowel)
PAIRS = {"은": ("은", "는"), "는": ("은", "는"), "이": ("이", "가"), "가": ("이", "가"), "을": ("을", "를"),
         "를": ("을", "를"), "과": ("과", "와"), "와": ("과", "와"), "으로": ("으로", "로"), "로": ("으로", "로")}
PARTICLE = re.compile(r"^[)\]]*\s?(으로|은|는|이|가|을|를|과|와|로)(?![가-힣])")


def expected(particle: str, digit: str) -> str:
    after_consonant, after_vowel = PAIRS[particle]
    if particle in ("으로", "로"):
        return "로" if (digit in RIEUL or not BATCHIM[digit]) else "으로"
    return after_consonant if BATCHIM[digit] else after_vowel


def mismatches(html: str) -> list[str]:
    """'(3.7)를 -> 을' for every reference followed by the wrong particle form."""
    soup = BeautifulSoup(html, "html.parser")
    body = soup.find("main") or soup
    bad = []
    for a in body.find_all("a"):
        text = a.get_text().strip()
        m = re.search(r"(\d)[)\]]*$", text)
        following = a.next_sibling
        if not m or not isinstance(following, str):
            continue
        p = PARTICLE.match(following)
        if p and p.group(1) != expected(p.group(1), m.group(1)):
            bad.append(f"{text}{following[:p.end()]} -> {expected(p.group(1), m.group(1))}")
    return bad


def test_the_rule():
    assert expected("를", "7") == "을" and expected("을", "2") == "를" and expected("가", "3") == "이"
    assert expected("으로", "1") == "로" and expected("로", "3") == "으로" and expected("는", "5") == "는"
    html = '<main><p>식 <a href="#x">(3.7)</a>를 보면 <a href="#y">(2.2)</a>가 <a href="#z">(1.1)</a>은</p></main>'
    assert mismatches(html) == ["(3.7)를 -> 을"]


def korean_pages():
    site = site_dir() / "ko"
    return sorted(site.rglob("*.html"))


def test_particles_after_references_in_the_korean_edition():
    pages = korean_pages()
    assert pages, "no Korean pages were built"
    bad = {}
    for page in pages:
        found = mismatches(page.read_text(encoding="utf-8"))
        if found:
            bad[str(page.relative_to(site_dir()))] = found
    assert not bad, "particles that do not fit the rendered reference:\n" + "\n".join(
        f"  {page}: {', '.join(items)}" for page, items in bad.items())
