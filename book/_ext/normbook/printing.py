"""The print form of the book (the LaTeX builder of tools/build_pdf.py) for what only works on a web page.

Only the LaTeX builder is touched; the site is built exactly as before, and no notebook's
stored outputs change:

* An animation (the HTML of :class:`normcode.book.animation.Player` in a stored output)
  becomes a grid of a few of its frames with their labels (:meth:`Player.grid`).
* A live widget (an ipywidgets view without an image) is dropped, not printed as
  ``interactive(children=...)``; its static figure, if the cell has one, stays.
* The Colab install cell (tag ``colab-install``) is dropped: there is nothing to install
  on paper. (Launch buttons and the edition links are HTML-only and never reach LaTeX.)
* Solutions of exercises (sphinx-exercise, shown in drop-downs on the site) are moved
  to an appendix at the end of the book, one section per chapter; each exercise says on
  which page its solution is.
"""
from __future__ import annotations

import re

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

PLAYER_MARK = 'class="normcode-player"'
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "application/pdf")

TEXT = {
    "en": {"solutions": "Solutions to the exercises", "see": "Solution: page {page}",
           "frames": "Frames {shown} of {total} of the animation on the web page.",
           "correction": "Correction"},
    "ko": {"solutions": "연습문제 풀이", "see": "풀이: {page}쪽",
           "frames": "웹 페이지에서 재생되는 애니메이션의 {total}개 프레임 가운데 {shown}번.",
           "correction": "바로잡기"},
}


def _text(app, key: str) -> str:
    return TEXT.get(app.config.language, TEXT["en"])[key]


def _is_latex(app) -> bool:
    return getattr(app.builder, "format", "") == "latex"


def _bundle_parts(bundle: nodes.Element) -> dict:
    return {child.get("mime_type"): child for child in bundle.children if isinstance(child, nodes.Element)}


class PrintOutputs(SphinxPostTransform):
    """Animations to frame grids, widgets and the Colab cell dropped (before myst-nb picks a mime type)."""

    default_priority = 3  # myst-nb's SelectMimeType runs at 4

    def run(self, **kwargs) -> None:
        if not _is_latex(self.app):
            return
        for cell in list(self.document.findall(nodes.container)):
            if "tag_colab-install" in cell.get("classes", []) and cell.parent is not None:
                cell.parent.remove(cell)
        for bundle in list(self.document.findall(nodes.container)):
            if bundle.get("nb_element") != "mime_bundle" or bundle.parent is None:
                continue
            parts = _bundle_parts(bundle)
            html = parts.get("text/html")
            if html is not None and PLAYER_MARK in html.astext():
                bundle.replace_self(self._grid(html.astext()))
                continue
            table = None
            if html is not None and "<table" in html.astext() and not any(m in parts for m in IMAGE_MIMES):
                table = pipe_table(parts["text/plain"].astext()) if "text/plain" in parts else None
            if table is not None:
                bundle.replace_self(table)
            elif WIDGET_MIME in parts and not any(m in parts for m in IMAGE_MIMES):
                bundle.parent.remove(bundle)

    def _grid(self, fragment: str) -> list[nodes.Node]:
        import base64

        from normcode.book.animation import Player, grid_indices

        player = Player.from_html(fragment)
        shown = grid_indices(len(player), 6)
        png = player.grid(6, 2)
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        image = nodes.image(uri=uri, alt=player.name, candidates={"?": uri}, width="100%")
        note = nodes.paragraph(classes=["normcode-frames-note"])
        note += nodes.emphasis(text=_text(self.app, "frames").format(
            shown=", ".join(str(i + 1) for i in shown), total=len(player)))
        return [image, note]


_SEPARATOR = re.compile(r"\|(\s*:?-{3,}:?\s*\|)+")


