"""Packaging: pyproject.toml and environment.yml agree; a built wheel runs the workflow."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomllib
from conftest import REPO


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(requirement: str) -> str:
    return requirement.strip()[len(_name(requirement)):].replace(" ", "")


def test_environment_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    wanted = {_name(r) for r in requirements}
    # the same version constraints too (e.g. nilearn < 0.14: 0.14 needs a packaging
    # release that snakemake 9.27 refuses, and a resolver would downgrade snakemake)
    specs = {_name(r): _spec(r) for r in requirements}
    env_text = (REPO / "environment.yml").read_text()
    for name, spec in specs.items():
        if spec:
            assert re.search(rf"^\s+- {re.escape(name)}{re.escape(spec)}\s*$", env_text, re.M), \
                f"environment.yml: {name}{spec} as in pyproject.toml"
    env_lines = (REPO / "environment.yml").read_text().splitlines()
    listed = set()
    in_deps = False
    for line in env_lines:
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and re.match(r"^\s+- [A-Za-z]", line) and not line.strip().startswith("- pip"):
            listed.add(_name(line.strip()[2:]))
    listed -= {"python"}
    assert wanted == listed, (wanted - listed, listed - wanted)


def test_python_floor():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"


# --------------------------------------------------------------------------- the wheel

#: what a wheel is built from (the sdist holds the same)
SOURCES = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "abagen_core", "workflow",
           "scripts", "config")
#: repository folders shipped inside the package (setup.py)
WORKFLOW_FOLDERS = ("workflow", "scripts", "config")


def _run(cmd, **kwargs):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env,
                            **kwargs)
    assert result.returncode == 0, \
        f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _tracked(folder: str) -> set[str]:
    return {str(p.relative_to(REPO)) for p in (REPO / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_wheel_runs_the_workflow(bundled_parity, tmp_path):
    """`pip install .` (a built wheel, not editable) gives a working `abagen` command."""
    from abagen_core.api import get_expression_data
    from abagen_core.utils import data_path

    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(REPO / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", src])
    wheel, = (tmp_path / "dist").glob("abagen_core-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for folder in WORKFLOW_FOLDERS:
        for rel in _tracked(folder):
            assert f"abagen_core/_workflow/{rel}" in names, rel

    # a fresh environment: the wheel and its declared dependencies, nothing else
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    python, abagen = venv / "bin" / "python", venv / "bin" / "abagen"
    _run([python, "-m", "pip", "install", "-q", wheel], cwd=tmp_path)
    assert "usage: abagen" in _run([abagen, "--help"], cwd=tmp_path).stdout
    where = _run([python, "-c", "import abagen_core.workflow.cli as c; print(c.SNAKEFILE)"],
                 cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(venv) and Path(where).is_file(), where

    atlas, info = data_path("atlas-desikankilliany.nii.gz"), data_path("atlas-desikankilliany.csv")
    data_dir = bundled_parity / "data"
    out = tmp_path / "dk.csv"
    _run([abagen, "--cache-dir", tmp_path / "cache", "--data-dir", data_dir, "--donors", "12876",
          "15496", "--n_proc", "2", "--atlas_info", info, "--output-file", out, atlas],
         cwd=tmp_path)
    expected = get_expression_data(str(atlas), str(info), data_dir=str(data_dir),
                                   donors=["12876", "15496"])
    got = pd.read_csv(out, index_col=0)
    assert list(got.index) == list(expected.index)
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)
