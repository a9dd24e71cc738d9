"""Build the PDF of every edition, and cut it into one PDF per chapter.

    python tools/build_pdf.py [--edition en] [--site _build/site]

For each edition in ``book/editions.yml`` this runs Jupyter Book 1's LaTeX builder
(the edition's ``_config.yml`` and ``_toc.yml`` derived as for the site, plus the
LaTeX settings of :func:`latex_config`; notebooks are rendered from their stored
outputs, never executed) into ``_build/editions-latex/<lang>``, then XeLaTeX through
latexmk, and writes

* ``_build/pdf/normalization-<lang>.pdf``, the whole book;
* ``_build/pdf/<lang>/<chapter>.pdf``, each chapter of the table of contents, cut from
  the whole book at the pages the LaTeX ``.aux`` file records for each document;
* ``_build/pdf/<lang>/build.log``, the LaTeX log (a "Missing character" line there is a
  glyph missing from the fonts: ``tests/test_pdf.py`` fails on it).

If the site has been built (``python3 dev.py site``), the PDFs are copied into it:
``<site>/<lang>/_pdf/``, where every chapter page's download links point
(``book/_ext/normbook/downloads.py``). Print forms of what only works on a web page
(animations, widgets, launch buttons, exercise solutions in drop-downs) are made by
``book/_ext/normbook/printing.py``. Run it through ``python3 dev.py pdf``, which also
installs TeX Live from Debian's packages when it is missing.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_book import (BUILD, PDF_DIR, ROOT, copy_pdfs_into_site, edition_config, edition_toc,  # noqa: E402
                        jupyter_book_command, load_editions, pdf_name, toc_notebooks, write_notes_page, write_status_page)

#: Fonts. Latin, Greek and symbols: Sphinx's XeLaTeX defaults (GNU FreeFont) and Latin Modern Math.
#: Hangul (in both editions: the English glossary lists the Korean terms): the Nanum fonts, switched to
#: by XeTeX's inter-character classes (ucharclasses, which sphinx-jupyterbook-latex already loads;
#: book/_ext/normbook/printing.py adds its Korean classes), Myeongjo in the text, Gothic in sans-serif
#: headings, GothicCoding in code. XeTeX breaks Korean lines only at the spaces between words, as the
#: site does (word-break: keep-all): a word and its particle are never split across lines.
KOREAN_FONTS = r"""
\newfontfamily\normbookHangulRM{NanumMyeongjo}[NFSSFamily=nbhrm, ItalicFont=NanumMyeongjo,
  ItalicFeatures={FakeSlant=0.18}, BoldItalicFont=NanumMyeongjo Bold, BoldItalicFeatures={FakeSlant=0.18}]
\newfontfamily\normbookHangulSF{NanumGothic}[NFSSFamily=nbhsf, ItalicFont=NanumGothic,
  ItalicFeatures={FakeSlant=0.18}, BoldItalicFont=NanumGothic Bold, BoldItalicFeatures={FakeSlant=0.18}]
\newfontfamily\normbookHangulTT{NanumGothicCoding}[NFSSFamily=nbhtt, ItalicFont=NanumGothicCoding,
  ItalicFeatures={FakeSlant=0.18}]
\makeatletter
% No groups (a transition may leave a group other than the one it entered): switch the family on
% entering Hangul, and back to the matching Latin family on leaving it.
\def\normbook@rm{nbhrm}\def\normbook@sf{nbhsf}\def\normbook@tt{nbhtt}
\newcommand\normbookHangul{\edef\normbook@fam{\f@family}\edef\normbook@sfd{\sfdefault}\edef\normbook@ttd{\ttdefault}%
  \ifx\normbook@fam\normbook@sfd\fontfamily{nbhsf}\selectfont\else
  \ifx\normbook@fam\normbook@ttd\fontfamily{nbhtt}\selectfont\else
  \ifx\normbook@fam\normbook@sf\else\ifx\normbook@fam\normbook@tt\else\fontfamily{nbhrm}\selectfont\fi\fi\fi\fi}
\newcommand\normbookLatin{\edef\normbook@fam{\f@family}%
  \ifx\normbook@fam\normbook@rm\fontfamily{\rmdefault}\selectfont\else
  \ifx\normbook@fam\normbook@sf\fontfamily{\sfdefault}\selectfont\else
  \ifx\normbook@fam\normbook@tt\fontfamily{\ttdefault}\selectfont\fi\fi\fi}
