"""The built site: editions, languages, twin links, Korean search, glossary, landing page.

The site is built by the test command before pytest runs (python3 dev.py test);
these tests read the HTML it produced.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from _book import EDITIONS, GLOSSARY, LANGS, ROOT, site_dir


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.html_lang, self.twins = [], None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
            if "twin-link" in (attrs.get("class") or ""):
                self.twins.append((attrs.get("hreflang"), attrs["href"]))


def parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def content_pages(lang: str) -> list[Path]:
    """The pages of an edition written by the authors (not search/genindex)."""
    root = site_dir() / lang
    return sorted(p for folder in ("book", "notebooks") for p in (root / folder).rglob("*.html"))


@pytest.fixture(scope="module")
def site():
    return site_dir()


def test_landing_page_links_to_every_edition(site):
    page = parse(site / "index.html")
    for lang in LANGS:
        assert f"{lang}/index.html" in page.links, f"landing page lacks a link to the {lang} edition"
        assert (site / lang / "index.html").exists()
    text = (site / "index.html").read_text(encoding="utf-8")
    for info in EDITIONS["editions"].values():
        assert info["title"] in text and html.escape(info["blurb"]) in text


def test_landing_page_is_the_cover(site):
    # The cover: chapter 2's signature figure, and each edition's chapter list linking to its pages.
    page = parse(site / "index.html")
    assert "cover.png" in (site / "index.html").read_text(encoding="utf-8")
    assert (site / "cover.png").read_bytes().startswith(b"\x89PNG")
    for lang in LANGS:
        chapters = [link for link in page.links if link.startswith(f"{lang}/notebooks/{lang}/")]
        notebooks = sorted((ROOT / "notebooks" / lang).glob("*.ipynb"))
        assert len(chapters) == len(notebooks), f"{lang}: the cover lists {len(chapters)} chapters"
        for link in chapters:
            assert (site / link).exists(), f"the cover links to {link}, which was not built"


@pytest.mark.parametrize("lang", LANGS)
def test_status_page_lists_every_notebook(lang):
    page = site_dir() / lang / "book" / lang / "status.html"
    assert page.exists(), f"no status page in the {lang} edition"
    text = page.read_text(encoding="utf-8")
    notebooks = sorted((ROOT / "notebooks" / lang).glob("*.ipynb"))
    for nb in notebooks:
        assert f"{nb.stem}.html" in text, f"{lang} status page lacks {nb.name}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_declares_its_edition_language(lang):
    pages = content_pages(lang)
    assert pages
    for page in pages + [site_dir() / lang / "search.html"]:
        assert parse(page).html_lang == lang, f"{page}: <html lang> is not {lang!r}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_links_to_an_existing_twin(lang):
    others = [l for l in LANGS if l != lang]
    for page in content_pages(lang):
        twins = dict(parse(page).twins)
        for other in others:
            assert other in twins, f"{page}: no link to its {other} twin"
            target = (page.parent / twins[other]).resolve()
            assert target.exists(), f"{page}: twin link {twins[other]} leads nowhere"
            assert target.parts[-len(page.relative_to(site_dir() / lang).parts):] != ()
            assert f"/{other}/" in target.as_posix()
            # and the twin links back
            back = dict(parse(target).twins)[lang]
            assert (target.parent / back).resolve() == page.resolve()


@pytest.mark.parametrize("lang", LANGS)
def test_internal_links_resolve(lang):
    for page in content_pages(lang) + [site_dir() / lang / "genindex.html"]:
        for href in parse(page).links:
            url = urlparse(href)
            if url.scheme or href.startswith(("mailto:", "#", "javascript:")):
                continue
            target = (page.parent / url.path).resolve() if url.path else page
            assert target.exists(), f"{page}: broken link {href}"


def test_user_interface_is_in_each_edition_language(site):
    ko = (site / "ko" / "notebooks" / "ko" / "00_preface.html").read_text(encoding="utf-8")
    en = (site / "en" / "notebooks" / "en" / "00_preface.html").read_text(encoding="utf-8")
    assert "검색" in ko, "the Korean edition's search box is not labelled in Korean"
    assert "Search" in en


def _search_index(lang: str) -> dict:
    text = (site_dir() / lang / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1: text.rindex(")")])


def test_each_edition_has_its_own_search_index():
    for lang in LANGS:
        docnames = _search_index(lang)["docnames"]
        assert docnames and all(f"/{lang}/" in d for d in docnames), docnames


def _stem_with_site_js(lang: str, words: list[str]) -> list[str]:
    node = shutil.which("node")
    assert node, "node is needed to run the site's JavaScript stemmer (apt-get install nodejs)"
    js = (site_dir() / lang / "_static" / "language_data.js").read_text(encoding="utf-8")
    script = js + f"\nvar s = new Stemmer(); console.log(JSON.stringify({json.dumps(words)}.map(w => s.stemWord(w))));"
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_korean_search_finds_a_page_by_the_stem_of_a_word_with_a_particle():
    # The preface writes "정규화는", "정규화를" ...; a reader searches "정규화" or "정규화는".
    index = _search_index("ko")
    preface = index["docnames"].index("notebooks/ko/00_preface")
    for query in ("정규화", "정규화는", "정규화를"):
        (stem,) = _stem_with_site_js("ko", [query])
        docs = index["terms"].get(stem, [])
        docs = [docs] if isinstance(docs, int) else docs
        assert preface in docs, f"searching {query!r} (stem {stem!r}) does not find the preface"


def test_korean_search_still_stems_english_words():
    assert _stem_with_site_js("ko", ["normalization", "정규화를"]) == ["normal", "정규화"]


def test_english_search_is_unchanged():
    assert _stem_with_site_js("en", ["normalization"]) == ["normal"]


@pytest.mark.parametrize("lang", LANGS)
def test_glossary_page_lists_every_term(lang):
    page = (site_dir() / lang / "book" / lang / "glossary.html").read_text(encoding="utf-8")
    for entry in GLOSSARY:
        assert entry["en"] in page and entry["ko"] in page


@pytest.mark.parametrize("lang", LANGS)
def test_glossary_is_sorted_in_the_edition_language_with_an_index_the_other_way(lang):
    from bs4 import BeautifulSoup

    page = BeautifulSoup((site_dir() / lang / "book" / lang / "glossary.html").read_text(encoding="utf-8"),
                         "html.parser")
    tables = page.find_all("table", class_="glossary-table")
    assert len(tables) == 2, f"{lang}: the glossary and its index the other way"
    other = "en" if lang == "ko" else "ko"
    for table, first in zip(tables, (lang, other)):
        terms = [row.find("td").get_text(strip=True).split(",")[0] for row in table.find_all("tr")[1:]]
        assert len(terms) == len(GLOSSARY)
        key = (lambda t: t.lower()) if first == "en" else (lambda t: t.replace(" ", ""))
        assert terms == sorted(terms, key=key), f"{lang}: a table is not sorted by its {first} column"
        assert set(terms) == {e[first] for e in GLOSSARY}


@pytest.mark.parametrize("lang", LANGS)
def test_bibliography_has_correct_arxiv_ids(lang):
    page = (site_dir() / lang / "book" / lang / "bibliography.html").read_text(encoding="utf-8")
    for arxiv_id in ("1502.03167", "1805.11604", "1607.06450", "1803.08494", "1806.10779", "1802.05957",
                     "1805.07925", "1702.03275", "1602.07868", "1607.08022"):
        assert arxiv_id in page, f"bibliography of {lang} lacks arXiv:{arxiv_id}"


def test_no_page_is_heavier_than_5_mb(site):
    sizes = {p: p.stat().st_size for p in site.rglob("*.html")}
    heavy = {str(p): s for p, s in sizes.items() if s > 5e6}
    assert not heavy, heavy


# --- every reference inside the site, fragments and assets included -------------------------------

class _Refs(HTMLParser):
    """Element ids, and every URL a page links to or loads (kind, url)."""

    LOADS = {"img": "src", "script": "src", "source": "src", "iframe": "src", "video": "src", "audio": "src"}

    def __init__(self):
        super().__init__()
        self.ids, self.refs = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.refs.append(("link", attrs["href"]))
        elif tag == "link" and attrs.get("href"):
            rel = set((attrs.get("rel") or "").split())
            self.refs.append(("asset" if rel & {"stylesheet", "preload", "icon", "modulepreload"} else "link",
                              attrs["href"]))
        elif tag in self.LOADS and attrs.get(self.LOADS[tag]):
            self.refs.append(("asset", attrs[self.LOADS[tag]]))
        if attrs.get("srcset"):
            for candidate in attrs["srcset"].split(","):
                if candidate.strip():
                    self.refs.append(("asset", candidate.split()[0]))


_parsed: dict[Path, _Refs] = {}


def _refs(path: Path) -> _Refs:
    if path not in _parsed:
        parser = _Refs()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        _parsed[path] = parser
    return _parsed[path]


def _local_target(page: Path, href: str):
    """The file a relative URL of ``page`` points to, and its fragment; None for external URLs."""
    url = urlparse(href)
    if url.scheme or url.netloc or href.startswith(("mailto:", "javascript:", "data:")):
        return None
    target = (page.parent / unquote(url.path)).resolve() if url.path else page.resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, unquote(url.fragment)


def _site_pages() -> list[Path]:
    """Every HTML page of the site (not the theme's Jinja macro files that Sphinx copies into _static/)."""
    site = site_dir()
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def test_every_internal_link_anchor_image_script_and_stylesheet_resolves(site):
    broken = []
    for page in _site_pages():
        for kind, href in _refs(page).refs:
            found = _local_target(page, href)
            if found is None:
                continue
            target, fragment = found
            where = f"{page.relative_to(site)}: {href}"
            if not target.is_file():
                broken.append(f"{where} -> missing {kind}")
            elif not target.is_relative_to(site.resolve()):
                broken.append(f"{where} -> outside the site")
            elif fragment and kind == "link" and target.suffix == ".html" and fragment not in _refs(target).ids:
                broken.append(f"{where} -> no element with id {fragment!r} in {target.relative_to(site.resolve())}")
    assert not broken, f"{len(broken)} broken references:\n" + "\n".join(broken[:40])


def test_stylesheets_refer_only_to_files_that_exist(site):
    broken = []
    for css in sorted(site.rglob("*.css")):
        text = css.read_text(encoding="utf-8", errors="replace")
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", text):
            if ref.startswith(("data:", "http:", "https:", "#", "//")):
                continue
            target = (css.parent / unquote(urlparse(ref).path)).resolve()
            if not target.is_file():
                broken.append(f"{css.relative_to(site)}: url({ref})")
    assert not broken, "\n".join(broken)


def test_no_page_with_what_it_loads_is_heavier_than_5_mb(site):
    """A page's weight: its HTML and every local image, script and stylesheet it loads.

    Writes the list to _build/page-weights.txt (dev.py test prints it), with the site's total size.
    """
    weights = {}
    for page in _site_pages():
        files = {page.resolve()}
        for kind, href in _refs(page).refs:
            found = _local_target(page, href)
            if kind == "asset" and found and found[0].is_file():
                files.add(found[0])
        weights[page.relative_to(site).as_posix()] = sum(f.stat().st_size for f in files)
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    lines = [f"site {site}: {total / 1e6:.1f} MB in all, {len(weights)} pages; heaviest pages with the local "
             f"files they load (limit 5 MB; MathJax, fetched from its CDN by pages with math, not counted):"]
    lines += [f"  {w / 1e6:6.2f} MB  {name}" for name, w in sorted(weights.items(), key=lambda kv: -kv[1])[:12]]
    report = Path(site).parent / "page-weights.txt"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    heavy = {name: w for name, w in weights.items() if w > 5e6}
    assert not heavy, f"pages over 5 MB with what they load: {heavy}"
