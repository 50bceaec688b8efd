"""The workflow on a SLURM cluster: same results as a local run; failures are reported.

The tests marked ``slurm`` run only when selected (``pytest -m slurm
tests/test_slurm.py``) and need a SLURM cluster that answers (CI starts one
with ``.ci/slurm/up.sh``) and snakemake-executor-plugin-slurm; they skip
otherwise, or fail when ``ABAGEN_REQUIRE_SLURM=1``. Each snakemake call is
killed after ``ABAGEN_SLURM_TIMEOUT`` seconds (900): a snakemake that lost
track of its SLURM jobs would wait forever."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = int(os.environ.get("ABAGEN_SLURM_TIMEOUT", "900"))
#: folders a workflow run creates, left out of the copies of the repository
_GENERATED = {
    ".git", ".snakemake", "resources", "results", "logs", ".pytest_cache", ".ruff_cache",
    ".ci-venv", ".venv", "venv", "build", "dist", "report.html",
}  # fmt: skip

FANOUT_SNAKEFILE = """\
PARTS = ["a", "b", "c"]


rule all:
    input:
        "results/table.csv",


rule part:
    output:
        "parts/{part}.csv",
    log:
        "logs/part/{part}.log",
    resources:
        mem_mb=200,
        runtime=5,
    shell:
        "echo {wildcards.part},{wildcards.part}{wildcards.part} > {output}; "
        "echo ${{SLURM_JOB_ID:-local}} > {log}"


rule gather:
    input:
        expand("parts/{part}.csv", part=PARTS),
    output:
        "results/table.csv",
    log:
        "logs/gather.log",
    resources:
        mem_mb=200,
        runtime=5,
    shell:
        "(echo part,value; cat {input}) > {output}; echo ${{SLURM_JOB_ID:-local}} > {log}"
"""

FAILING_SNAKEFILE = """\
rule all:
    input:
        "results/fine.txt",
        "results/boom.txt",


rule fine:
    output:
        "results/fine.txt",
    log:
        "logs/fine.log",
    resources:
        mem_mb=200,
        runtime=5,
    shell:
        "echo fine > {output} 2> {log}"


rule boom:
    output:
        "results/boom.txt",
    log:
        "logs/boom/boom.log",
    resources:
        mem_mb=200,
        runtime=5,
    shell:
        "echo 'boom: failing on purpose' > {log}; exit 3"
"""


def _unavailable(reason: str) -> None:
    if os.environ.get("ABAGEN_REQUIRE_SLURM") == "1":
        pytest.fail(f"ABAGEN_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(reason)


def _query(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None


@pytest.fixture(scope="module")
def slurm(request) -> dict:
    """Environment and extra snakemake arguments for the reachable cluster."""
    if "slurm" not in (request.config.getoption("markexpr") or ""):
        # minutes of cluster time: never part of a plain `pytest`, even where
        # a cluster answers
        pytest.skip("SLURM tests run only when selected: pytest -m slurm")
    if shutil.which("sinfo") is None:
        _unavailable("no SLURM client (sinfo) on PATH")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        _unavailable("snakemake-executor-plugin-slurm is not installed")
    env = dict(os.environ)
    info = _query(["sinfo", "-h", "-o", "%a %c"], env)
    if info is None or info.returncode != 0 or not info.stdout.strip().startswith("up"):
        _unavailable(f"sinfo does not show a partition that is up: {info and info.stderr}")
    cpus = max(int(line.split()[1].rstrip("+")) for line in info.stdout.split("\n") if line)
    args = [
        # poll every second instead of after 40 s (the plugin then backs off
        # by 10 s per check that sees no job finish)
        "--slurm-init-seconds-before-status-checks", "1",
        "--seconds-between-status-checks", "1",
        # caps the CPUs a group job asks for (all its jobs at once, though
        # the jobstep plugin runs them one by one): two fit on the node
        "--cores", str(max(1, cpus // 2)),
        "--slurm-keep-successful-logs",
    ]  # fmt: skip
    sacct = _query(["sacct", "-n", "-X", "--format=JobIdRaw"], env)
    if sacct is None or sacct.returncode != 0 or "disabled" in sacct.stderr:
        # no accounting: sacct would never see the jobs (MinJobAge keeps
        # finished jobs in squeue)
        args += ["--slurm-status-command", "squeue"]
    return {"env": env, "args": args}


def _start(workdir: Path, *args: str, env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    """Start snakemake in ``workdir``, its stdout and stderr going to ``<workdir>.out``."""
    cmd = ["timeout", "-k", "10", str(TIMEOUT), sys.executable, "-m", "snakemake", *args]
    log = workdir.with_name(workdir.name + ".out")
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    return proc, log


def _finish(run: tuple[subprocess.Popen, Path]) -> subprocess.CompletedProcess:
    """Wait for a run of `_start`; its output in ``.stdout``."""
    proc, log = run
    proc.wait(timeout=TIMEOUT + 60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, log.read_text())


def _snakemake(workdir: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir``; stdout and stderr together in ``.stdout``."""
    return _finish(_start(workdir, *args, env=env))


