"""Binder's environment (binder/): CPU PyTorch, the book's versions, this repository's package.

repo2docker builds the Binder image from binder/: requirements.txt, runtime.txt
(the Python version) and postBuild (run last). These tests read those files; they
cannot build the image (no Binder here), so they check what decides whether it
works: the CPU build of torch, the same versions as ../requirements.txt (the
versions the notebooks' stored outputs were computed with), every dependency of
normcode present, and normcode installed from the checkout, never from PyPI.
"""
from __future__ import annotations

import ast
import os
import re
import shlex
import sys
import tomllib

import pytest
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from _book import ROOT, code_cells, notebook_paths, read_notebook, source

BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Files repo2docker understands in binder/ that this book uses; anything else there would be ignored or surprising.
KNOWN = {"requirements.txt", "runtime.txt", "postBuild", "apt.txt"}


def read_requirements(path):
    """(options, {canonical name: Requirement}) of a pip requirements file."""
    options, reqs = [], {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in reqs, f"{path.name}: {req.name} listed twice"
        reqs[name] = req
    return options, reqs


def pinned(req: Requirement) -> Version:
    (spec,) = list(req.specifier)
    assert spec.operator == "==", f"{req}: pin an exact version (==)"
    return Version(spec.version)


BINDER_OPTIONS, BINDER_REQS = read_requirements(BINDER / "requirements.txt")
_, BOOK_REQS = read_requirements(ROOT / "requirements.txt")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_binder_folder_holds_only_files_repo2docker_uses():
    present = {p.name for p in BINDER.iterdir()}
    assert {"requirements.txt", "runtime.txt", "postBuild"} <= present
    assert present <= KNOWN, f"unexpected files in binder/: {sorted(present - KNOWN)}"


def test_torch_is_the_cpu_build_of_the_books_version():
    torch = BINDER_REQS["torch"]
    version = pinned(torch)
    assert version.local == "cpu", f"binder pins {torch}: pin the CPU build, torch==X.Y.Z+cpu"
    assert version.public == pinned(BOOK_REQS["torch"]).public, (
        f"binder has torch {version.public}, requirements.txt {pinned(BOOK_REQS['torch'])}")
    # The +cpu wheels live only on PyTorch's CPU index; PyPI stays the index for everything else.
    urls = [shlex.split(o)[1] for o in BINDER_OPTIONS if o.startswith("--extra-index-url")]
    assert any(u.rstrip("/") == CPU_INDEX for u in urls), f"binder/requirements.txt needs --extra-index-url {CPU_INDEX}"
    assert not any(o.startswith(("--index-url", "-i ")) for o in BINDER_OPTIONS), "keep PyPI as the main index"


def test_shared_packages_have_the_same_versions_as_requirements_txt():
    for name, req in BINDER_REQS.items():
        version = pinned(req)
        assert name in BOOK_REQS, f"binder pins {req}, which requirements.txt does not have: add it there first"
        assert version.public == pinned(BOOK_REQS[name]).public, (
            f"binder pins {req}, requirements.txt {BOOK_REQS[name]}: keep them equal")


def test_every_dependency_of_normcode_and_of_the_notebooks_is_there():
    # postBuild installs normcode with --no-deps, so its dependencies (and the [book] extra) must be pinned here.
    project = PYPROJECT["project"]
    needed = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["book"]]
    for req in needed:
        name = canonicalize_name(req.name)
        assert name in BINDER_REQS, f"binder/requirements.txt lacks {req.name}, a dependency of normcode"
        assert pinned(BINDER_REQS[name]).public in SpecifierSet(str(req.specifier)), (
            f"binder pins {BINDER_REQS[name]}, outside normcode's range {req}")
    # And every module a notebook imports comes from the standard library, normcode, or binder's list.
    provides = {"sklearn": "scikit-learn", "koreanize_matplotlib": "koreanize-matplotlib", "PIL": "pillow",
                "dateutil": "python-dateutil", "IPython": None, "ipykernel": None}
    for path in notebook_paths():
        for cell in code_cells(read_notebook(path)):
            code = TransformerManager().transform_cell(source(cell))  # %pip etc. become Python
            for node in ast.walk(ast.parse(code)):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
                for module in names:
                    top = module.split(".")[0]
                    if top in sys.stdlib_module_names or top == "normcode" or top == "google":
                        continue
                    dist = provides.get(top, top)
                    if dist is None:
                        continue  # part of every Jupyter kernel
                    assert canonicalize_name(dist) in BINDER_REQS, f"{path.name} imports {module}; Binder lacks {dist}"


def test_normcode_comes_from_the_checkout_never_from_pypi():
    for name in BINDER_REQS:
        assert not name.startswith("normcode"), f"binder/requirements.txt names {name}: install it from the checkout"
    for path in BINDER.iterdir():
        text = "\n".join(l for l in path.read_text(encoding="utf-8").splitlines() if not l.lstrip().startswith("#"))
        assert not re.search(r"pip3?\s+install[^\n]*\bnormcode\b", text), f"{path.name} pip-installs 'normcode' by name"
    post = BINDER / "postBuild"
    assert post.read_text(encoding="utf-8").startswith("#!"), "postBuild needs a #! line"
    assert os.access(post, os.X_OK), "postBuild must be executable (git update-index --chmod=+x binder/postBuild)"
    installs = [shlex.split(l) for l in post.read_text(encoding="utf-8").splitlines()
                if "pip install" in l and not l.lstrip().startswith("#")]
    assert installs and all("--no-deps" in cmd for cmd in installs), "postBuild must not let pip replace the pinned torch"
    assert any(cmd[-1] == "." for cmd in installs), "postBuild must install the checkout (pip install . )"


def test_python_version_suits_the_pins_and_the_package():
    text = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(3\.\d+)", text)
    assert match, f"binder/runtime.txt must read python-3.X, not {text!r}"
    assert Version(match.group(1) + ".0") in SpecifierSet(PYPROJECT["project"]["requires-python"])
    # The pinned numpy and scipy need Python 3.11 or newer.
    assert Version(match.group(1)) >= Version("3.11")


@pytest.mark.parametrize("name", ["requirements.txt", "runtime.txt", "postBuild"])
def test_binder_files_are_tracked_by_git(name):
    import subprocess

    out = subprocess.run(["git", "ls-files", "--error-unmatch", f"binder/{name}"], cwd=ROOT, capture_output=True)
    if out.returncode != 0:
        pytest.fail(f"binder/{name} is not committed: Binder builds from the repository, not this folder")
    mode = subprocess.run(["git", "ls-files", "-s", f"binder/{name}"], cwd=ROOT, capture_output=True,
                          text=True).stdout.split()[0]
    assert mode == ("100755" if name == "postBuild" else "100644"), f"binder/{name} has git mode {mode}"
