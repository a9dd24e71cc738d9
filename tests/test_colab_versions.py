"""The Colab install cell must not replace what Colab already has with another major version.

The cell installs ``normcode-textbook[book]``; pip upgrades any package whose installed
version the distribution's ranges reject. ``colab_versions.txt`` lists the versions of
Colab's default runtime (from Google's published ``pip-freeze.txt`` of the Colab backend,
googlecolab/backend-info), and every range of the package and its ``book`` extra must
admit them, so that installing on Colab adds packages and changes none of these.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
COLAB = {canonicalize_name(name): version for name, version in (
    line.split("==") for line in (Path(__file__).with_name("colab_versions.txt")).read_text().splitlines()
    if line.strip() and not line.startswith("#"))}


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["book"]]


def test_the_list_covers_what_the_book_installs():
    assert {"torch", "numpy", "matplotlib", "scikit-learn", "ipywidgets"} <= set(COLAB)


def test_colab_versions_satisfy_every_range_of_the_install_cell():
    rejected = [f"{req} rejects Colab's {req.name}=={COLAB[canonicalize_name(req.name)]}"
                for req in requirements() if canonicalize_name(req.name) in COLAB
                and not req.specifier.contains(COLAB[canonicalize_name(req.name)], prereleases=True)]
    assert not rejected, "the Colab cell would replace Colab's packages:\n" + "\n".join(rejected)
