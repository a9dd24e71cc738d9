"""The Colab install cell, run in a simulated Colab: it installs this book's release, and only there.

Every notebook starts with a cell that, on Colab only, pip-installs
``normcode-textbook`` from this repository at the release tag ``v<version>``.
These tests execute that cell (the committed source, magics included) in a real
IPython shell, in a separate process:

* with a stub ``google.colab`` module in ``sys.modules`` (what Colab has) and
  IPython's ``%pip`` magic replaced by a recorder. The recorded requirement must
  be ``normcode-textbook[book] @ git+<repository.url>@v<normcode.__version__>``.
  That exact requirement is then installed for real, with the repository URL
  redirected to a local clone of this repository in which the release tag
  exists (the maintainer's tag when this repository has it, else one made in the
  throwaway clone at HEAD, which is what tagging the release will do). pip
  resolves the tag and extra and builds the package from the tagged tree
  (``--no-deps --no-index``: Colab already has torch & co.), into a throwaway
  target directory; importing ``normcode`` from there must give the pinned version.
* without ``google.colab``: the cell prints nothing, calls neither ``%pip`` nor
  the shell, and fails nothing.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import normcode
from _book import CONFIG, ROOT, code_cells, notebook_paths, read_notebook, source

REPO_URL = CONFIG["repository"]["url"].rstrip("/")
TAG = f"v{normcode.__version__}"
NOTEBOOKS = notebook_paths()
IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]

# Runs each cell in a fresh IPython InteractiveShell, once as on Colab and once elsewhere.
DRIVER = textwrap.dedent(r"""
    import json, sys, types
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    cells = json.load(sys.stdin)
    results = []
    for src in cells:
        for mode in ("colab", "elsewhere"):
            for name in ("google", "google.colab"):
                sys.modules.pop(name, None)
            if mode == "colab":
                google = types.ModuleType("google")
                google.colab = types.ModuleType("google.colab")
                google.__path__ = []
                sys.modules["google"], sys.modules["google.colab"] = google, google.colab
            InteractiveShell.clear_instance()
            shell = InteractiveShell.instance()
            pip_calls, system_calls = [], []
            shell.register_magic_function(lambda line: pip_calls.append(line), "line", "pip")
            shell.system = lambda cmd: system_calls.append(cmd)
            with capture_output() as cap:
                result = shell.run_cell(src, store_history=False)
            error = result.error_before_exec or result.error_in_exec
            results.append(dict(mode=mode, pip=pip_calls, system=system_calls, stdout=cap.stdout,
                                stderr=cap.stderr, outputs=len(cap.outputs), success=result.success,
                                error=repr(error) if error else None))
    print("RESULTS" + json.dumps(results))
""")


def install_cell(path: Path) -> dict:
    return code_cells(read_notebook(path))[0]


@pytest.fixture(scope="module")
def runs() -> dict:
    """Each notebook's install cell run on (simulated) Colab and elsewhere."""
    cells = [source(install_cell(p)) for p in NOTEBOOKS]
    out = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(cells), capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0 and "RESULTS" in out.stdout, out.stderr[-3000:]
    results = json.loads(out.stdout.split("RESULTS", 1)[1])
    return {(str(p), r["mode"]): r for p, pair in zip(NOTEBOOKS, zip(results[::2], results[1::2])) for r in pair}


