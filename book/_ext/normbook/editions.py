"""One book, several editions: each page links to the same page in the other editions.

Every edition is built as its own Sphinx project into ``<site>/<lang>/`` (its own
``<html lang>``, numbering and search index). A page's twin is found by
swapping the edition folder in its document name (``notebooks/en/03_bn`` ->
``notebooks/ko/03_bn``), so a new chapter gets its twin links without any
configuration. The editions are described in ``book/editions.yml``.
"""
from __future__ import annotations

import html
from pathlib import Path

import yaml

EDITIONS_FILE = Path(__file__).resolve().parents[2] / "editions.yml"


def load_editions() -> dict:
    """The parsed ``book/editions.yml``."""
    return yaml.safe_load(EDITIONS_FILE.read_text(encoding="utf-8"))


def twin_docname(docname: str, lang: str, other: str) -> str:
    """The document name of ``docname`` (of edition ``lang``) in edition ``other``.

    >>> twin_docname("notebooks/en/03_batch_norm", "en", "ko")
    'notebooks/ko/03_batch_norm'
    """
    parts = docname.split("/")
    return "/".join(other if p == lang else p for p in parts)


def twin_url(pagename: str, lang: str, other: str) -> str:
    """Relative URL from page ``pagename`` of edition ``lang`` to its twin in edition ``other``.

    Editions live side by side (``site/en/...``, ``site/ko/...``), so the URL climbs
    out of this edition and descends into the other one.

    >>> twin_url("notebooks/en/03_bn", "en", "ko")
    '../../../ko/notebooks/ko/03_bn.html'
    """
    depth = pagename.count("/")
    return "../" * (depth + 1) + f"{other}/{twin_docname(pagename, lang, other)}.html"


def _add_twin_links(app, pagename, templatename, context, doctree):
    lang = app.config.language
    editions = load_editions()["editions"]
    if lang not in editions or doctree is None:
        return
    src = Path(app.srcdir)
    links = []
    for other, info in editions.items():
        if other == lang:
            continue
        target = twin_docname(pagename, lang, other)
        if not any((src / f"{target}{ext}").exists() for ext in (".ipynb", ".md")):
            continue  # no twin (tests forbid this for chapters); link nothing rather than a 404
        url = twin_url(pagename, lang, other)
        links.append(
            f'<a class="twin-link" hreflang="{other}" lang="{other}" href="{html.escape(url)}">'
            f'{html.escape(info["twin_label"])}</a>'
        )
        context["metatags"] = context.get("metatags", "") + (
            f'\n<link rel="alternate" hreflang="{other}" href="{html.escape(url)}" />'
        )
    home = "../" * (pagename.count("/") + 1) + "index.html"
    home_link = f'<a class="editions-home" href="{home}">{html.escape(editions[lang]["home_label"])}</a>'
    banner = f'<nav class="edition-switch" aria-label="editions">{" ".join(links)} {home_link}</nav>\n'
    context["body"] = banner + context.get("body", "")


def setup(app):
    app.connect("html-page-context", _add_twin_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
