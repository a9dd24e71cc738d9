"""Build every edition of the book and assemble the site.

    python tools/build_book.py [--out _build/site] [--edition en]

For each edition in ``book/editions.yml`` this derives the edition's
``_config.yml`` and ``_toc.yml`` from the root ones (the English edition's), runs
``jupyter-book build`` with warnings as errors into ``_build/editions/<lang>``,
and copies the HTML to ``<out>/<lang>/``; then it writes the landing page
``<out>/index.html``, the book's cover: its title and a paragraph in each
language, each edition's chapter list and the signature figure of chapter 2.
Before building, it generates each edition's status page (``book/<lang>/status.md``,
not committed) from the executed notebooks: execution time, asserts, the code
cells nbval checks, and the versions each notebook was executed with. Run it through
``python3 dev.py site``, which also prepares the environment.
"""
from __future__ import annotations

import argparse
import ast
import base64
import json
import re
import html
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"


PDF_DIR = BUILD / "pdf"
#: Where each edition's PDFs go inside the built site; the chapter pages link there
#: (book/_ext/normbook/downloads.py, PDF_FOLDER).
SITE_PDF_FOLDER = "_pdf"


def pdf_name(lang: str) -> str:
    """File name of the whole-book PDF of edition ``lang`` (tools/build_pdf.py makes it)."""
    return f"normalization-{lang}.pdf"


def copy_pdfs_into_site(site: Path, langs) -> bool:
    """Copy each edition's PDFs (``_build/pdf``) into ``<site>/<lang>/_pdf/``; False if some are not built."""
    complete = True
    for lang in langs:
        book = PDF_DIR / pdf_name(lang)
        if not (site / lang).is_dir():
            continue
        if not book.exists():
            complete = False
            continue
        target = site / lang / SITE_PDF_FOLDER
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.copyfile(book, target / book.name)
        for chapter in sorted((PDF_DIR / lang).glob("*.pdf")):
            shutil.copyfile(chapter, target / chapter.name)
        print(f"[{lang}] PDFs copied into {target}", flush=True)
    return complete


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


# --- the status page: what every notebook's stored outputs were made with ----------------------------

STATUS_TEXT = {
    "en": {"title": "Status of the notebooks",
           "intro": "Every chapter is a notebook executed before it was committed; CI executes it again and "
                    "compares every output with the stored one (nbval, strict). This table is generated from the "
                    "notebooks by the build.",
           "columns": ["Chapter", "Execution time (s)", "Asserts", "Code cells checked by nbval", "normcode",
                       "PyTorch"]},
    "ko": {"title": "노트북 상태",
           "intro": "모든 장은 실행된 상태로 커밋된 노트북이며, CI가 이를 다시 실행해 모든 출력을 저장된 출력과 "
                    "비교합니다(nbval, strict 모드). 이 표는 빌드할 때 노트북에서 만들어집니다.",
           "columns": ["장", "실행 시간(초)", "assert 수", "nbval이 검사하는 코드 셀", "normcode", "PyTorch"]},
}


def notebook_title(nb: dict) -> str:
    """The first level-1 heading of a notebook."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "?"


def count_asserts(code: str) -> int:
    """``assert`` statements in a code cell (IPython magics are skipped)."""
    code = "\n".join(re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in code.splitlines())
    return sum(isinstance(node, ast.Assert) for node in ast.walk(ast.parse(code)))


def notebook_status(path: Path) -> dict:
    """Execution time, asserts, nbval-checked cells and versions of one executed notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    meta = nb.get("metadata", {}).get("normbook", {})
    skipped = {"nbval-skip", "raises-exception"}
    return {"title": notebook_title(nb), "seconds": meta.get("execution_seconds"),
            "asserts": sum(count_asserts("".join(c["source"])) for c in code),
            "checked": sum(1 for c in code if not skipped & set(c.get("metadata", {}).get("tags", []))),
            "normcode": meta.get("normcode", "?"), "torch": meta.get("torch", "?")}


def toc_notebooks(toc: dict) -> list[str]:
    """The ``file:`` entries of a table of contents that are notebooks, in order."""
    files = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("file"), str) and node["file"].startswith("notebooks/"):
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return files