\makeatother
\AtBeginDocument{\setTransitionsForKorean{\normbookHangul}{\normbookLatin}}
"""

COMMON_PREAMBLE = r"""
% normcode textbook: long code lines and URLs wrap instead of running off the page
\sphinxsetup{verbatimwrapslines=true, verbatimforcewraps=true}
\setlength{\emergencystretch}{3em}
\hypersetup{bookmarksnumbered=true}
% chapter heads: "Chapter 3" / "제3장" above the title; none for the unnumbered chapters (preface, appendices)
\makeatletter
\renewcommand{\@makechapterhead}[1]{\vspace*{20pt}{\parindent\z@\raggedright\normalfont\sffamily
  \ifnum\c@secnumdepth>\m@ne{\Large\normbookChapterLabel}\par\nobreak\vskip 10pt\fi
  \interlinepenalty\@M\huge\bfseries #1\par\nobreak\vskip 30pt}}
\renewcommand{\@makeschapterhead}[1]{\vspace*{20pt}{\parindent\z@\raggedright\normalfont\sffamily
  \interlinepenalty\@M\huge\bfseries #1\par\nobreak\vskip 30pt}}
\makeatother
"""

#: The Korean edition's LaTeX captions (without babel or polyglossia, which have no Korean of their own).
#: ``\addto`` (babel's) is a no-op, for sphinx-jupyterbook-latex's ``\addto\captionsenglish{...}``.
KOREAN_CAPTIONS = r"""
\providecommand{\addto}[2]{}
\renewcommand{\contentsname}{차례}
\renewcommand{\bibname}{참고문헌}
\renewcommand{\partname}{}
\renewcommand{\chaptername}{}
\AtBeginDocument{\frenchspacing}% one space after a sentence, as Korean text is set
"""

#: The line above a numbered chapter's title, in each edition.
CHAPTER_LABEL = {"en": r"\newcommand{\normbookChapterLabel}{Chapter \thechapter}",
                 "ko": r"\newcommand{\normbookChapterLabel}{제\thechapter 장}"}


def latex_config(lang: str, editions: dict) -> dict:
    """The edition's configuration with the settings of the LaTeX build added."""
    config = edition_config(lang, editions)
    info = editions["editions"][lang]
    config["latex"] = {
        "latex_engine": "xelatex",
        "use_jupyterbook_latex": True,
        "latex_documents": {"targetname": "book.tex", "title": info["title"]},
    }
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    # Korean fonts in every edition: the English glossary and cover show the Korean terms too
    preamble = COMMON_PREAMBLE + CHAPTER_LABEL.get(lang, CHAPTER_LABEL["en"]) + "\n" + KOREAN_FONTS
    if lang == "ko":
        preamble += KOREAN_CAPTIONS
    elements = {
        "papersize": "a4paper",
        "pointsize": "11pt",
        "extraclassoptions": "openany,oneside",
        "preamble": preamble,
        "printindex": "",
        "fncychap": "",
        "makeindex": "",
    }
    if lang == "ko":
        # polyglossia has no Korean of its own to add (no hyphenation, its own font set-up): English rules,
        # Korean captions from Sphinx's Korean catalogue (sphinxmessages.sty)
        elements.update({"polyglossia": ""})
    sphinx.update({"latex_elements": elements, "latex_use_xindy": False, "latex_domain_indices": False,
                   "latex_show_urls": "no",
                   "latex_additional_files": [str(ROOT / "book" / "latex" / "bbm.sty")]})
    return config


#: Sphinx warnings that do not fail the LaTeX build.
ALLOWED_WARNINGS = ("no Babel option known for language",)


def build_latex(lang: str, editions: dict) -> Path:
    """Run Jupyter Book's LaTeX builder for one edition; return the folder holding ``book.tex``."""
    work = BUILD / "editions-latex" / lang
    cmd = jupyter_book_command("latex", work, latex_config(lang, editions), edition_toc(lang, editions))
    print(f"[{lang}] {' '.join(cmd)}", flush=True)
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, errors="replace")
    output = result.stdout + result.stderr
    # Warnings are errors, as for the site, except the one Sphinx gives for every language that LaTeX's
    # babel does not know (Korean): the Korean fonts and captions are set up here instead.
    warnings = [line for line in re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines()
                if "WARNING" in line and not any(ok in line for ok in ALLOWED_WARNINGS)]
    if result.returncode != 0 or warnings:
        print(output[-6000:])
        raise SystemExit(f"[{lang}] jupyter-book build --builder latex failed (exit {result.returncode}); "
                         f"warnings:\n" + "\n".join(warnings))
    return work / "_build" / "latex"


def run_latex(latex_dir: Path, lang: str) -> Path:
    """XeLaTeX through latexmk (as Sphinx's Makefile does); return the PDF."""
    cmd = ["latexmk", "-r", "latexmkrc", "-pdf", "-dvi-", "-ps-", "-interaction=nonstopmode",
           "-halt-on-error", "book.tex"]
    print(f"[{lang}] (in {latex_dir}) {' '.join(cmd)}", flush=True)
    result = subprocess.run(cmd, cwd=latex_dir, capture_output=True, text=True, errors="replace")
    log = latex_dir / "book.log"
    if result.returncode != 0 or not (latex_dir / "book.pdf").exists():
        tail = log.read_text(errors="replace")[-4000:] if log.exists() else result.stdout[-4000:]
        raise SystemExit(f"[{lang}] XeLaTeX failed (exit {result.returncode}); end of {log}:\n{tail}")
    return latex_dir / "book.pdf"


# --- chapters -------------------------------------------------------------------------------------

def document_anchors(aux: Path) -> dict[str, str]:
    """``docname -> hyperref anchor`` of every document's start, from the ``.aux`` file."""
    anchors = {}
    for m in re.finditer(r"\\newlabel\{(?:\\detokenize \{)?([^{}:]+)::doc\}?\}\{\{[^{}]*\}\{[^{}]*\}\{.*?\}\{([^{}]+)\}",
                         aux.read_text(encoding="utf-8", errors="replace")):
        anchors.setdefault(m.group(1), m.group(2))
    return anchors


def chapter_ranges(pdf: Path, aux: Path, docnames: list[str]) -> dict[str, tuple[int, int]]:
    """``docname -> (first page, last page + 1)`` (0-based) for each of ``docnames``.

    A chapter starts where its anchor is and ends where the next document or part starts.
    """
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    destinations = reader.named_destinations
    starts = {}
    for doc, anchor in document_anchors(aux).items():
        if anchor in destinations:
            starts[doc] = reader.get_destination_page_number(destinations[anchor])
    # parts (\part) start pages too: a chapter never runs into the next part
    boundaries = sorted(set(starts.values()) | {reader.get_destination_page_number(d)
                                                 for name, d in destinations.items() if name.startswith("part.")})
    ranges = {}
    for doc in docnames:
        if doc not in starts:
            raise SystemExit(f"{aux}: no page for {doc} (is it in the table of contents?)")
        first = starts[doc]
        later = [b for b in boundaries if b > first]
        ranges[doc] = (first, later[0] if later else len(reader.pages))
    return ranges


def split_chapters(pdf: Path, aux: Path, docnames: list[str], out: Path) -> list[Path]:
    """Write one PDF per document of ``docnames`` (``out/<stem>.pdf``), cut from the whole book."""
    from pypdf import PdfReader, PdfWriter

    out.mkdir(parents=True, exist_ok=True)
    reader = PdfReader(pdf)
    written = []
    for doc, (first, stop) in chapter_ranges(pdf, aux, docnames).items():
        writer = PdfWriter()
        for i in range(first, stop):
            writer.add_page(reader.pages[i])
        writer.add_metadata({"/Title": f"{reader.metadata.title or ''}", "/Producer": "normcode textbook"})
        target = out / f"{Path(doc).name}.pdf"
        with target.open("wb") as fh:
            writer.write(fh)
        written.append(target)
    return written


def build_edition(lang: str, editions: dict) -> dict:
    """LaTeX, XeLaTeX, chapters: everything of one edition; returns what was made."""
    start = time.perf_counter()
    latex_dir = build_latex(lang, editions)
    pdf = run_latex(latex_dir, lang)
    PDF_DIR.mkdir(parents=True, exist_ok=True)
    book = PDF_DIR / pdf_name(lang)
    shutil.copyfile(pdf, book)
    chapters_dir = PDF_DIR / lang
    if chapters_dir.exists():
        shutil.rmtree(chapters_dir)
    chapters = split_chapters(pdf, latex_dir / "book.aux", toc_notebooks(edition_toc(lang, editions)), chapters_dir)
    shutil.copyfile(latex_dir / "book.log", chapters_dir / "build.log")
    from pypdf import PdfReader

    pages = len(PdfReader(book).pages)
    seconds = time.perf_counter() - start
    print(f"[{lang}] {book}: {pages} pages, {book.stat().st_size / 1e6:.1f} MB, {len(chapters)} chapter PDFs, "
          f"built in {seconds:.0f} s", flush=True)
    return {"pdf": book, "pages": pages, "chapters": chapters, "seconds": seconds}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edition", action="append", help="build only this edition (repeatable)")
    parser.add_argument("--site", default=str(BUILD / "site"), help="the built site to copy the PDFs into")
    args = parser.parse_args(argv)
    editions = load_editions()
    langs = args.edition or list(editions["editions"])
    for lang in editions["editions"]:
        write_status_page(lang, editions)  # appendices of the book, generated as for the site
        write_notes_page(lang, editions)
    for lang in langs:
        build_edition(lang, editions)
    copy_pdfs_into_site(Path(args.site), langs)


if __name__ == "__main__":
    main()
