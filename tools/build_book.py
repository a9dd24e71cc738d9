"""Build every edition of the book and assemble the site.

    python tools/build_book.py [--out _build/site] [--edition en]

For each edition in ``book/editions.yml`` this derives the edition's
``_config.yml`` and ``_toc.yml`` from the root ones (the English edition's), runs
``jupyter-book build`` with warnings as errors into ``_build/editions/<lang>``,
and copies the HTML to ``<out>/<lang>/``; then it writes the landing page
``<out>/index.html``, the book's cover: its title and a paragraph in each
language, each edition's chapter list and the signature figure of chapter 2.
Before building, it generates two pages of each edition from the notebooks (not
committed): the status page (``book/<lang>/status.md``: execution time, asserts,
the code cells nbval checks, and the versions each notebook was executed with)
and the appendix "Notes on the sources" (``book/<lang>/notes_on_sources.md``:
every correction box of every chapter, grouped by course note, each linking to
the section that holds it). Run it through
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
import textwrap
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


def jupyter_book_command(builder: str, work: Path, config: dict, toc: dict, *flags: str) -> list[str]:
    """Write one edition's ``_config.yml`` and ``_toc.yml`` into ``work``; return the ``jupyter-book build``
    command that builds it with ``builder`` into ``work`` (nitpicky, ``--keep-going``, plus ``flags``)."""
    work.mkdir(parents=True, exist_ok=True)
    config_file, toc_file = work / "_config.yml", work / "_toc.yml"
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    toc_file.write_text(yaml.safe_dump(toc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--builder", builder,
            "--config", str(config_file), "--toc", str(toc_file), "--path-output", str(work),
            "-n", *flags, "--keep-going"]


def build_edition(lang: str, editions: dict) -> Path:
    """Run jupyter-book for one edition (warnings are errors); return its HTML folder."""
    work = BUILD / "editions" / lang
    cmd = jupyter_book_command("html", work, edition_config(lang, editions), edition_toc(lang, editions), "-W")
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


def toc_entries(toc: dict) -> list[str]:
    """Every ``file:`` entry of a table of contents (its parts and chapters), in order."""
    files = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return files


def toc_notebooks(toc: dict) -> list[str]:
    """The ``file:`` entries of a table of contents that are notebooks, in order."""
    return [file for file in toc_entries(toc) if file.startswith("notebooks/")]


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



# --- the appendix "Notes on the sources": every correction box of every chapter ----------------------

#: Titles of the boxes in which a chapter corrects the course notes (the extension's source_boxes uses the same).
BOX_TITLES = ("Notes on the sources", "원자료 바로잡기")

#: The five course notes (``shared/source-notes``), numbered as the chapters cite them.
SOURCE_NOTES = {
    "000": {"en_short": "Batch and layer normalization", "ko_short": "배치 정규화와 레이어 정규화",
            "en": 'A course note, "2.3.10. Batch and layer normalization": data scaling, decorrelation and whitening, '
                  "internal covariate shift, batch and layer normalization, with PyTorch and Keras code",
            "ko": '강의 노트 "2.3.10. batch and layer normalization": 데이터 척도 맞추기, 비상관화와 백색화, '
                  "내부 공변량 변화, 배치 정규화와 레이어 정규화, PyTorch와 Keras 코드"},
    "001": {"en_short": "Batch normalization, a blog post", "ko_short": "배치 정규화를 다룬 블로그 글",
            "en": 'A blog post, "Batch Normalization": covariates and internal covariate shift, the equations of batch '
                  "normalization, the loss landscape of Santurkar et al.",
            "ko": '블로그 글 "Batch Normalization": 공변량과 내부 공변량 변화, 배치 정규화의 식, Santurkar 등의 손실 지형'},
    "002": {"en_short": "Batch normalization, a lecture note", "ko_short": "배치 정규화 강의 노트",
            "en": "A lecture note on batch normalization (Deep Learning Specialization, course 2): where batch "
                  "normalization goes, the redundant bias, why it works, test time",
            "ko": '강의 노트 "[Deep Learning Specialization - 2단계] 6. 배치 정규화": 배치 정규화의 위치, 쓸모없어지는 '
                  "편향, 효과의 이유, 테스트 때의 계산"},
    "003": {"en_short": "Normalization, a chapter outline", "ko_short": "정규화를 다룬 장 개요",
            "en": 'A chapter outline, "CH02.5 Normalization": input, batch and layer normalization with their formulas, '
                  "internal covariate shift and the later doubts about it",
            "ko": '장 개요 "CH02.5 Normalization": 입력·배치·레이어 정규화와 그 식, 내부 공변량 변화와 이를 의심한 후속 연구'},
    "004": {"en_short": "Normalization after batch normalization", "ko_short": "배치 정규화 이후의 정규화 기법",
            "en": "A survey post on the normalization techniques after batch normalization: weight, layer, instance and "
                  "group normalization, batch renormalization, batch-instance, switchable and spectral normalization",
            "ko": '정리 글 "BN이후의 다양한 정규화 기법들": 가중치·레이어·인스턴스·그룹 정규화, 배치 재정규화, '
                  "배치-인스턴스·스위처블·스펙트럼 정규화"},
}

NOTES_TEXT = {
    "en": {
        "title": "Notes on the sources",
        "intro": "The chapters of this book follow five sources written in Korean, course notes and blog posts, "
                 "numbered 000 to 004 as in the chapters. Wherever a note is wrong, imprecise or incomplete, the "
                 "chapter says so in a box titled *Notes on the sources*, next to the derivation or the experiment "
                 "that shows it. This appendix collects every one of those boxes, grouped by the note it corrects. "
                 "Each entry starts with the passage of the note (in the chapter's words), then gives the correction "
                 "and its evidence, and ends with a link to the section of the chapter that holds the box, where the "
                 "code behind the evidence runs. The page is generated from the chapters whenever the book is built, "
                 "so it says exactly what they say. Where an entry says \"above\" or \"below\", it means in the "
                 "chapter, which the link at the end of the entry leads to.",
        "columns": ["Chapter", "Corrections", "Notes corrected"],
        "note": "Note {note}: {short}",
        "other": "Corrections not tied to one note",
        "shown": "In the chapter:",
        "also": "Also concerns {notes}.",
        "also_one": "note {note}",
        "untitled": "Chapter {chapter}",
    },
    "ko": {
        "title": "원자료 바로잡기",
        "intro": "이 책의 각 장은 한국어로 쓰인 자료 다섯 편, 곧 강의 노트와 블로그 글을 따라가며, 장에서처럼 "
                 "000부터 004까지의 번호로 부릅니다. 노트가 틀렸거나 부정확하거나 빠뜨린 곳이 있으면, 해당 장은 그것을 "
                 "보여 주는 유도나 실험 바로 옆에 \"원자료 바로잡기\" 상자를 두어 바로잡습니다. 이 부록은 그 상자를 "
                 "모두 모아 바로잡는 노트별로 묶은 것입니다. 각 항목은 먼저 노트의 해당 대목을 장에서 쓴 표현 그대로 "
                 "보이고, 이어서 바로잡은 내용과 근거를 설명한 뒤, 상자가 들어 있는 절로 가는 링크로 끝납니다. 근거가 "
                 "되는 코드는 그 절에서 실행됩니다. 이 페이지는 책을 빌드할 때마다 각 장에서 새로 만들어지므로 언제나 "
                 "본문과 같은 내용을 담습니다. 항목에 나오는 \"위\"와 \"아래\"는 해당 장 안에서의 위치를 가리키며, "
                 "항목 끝의 링크가 그곳으로 안내합니다.",
        "columns": ["장", "바로잡은 곳", "다루는 노트"],
        "note": "노트 {note}: {short}",
        "other": "특정 노트에 속하지 않는 바로잡기",
        "shown": "본문:",
        "also": "{notes}도 함께 다룹니다.",
        "also_one": "노트 {note}",
        "untitled": "{chapter}장",
    },
}

_BOX_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{admonition\}[ \t]*(?P<title>.*?)[ \t]*$")
_NOTE_MENTION = re.compile(r"(?:\b[Nn]otes?|\bcourse|노트|강의)\s+\**(\d{3})\**(?![\d.,]\d)|"
                           r"(?:^|\n)[ \t]*(?:[-*][ \t]+)?\*\*(\d{3})\*\*")
_ABBREVIATIONS = ("al", "e.g", "i.e", "cf", "vs", "Fig", "Eq", "Sec", "resp")


def correction_boxes(nb: dict) -> list[str]:
    """The text of every correction box of a notebook, in order, without the directive's options."""
    boxes = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        lines = "".join(cell["source"]).splitlines()
        i = 0
        while i < len(lines):
            m = _BOX_OPEN.match(lines[i])
            if not (m and m.group("title") in BOX_TITLES):
                i += 1
                continue
            fence, indent = m.group("fence"), len(m.group("indent"))
            body, i = [], i + 1
            while i < len(lines):
                line = lines[i].strip()
                if line and set(line) == {fence[0]} and len(line) >= len(fence):
                    break
                body.append(lines[i][indent:] if not lines[i][:indent].strip() else lines[i].lstrip())
                i += 1
            while body and (re.match(r"\s*:[\w-]+:", body[0]) or not body[0].strip()):
                body.pop(0)
            boxes.append("\n".join(body).strip())
            i += 1
    return boxes


