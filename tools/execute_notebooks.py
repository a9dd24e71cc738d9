"""Execute notebooks in place, the way CI will re-run them, and store their outputs.

    python3 dev.py execute notebooks/en/03_batch_norm.ipynb notebooks/ko/03_batch_norm.ipynb
    python3 dev.py execute --all

Each notebook runs in a fresh kernel of this environment from its own folder;
a cell that raises stops the run and nothing is written. The wall time of each
notebook is printed (the budget is 45 s on 2 CPU cores) and stored, with the
versions it ran with, in the notebook's metadata (``normbook``), from which the
build makes each edition's status page.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def versions() -> dict:
    """The versions a notebook is executed with (shown on the status page)."""
    import normcode
    import torch

    return {"normcode": normcode.__version__, "torch": torch.__version__.split("+")[0],
            "python": platform.python_version()}


def execute(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    lang = nb.metadata.get("language_info", {})
    nb.metadata["language_info"] = {"name": lang.get("name", "python")}
    nb.metadata["normbook"] = {"execution_seconds": round(elapsed, 1), **versions()}
    nbformat.write(nb, path)
    return elapsed


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--all", action="store_true", help="every notebook under notebooks/")
    args = parser.parse_args(argv)
    paths = sorted((ROOT / "notebooks").rglob("*.ipynb")) if args.all else args.notebooks
    if not paths:
        sys.exit("name the notebooks to execute, or --all")
    for path in paths:
        if ".ipynb_checkpoints" in path.parts:
            continue
        print(f"{path}: {execute(path):.1f} s", flush=True)


if __name__ == "__main__":
    main()
