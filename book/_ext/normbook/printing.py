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

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

PLAYER_MARK = 'class="normcode-player"'
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "application/pdf")

TEXT = {
    "en": {"solutions": "Solutions to the exercises", "see": "Solution: page {page}",
           "frames": "Frames {shown} of {total} of the animation on the web page."},
    "ko": {"solutions": "연습문제 풀이", "see": "풀이: {page}쪽",
           "frames": "웹 페이지에서 재생되는 애니메이션의 {total}개 프레임 가운데 {shown}번."},
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


def _start_of_file(node: nodes.Node):
    while node is not None and not isinstance(node, addnodes.start_of_file):
        node = node.parent
    return node


class SolutionsAppendix(SphinxPostTransform):
    """Move every solution into an appendix chapter at the end of the book (the assembled LaTeX tree)."""

    default_priority = 800  # after sphinx-jupyterbook-latex has arranged the parts (700)

    def run(self, **kwargs) -> None:
        if not _is_latex(self.app):
            return
        from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node, solution_node

        solutions = [n for n in self.document.findall(solution_node)]
        if not solutions:
            return
        registry = getattr(self.env, "sphinx_exercise_registry", {})
        chapters: dict[str, list] = {}
        titles: dict[str, str] = {}
        for sol in solutions:
            start = _start_of_file(sol)
            doc = start["docname"] if start is not None else ""
            if doc not in titles:
                section = next(start.findall(nodes.section), None) if start is not None else None
                titles[doc] = section[0].astext() if section is not None and len(section) else doc
            chapters.setdefault(doc, []).append(sol)
            sol.parent.remove(sol)
        # each exercise points to its solution's page
        exercise_of = {sol.get("target_label"): sol for sol in solutions}
        for ex in list(self.document.findall(lambda n: isinstance(n, (exercise_node, exercise_enumerable_node)))):
            sol = exercise_of.get(ex.get("label"))
            if sol is None:
                continue
            docname = registry.get(sol.get("label"), {}).get("docname", "")
            label = f"{docname}:{sol.get('label')}"
            text = _text(self.app, "see").format(page=rf"\pageref*{{{label}}}")
            pointer = nodes.raw("", rf"\par\nobreak\noindent\hfill{{\small\hyperref[{label}]{{{text}}}}}\par" + "\n",
                                format="latex")
            ex.parent.insert(ex.parent.index(ex) + 1, pointer)

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
    """Load ucharclasses' Korean classes too (tools/build_pdf.py switches to a Hangul font on them).

    sphinx-jupyterbook-latex loads ``ucharclasses`` with the Latin and Greek classes only, at
    ``config-inited``; this runs after it. Only the LaTeX preamble changes.
    """
    elements = config["latex_elements"]
    preamble = elements.get("preamble", "")
    if r"\usepackage[Latin,Greek]{ucharclasses}" in preamble:
        elements["preamble"] = preamble.replace(r"\usepackage[Latin,Greek]{ucharclasses}",
                                                r"\usepackage[Latin,Greek,Korean]{ucharclasses}")


def setup(app):
    app.connect("config-inited", _korean_character_classes, priority=900)
    app.add_post_transform(PrintOutputs)
    app.add_post_transform(SolutionsAppendix)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
