"""abagen's public names at abagen's paths (``import abagen_core as abagen``).

Every name the abagen 0.1.3 manual documents in its Reference API (section
7.7) is parsed from the manual's text and resolved from :mod:`abagen_core`
at the same dotted path; ``import abagen_core`` itself stays light (the names
are imported on first use).
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import abagen_core

MANUAL = Path(__file__).resolve().parents[2] / "shared" / "seed" / "abagen-manual.txt"
REPO = Path(__file__).resolve().parents[1]

#: what the manual's section 7.7 documents (checked against the parsed text)
TOP_LEVEL = {
    "get_expression_data", "get_samples_in_mask", "get_interpolated_map",
    "fetch_desikan_killiany", "fetch_donor_info", "fetch_freesurfer", "fetch_gene_group",
    "fetch_microarray", "fetch_raw_mri", "fetch_rnaseq", "leftify_atlas", "check_atlas",
    "annot_to_gifti", "relabel_gifti", "remove_distance", "keep_stable_genes",
    "normalize_expression", "AtlasTree", "Report",
}
MODULES = {"allen", "datasets", "images", "correct", "matching", "reporting", "io", "mouse"}


def _manual_names() -> set[str]:
    """Dotted names ``abagen.x[.y]`` of the manual's Reference API (section 7.7)."""
    if not MANUAL.is_file():
        pytest.skip(f"manual not found at {MANUAL}")
    text = MANUAL.read_text(encoding="utf-8")
    section = text[text.index("\n7.7 Reference API"):]
    names = set(re.findall(r"\babagen((?:\.[A-Za-z_][A-Za-z0-9_]*)+)", section))
    return {n.lstrip(".") for n in names}


def _resolve(dotted: str):
    obj = abagen_core
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_manual_lists_what_we_expect():
    names = _manual_names()
    top = {n for n in names if "." not in n}
    assert TOP_LEVEL | MODULES <= top
    assert top - TOP_LEVEL - MODULES == set()
    assert {"datasets.fetch_fsnative", "datasets.fetch_fsaverage5", "matching.get_centroids",
            "matching.closest_centroid", "io.read_microarray", "images.BACKGROUND",
            "mouse.get_gene_info"} <= names


def test_every_documented_name_resolves():
    missing = []
    for name in sorted(_manual_names()):
        try:
            obj = _resolve(name)
        except AttributeError:
            missing.append(name)
            continue
        assert obj is not None, name
    assert missing == []


@pytest.mark.parametrize("name", sorted(TOP_LEVEL))
def test_top_level_is_the_module_function(name):
    obj = getattr(abagen_core, name)
    assert callable(obj)
    assert obj.__module__.startswith("abagen_core."), obj.__module__


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_at_abagens_paths(name):
    module = getattr(abagen_core, name)
    assert module is importlib.import_module(f"abagen_core.{name}")
    assert module.__name__ == f"abagen_core.{name}"


def test_facades_export_the_same_objects():
    assert abagen_core.allen.get_expression_data is abagen_core.get_expression_data
    assert abagen_core.reporting.Report is abagen_core.Report
    assert abagen_core.matching.AtlasTree is abagen_core.AtlasTree
    assert abagen_core.datasets.fetch_raw_mri is abagen_core.fetch_raw_mri
    assert abagen_core.images.leftify_atlas is abagen_core.leftify_atlas
    assert abagen_core.correct.remove_distance is abagen_core.remove_distance


def test_dir_and_all_list_the_lazy_names():
    assert TOP_LEVEL | MODULES <= set(dir(abagen_core))
    assert TOP_LEVEL | MODULES <= set(abagen_core.__all__)
    assert "__version__" in dir(abagen_core)


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'get_expression'"):
        abagen_core.get_expression  # noqa: B018
    assert not hasattr(abagen_core, "surfaces")


def test_import_is_light():
    code = ("import sys, abagen_core\n"
            "heavy = sorted(m for m in ('pandas', 'numpy', 'nibabel', 'scipy', "
            "'abagen_core.api') if m in sys.modules)\n"
            "print(','.join(heavy))\n"
            "abagen_core.get_expression_data\n"
            "assert 'pandas' in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True)
    assert out.stdout.strip() == ""

