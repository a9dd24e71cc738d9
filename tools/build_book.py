"""Build every edition of the book and assemble the site.

    python tools/build_book.py [--out _build/site] [--edition en]

For each edition in ``book/editions.yml`` this derives the edition's
``_config.yml`` and ``_toc.yml`` from the root ones (the English edition's), runs
``jupyter-book build`` with warnings as errors into ``_build/editions/<lang>``,
and copies the HTML to ``<out>/<lang>/``; then it writes the landing page
``<out>/index.html`` that lets a reader choose an edition. Run it through
``python3 dev.py site``, which also prepares the environment.
"""
from __future__ import annotations

import argparse
import html
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"


def load_editions() -> dict:
    return yaml.safe_load((ROOT / "book" / "editions.yml").read_text(encoding="utf-8"))


def edition_toc(lang: str, editions: dict) -> dict:
    """The table of contents of edition ``lang``: the root one with ``/en/`` folders and captions swapped."""
    default = editions["default"]
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    if lang == default:
        return toc
    captions = editions["editions"][lang].get("captions", {})

    def swap(node):
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key in ("file", "root") and isinstance(value, str):
                    value = "/".join(lang if p == default else p for p in value.split("/"))
                elif key == "caption":
                    if value not in captions:
                        raise SystemExit(
                            f"book/editions.yml: no {lang!r} caption for part {value!r}; add it under "
                            f"editions.{lang}.captions")
                    value = captions[value]
                else:
                    value = swap(value)
                out[key] = value
            return out
        if isinstance(node, list):
            return [swap(item) for item in node]
        return node

    return swap(toc)


def edition_config(lang: str, editions: dict) -> dict:
    """The configuration of edition ``lang``: the root one with title and language set."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = editions["editions"][lang]["title"]
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["language"] = lang
    # The generated file lives in _build/: make the repository-relative paths absolute.
    sphinx["local_extensions"] = {name: str(ROOT / path) for name, path in sphinx.get("local_extensions", {}).items()}
    config["bibtex_bibfiles"] = [str(ROOT / path) for path in config.get("bibtex_bibfiles", [])]
    return config


def build_edition(lang: str, editions: dict) -> Path:
    """Run jupyter-book for one edition (warnings are errors); return its HTML folder."""
    work = BUILD / "editions" / lang
    work.mkdir(parents=True, exist_ok=True)
    config_file, toc_file = work / "_config.yml", work / "_toc.yml"
    config_file.write_text(yaml.safe_dump(edition_config(lang, editions), allow_unicode=True, sort_keys=False),
                           encoding="utf-8")
    toc_file.write_text(yaml.safe_dump(edition_toc(lang, editions), allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--builder", "html",
           "--config", str(config_file), "--toc", str(toc_file), "--path-output", str(work),
           "-n", "-W", "--keep-going"]
    print(f"[{lang}] {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f"[{lang}] jupyter-book build failed (exit {result.returncode}); see the messages above")
    print(f"[{lang}] built in {time.perf_counter() - start:.0f} s", flush=True)
    return work / "_build" / "html"


LANDING = """<!DOCTYPE html>
<html lang="{default}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{titles}</title>
<style>
 body {{ font-family: system-ui, -apple-system, "Noto Sans KR", "Apple SD Gothic Neo", sans-serif; max-width: 42rem;
        margin: 4rem auto; padding: 0 1.25rem; line-height: 1.6; color: #222; }}
 h1 {{ font-size: 1.8rem; margin-bottom: 0.25rem; }}
 ul {{ list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1rem; }}
 a.edition {{ display: block; padding: 1rem 1.5rem; border: 1px solid #ccc; border-radius: 0.5rem;
             text-decoration: none; font-size: 1.2rem; }}
 a.edition:hover {{ background: #f3f6fa; }}
</style>
</head>
<body>
<main>
{headings}
<ul class="editions">
{links}
</ul>
</main>
</body>
</html>
"""


def write_landing(out: Path, editions: dict) -> None:
    """``out/index.html``: one link per edition, each in its own language."""
    eds = editions["editions"]
    headings = "\n".join(f'<h1 lang="{lang}">{html.escape(e["title"])}</h1>' for lang, e in eds.items())
    links = "\n".join(
        f'<li><a class="edition" lang="{lang}" hreflang="{lang}" href="{lang}/index.html">'
        f'{html.escape(e["name"])}</a></li>' for lang, e in eds.items())
    titles = " · ".join(e["title"] for e in eds.values())
    (out / "index.html").write_text(
        LANDING.format(default=editions["default"], titles=html.escape(titles), headings=headings, links=links),
        encoding="utf-8")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(BUILD / "site"), help="where to assemble the site")
    parser.add_argument("--edition", action="append", help="build only this edition (repeatable)")
    args = parser.parse_args(argv)
    editions = load_editions()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for lang in args.edition or list(editions["editions"]):
        html_dir = build_edition(lang, editions)
        target = out / lang
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(html_dir, target)
    write_landing(out, editions)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"Site ready: {out / 'index.html'} ({size / 1e6:.1f} MB). Serve it with: python3 dev.py serve")


if __name__ == "__main__":
    main()
