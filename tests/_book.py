"""Helpers shared by the tests of the book (not the package): where things are, how to read them."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EDITIONS = yaml.safe_load((ROOT / "book" / "editions.yml").read_text(encoding="utf-8"))
LANGS = list(EDITIONS["editions"])
DEFAULT = EDITIONS["default"]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
GLOSSARY = yaml.safe_load((ROOT / "book" / "glossary.yml").read_text(encoding="utf-8"))


def notebook_paths(lang: str | None = None) -> list[Path]:
    """Every committed notebook (of one edition, if ``lang`` is given)."""
    folders = [NOTEBOOKS / lang] if lang else [NOTEBOOKS / l for l in LANGS]
    return sorted(p for folder in folders for p in folder.glob("*.ipynb"))


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and source(c).strip()]


def markdown_text(nb: dict) -> str:
    """The prose of a notebook: markdown cells without code blocks, inline code, math and URLs."""
    text = "\n\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    text = strip_code_blocks(text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", " ", text)
    text = re.sub(r"`[^`\n]+`", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    return text


def strip_code_blocks(text: str) -> str:
    """Remove fenced code blocks but keep the prose inside directives (```{admonition} ... ```)."""
    kept, stack = [], []  # stack of (fence, is_directive)
    for line in text.splitlines():
        m = re.match(r"\s*(`{3,}|~{3,})(.*)$", line)
        if m:
            fence, info = m.group(1), m.group(2).strip()
            if stack and stack[-1][0] == fence and not info:
                stack.pop()
                continue
            if not (stack and not stack[-1][1]):  # not inside a code block
                stack.append((fence, info.startswith("{")))
                continue
        if all(is_directive for _, is_directive in stack):
            if not re.match(r"\s*:\w[\w-]*:", line):  # directive options such as :class: note
                kept.append(line)
    return "\n".join(kept)


def toc_files() -> list[str]:
    """Every ``file:`` of the root (English) table of contents, plus its root."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return files


def site_dir() -> Path:
    """The built site; the test command builds it first (python3 dev.py test)."""
    site = Path(os.environ.get("NORMBOOK_SITE", ROOT / "_build" / "site"))
    if not (site / "index.html").exists():
        raise AssertionError(f"no built site at {site}: build it with  python3 dev.py site  (dev.py test does)")
    return site
