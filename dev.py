#!/usr/bin/env python3
"""Developer commands of the normcode textbook; each prepares its own environment.

    python3 dev.py site      build both editions of the book into _build/site
    python3 dev.py test      run every test: unit tests, every notebook under nbval, the site
    python3 dev.py serve     serve the built site on http://localhost:8000
    python3 dev.py execute notebooks/en/01_x.ipynb ...   re-execute notebooks in place (authors)
    python3 dev.py bench     benchmark normcode's layers against PyTorch's

The first command creates a virtual environment in .venv (Python 3.11+ and git
are all a fresh machine needs), installs the pinned requirements and this
repository's package (never the unrelated "normcode" on PyPI), and reuses it
until requirements.txt or pyproject.toml change.
"""
from __future__ import annotations

import hashlib
import os
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


def site(extra=()) -> None:
    ensure_env()
    start = time.perf_counter()
    run([PYTHON, "tools/build_book.py", *extra])
    print(f"site built in {time.perf_counter() - start:.0f} s: open {SITE / 'index.html'}", flush=True)


def test(extra=()) -> None:
    site()
    start = time.perf_counter()
    workers = os.environ.get("NORMBOOK_WORKERS", "2")
    env = dict(os.environ, NORMBOOK_SITE=str(SITE), PYTHONHASHSEED="0")
    run([PYTHON, "-m", "pytest", "tests", "notebooks",
         "-n", workers, "--dist", "loadscope",
         "--nbval", "--nbval-current-env", "--nbval-cell-timeout", "300",
         "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", *extra], env=env)
    print(f"tests finished in {time.perf_counter() - start:.0f} s", flush=True)


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


COMMANDS = {"site": site, "test": test, "serve": serve, "execute": execute, "bench": bench}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](tuple(sys.argv[2:]))