def write_status_page(lang: str, editions: dict) -> Path:
    """Generate ``book/<lang>/status.md`` from the executed notebooks of edition ``lang``."""
    text = STATUS_TEXT[lang]
    rows = []
    for file in toc_notebooks(edition_toc(lang, editions)):
        st = notebook_status(ROOT / f"{file}.ipynb")
        seconds = "–" if st["seconds"] is None else f"{st['seconds']:.1f}"
        rows.append(f"| {{doc}}`{st['title']} </{file}>` | {seconds} | {st['asserts']} | {st['checked']} | "
                    f"{st['normcode']} | {st['torch']} |")
    header = "| " + " | ".join(text["columns"]) + " |\n|" + "---|" * len(text["columns"])
    page = ROOT / "book" / lang / "status.md"
    page.write_text(f"# {text['title']}\n\n{text['intro']}\n\n{header}\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    return page


LANDING = """<!DOCTYPE html>
<html lang="{default}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{titles}</title>
<style>
 body {{ font-family: system-ui, -apple-system, "Noto Sans KR", "Apple SD Gothic Neo", sans-serif; max-width: 64rem;
        margin: 2.5rem auto; padding: 0 1.25rem; line-height: 1.6; color: #222; }}
 .editions {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 2rem; }}
 h1 {{ font-size: 1.7rem; margin: 0 0 0.5rem; }}
 figure {{ margin: 0 0 2rem; text-align: center; }}
 figure img {{ max-width: 100%; height: auto; border: 1px solid #e3e3e3; border-radius: 0.4rem; }}
 figcaption {{ font-size: 0.9rem; color: #555; }}
 ol {{ padding-left: 1.4rem; }}
 a.edition {{ display: inline-block; margin: 0.5rem 0 1rem; padding: 0.6rem 1.2rem; border: 1px solid #ccc;
             border-radius: 0.5rem; text-decoration: none; font-size: 1.1rem; }}
 a.edition:hover {{ background: #f3f6fa; }}
</style>
</head>
<body>
<main>
{figure}
<div class="editions">
{columns}
</div>
</main>
</body>
</html>
"""

#: The chapter whose figure is on the cover, and the call that draws it.
COVER_NOTEBOOK, COVER_CALL = "02_internal_covariate_shift", "plot_ics_figure"


def cover_figure(out: Path, editions: dict) -> str:
    """Copy chapter 2's signature figure (stored in the executed notebook) to ``out`` and return its HTML."""
    default = editions["default"]
    nb = json.loads((ROOT / "notebooks" / default / f"{COVER_NOTEBOOK}.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and COVER_CALL in "".join(cell["source"]):
            for output in cell.get("outputs", []):
                if "image/png" in output.get("data", {}):
                    (out / "cover.png").write_bytes(base64.b64decode(output["data"]["image/png"]))
                    captions = " · ".join(html.escape(e["cover_caption"]) for e in editions["editions"].values())
                    return (f'<figure><img src="cover.png" alt="{captions}">'
                            f"<figcaption>{captions}</figcaption></figure>")
    raise SystemExit(f"the cover figure: no image output of a cell calling {COVER_CALL} in {COVER_NOTEBOOK}")


def edition_column(lang: str, editions: dict) -> str:
    """One edition on the cover: its title, its paragraph, a link to it and its chapter list."""
    e = editions["editions"][lang]
    items = []
    for file in toc_notebooks(edition_toc(lang, editions)):
        title = notebook_title(json.loads((ROOT / f"{file}.ipynb").read_text(encoding="utf-8")))
        items.append(f'<li><a href="{lang}/{file}.html">{html.escape(title)}</a></li>')
    return (f'<section lang="{lang}">\n<h1>{html.escape(e["title"])}</h1>\n<p>{html.escape(e["blurb"])}</p>\n'
            f'<a class="edition" hreflang="{lang}" href="{lang}/index.html">{html.escape(e["enter_label"])}</a>\n'
            f'<ol start="0">\n' + "\n".join(items) + "\n</ol>\n</section>")


def write_landing(out: Path, editions: dict) -> None:
    """``out/index.html``: the book's cover, with every edition side by side."""
    eds = editions["editions"]
    columns = "\n".join(edition_column(lang, editions) for lang in eds)
    titles = " · ".join(e["title"] for e in eds.values())
    (out / "index.html").write_text(
        LANDING.format(default=editions["default"], titles=html.escape(titles), figure=cover_figure(out, editions),
                       columns=columns), encoding="utf-8")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(BUILD / "site"), help="where to assemble the site")
    parser.add_argument("--edition", action="append", help="build only this edition (repeatable)")
    args = parser.parse_args(argv)
    editions = load_editions()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for lang in editions["editions"]:
        write_status_page(lang, editions)
    for lang in args.edition or list(editions["editions"]):
        html_dir = build_edition(lang, editions)
        target = out / lang
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(html_dir, target)
    write_landing(out, editions)
    if not copy_pdfs_into_site(out, args.edition or list(editions["editions"])):
        print("The PDFs the chapter pages link to are not built yet: python3 dev.py pdf builds them and copies "
              "them into the site.", flush=True)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"Site ready: {out / 'index.html'} ({size / 1e6:.1f} MB). Serve it with: python3 dev.py serve")


if __name__ == "__main__":
    main()
