"""Sphinx extension of the normcode textbook: Korean search, twin links between editions, the glossary,
links from the "Notes on the sources" appendix to the chapters' boxes."""
from . import editions, glossary, korean_search, source_boxes, theme_fixes


def setup(app):
    korean_search.setup(app)
    editions.setup(app)
    glossary.setup(app)
    source_boxes.setup(app)
    theme_fixes.setup(app)
    app.add_css_file("normbook.css")
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
