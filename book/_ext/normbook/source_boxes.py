"""Links to the "Notes on the sources" boxes of the chapters, for the appendix that collects them.

Every chapter corrects the course notes in boxes titled "Notes on the sources"
(Korean edition: "원자료 바로잡기"). The appendix ``book/<lang>/notes_on_sources.md``
is generated from those boxes by ``tools/build_book.py``; each of its entries links
back to the section of the chapter that holds the box with the role

    {source-box}`notebooks/en/03_batch_normalization 2`

(document name, then the box's number in that document, counting from 1). The
link is resolved once every document has been read: the role's node is replaced
by a link to the innermost section around the box, i.e. the nearest heading
before it, with that section's number and title as its text ("3.4 Where to put
it"). A missing document or box is a warning, so the build (warnings as errors)
fails rather than publish a dead link. The role also records the chapter as a
dependency of the page, so an edited chapter refreshes the appendix's links.
"""
from __future__ import annotations

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

logger = logging.getLogger(__name__)

#: The title of a correction box in each edition.
BOX_TITLES = ("Notes on the sources", "원자료 바로잡기")


class source_box_ref(nodes.Inline, nodes.Element):
    """A link to box ``index`` (1-based) of document ``target``, resolved after reading."""


def is_source_box(node) -> bool:
    """True for an admonition titled like a correction box."""
    if not isinstance(node, nodes.admonition) or not node.children:
        return False
    title = node.children[0]
    return isinstance(title, nodes.title) and title.astext().strip() in BOX_TITLES


def boxes_with_sections(doctree) -> list[tuple[nodes.Element, nodes.section | None]]:
    """Every correction box of a document, in order, with the innermost section that holds it."""
    found = []
    for box in doctree.findall(is_source_box):
        section = box.parent
        while section is not None and not isinstance(section, nodes.section):
            section = section.parent
        found.append((box, section))
    return found


class SourceBoxRole(SphinxRole):
    """``{source-box}`<docname> <n>```: a link to the n-th correction box of a document."""

    def run(self):
        try:
            docname, number = self.text.split()
            index = int(number)
        except ValueError:
            msg = self.inliner.reporter.error(
                f"source-box: expected '<docname> <box number>', got {self.text!r}", line=self.lineno)
            return [self.inliner.problematic(self.rawtext, self.rawtext, msg)], [msg]
        docname = docname.lstrip("/")
        if docname not in self.env.found_docs:
            msg = self.inliner.reporter.error(f"source-box: no document {docname!r} in this edition",
                                              line=self.lineno)
            return [self.inliner.problematic(self.rawtext, self.rawtext, msg)], [msg]
        self.env.note_dependency(self.env.doc2path(docname))
        node = source_box_ref(self.rawtext, target=docname, index=index)
        self.set_source_info(node)
        return [node], []


def _section_label(env, docname: str, section: nodes.section | None, top: bool) -> tuple[str, str]:
    """The link text ("3.4 Title") and the URL fragment of a section ('' for the page itself)."""
    anchor = "" if (top or section is None) else section["ids"][0]
    number = env.toc_secnumbers.get(docname, {}).get(f"#{anchor}" if anchor else "")
    title = section[0].astext() if section is not None and section.children else env.titles[docname].astext()
    if number:
        title = f"{'.'.join(map(str, number))} {title}"
    return title, anchor


def _resolve(app, doctree, fromdocname):
    env = app.builder.env
    cache: dict[str, list] = {}
    for ref in list(doctree.findall(source_box_ref)):
        target, index = ref["target"], ref["index"]
        if target not in cache:
            tree = env.get_doctree(target)
            top = next(iter(tree.findall(nodes.section)), None)
            cache[target] = [(section, section is top) for box, section in boxes_with_sections(tree)]
        boxes = cache[target]
        if not 1 <= index <= len(boxes):
            logger.warning(f"source-box: {target} has {len(boxes)} correction boxes, not a box {index}",
                           location=ref)
            ref.replace_self(nodes.Text(ref["target"]))
            continue
        section, top = boxes[index - 1]
        text, anchor = _section_label(env, target, section, top)
        uri = app.builder.get_relative_uri(fromdocname, target)
        if anchor:
            uri += "#" + anchor
        link = nodes.reference("", "", nodes.Text(text), internal=True, refuri=uri,
                               classes=["source-box", f"box-{target.rsplit('/', 1)[-1]}-{index}"])
        ref.replace_self(link)


def _skip(self, node):
    raise nodes.SkipNode


def setup(app):
    app.add_node(source_box_ref, html=(_skip, None), latex=(_skip, None), text=(_skip, None))
    app.add_role("source-box", SourceBoxRole())
    app.connect("doctree-resolved", _resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
