"""Sphinx extension of the normcode textbook: Korean search, twin links between editions, the glossary,
links from the "Notes on the sources" appendix to the chapters' boxes, the print form of web-only things
(LaTeX builder)."""
from . import downloads, editions, glossary, korean_search, printing, source_boxes, theme_fixes


def setup(app):
    korean_search.setup(app)
    editions.setup(app)
    downloads.setup(app)
    glossary.setup(app)
    source_boxes.setup(app)
    theme_fixes.setup(app)
    printing.setup(app)
    app.add_css_file("normbook.css")
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