def mentioned_notes(text: str) -> list[str]:
    """The course notes a correction names ("Note 004", "**001**", "노트 003"), in order of first mention."""
    found = []
    for m in _NOTE_MENTION.finditer(text):
        note = m.group(1) or m.group(2)
        if note in SOURCE_NOTES and note not in found:
            found.append(note)
    return found


def split_corrections(box: str) -> list[str]:
    """One box, or its items when the box is a list with one item per note ("- Note 003 ...", "- **001** ...")."""
    lines = box.splitlines()
    items: list[list[str]] = []
    for line in lines:
        if re.match(r"[-*] ", line):
            items.append([line[2:]])
        elif items and (not line.strip() or line[:1].isspace()):
            items[-1].append(line)
        else:
            return [box]
    texts = [textwrap.dedent(items_[0] + "\n" + textwrap.dedent("\n".join(items_[1:]))).strip() for items_ in items]
    if len(texts) < 2 or not all(mentioned_notes(t[:200]) for t in texts):
        return [box]
    return texts


def first_sentence(text: str) -> tuple[str | None, str]:
    """(the first sentence on one line, the rest); (None, text) when the text does not open with a sentence.

    The first sentence of a correction states what the note says; it is the entry's title. The scan skips
    inline math, code and roles, and abbreviations such as "et al."; it stops at the first paragraph's end.
    """
    paragraph = text.split("\n\n", 1)[0]
    if re.match(r"\s*([-*+] |#|\$\$|`|:|\d+[.)] |>)", paragraph):
        return None, text
    i, n = 0, len(paragraph)
    while i < n:
        c = paragraph[i]
        if c in "$`":
            close = paragraph.find(c, i + 1)
            if close < 0:
                return None, text
            i = close + 1
            continue
        if c in ".?!":
            j = i + 1
            while j < n and paragraph[j] in "\"'”’)*_":
                j += 1
            word = re.search(r"([\w.]*)$", paragraph[:i]).group(1)
            if (j == n or paragraph[j].isspace()) and word not in _ABBREVIATIONS and not re.fullmatch(r"[A-Z]", word):
                summary = " ".join(paragraph[:j].split())
                return summary, text[j:].strip()
        i += 1
    return None, text


