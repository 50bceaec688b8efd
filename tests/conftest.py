"""Shared fixtures: locations of the parity set and the bundled parity subset."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: the full parity set lives beside the repository (../shared/parity); CI
#: sets ABAGEN_PARITY_DIR or relies on that layout
SHARED_PARITY = Path(os.environ.get("ABAGEN_PARITY_DIR", REPO.parent / "shared" / "parity"))
#: the representative subset copied into the repository
BUNDLED_PARITY = REPO / "tests" / "fixtures" / "parity"


def _parity_root() -> Path | None:
    if (SHARED_PARITY / "expected" / "cases.json").exists():
        return SHARED_PARITY
    if (BUNDLED_PARITY / "expected" / "cases.json").exists():
        return BUNDLED_PARITY
    return None


@pytest.fixture(scope="session")
def parity_dir(request) -> Path:
    """Root of a parity set (``data/`` + ``expected/``): the shared one, else the bundled
    subset (decompressed; it has two donors and no RNA-seq data)."""
    root = _parity_root()
    if root is None:
        pytest.skip("no parity set found (../shared/parity or tests/fixtures/parity)")
    if root == BUNDLED_PARITY:
        return request.getfixturevalue("bundled_parity")
    return root


@pytest.fixture(scope="session")
def full_parity_dir() -> Path:
    """The full parity set in ../shared/parity; under CI its absence is a failure."""
    if not (SHARED_PARITY / "expected" / "cases.json").exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI requires the full parity set at {SHARED_PARITY}")
        pytest.skip(f"full parity set not found at {SHARED_PARITY}")
    return SHARED_PARITY


@pytest.fixture(scope="session")
def bundled_parity(tmp_path_factory) -> Path:
    """The bundled parity subset, decompressed into a temporary parity root."""
    root = tmp_path_factory.mktemp("parity")
    shutil.copytree(BUNDLED_PARITY / "expected", root / "expected")
    data = BUNDLED_PARITY / "data"
    for src in data.rglob("*"):
        if src.is_dir():
            continue
        rel = src.relative_to(data)
        if src.name.endswith(".csv.gz"):
            dest = root / "data" / rel.with_suffix("")
            dest.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(src, "rb") as fin, open(dest, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        else:
            dest = root / "data" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest)
    return root


def job_stats(output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table a Snakemake run prints.

    Empty when Snakemake says there is nothing to be done; the ``all`` and
    ``total`` rows are left out.
    """
    import re

    if "Nothing to be done" in output or "Job stats:" not in output:
        return {}
    counts = {}
    for line in output.split("Job stats:", 1)[1].splitlines()[3:]:
        match = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if not match:
            break
        counts[match.group(1)] = int(match.group(2))
    counts.pop("total", None)
    counts.pop("all", None)
    return counts