def pip_requirements(line: str) -> tuple[list[str], list[str]]:
    """The options and requirements of a recorded ``%pip`` line (``install -q "req"``)."""
    args = shlex.split(line)
    assert args and args[0] == "install", f"%pip {line}: expected 'install'"
    return [a for a in args[1:] if a.startswith("-")], [a for a in args[1:] if not a.startswith("-")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_install_cell_installs_this_release_on_colab(path, runs):
    run = runs[(str(path), "colab")]
    assert run["success"], f"{path}: the install cell failed on Colab: {run['error']}"
    assert not run["system"], f"{path}: use %pip, not !pip (it installs into the kernel's environment): {run['system']}"
    assert len(run["pip"]) == 1, f"{path}: expected one %pip call on Colab, got {run['pip']}"
    options, reqs = pip_requirements(run["pip"][0])
    assert len(reqs) == 1, f"{path}: expected one requirement, got {reqs}"
    req = Requirement(reqs[0])
    assert canonicalize_name(req.name) == "normcode-textbook", (
        f"{path}: installs {req.name!r}; the PyPI name 'normcode' belongs to another project")
    assert req.url == f"git+{REPO_URL}@{TAG}", (
        f"{path}: installs {req.url}, not this repository at the release tag {TAG} (a tag, never a branch)")
    assert req.extras == {"book"}, f"{path}: the notebooks need the [book] extra, got {req.extras}"
    assert "--upgrade" not in options and "-U" not in options and "--force-reinstall" not in options, (
        f"{path}: options {options} could replace Colab's own torch")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_install_cell_does_nothing_elsewhere(path, runs):
    run = runs[(str(path), "elsewhere")]
    assert run["success"], f"{path}: the install cell failed outside Colab: {run['error']}"
    assert run["pip"] == [] and run["system"] == [], f"{path}: installs outside Colab: {run['pip'] + run['system']}"
    assert run["stdout"] == "" and run["stderr"] == "" and run["outputs"] == 0, (
        f"{path}: the install cell printed outside Colab: {run['stdout']!r} {run['stderr']!r}")
    assert install_cell(path).get("outputs") == [], f"{path}: the stored install cell has outputs"


def test_every_notebook_pins_the_same_release(runs):
    lines = {runs[(str(p), "colab")]["pip"][0] for p in NOTEBOOKS if runs[(str(p), "colab")]["pip"]}
    assert len(lines) == 1, f"the notebooks install different things on Colab: {sorted(lines)}"


def _git(*args, cwd) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"git {' '.join(args)}: {out.stderr}"
    return out.stdout.strip()


@pytest.fixture(scope="module")
def release_clone(tmp_path_factory) -> Path:
    """A throwaway clone of this repository in which the release tag exists."""
    clone = tmp_path_factory.mktemp("colab") / "normcode-textbook"
    _git("clone", "-q", "--no-hardlinks", str(ROOT), str(clone), cwd=ROOT)
    if TAG not in _git("tag", "--list", TAG, cwd=clone).split():
        # The maintainer has not tagged this release yet; tag HEAD here, as releasing will.
        _git("-c", "user.name=test", "-c", "user.email=test@example.invalid", "tag", TAG, cwd=clone)
    return clone


def test_pinned_requirement_installs_and_imports_the_pinned_version(runs, release_clone, tmp_path):
    (line,) = {runs[(str(p), "colab")]["pip"][0] for p in NOTEBOOKS}
    options, (req,) = pip_requirements(line)
    # file://localhost/...: the host part keeps older pips (whose URL check wants one) happy, and git accepts it
    local = req.replace(f"git+{REPO_URL}@", f"git+file://localhost{release_clone.as_posix()}@")
    assert local != req
    target = tmp_path / "site-packages"
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    out = subprocess.run([sys.executable, "-m", "pip", "install", *options, "--no-deps", "--no-index",
                          "--no-build-isolation", "--target", str(target), local],
                         capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert out.returncode == 0, f"pip install {local} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    # Import it from the target directory only (not from this checkout), as a fresh Colab kernel would.
    probe = ("import json, normcode, importlib.metadata as md; "
             "print(json.dumps([normcode.__version__, normcode.__file__, md.version('normcode-textbook'), "
             "md.requires('normcode-textbook')]))")
    env = dict(os.environ, PYTHONPATH=str(target), PYTHONSAFEPATH="1")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    version, module_file, dist_version, requires = json.loads(out.stdout.strip().splitlines()[-1])
    assert Path(module_file).is_relative_to(target), f"imported {module_file}, not the installed release"
    assert f"v{version}" == TAG and dist_version == version, (
        f"the tag {TAG} installs normcode {version} (distribution {dist_version})")
    # Colab keeps its own torch, numpy, matplotlib: the package must not pin exact versions of them.
    exact = [r for r in requires if "==" in r.split(";")[0]]
    assert not exact, f"exact pins would replace Colab's preinstalled packages: {exact}"
    extras = {Requirement(r).name for r in requires if "extra == \"book\"" in r or "extra == 'book'" in r}
    assert {"koreanize-matplotlib", "ipywidgets"} <= {canonicalize_name(e) for e in extras}