def pipe_table(text: str):
    """A docutils table from a Markdown pipe table (header, ``|---|`` line, rows), or None if ``text`` is not one."""
    lines = [line.strip() for line in text.strip().splitlines()]
    if len(lines) < 2 or not _SEPARATOR.fullmatch(lines[1]):
        return None
    if not all(line.startswith("|") and line.endswith("|") for line in lines):
        return None

    def cells(line: str) -> list[str]:
        return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line[1:-1])]

    def row(texts: list[str]) -> nodes.row:
        out = nodes.row()
        for text_ in texts:
            out += nodes.entry("", nodes.paragraph(text=text_))
        return out

    header, body = cells(lines[0]), [cells(line) for line in lines[2:]]
    if any(len(r) != len(header) for r in body):
        return None
    group = nodes.tgroup(cols=len(header))
    group.extend(nodes.colspec(colwidth=1) for _c in header)
    group += nodes.thead("", row(header))
    group += nodes.tbody("", *[row(r) for r in body])
    return nodes.table("", group)


def _solutions_by_document(tree: nodes.Node, kind) -> list[tuple[nodes.Element, nodes.Element]]:
    """Every ``kind`` node with the ``start_of_file`` it is in, in document order.

    Walks down from the root: the parent links of the assembled tree are not reliable after
    sphinx-jupyterbook-latex has swapped node classes.
    """
    found = []

    def walk(node, start):
        if isinstance(node, addnodes.start_of_file):
            start = node
        if isinstance(node, kind):
            found.append((node, start))
            return
        for child in getattr(node, "children", ()):
            walk(child, start)

    walk(tree, None)
    return found


def _parent(tree: nodes.Node, target: nodes.Node):
    """The node whose children hold ``target``, found from the root (``None`` if it is not in the tree)."""
    for child in getattr(tree, "children", ()):
        if child is target:
            return tree
        found = _parent(child, target)
        if found is not None:
            return found
    return None


class SolutionsAppendix(SphinxPostTransform):
    """Move every solution into an appendix chapter at the end of the book (the assembled LaTeX tree)."""

    default_priority = 800  # after sphinx-jupyterbook-latex has arranged the parts (700)

    def run(self, **kwargs) -> None:
        if not _is_latex(self.app):
            return
        from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node, solution_node

        found = _solutions_by_document(self.document, solution_node)
        if not found:
            return
        solutions = [sol for sol, start in found]
        registry = getattr(self.env, "sphinx_exercise_registry", {})
        chapters: dict[str, list] = {}
        titles: dict[str, str] = {}
        for sol, start in found:
            doc = start["docname"] if start is not None else ""
            if doc not in titles:
                section = next(start.findall(nodes.section), None) if start is not None else None
                titles[doc] = section[0].astext() if section is not None and len(section) else doc
            chapters.setdefault(doc, []).append(sol)
            parent = _parent(self.document, sol)
            parent.children.remove(sol)
        # each exercise points to its solution's page
        exercise_of = {sol.get("target_label"): sol for sol in solutions}
        for ex, start in _solutions_by_document(self.document, (exercise_node, exercise_enumerable_node)):
            sol = exercise_of.get(ex.get("label"))
            parent = _parent(start or self.document, ex)
            if sol is None or parent is None:
                continue
            docname = registry.get(sol.get("label"), {}).get("docname", "")
            label = f"{docname}:{sol.get('label')}"
            text = _text(self.app, "see").format(page=rf"\pageref*{{{label}}}")
            pointer = nodes.raw("", rf"\par\nobreak\noindent\hfill{{\small\hyperref[{label}]{{{text}}}}}\par" + "\n",
                                format="latex")
            parent.insert(parent.children.index(ex) + 1, pointer)

        appendix = nodes.section(ids=["normbook-solutions"], names=["normbook-solutions"])
        appendix += nodes.title(text=_text(self.app, "solutions"))
        for doc, sols in chapters.items():
            section = nodes.section(ids=[f"normbook-solutions-{len(appendix)}"])
            section += nodes.title(text=titles[doc])
            section.extend(sols)
            appendix += section
        start = addnodes.start_of_file(docname="normbook-solutions")
        start += appendix
        self._last_part(self.document).append(start)

    @staticmethod
    def _last_part(document: nodes.document) -> nodes.Element:
        """The section of the book's last part (where the appendices are), or the top-level section."""
        for child in reversed(document.children):
            if isinstance(child, nodes.compound) and "toctree-wrapper" in child.get("classes", []):
                start = next((c for c in child.children if isinstance(c, addnodes.start_of_file)), None)
                if start is not None:
                    section = next((c for c in start.children if isinstance(c, nodes.section)), None)
                    if section is not None:
                        return section
        return next(document.findall(nodes.section))


