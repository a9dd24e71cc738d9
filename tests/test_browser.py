"""The built site in a real browser: headless Chromium (Debian's), driven by Playwright.

A thread serves the built site (python3 dev.py test builds it) on a localhost
port; the tests load the landing page, a page of each edition and its twin, the
Korean search page and the animation player, and check what a reader meets:
the ``lang`` attribute, the twin link (followed), Korean search by word stem,
images that load, math that typesets, the launch buttons, an animation whose
frame changes, no horizontal scrolling on a phone, and no error in the browser
console. Screenshots at desktop (1280×800) and phone (390×844) widths go to
``_build/screenshots/`` (look at them).

Nothing is fetched from the internet. The pages load MathJax from its CDN
(jsdelivr, ``mathjax@3``); the test serves that URL from a local copy of the
same release (npm package ``mathjax@3.2.2``, installed into
``_build/browser-vendor/`` on first use), so math is really typeset and checked.
Every other request that leaves localhost is refused and fails the test: the
site must not need any other external resource to display a page. Every
console error fails the test, except the 404 of the browser's own request for
``/favicon.ico`` (the site declares no icon; no page asks for that file).

Chromium: ``/usr/bin/chromium`` (``apt-get install chromium chromium-driver
fonts-nanum``; ``python3 dev.py test`` installs them when it runs as root). A
missing browser is a failure, never a skip. Playwright is used with that
executable only: no browser download.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from _book import DEFAULT, EDITIONS, LANGS, ROOT, notebook_paths, site_dir
from test_launch import expected_urls

CHROMIUM = Path(os.environ.get("NORMBOOK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SCREENSHOTS = ROOT / "_build" / "screenshots"
VENDOR = ROOT / "_build" / "browser-vendor"
MATHJAX_VERSION = "3.2.2"
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/"
TIMEOUT_MS = 15_000
INSTALL_HINT = ("install it with:  apt-get update && apt-get install -y chromium chromium-driver fonts-nanum  "
                "(python3 dev.py test does this by itself when run as root)")

CHAPTER = notebook_paths(DEFAULT)[0].stem  # the page of each edition that is visited (the preface)
PLAYER = ".normcode-player"


def page_path(lang: str, stem: str = CHAPTER) -> str:
    return f"/{lang}/notebooks/{lang}/{stem}.html"


# --- serving the site ------------------------------------------------------------------------------

class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the site; ``extra`` maps URL paths to generated pages (bytes) served from memory."""

    extra: dict[str, bytes] = {}
    timeout = 10  # a stuck connection cannot hold a server thread forever

    def do_GET(self):
        path = unquote(urlparse(self.path).path)
        if path in self.extra:
            body = self.extra[path]
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def _player_pages() -> dict[str, bytes]:
    """Pages with the animation player: a standalone one and one inside a real page of the book."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from normcode.book import animation

    x = np.linspace(-4, 4, 120)

    def draw(i, ax):  # a bell curve that drifts and widens, like a shifting activation distribution
        ax.plot(x, np.exp(-((x - 0.15 * i) ** 2) / (2 * (1 + 0.05 * i) ** 2)), color="C0")
        ax.set_ylim(0, 1.05)
        ax.set_title(f"step {i}")

    player = animation.animate(draw, 16, name="browser test drift", fps=12, figsize=(5, 2.6), dpi=80)
    pages = {}
    standalone = VENDOR / "player.html"
    VENDOR.mkdir(parents=True, exist_ok=True)
    player.save(standalone, title="Animation player")
    pages["/__test__/player.html"] = standalone.read_bytes()
    # The same player inside the preface page of the site (its theme, CSS and scripts), served beside it.
    for lang in LANGS:
        html = (site_dir() / lang / "notebooks" / lang / f"{CHAPTER}.html").read_text(encoding="utf-8")
        anchor = html.index("</h1>", html.index('<article class="bd-article"'))  # under the chapter title
        html = html[:anchor + 5] + '\n<div class="cell_output docutils container"><div class="output text_html">' + \
            player.to_html() + "</div></div>\n" + html[anchor + 5:]
        pages[f"/{lang}/notebooks/{lang}/__player_in_page.html"] = html.encode("utf-8")
    return pages


@pytest.fixture(scope="module")
def server():
    site = site_dir()
    handler = type("Handler", (_Handler,), {"extra": _player_pages()})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# --- MathJax from a local copy ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def mathjax() -> Path:
    root = VENDOR / "node_modules" / "mathjax"
    package = root / "package.json"
    if not package.exists() or json.loads(package.read_text())["version"] != MATHJAX_VERSION:
        npm = shutil.which("npm")
        if not npm:
            pytest.fail("npm is needed once to fetch MathJax for the browser tests (apt-get install npm)")
        VENDOR.mkdir(parents=True, exist_ok=True)
        out = subprocess.run([npm, "install", "--prefix", str(VENDOR), "--no-save", "--no-package-lock",
                              "--no-audit", "--no-fund", f"mathjax@{MATHJAX_VERSION}"],
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, f"npm install mathjax@{MATHJAX_VERSION} failed:\n{out.stderr[-2000:]}"
    assert (root / "es5" / "tex-mml-chtml.js").exists()
    return root


# --- the browser ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package playwright is missing: pip install -r requirements.txt")
    with sync_playwright() as p:
        # launch() gives the browser a fresh, empty profile directory of its own.
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
                                    timeout=60_000)
        yield browser
        browser.close()


@pytest.fixture(scope="module", autouse=True)
def screenshots_dir():
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    yield SCREENSHOTS


class Tab:
    """A page in a fresh browser context that records what went wrong: console errors, page errors,
    failed or refused requests, HTTP errors."""

    def __init__(self, browser, server, mathjax, viewport="desktop"):
        self.server, self.problems, self.external = server, [], []
        self.context = browser.new_context(viewport=VIEWPORTS[viewport], device_scale_factor=1,
                                           reduced_motion="no-preference")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.route("**/*", functools.partial(self._route, mathjax=mathjax))
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.problems.append(f"page error: {err}"))
        self.page.on("response", self._response)
        self.page.on("requestfailed", lambda req: self.problems.append(
            f"request failed: {req.url[:150]} ({req.failure})"))

    def _route(self, route, mathjax):
        url = route.request.url
        if url.startswith(self.server) or url.startswith("data:"):
            route.continue_()
        elif url.startswith(MATHJAX_CDN):
            local = mathjax / urlparse(url).path[len(urlparse(MATHJAX_CDN).path):]
            if local.is_file():
                route.fulfill(path=str(local))
            else:
                self.problems.append(f"MathJax file missing from mathjax@{MATHJAX_VERSION}: {url}")
                route.abort()
        else:
            self.external.append(url)
            route.abort()

    def _console(self, msg):
        if msg.type != "error":
            return
        where = msg.location.get("url", "")
        if where == f"{self.server}/favicon.ico":
            # Chromium asks for /favicon.ico by itself when a page declares no icon (the site has none);
            # no page requests it, and whether the 404 is logged before the test moves on is a matter of
            # timing. This one URL is the only console error let through.
            return
        self.problems.append(f"console error: {msg.text[:300]} at {where[:150]}")

    def _response(self, response):
        if response.url.startswith(self.server) and response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def goto(self, path: str):
        self.page.goto(self.server + path, wait_until="load")
        return self.page

    def settle(self):
        """Let deferred scripts, MathJax (and the fonts it loads) finish."""
        if self.page.evaluate("!!(window.MathJax && MathJax.startup && MathJax.startup.promise)"):
            self.page.evaluate("MathJax.startup.promise")
        self.page.evaluate("document.fonts.ready.then(() => true)")
        self.page.wait_for_timeout(100)  # a last turn of the event loop for late errors

    def check_clean(self, what: str):
        assert not self.external, f"{what}: requests to the internet (the site must not need them): {self.external}"
        assert not self.problems, f"{what}: " + "\n".join(self.problems)

    def shoot(self, name: str, viewport: str, full_page=False):
        path = SCREENSHOTS / f"{name}-{viewport}{'-full' if full_page else ''}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser, server, mathjax):
    tabs = []

    def make(viewport="desktop"):
        t = Tab(browser, server, mathjax, viewport)
        tabs.append(t)
        return t

    yield make
    for t in tabs:
        t.close()


# --- checks used on every page ----------------------------------------------------------------------

def images_loaded(page) -> list[str]:
    """The <img> elements that did not load (after scrolling through the page, for lazy images)."""
    page.evaluate("""async () => {
        for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
            window.scrollTo(0, y); await new Promise(r => setTimeout(r, 30)); }
        window.scrollTo(0, 0); }""")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=TIMEOUT_MS)
    return page.evaluate("""Array.from(document.images)
        .filter(i => !(i.naturalWidth > 0 && i.naturalHeight > 0))
        .map(i => (i.currentSrc || i.src).slice(0, 120))""")


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the window (a phone reader would have to scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def korean_fonts(context, page, selector: str) -> list[dict]:
    """The platform fonts Chromium used to draw the text of an element."""
    cdp = context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    assert node, f"no element {selector}"
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return fonts


def system_korean_families() -> set[str]:
    fc = shutil.which("fc-list")
    if not fc:
        return set()
    out = subprocess.run([fc, ":lang=ko", "family"], capture_output=True, text=True, timeout=30).stdout
    return {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}


# --- the tests ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_landing_page_leads_to_every_edition(tab, viewport):
    t = tab(viewport)
    page = t.goto("/index.html")
    assert page.evaluate("document.documentElement.lang") == DEFAULT
    for lang, info in EDITIONS["editions"].items():
        link = page.locator(f'a.edition[hreflang="{lang}"]')
        assert link.is_visible() and link.inner_text().strip() == info["enter_label"]
    assert horizontal_overflow(page) <= 1
    t.shoot("landing", viewport)
    for lang in LANGS:
        t.goto("/index.html")
        page.locator(f'a.edition[hreflang="{lang}"]').click()
        # <lang>/index.html forwards to the edition's home page
        page.wait_for_url(f"**/{lang}/book/{lang}/index.html")
        page.wait_for_load_state("load")
        assert page.evaluate("document.documentElement.lang") == lang
        t.settle()
        if lang == "ko":
            t.shoot("ko-home", viewport)
    t.check_clean("landing page and edition home pages")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("lang", LANGS)
def test_chapter_page_and_its_twin(tab, lang, viewport):
    t = tab(viewport)
    page = t.goto(page_path(lang))
    t.settle()
    assert page.evaluate("document.documentElement.lang") == lang
    assert page.title(), "the page has no title"
    # figures and images load
    broken = images_loaded(page)
    assert not broken, f"images that did not load: {broken}"
    figures = page.locator("article img[src*='_images/']").count()
    assert figures >= 1, "the chapter's figure is missing"
    # math is typeset (MathJax ran and left no error)
    assert page.locator("mjx-container").count() > 0, "no typeset math: MathJax did not run"
    assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
    # launch buttons with this notebook's URLs
    notebook = ROOT / "notebooks" / lang / f"{CHAPTER}.ipynb"
    for service, url in expected_urls(notebook).items():
        assert page.locator(f'a[href="{url}"]').count() == 1, f"no {service} launch button linking to {url}"
    # Korean pages are drawn with a Korean font (no empty boxes)
    if lang == "ko":
        families = system_korean_families()
        assert families, "no Korean font on this machine (apt-get install fonts-nanum): screenshots would show boxes"
        fonts = korean_fonts(t.context, page, "article section > p")
        used = {f["familyName"] for f in fonts if f["glyphCount"] > 0}
        assert used & families, f"Korean text drawn with {used}, none of them a Korean font ({sorted(families)[:5]})"
    # no sideways scrolling on a phone, however wide the tables and code are
    assert horizontal_overflow(page) <= 1, f"the page is {horizontal_overflow(page)} px wider than the window"
    t.shoot(f"{lang}-{CHAPTER}", viewport)
    if viewport == "desktop":
        t.shoot(f"{lang}-{CHAPTER}", viewport, full_page=True)
    # the rocket menu shows both launch buttons
    page.locator(".dropdown-launch-buttons button").click()
    for url in expected_urls(notebook).values():
        assert page.locator(f'a[href="{url}"]').is_visible(), f"{url} not shown by the launch menu"
    t.shoot(f"{lang}-{CHAPTER}-launch-menu", viewport)
    page.keyboard.press("Escape")
    t.check_clean(page_path(lang))
    # the twin link leads to the same page in the other edition, which links back
    for other in LANGS:
        if other == lang:
            continue
        t.goto(page_path(lang))
        link = page.locator(f'a.twin-link[hreflang="{other}"]')
        assert link.is_visible(), f"no visible link to the {other} twin"
        with page.expect_navigation():
            link.click()
        assert urlparse(page.url).path == page_path(other), f"the twin link led to {page.url}"
        assert page.evaluate("document.documentElement.lang") == other
        back = page.locator(f'a.twin-link[hreflang="{lang}"]')
        with page.expect_navigation():
            back.click()
        assert urlparse(page.url).path == page_path(lang)
        t.settle()
    t.check_clean(f"{page_path(lang)} and its twins")


def _content_pages() -> list[str]:
    site = site_dir()
    pages = []
    for lang in LANGS:
        root = site / lang
        pages += sorted("/" + p.relative_to(site).as_posix() for folder in ("book", "notebooks")
                        for p in (root / folder).rglob("*.html"))
        pages += [f"/{lang}/genindex.html"]
    return pages


def test_every_page_loads_cleanly(tab):
    """Every page of both editions (desktop width): its language, its images, its math, a clean console."""
    t = tab("desktop")
    pages = _content_pages()
    assert len(pages) >= 2 * len(LANGS)
    for path in pages:
        page = t.goto(path)
        t.settle()
        lang = path.split("/")[1]
        assert page.evaluate("document.documentElement.lang") == lang, path
        broken = images_loaded(page)
        assert not broken, f"{path}: images that did not load: {broken}"
        assert page.locator("mjx-merror").count() == 0, f"{path}: MathJax reported a TeX error"
        t.check_clean(path)


@pytest.mark.parametrize("query", ["정규화", "정규화는"])
def test_korean_search_finds_the_page_by_its_stem(tab, query):
    t = tab("desktop")
    page = t.goto(f"/ko/search.html?q={query}")
    hit = page.locator(f'#search-results ul.search li a[href="notebooks/ko/{CHAPTER}.html"]')
    hit.wait_for(state="visible")
    assert page.locator("#search-results ul.search li").count() >= 1
    assert page.evaluate("document.documentElement.lang") == "ko"
    if query == "정규화":
        t.shoot("ko-search", "desktop")
        with page.expect_navigation():
            hit.click()
        assert urlparse(page.url).path == page_path("ko")
        t.settle()
    t.check_clean(f"Korean search for {query}")


def _player_pages_in_site() -> list[str]:
    site = site_dir()
    return sorted("/" + p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if 'class="normcode-player"' in p.read_text(encoding="utf-8", errors="replace"))


def _check_player_plays(t, player):
    page = t.page
    player.scroll_into_view_if_needed()
    page.wait_for_function(f"document.querySelector('#{player.get_attribute('id')}').dataset.playing === '1'",
                           timeout=10_000)
    frames = int(player.get_attribute("data-frames"))
    assert frames >= 2
    img = player.locator("img")
    selector = f"document.querySelector('#{player.get_attribute('id')}')"
    # frame number and image read together (the player keeps going between two separate reads)
    first_frame, first_src = player.evaluate("p => [p.dataset.frame, p.querySelector('img').src]")
    first_pixels = img.screenshot()
    # It plays by itself: the displayed frame changes, and so do the pixels on screen. (Generous time
    # limits: on CI the other test worker keeps the CPU busy.)
    page.wait_for_function(f"{selector}.dataset.frame !== '{first_frame}' && "
                           f"{selector}.querySelector('img').src !== {json.dumps(first_src)}", timeout=10_000)
    deadline = time.monotonic() + 10
    while img.screenshot() == first_pixels:
        assert time.monotonic() < deadline, "the player's frame number changes but the picture on screen does not"
        page.wait_for_timeout(100)
    assert img.evaluate("i => i.complete && i.naturalWidth > 0")
    # pause stops it; the slider picks a frame
    button = player.locator("button")
    button.click()
    assert player.get_attribute("data-playing") == "0"
    paused = player.get_attribute("data-frame")
    page.wait_for_timeout(400)
    assert player.get_attribute("data-frame") == paused, "pause did not stop the animation"
    slider = player.locator("input[type=range]")
    target = str(frames - 1)
    slider.evaluate(f"s => {{ s.value = {target}; s.dispatchEvent(new Event('input')); }}")
    assert player.get_attribute("data-frame") == target
    button.click()
    assert player.get_attribute("data-playing") == "1"
    # the player fits the window (phones included)
    box = player.bounding_box()
    assert box["width"] <= page.viewport_size["width"]


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_animation_plays_without_a_kernel(tab, viewport):
    # A standalone player page, the player inside a page of each edition of the built book, and every
    # page of the site that has a player (chapter 2's animation, once it is written).
    paths = ["/__test__/player.html"] + [f"/{lang}/notebooks/{lang}/__player_in_page.html" for lang in LANGS]
    in_site = _player_pages_in_site()
    print(f"pages of the site with an animation player: {in_site or 'none yet'}")
    t = tab(viewport)
    for path in paths + in_site:
        page = t.goto(path)
        t.settle()
        players = page.locator(PLAYER)
        assert players.count() >= 1, f"{path}: no player"
        for i in range(players.count()):
            _check_player_plays(t, players.nth(i))
        assert horizontal_overflow(page) <= 1, f"{path}: wider than the window"
        name = "player" if path.startswith("/__test__") else path.strip("/").replace("/", "_").removesuffix(".html")
        t.shoot(name, viewport)
        t.check_clean(path)


def test_site_weight_report():
    """Prints the size of the site and of its heaviest pages (tests/test_site.py enforces the 5 MB limit)."""
    site = site_dir()
    files = [p for p in site.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    pages = sorted(((p.stat().st_size, p.relative_to(site).as_posix()) for p in files if p.suffix == ".html"),
                   reverse=True)
    print(f"site: {total / 1e6:.1f} MB in {len(files)} files; heaviest pages: "
          + ", ".join(f"{name} {size / 1e3:.0f} kB" for size, name in pages[:5]))
    assert total > 0
