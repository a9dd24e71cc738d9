"""What every chapter notebook does first: language, seeds, threads, figure style.

A chapter's code cells are identical in both editions; only one tagged cell
sets ``LANG``. Then::

    from normcode import book
    from normcode.book import _
    book.setup(LANG)                      # seeds, one thread, fonts, figure style
    plt.xlabel(_("step"))                 # the label in this edition's language (normcode.book.i18n)

``setup`` makes runs reproducible (fixed seeds, one intra-op thread, PyTorch's
deterministic algorithms) so that the outputs stored in a notebook match a
fresh run, which is what CI checks.
"""
from __future__ import annotations

import random
from typing import Optional

import numpy as np
import torch

from .fonts import use_korean_font

__all__ = ["setup", "language", "seed_everything", "LANGUAGES"]

LANGUAGES = ("en", "ko")
_language = "en"


def language() -> str:
    """The edition's language set by :func:`setup` (``"en"`` or ``"ko"``)."""
    return _language


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(lang: str, seed: int = 0, threads: Optional[int] = 1) -> None:
    """Prepare a notebook: language, seeds, deterministic single-thread PyTorch, figure style.

    Args:
        lang: ``"en"`` or ``"ko"``; Korean also switches matplotlib to a Korean font.
        seed: seed for Python, NumPy and PyTorch.
        threads: intra-op threads for PyTorch (1 makes floating-point reductions
            independent of the machine's core count); ``None`` leaves it alone.
    """
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    _language = lang
    seed_everything(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)

    from ..plotting.style import apply_style

    apply_style()
    if lang == "ko":
        use_korean_font()