def _korean_character_classes(app, config) -> None:
    """Load every class of ucharclasses, not only Latin and Greek (tools/build_pdf.py switches to a
    Hangul font on entering the Korean ones).

    sphinx-jupyterbook-latex loads ``ucharclasses`` with the Latin and Greek classes only, at
    ``config-inited``; this runs after it. With Korean alone, a Hangul syllable right after a character
    of a block not loaded (a quotation mark, which XeTeX puts in a CJK class of its own, or a
    superscript T) made no transition and was missing. Only the LaTeX preamble changes.
    """
    elements = config["latex_elements"]
    preamble = elements.get("preamble", "")
    if r"\usepackage[Latin,Greek]{ucharclasses}" in preamble:
        elements["preamble"] = preamble.replace(r"\usepackage[Latin,Greek]{ucharclasses}",
                                                r"\usepackage{ucharclasses}")


class CorrectionTitles(SphinxPostTransform):
    """In print, a correction's long title becomes the box's first, bold paragraph under a short title."""

    default_priority = 5

    def run(self, **kwargs) -> None:
        if not _is_latex(self.app):
            return
        for box in list(self.document.findall(nodes.admonition)):
            if "source-correction" not in box.get("classes", []) or not isinstance(box[0], nodes.title):
                continue
            title = box[0]
            sentence = nodes.paragraph("", "", nodes.strong("", "", *[c.deepcopy() for c in title.children]))
            box.replace(title, nodes.title("", _text(self.app, "correction")))
            box.insert(1, sentence)


class PartNumbering(SphinxPostTransform):
    """Number the chapters as the site does: only in the parts marked ``numbered`` in ``_toc.yml``.

    sphinx-jupyterbook-latex makes each part of the table of contents a LaTeX ``\\part``; LaTeX would
    number every chapter, the preface as chapter 1. Before each part, ``secnumdepth`` is set to 2
    (numbered part: chapters and sections numbered, the first numbered chapter is 1) or -1.
    """

    default_priority = 790  # after sphinx-jupyterbook-latex (700), before the solutions move (800)

    def run(self, **kwargs) -> None:
        sitemap = getattr(self.config, "external_site_map", None)
        if not _is_latex(self.app) or sitemap is None:
            return
        numbered = {tree.caption: bool(tree.numbered) for tree in sitemap.root.subtrees if tree.caption}
        for child in self.document.children:
            if not (isinstance(child, nodes.compound) and "toctree-wrapper" in child.get("classes", [])):
                continue
            start = next((c for c in child.children if isinstance(c, addnodes.start_of_file)), None)
            if start is None or start.get("docname") not in numbered:
                continue
            depth = 2 if numbered[start["docname"]] else -1
            child.insert(0, nodes.raw("", rf"\setcounter{{secnumdepth}}{{{depth}}}" + "\n", format="latex"))


def setup(app):
    app.connect("config-inited", _korean_character_classes, priority=900)
    app.add_post_transform(PartNumbering)
    app.add_post_transform(PrintOutputs)
    app.add_post_transform(CorrectionTitles)
    app.add_post_transform(SolutionsAppendix)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
