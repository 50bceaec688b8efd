"""abagen_core.workflow.workdir: the repair runs at the start of a real run only.

Parsing the Snakefile, ``snakemake -n`` and ``snakemake --lint`` leave a
working folder exactly as it was (names, sizes, modification times); a real
run repairs it before Snakemake plans its jobs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import REPO

from abagen_core.workflow import paths
from abagen_core.workflow import workdir as wd

SNAKEFILE = REPO / "workflow" / "Snakefile"
DONOR = "12876"


_EXECUTOR = object()


def _workflow(executor=_EXECUTOR, dryrun=False, touch=False, main=True):
    return SimpleNamespace(executor_plugin=executor, dryrun=dryrun, touch=touch,
                           is_main_process=main)


@pytest.mark.parametrize("kind", ["parsing", "dry-run", "touch", "job process"])
def test_run_start_does_nothing_unless_a_real_run(kind, tmp_path):
    workflow = {"parsing": _workflow(executor=None), "dry-run": _workflow(dryrun=True),
                "touch": _workflow(touch=True), "job process": _workflow(main=False)}[kind]
    tmp = tmp_path / "results" / ".x.csv.1.tmp"
    tmp.parent.mkdir(parents=True)
    tmp.write_text("x")
    called = []
    start = wd.RunStart(workflow, tmp_path, also=(lambda: called.append(1),))
    start()
    assert not wd.is_real_run(workflow)
    assert start.lock is None and called == [] and tmp.exists()
    assert not (tmp_path / ".snakemake").exists()


def test_run_start_repairs_once_in_a_real_run(tmp_path):
    tmp = tmp_path / "results" / ".x.csv.1.tmp"
    tmp.parent.mkdir(parents=True)
    tmp.write_text("x")
    called, logged = [], []
    start = wd.RunStart(_workflow(), tmp_path, log=logged.append,
                        also=(lambda: called.append(1),))
    try:
        start()
        start()
        assert start.lock is not None and start.lock.acquired
        assert called == [1] and not tmp.exists()
        assert any("interrupted write" in line for line in logged)
    finally:
        start.lock.release()


def test_repair_globs_come_from_the_path_templates():
    assert wd._DIRECTORY_ARTIFACTS == {"resources/probes/summary/*/summary_*": "summary.json"}
    assert wd._MATRIX_FILES == {"resources/parquet/*/microarray.parquet": "microarray",
                                "resources/parquet/*/pacall.parquet": "pacall",
                                "resources/parquet/rnaseq_*/tpm.parquet": "tpm"}
    assert wd._CHECKSUM_FILES == "resources/parquet/*/*.sha256"
    assert wd.STATE_DIR == Path(paths.STATE_DIR)


def test_snakemake_incomplete_markers_are_not_read(tmp_path):
    """Outputs of interrupted jobs are left to Snakemake's --rerun-incomplete."""
    marker = tmp_path / ".snakemake" / "incomplete" / "cmVzdWx0cy9hLmNzdg=="
    marker.parent.mkdir(parents=True)
    marker.write_text("{}")
    result = tmp_path / "results" / "a.csv"
    result.parent.mkdir(parents=True)
    result.write_text("x")
    assert wd.repair_workdir(tmp_path) == []
    assert result.exists() and marker.exists()


# --------------------------------------------------------------------------- end to end


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.lstat().st_size, p.lstat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def _snakemake(root: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE),
           "--directory", str(root), "--configfile", str(root / "config.yaml"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


@pytest.fixture()
def damaged(bundled_parity, tmp_path) -> dict[str, Path]:
    """A working folder left by an interrupted run: a damaged cache file, stale locks
    (Snakemake's and ours) and a temporary file of an interrupted write."""
    root = tmp_path / "wd"
    root.mkdir()
    config = {"data_dir": str(bundled_parity / "data"), "donors": [DONOR, "15496"],
              "synthetic": {"enabled": False}, "atlases": {"dk": {"builtin": "dk-volume"}},
              "variants": {"default": {}}}
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    files = {
        "cache": root / paths.fill(paths.GENES, key="0123456789", donor=DONOR),
        "snakemake lock": root / ".snakemake" / "locks" / "0.output.lock",
        "run lock": root / paths.STATE_DIR / "run.lock",
        "temp": root / "resources" / "parquet" / DONOR / ".microarray.parquet.a1b2c3.tmp",
    }
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    files["cache"].write_bytes(b"PAR1 truncated")
    files["snakemake lock"].write_text(str(root / paths.fill(paths.MICROARRAY, donor=DONOR)))
    files["run lock"].write_text("pid 1 on gone-host, started 2020-01-01 00:00:00\n")
    files["temp"].write_bytes(b"partial")
    return files


@pytest.mark.slow
def test_dry_run_and_lint_change_no_file_and_a_real_run_repairs(damaged):
    root = damaged["cache"].parents[3]
    before = _snapshot(root)
    for args in (["-n"], ["--lint"], ["-n", paths.fill(paths.MICROARRAY, donor=DONOR)]):
        proc = _snakemake(root, "--cores", "1", *args)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
        after = _snapshot(root)
        # every file there before is unchanged; Snakemake's own records (its log,
        # its file inventory) may appear under .snakemake/, nothing else
        assert {k: after.get(k) for k in before} == before, args
        new = set(after) - set(before)
        assert all(n.startswith(".snakemake/") for n in new), new
        assert not [n for n in new if n.startswith((paths.STATE_DIR, ".snakemake/locks"))], new
    target = paths.fill(paths.MICROARRAY, donor=DONOR)
    proc = _snakemake(root, "--cores", "1", target)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "left by an interrupted run" in log and "interrupted write" in log
    assert "not a complete parquet file" in log
    for name in ("cache", "snakemake lock", "temp"):
        assert not damaged[name].exists(), name
    assert "pid 1 " not in damaged["run lock"].read_text()
    assert (root / paths.STATE_DIR / "checked-atlases.json").is_file()
    assert (root / target).is_file()


def test_late_start_leaves_snakemakes_own_locks(tmp_path):
    """From onstart, Snakemake's locks are this run's: they stay."""
    lock = tmp_path / ".snakemake" / "locks" / "0.output.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("x")
    start = wd.RunStart(_workflow(), tmp_path)
    try:
        start(late=True)
        assert start.lock.acquired and lock.exists()
    finally:
        start.lock.release()
