#!/usr/bin/env python3
"""Developer commands of the normcode textbook; each prepares its own environment.

    python3 dev.py site      build both editions of the book into _build/site
    python3 dev.py pdf       build the PDF of each edition (and of each chapter) into _build/pdf with XeLaTeX
                             (Debian's TeX Live installed with apt-get when missing and run as root), and
                             copy them into the built site, where every chapter page links them
    python3 dev.py test      run every test: unit tests, every notebook under nbval, the site (also in
                             headless Chromium, installed with apt-get when missing and run as root), the PDFs,
                             then every notebook under nbval again on PyTorch's AVX2 code path
    python3 dev.py lab       open the chapters in JupyterLab with the book's environment (readers, authors)
    python3 dev.py serve     serve the built site on http://localhost:8000
    python3 dev.py execute notebooks/en/01_x.ipynb ...   re-execute notebooks in place (authors)
    python3 dev.py bench     benchmark normcode's layers against PyTorch's
    python3 dev.py assignments [assignments/en/01_x.ipynb ...]   generate the student notebooks and
                             autograders of the course assignments into _build/assignments (teachers)
    python3 dev.py grade _build/assignments/en/01_x/autograder.zip submission.ipynb ...   grade submissions

The first command creates a virtual environment in .venv (Python 3.11+ and git
are all a fresh machine needs), installs the pinned requirements and this
repository's package (never the unrelated "normcode" on PyPI), and reuses it
until requirements.txt or pyproject.toml change.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".normbook-requirements"
SITE = ROOT / "_build" / "site"


def run(cmd, **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, **kwargs)
    if result.returncode != 0:
        sys.exit(result.returncode)


def requirements_digest() -> str:
    h = hashlib.sha256()
    for name in ("requirements.txt", "pyproject.toml"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def ensure_env() -> None:
    """Create .venv and install the pinned requirements and normcode (editable) if they changed."""
    if sys.version_info < (3, 10):
        sys.exit(f"Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        run([sys.executable, "-m", "venv", VENV])
    digest = requirements_digest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    start = time.perf_counter()
    pip = [PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    run(pip + ["--upgrade", "pip"])
    run(pip + ["-r", "requirements.txt"])
    run(pip + ["--no-deps", "-e", "."])
    STAMP.write_text(digest)
    print(f"environment ready in {time.perf_counter() - start:.0f} s", flush=True)


BROWSER_PACKAGES = ["chromium", "chromium-driver", "fonts-nanum"]
CHROMIUM = Path(os.environ.get("NORMBOOK_CHROMIUM", "/usr/bin/chromium"))


def _apt_prefix():
    """``[]`` as root, ``["sudo", "-n"]`` with password-less sudo, ``None`` if apt-get cannot be run."""
    if shutil.which("apt-get") and hasattr(os, "geteuid"):
        if os.geteuid() == 0:
            return []
        if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
            return ["sudo", "-n"]
    return None


def _has_korean_font() -> bool:
    fc = shutil.which("fc-list")
    if not fc:
        return False
    out = subprocess.run([fc, ":lang=ko", "family"], capture_output=True, text=True)
    return bool(out.stdout.strip())


def ensure_browser() -> None:
    """Headless Chromium and a Korean font for tests/test_browser.py, from Debian's packages.

    Installs them with apt-get when they are missing and this runs as root (or with
    password-less sudo, as on CI runners); otherwise stops with the command to run.
    The browser tests never skip: a missing browser is a failure.
    """
    if CHROMIUM.exists() and _has_korean_font():
        return
    apt = shutil.which("apt-get")
    prefix = _apt_prefix()
    if prefix is None:
        sys.exit(f"The browser tests need Chromium at {CHROMIUM} and a Korean font. Install them with\n"
                 f"    sudo apt-get update && sudo apt-get install -y {' '.join(BROWSER_PACKAGES)}\n"
                 "(Debian/Ubuntu; elsewhere install Chromium and a Korean font such as Noto Sans CJK, and set\n"
                 "NORMBOOK_CHROMIUM to the browser's path), then run  python3 dev.py test  again.")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(prefix + [apt, "update"], env=env)
    run(prefix + [apt, "install", "-y", *BROWSER_PACKAGES], env=env)
    if not CHROMIUM.exists():
        sys.exit(f"apt-get installed {' '.join(BROWSER_PACKAGES)} but there is no {CHROMIUM}")


#: The smallest set of Debian packages the PDFs need (measured on Debian 12 with --no-install-recommends):
#: XeLaTeX (texlive-xetex pulls texlive-latex-extra: Sphinx's LaTeX packages, and texlive-pictures),
#: the Zapf Dingbats metrics hyperref loads under XeTeX (texlive-fonts-recommended), latexmk, GNU FreeFont
#: (Sphinx's XeLaTeX fonts), the Nanum fonts (Hangul) and poppler-utils (pdffonts, pdftotext for the tests).
TEX_PACKAGES = ["texlive-xetex", "texlive-fonts-recommended", "latexmk", "fonts-freefont-otf", "fonts-nanum",
                "poppler-utils"]


def _has_tex() -> bool:
    found = all(shutil.which(tool) for tool in ("xelatex", "latexmk", "pdffonts", "pdftotext"))
    if not found:
        return False
    fonts = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True).stdout
    return "FreeSerif" in fonts and "NanumMyeongjo" in fonts and bool(
        subprocess.run(["kpsewhich", "pzdr.tfm"], capture_output=True, text=True).stdout.strip())


def ensure_tex() -> None:
    """XeLaTeX, latexmk, the fonts and poppler-utils for the PDFs, from Debian's packages.

    Installed with apt-get (without recommended packages) when missing and this runs as root or with
    password-less sudo, as :func:`ensure_browser` does; otherwise stops with the command to run.
    """
    if _has_tex():
        return
    prefix = _apt_prefix()
    if prefix is None:
        sys.exit("The PDFs need XeLaTeX, latexmk, the FreeFont and Nanum fonts and poppler-utils. Install them with\n"
                 f"    sudo apt-get update && sudo apt-get install -y --no-install-recommends {' '.join(TEX_PACKAGES)}\n"
                 "(Debian/Ubuntu), then run the command again.")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    start = time.perf_counter()
    run(prefix + ["apt-get", "update"], env=env)
    run(prefix + ["apt-get", "install", "-y", "--no-install-recommends", *TEX_PACKAGES], env=env)
    print(f"TeX Live installed in {time.perf_counter() - start:.0f} s", flush=True)
    if not _has_tex():
        sys.exit(f"apt-get installed {' '.join(TEX_PACKAGES)} but xelatex, latexmk, pdffonts or a font is still missing")


def site(extra=()) -> None:
    ensure_env()
    start = time.perf_counter()
    run([PYTHON, "tools/build_book.py", *extra])
    print(f"site built in {time.perf_counter() - start:.0f} s: open {SITE / 'index.html'}", flush=True)


def pdf(extra=()) -> None:
    """The PDF of each edition and of each chapter (_build/pdf), copied into the built site if there is one."""
    ensure_env()
    ensure_tex()
    start = time.perf_counter()
    run([PYTHON, "tools/build_pdf.py", *extra])
    print(f"PDFs built in {time.perf_counter() - start:.0f} s: {ROOT / '_build' / 'pdf'}", flush=True)


def test(extra=()) -> None:
    ensure_browser()
    site()
    pdf()  # after the site: the PDFs are copied into it, where the chapter pages link them
    start = time.perf_counter()
    workers = os.environ.get("NORMBOOK_WORKERS", "2")
    env = dict(os.environ, NORMBOOK_SITE=str(SITE), PYTHONHASHSEED="0")
    cmd = [PYTHON, "-m", "pytest", "tests", "notebooks", "assignments",
           "-n", workers, "--dist", "loadscope",
           "--nbval", "--nbval-current-env", "--nbval-cell-timeout", "300",
           "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", *extra]
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env)
    avx2_failed = False
    if result.returncode == 0:
        avx2_failed = nbval_on_avx2(env, workers)
    weights = ROOT / "_build" / "page-weights.txt"  # written by tests/test_site.py during this run
    if weights.exists() and weights.stat().st_mtime >= time.time() - (time.perf_counter() - start) - 1:
        print(weights.read_text(encoding="utf-8"), end="")
    print(f"screenshots of the site (tests/test_browser.py): {ROOT / '_build' / 'screenshots'}", flush=True)
    print(f"tests finished in {time.perf_counter() - start:.0f} s", flush=True)
    if result.returncode != 0:
        sys.exit(result.returncode)
    if avx2_failed:
        sys.exit(1)


#: PyTorch's CPU kernels and MKL forced onto the AVX2 code path, as on AVX2-only hosts (many cloud
#: machines and Colab): vectorized reductions sum in another order there, so a chaotic experiment
#: would print other numbers. Every notebook must print its stored outputs on both paths.
AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}


def nbval_on_avx2(env: dict, workers: str) -> bool:
    """Run nbval (strict) on every notebook again with :data:`AVX2` set; True if it failed."""
    cmd = [PYTHON, "-m", "pytest", "notebooks", "-n", workers, "--dist", "loadscope", "-p", "no:cacheprovider",
           "--nbval", "--nbval-current-env", "--nbval-cell-timeout", "300",
           "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", ]
    print("+ (AVX2 code path)", " ".join(f"{k}={v}" for k, v in AVX2.items()), " ".join(str(c) for c in cmd),
          flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, env={**env, **AVX2}).returncode != 0


def lab(extra=()) -> None:
    """JupyterLab on the chapters, in the book's environment (the kernel imports this checkout's normcode)."""
    ensure_env()
    run([BIN / "jupyter", "lab", "notebooks", *extra])


def serve(extra=()) -> None:
    if not (SITE / "index.html").exists():
        sys.exit("no site yet: build it first with  python3 dev.py site")
    port = extra[0] if extra else "8000"
    print(f"serving {SITE} on http://localhost:{port}/ (Ctrl-C stops)", flush=True)
    run([sys.executable, "-m", "http.server", port, "--bind", "127.0.0.1", "--directory", SITE])


def execute(extra=()) -> None:
    ensure_env()
    run([PYTHON, "tools/execute_notebooks.py", *extra])


def bench(extra=()) -> None:
    ensure_env()
    run([PYTHON, "benchmarks/bench_layers.py", *extra])


def assignments(extra=()) -> None:
    ensure_env()
    run([PYTHON, "tools/assignments.py", "generate", *extra])


def grade(extra=()) -> None:
    ensure_env()
    if len(extra) < 2:
        sys.exit("usage: python3 dev.py grade AUTOGRADER.zip SUBMISSION.ipynb [SUBMISSION.ipynb ...] [--json FILE]")
    run([PYTHON, "tools/assignments.py", "grade", *extra])


COMMANDS = {"site": site, "pdf": pdf, "test": test, "serve": serve, "execute": execute, "bench": bench,
            "lab": lab, "assignments": assignments, "grade": grade}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](tuple(sys.argv[2:]))
