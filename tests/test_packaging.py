"""pyproject.toml and environment.yml list the same dependencies."""

from __future__ import annotations

import re

import tomllib
from conftest import REPO


def _name(requirement: str) -> str:
    return re.split(r"[<>=!\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    wanted |= {_name(r) for r in project["optional-dependencies"]["test"]}
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
