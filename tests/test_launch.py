"""Launch buttons: every notebook page of every edition opens its own notebook on Colab and Binder.

The expected URLs are derived here from _config.yml (repository url and branch,
launch_buttons) and the notebooks on disk, independently of the theme, and then
looked for in the built pages (python3 dev.py test builds the site first).
"""
from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest

from _book import CONFIG, DEFAULT, LANGS, ROOT, site_dir, toc_files

REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"]["branch"]
LAUNCH = CONFIG["launch_buttons"]


def notebook_pages() -> list[tuple[str, object]]:
    """(edition, notebook) of every notebook in the book: the table of contents, in every edition.

    (A notebook missing from _toc.yml is no page of the book; tests/test_notebooks.py reports it.)
    """
    pages = []
    for lang in LANGS:
        for f in toc_files():
            parts = [lang if p == DEFAULT else p for p in f.split("/")]
            path = ROOT.joinpath(*parts).with_suffix(".ipynb")
            if path.exists():
                pages.append((lang, path))
    return pages


PAGES = notebook_pages()


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


def hrefs(page) -> list[str]:
    parser = _Anchors()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.hrefs


def repo_path(notebook) -> str:
    """The notebook's path in the repository, as the launch services see it."""
    book = CONFIG["repository"].get("path_to_book", "").strip("/")
    rel = notebook.relative_to(ROOT).as_posix()
    return f"{book}/{rel}" if book else rel


def expected_urls(notebook) -> dict[str, str]:
    owner, repo = urlparse(REPO_URL).path.strip("/").split("/")
    ui = {"classic": "tree", "jupyterlab": "lab/tree"}[LAUNCH.get("notebook_interface", "classic")]
    path = repo_path(notebook)
    return {
        "colab": f"{LAUNCH['colab_url'].rstrip('/')}/github/{owner}/{repo}/blob/{BRANCH}/{path}",
        "binder": f"{LAUNCH['binderhub_url'].rstrip('/')}/v2/gh/{owner}/{repo}/{BRANCH}?urlpath={ui}/{path}",
    }


def page_of(lang, notebook):
    return site_dir() / lang / notebook.relative_to(ROOT).with_suffix(".html")


def test_launch_settings_point_at_the_main_branch_of_a_github_repository():
    assert BRANCH == "main", "launch buttons must open the notebooks of the main branch"
    assert urlparse(REPO_URL).netloc == "github.com" and len(urlparse(REPO_URL).path.strip("/").split("/")) == 2
    assert LAUNCH.get("colab_url") and LAUNCH.get("binderhub_url")
    assert PAGES, "no notebooks found"


@pytest.mark.parametrize("lang,notebook", PAGES, ids=lambda v: v if isinstance(v, str) else v.stem)
def test_notebook_page_has_colab_and_binder_buttons_for_its_own_notebook(lang, notebook):
    page = page_of(lang, notebook)
    assert page.exists(), f"{notebook.name} of {lang} was not built into {page}"
    links = hrefs(page)
    for service, url in expected_urls(notebook).items():
        assert links.count(url) == 1, (
            f"{page.relative_to(site_dir())}: expected one {service} button linking to\n  {url}\n"
            f"found: {[h for h in links if service in h]}")
        # the URL names a notebook that exists in this edition's folder of the repository
        assert f"/notebooks/{lang}/{notebook.name}" in url and notebook.exists()
    # and no button opens another page's notebook
    launch = [h for h in links if h.startswith((LAUNCH["colab_url"], LAUNCH["binderhub_url"]))]
    assert sorted(launch) == sorted(expected_urls(notebook).values())


@pytest.mark.parametrize("lang", LANGS)
def test_pages_that_are_not_notebooks_have_no_launch_buttons(lang):
    root = site_dir() / lang
    for page in sorted((root / "book").rglob("*.html")):
        launch = [h for h in hrefs(page) if h.startswith((LAUNCH["colab_url"], LAUNCH["binderhub_url"]))]
        assert not launch, f"{page}: a page without a notebook links to {launch}"
