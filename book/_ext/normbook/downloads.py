"""Downloads on every chapter page: the chapter's PDF, its notebook, and the whole book's PDF.

The PDFs are made by ``python3 dev.py pdf`` (tools/build_pdf.py) and copied into each edition's
``_pdf/`` folder of the site: ``_pdf/<chapter>.pdf`` (cut from the book) and
``_pdf/normalization-<lang>.pdf``. The notebook is the ``.ipynb`` Sphinx already copies to
``_sources/``. The labels are in ``book/editions.yml`` (``downloads``).
"""
from __future__ import annotations

import html

from .editions import load_editions

#: The folder of an edition's site that holds its PDFs (tools/build_book.py copies them there).
PDF_FOLDER = "_pdf"


def book_pdf_name(lang: str) -> str:
    """File name of the whole-book PDF of edition ``lang``."""
    return f"normalization-{lang}.pdf"


def download_links(pagename: str, lang: str) -> list[tuple[str, str, str]]:
    """``(kind, href, filename)`` of the downloads of chapter page ``pagename``, relative to the page.

    >>> [href for kind, href, name in download_links("notebooks/en/03_bn", "en")]
    ['../../_pdf/03_bn.pdf', '../../_sources/notebooks/en/03_bn.ipynb', '../../_pdf/normalization-en.pdf']
    """
    up = "../" * pagename.count("/")
    stem = pagename.rsplit("/", 1)[-1]
    return [("chapter_pdf", f"{up}{PDF_FOLDER}/{stem}.pdf", f"{stem}.pdf"),
            ("notebook", f"{up}_sources/{pagename}.ipynb", f"{stem}.ipynb"),
            ("book_pdf", f"{up}{PDF_FOLDER}/{book_pdf_name(lang)}", book_pdf_name(lang))]


def _add_download_links(app, pagename, templatename, context, doctree):
    if doctree is None or app.builder.format != "html" or not pagename.startswith("notebooks/"):
        return
    lang = app.config.language
    labels = load_editions()["editions"].get(lang, {}).get("downloads")
    if not labels:
        return
    links = " ".join(
        f'<a class="download-link download-{kind.replace("_", "-")}" href="{html.escape(href)}" '
        f'download="{html.escape(name)}">{html.escape(labels[kind])}</a>'
        for kind, href, name in download_links(pagename, lang))
    nav = f'<nav class="downloads" aria-label="{html.escape(labels["aria"])}">{links}</nav>\n'
    context["body"] = nav + context.get("body", "")


def setup(app):
    # before the edition links (priority 500), which are put above these
    app.connect("html-page-context", _add_download_links, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