def _chapter_number(file: str) -> int:
    return int(Path(file).name.split("_", 1)[0])


def notes_entries(lang: str, editions: dict) -> list[dict]:
    """Every correction of every chapter of edition ``lang``, in the order of the book.

    Each entry: ``file`` (the chapter's document name), ``chapter``, ``box`` (the box's number in the chapter,
    from 1), ``text``, ``notes`` (the notes it names, the one it corrects first).
    """
    entries = []
    for file in toc_notebooks(edition_toc(lang, editions)):
        nb = json.loads((ROOT / f"{file}.ipynb").read_text(encoding="utf-8"))
        for box_number, box in enumerate(correction_boxes(nb), start=1):
            for text in split_corrections(box):
                entries.append({"file": file, "chapter": _chapter_number(file), "box": box_number, "text": text,
                                "notes": mentioned_notes(text)})
    return entries


def _entry_markdown(entry: dict, text: dict) -> str:
    summary, rest = first_sentence(entry["text"])
    title = summary or text["untitled"].format(chapter=entry["chapter"])
    others = [text["also_one"].format(note=n) for n in entry["notes"][1:]]
    also = (" " + text["also"].format(notes=", ".join(others))) if others else ""
    colons = ":" * max(3, max((len(run) for run in re.findall(r":{3,}", entry["text"])), default=0) + 1)
    link = f"{{source-box}}`{entry['file']} {entry['box']}`"
    return (f"{colons}{{admonition}} {title}\n:class: note source-correction\n\n"
            + (f"{rest}\n\n" if rest else "") + f"{text['shown']} {link}.{also}\n{colons}\n")


def write_notes_page(lang: str, editions: dict) -> Path:
    """Generate ``book/<lang>/notes_on_sources.md``: every correction box of the chapters, grouped by note."""
    text = NOTES_TEXT[lang]
    entries = notes_entries(lang, editions)
    rows = []
    for file in dict.fromkeys(e["file"] for e in entries):
        mine = [e for e in entries if e["file"] == file]
        notes = sorted({n for e in mine for n in e["notes"]})
        rows.append(f"| {mine[0]['chapter']} {{doc}}`/{file}` | {len(mine)} | {', '.join(notes)} |")
    header = "| " + " | ".join(text["columns"]) + " |\n|" + "---|" * len(text["columns"])
    parts = [f"# {text['title']}\n\n{text['intro']}\n\n{header}\n" + "\n".join(rows) + "\n"]
    groups = [(note, [e for e in entries if e["notes"][:1] == [note]]) for note in SOURCE_NOTES]
    groups.append((None, [e for e in entries if not e["notes"]]))
    for note, mine in groups:
        if not mine:
            continue
        if note is None:
            parts.append(f"## {text['other']}\n")
        else:
            parts.append(f"## {text['note'].format(note=note, short=SOURCE_NOTES[note][lang + '_short'])}\n\n"
                         f"{SOURCE_NOTES[note][lang]}.\n")
        parts.extend(_entry_markdown(e, text) for e in mine)
    page = ROOT / "book" / lang / "notes_on_sources.md"
    page.write_text("\n".join(parts), encoding="utf-8")
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
        write_notes_page(lang, editions)
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
