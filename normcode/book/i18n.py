r"""The message catalogue: every word a reader sees, in the edition's language.

The book's code cells are identical in both editions. A label or a printed
sentence is written once, in English, and looked up at run time — the gettext
convention (the English text is the key)::

    from normcode.book import _
    plt.xlabel(_("learning rate"))
    print(_("test accuracy after {steps} steps: {acc:.2f}").format(steps=150, acc=0.97))

In the English edition ``_`` returns its argument. In the Korean edition it
returns the ``msgstr`` of ``locale/ko.po`` for that ``msgid``; a message with no
Korean entry is an error (:class:`MissingTranslation`), so a Korean page can never
show an English sentence by accident. Translators edit ``locale/ko.po`` (gettext's
PO format, readable by Poedit and every translation tool) and never the code.

Text that must be *named* before the language is known — a technique's label in
:mod:`normcode.plotting.style`, say — is marked with :func:`N_`, which returns the
key unchanged; the lookup happens later with ``_``. Both markers are what the
extraction test (``tests/test_catalogue.py``) searches for, like ``xgettext``.

Formatting placeholders (``{acc:.2f}``) stay in the key and in the translation,
so the numbers are formatted by the same code in both editions.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Dict

__all__ = ["_", "N_", "MissingTranslation", "catalogue", "read_po", "CATALOGUE_DIR"]

#: Where the catalogues live: one ``<lang>.po`` file per edition other than English.
CATALOGUE_DIR = Path(__file__).resolve().parent / "locale"


class MissingTranslation(KeyError):
    """A message is looked up in an edition whose catalogue has no entry for it."""

    def __str__(self) -> str:  # KeyError would print the repr of the whole message
        return self.args[0]


def read_po(path: Path) -> Dict[str, str]:
    r"""Parse a gettext PO file into ``{msgid: msgstr}``.

    Handles what this book's catalogue uses: ``#`` comments, ``msgid``/``msgstr``
    pairs whose strings may continue on following ``"..."`` lines (concatenated),
    and C escapes inside the quotes (``\"``, ``\n``, ``\\``). The header entry
    (empty ``msgid``) and entries with an empty ``msgstr`` (untranslated) are left out.

    Raises:
        ValueError: a line that is not a comment, a keyword or a quoted string, or
            one ``msgid`` given twice, with the line number.
    """
    entries: Dict[str, str] = {}
    current: Dict[str, str] = {}
    field = None

    def finish(lineno: int) -> None:
        msgid, msgstr = current.get("msgid"), current.get("msgstr")
        if msgid is None:
            return
        if msgstr is None:
            raise ValueError(f"{path}:{lineno}: msgid {msgid!r} has no msgstr")
        if msgid in entries:
            raise ValueError(f"{path}:{lineno}: msgid {msgid!r} appears twice; keep one entry")
        if msgid and msgstr:
            entries[msgid] = msgstr

    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgid", "msgstr"):
            if keyword == "msgid":
                finish(lineno)
                current = {}
            field, line = keyword, rest.strip()
        if not (line.startswith('"') and line.endswith('"') and len(line) >= 2) or field is None:
            raise ValueError(f"{path}:{lineno}: expected msgid \"...\", msgstr \"...\" or a quoted line, got {raw!r}")
        current[field] = current.get(field, "") + ast.literal_eval(line)
    finish(len(lines))
    return entries


@lru_cache(maxsize=None)
def catalogue(lang: str) -> Dict[str, str]:
    """The ``{English: translation}`` entries of one edition (``{}`` for English)."""
    if lang == "en":
        return {}
    path = CATALOGUE_DIR / f"{lang}.po"
    if not path.exists():
        raise FileNotFoundError(f"no message catalogue for language {lang!r}: expected {path}")
    return read_po(path)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (gettext's ``N_``)."""
    return message


def _(message: str) -> str:
    """``message`` in the language of the edition set by :func:`normcode.book.setup`.

    Args:
        message: the English text, which is also the catalogue key.

    Raises:
        MissingTranslation: the edition's catalogue has no entry for ``message``;
            the error names the file to add it to.
    """
    from .session import language

    lang = language()
    if lang == "en":
        return message
    try:
        return catalogue(lang)[message]
    except KeyError:
        raise MissingTranslation(
            f"no {lang} translation of {message!r}: add an entry to {CATALOGUE_DIR / (lang + '.po')} "
            f"(msgid {message!r} / msgstr \"...\")") from None
