"""Notebook support: what a chapter needs besides the layers and the experiments.

* :mod:`~normcode.book.session` — :func:`setup` (language, seeds, one thread,
  deterministic algorithms, figure style) and :func:`language`;
* :mod:`~normcode.book.i18n` — the message catalogue: ``_("learning rate")`` is
  the label in the edition's language, the Korean text in ``locale/ko.po``;
* :mod:`~normcode.book.fonts` — the Korean font for matplotlib;
* :mod:`~normcode.book.animation` — figures that play in a static page.

A chapter starts with::

    from normcode import book
    from normcode.book import _
    book.setup(LANG)
"""
from .i18n import N_, MissingTranslation, _
from .session import LANGUAGES, language, seed_everything, setup

__all__ = ["setup", "language", "seed_everything", "LANGUAGES", "_", "N_", "MissingTranslation"]
