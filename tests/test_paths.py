"""abagen_core.workflow.paths: every path template once, filled and globbed."""

from __future__ import annotations

import doctest
import re
from fnmatch import fnmatch

import pytest
from conftest import REPO

from abagen_core.workflow import paths

TEMPLATES = {name: getattr(paths, name) for name in paths.__all__
             if isinstance(getattr(paths, name), str) and "{" in getattr(paths, name)}


def test_doctests():
    assert doctest.testmod(paths).failed == 0


def test_templates_are_unique_and_relative():
    values = list(TEMPLATES.values())
    assert len(set(values)) == len(values)
    for name, template in TEMPLATES.items():
        assert not template.startswith("/"), name
        assert template.split("/")[0] in (paths.RESOURCES, paths.RESULTS, paths.LOGS), name


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_fill_all_wildcards_gives_a_path_the_glob_matches(name):
    template = TEMPLATES[name]
    names = paths.wildcard_names(template)
    assert names
    path = paths.fill(template, **{n: f"v{i}" for i, n in enumerate(names)})
    assert "{" not in path
    assert fnmatch(path, paths.glob_pattern(template))


def test_fill_keeps_the_other_wildcards_and_refuses_unknown_names():
    assert paths.fill(paths.LABELS, atlas="dk") == "resources/labels/dk/{key}/labels_{donor}.parquet"
    assert paths.fill(paths.LABELS) == paths.LABELS
    with pytest.raises(KeyError, match="variant"):
        paths.fill(paths.LABELS, variant="x")


def test_wildcards_with_constraints():
    template = "results/{atlas,[a-z]+}/{name}.csv"
    assert paths.wildcard_names(template) == ["atlas", "name"]
    assert paths.fill(template, name="x") == "results/{atlas,[a-z]+}/x.csv"
    assert paths.glob_pattern(template) == "results/*/*.csv"


def test_glob_with_some_values():
    assert paths.glob_pattern(paths.CHECKSUM, kind="pacall") == "resources/parquet/*/pacall.sha256"


def test_rules_take_no_literal_paths():
    """Rule files name no resources/ or results/ path: they use the templates."""
    literal = re.compile(r"""["'](resources|results|logs)/""")
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        assert not literal.search(smk.read_text()), smk.name
