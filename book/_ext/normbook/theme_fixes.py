"""Small fixes to what the theme puts on every page, each found by the browser tests.

* One copy of each inline script. In this Jupyter Book 1.x build the inline
  scripts of sphinx-thebe and sphinx-togglebutton were added to every page
  twice, so the browser reported "Identifier 'THEBE_JS_URL' has already been
  declared" on every notebook page. Sphinx keeps one copy of each script *file*
  but misses these, because one copy is registered with the file name ``None``
  and the other with ``""``. Exact duplicates (same file or inline body, same
  attributes) are dropped, keeping the first: the page runs what it ran before,
  once.
* The footer's author line in Korean (``templates/author.html``): the theme's
  Korean catalogue renders "By <author>" as "으로 <author>".
"""
from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _key(script) -> tuple:
    """What the browser runs: the file or the inline body, and the attributes (not Sphinx's priority)."""
    attributes = getattr(script, "attributes", {}) or {}
    filename = getattr(script, "filename", script) or ""  # inline scripts come as None or "" (both: no file)
    return str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    context["script_files"] = unique


def _add_templates(app, config):
    # Before the theme's own templates: ours replace the theme's of the same name.
    if str(TEMPLATES) not in config.templates_path:
        config.templates_path.insert(0, str(TEMPLATES))


def setup(app):
    app.connect("config-inited", _add_templates)
    # late, after the handlers that add page scripts
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