def _on_slurm(slurm: dict, profile: Path) -> list[str]:
    return ["--executor", "slurm", "--workflow-profile", str(profile), *slurm["args"]]


def _copy_repo(dest: Path) -> Path:
    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
        if Path(folder) == REPO:
            skip |= _GENERATED & set(names)
        return skip

    shutil.copytree(REPO, dest, ignore=ignore, symlinks=True)
    return dest


def _profile() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((REPO / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())


def _csvs(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "results").rglob("*.csv"))
    }


def _tail(proc: subprocess.CompletedProcess, n: int = 60) -> str:
    return "\n".join(proc.stdout.splitlines()[-n:])


@pytest.mark.slurm
def test_fanout_gather_runs_as_grouped_slurm_jobs(slurm, tmp_path):
    (tmp_path / "Snakefile").write_text(FANOUT_SNAKEFILE)
    proc = _snakemake(
        tmp_path,
        *_on_slurm(slurm, REPO / "workflow" / "profiles" / "slurm"),
        "--groups", "part=fan",
        "--group-components", "fan=3",
        env=slurm["env"],
    )  # fmt: skip
    assert proc.returncode == 0, _tail(proc)
    table = (tmp_path / "results" / "table.csv").read_text()
    assert table == "part,value\na,aa\nb,bb\nc,cc\n"
    part_jobs = {(tmp_path / "logs" / "part" / f"{p}.log").read_text().strip() for p in "abc"}
    gather_job = (tmp_path / "logs" / "gather.log").read_text().strip()
    # the three parts ran in one SLURM job (one group), the gather in another
    assert len(part_jobs) == 1 and part_jobs.pop().isdigit(), part_jobs
    assert gather_job.isdigit() and gather_job not in part_jobs


@pytest.mark.slurm
def test_demo_on_slurm_matches_local_run(slurm, tmp_path):
    demo = ["--configfile", "config/demo.yaml"]
    # the local run works while the SLURM run mostly waits for its jobs
    local = _copy_repo(tmp_path / "local")
    local_run = _start(local, "--cores", "2", *demo, env=slurm["env"])
    cluster = _copy_repo(tmp_path / "slurm")
    proc = _snakemake(
        cluster, *_on_slurm(slurm, Path("workflow/profiles/slurm")), *demo, env=slurm["env"]
    )
    local_proc = _finish(local_run)
    assert local_proc.returncode == 0, "local demo run failed:\n" + _tail(local_proc)
    assert proc.returncode == 0, "demo run on SLURM failed:\n" + _tail(proc)

    # jobs went through sbatch, the per-donor ones bundled as the profile says
    # (log folders: rule_<rule>, group_<group>_<rules>)
    logs = cluster / ".snakemake" / "slurm_logs"
    submitted = [p.name for p in logs.iterdir()] if logs.is_dir() else []
    for group in set(_profile()["groups"].values()):
        assert any(name.startswith(f"group_{group}_") for name in submitted), submitted

    expected, got = _csvs(local), _csvs(cluster)
    assert expected, "the local demo run wrote no CSV under results/"
    assert sorted(got) == sorted(expected)
    differ = [name for name in expected if got[name] != expected[name]]
    assert not differ, f"CSV files differ between local and SLURM runs: {differ}"


@pytest.mark.slurm
def test_failing_job_reports_its_log(slurm, tmp_path):
    (tmp_path / "Snakefile").write_text(FAILING_SNAKEFILE)
    proc = _snakemake(
        tmp_path,
        *_on_slurm(slurm, REPO / "workflow" / "profiles" / "slurm"),
        "--retries", "0",
        env=slurm["env"],
    )  # fmt: skip
    assert proc.returncode not in (0, 124, 137), _tail(proc)  # failed, did not hang
    out = proc.stdout
    assert "Error in rule boom" in out, _tail(proc)
    assert "logs/boom/boom.log" in out, _tail(proc)
    # show-failed-logs (profile) prints the log itself
    assert "boom: failing on purpose" in out, _tail(proc)
    assert (tmp_path / "results" / "fine.txt").exists()


def test_profile_keys_are_snakemake_options():
    """Every key of the SLURM profile is an option of the installed snakemake."""
    profile = _profile()
    if any(key.startswith("slurm-") for key in profile) and not importlib.util.find_spec(
        "snakemake_executor_plugin_slurm"
    ):
        pytest.skip("the profile has plugin options; snakemake-executor-plugin-slurm is missing")
    helptext = subprocess.run(
        [sys.executable, "-m", "snakemake", "--help"], capture_output=True, text=True, check=True
    ).stdout
    missing = [key for key in profile if not re.search(rf"--{re.escape(key)}(?![\w-])", helptext)]
    assert not missing, missing
    assert profile["executor"] == "slurm"
    assert set(profile["groups"].values()) == set(profile["group-components"])
