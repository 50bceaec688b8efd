#!/usr/bin/env python
"""Benchmark the abagen-core workflow and API on a full-size synthetic dataset.

Scenarios (default mode), measured one after the other on this machine:

``cold``
    ``snakemake --cores N`` in a fresh working directory, from the raw CSVs
    (linking and CSV -> parquet conversion included), one atlas (``dk``,
    the bundled Desikan-Killiany volume) and abagen's default options.
``atlas``
    The same working directory, a second atlas added (``dks``: the
    Desikan-Killiany surface atlas); Snakemake start-up included.
``option``
    The same working directory, a processing variant added
    (``zs: {gene_norm: zscore}``, for both atlases).
``api``
    ``abagen_core.api.get_expression_data(dk volume, dk info, data_dir=...)``
    with default options, in a fresh Python process.
``abagen``
    ``abagen.get_expression_data(...)`` of abagen 0.1.3, called as a black
    box in the Python given by ``--abagen-python`` (a separate venv, since
    abagen 0.1.3 needs pandas<2 and numpy<1.25); ratios ours/abagen follow.

``--variants N`` switches to sweep mode: N variants over a grid of
``gene_norm`` x ``sample_norm`` x ``ibf_threshold``, computed by one
workflow run (``sweep-workflow``) versus N single API runs (``sweep-api``)
and, with ``--abagen-python``, N single abagen runs (``sweep-abagen``).

Every command runs under ``/usr/bin/time -v`` (wall time, maximum RSS) while
the harness samples the summed RSS of the whole process tree; Snakemake's
per-job benchmark files (``logs/benchmarks/<rule>/*.tsv``) give the peak RSS per
rule. Results go to ``<work>/results.json``, ``results.csv`` and
``rules.csv``; command logs to ``<work>/logs/``. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_GRID",
    "JobBenchmark",
    "Measurement",
    "RuleStats",
    "RunResult",
    "benchmark_snapshot",
    "compare_tables",
    "ensure_dataset",
    "format_rules_table",
    "format_table",
    "main",
    "make_config",
    "measure",
    "parse_elapsed",
    "parse_snakemake_jobs",
    "parse_time_v",
    "read_benchmarks",
    "summarise_rules",
    "sweep_variants",
    "write_config",
    "write_results",
]

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "workflow" / "Snakefile"
TIME_BIN = "/usr/bin/time"
MB = 1024.0  # kbytes per MB (GNU time reports kbytes; Snakemake MB = 2**20 bytes)

#: atlases of the scenarios: config entry and (for API calls) bundled files
ATLASES: dict[str, dict[str, str]] = {
    "dk": {"builtin": "dk-volume"},
    "dks": {"builtin": "dk-surface"},
}
#: bundled files of the volumetric DK atlas, relative to abagen_core/data
DK_VOLUME = ("atlas-desikankilliany.nii.gz", "atlas-desikankilliany.csv")

#: grid of the sweep mode; the first value of each option is abagen's default
DEFAULT_GRID: dict[str, list[Any]] = {
    "gene_norm": ["srs", "zscore", "minmax", "rs"],
    "sample_norm": ["srs", "zscore", "minmax", "rs"],
    "ibf_threshold": [0.5, 0.25, 0.75],
}

SCENARIOS = ("cold", "atlas", "option", "api", "abagen")


# ---------------------------------------------------------------------------
# records
# ---------------------------------------------------------------------------


@dataclass
class RunResult:
    """One command measured.

    Attributes
    ----------
    returncode : int
        Exit status of the command (124 after a timeout).
    wall_s : float
        Wall time measured by the harness (``time.perf_counter``).
    time_v : dict
        Fields parsed from ``/usr/bin/time -v`` (see :func:`parse_time_v`).
    tree_rss_mb : float or None
        Peak of the summed RSS of the command's process tree, sampled.
    log : str
        File with the command's stdout and stderr.
    """

    returncode: int
    wall_s: float
    time_v: dict[str, Any]
    tree_rss_mb: float | None
    log: str


@dataclass
class JobBenchmark:
    """One Snakemake benchmark file (``logs/benchmarks/<rule>/<name>.tsv``)."""

    rule: str
    name: str
    s: float | None
    max_rss_mb: float | None


@dataclass
class RuleStats:
    """Jobs of one rule within one scenario."""

    rule: str
    jobs: int
    max_rss_mb: float | None
    max_rss_job: str | None
    total_s: float
    max_s: float


@dataclass
class Measurement:
    """One scenario: what ran, how long, how much memory.

    ``peak_rss_mb`` is GNU time's maximum resident set size: the largest
    single process among the command and the descendants it waited for (not
    a sum over processes running at the same time). ``tree_rss_mb`` is the
    sampled peak of that sum. ``rules`` holds Snakemake's per-job figures.
    """

    scenario: str
    description: str
    status: str  # 'ok', 'error' or 'skipped'
    wall_s: float | None = None
    peak_rss_mb: float | None = None
    tree_rss_mb: float | None = None
    jobs: int | None = None
    call_s: float | None = None
    runs: int = 1
    returncode: int | None = None
    note: str = ""
    log: str | None = None
    rules: list[RuleStats] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def top_rule(self) -> RuleStats | None:
        """The rule with the highest per-job RSS, if any."""
        known = [r for r in self.rules if r.max_rss_mb is not None]
        return max(known, key=lambda r: r.max_rss_mb) if known else None


# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------

_TIME_FIELDS = {
    "Elapsed (wall clock) time (h:mm:ss or m:ss)": "elapsed",
    "Maximum resident set size (kbytes)": "max_rss_kb",
    "User time (seconds)": "user_s",
    "System time (seconds)": "system_s",
    "Exit status": "exit_status",
    "Percent of CPU this job got": "cpu_percent",
}


def parse_elapsed(text: str) -> float:
    """Seconds of a GNU time duration (``h:mm:ss``, ``m:ss.ss`` or ``ss.ss``).

    Examples
    --------
    >>> parse_elapsed('1:02:03')
    3723.0
    >>> parse_elapsed('0:05.28')
    5.28
    """
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3:
        raise ValueError(f"not a duration: {text!r}")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return round(seconds, 6)


def parse_time_v(text: str) -> dict[str, Any]:
    """Fields of the report of ``/usr/bin/time -v``.

    Parameters
    ----------
    text : str
        What ``time -v`` wrote (its ``-o`` file, or stderr).

    Returns
    -------
    fields : dict
        ``wall_s`` (float), ``max_rss_kb`` (int), ``max_rss_mb`` (float),
        ``user_s``, ``system_s`` (float), ``cpu_percent`` (float) and
        ``exit_status`` (int), for those present; ``signal`` when the command
        was killed by one.
    """
    out: dict[str, Any] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Command terminated by signal"):
            out["signal"] = int(line.rsplit(" ", 1)[-1])
            continue
        key, sep, value = line.rpartition(": ")
        if not sep or key not in _TIME_FIELDS:
            continue
        name = _TIME_FIELDS[key]
        value = value.strip()
        if name == "elapsed":
            out["wall_s"] = parse_elapsed(value)
        elif name in ("max_rss_kb", "exit_status"):
            out[name] = int(value)
        elif name == "cpu_percent":
            out[name] = float(value.rstrip("%")) if value.rstrip("%") not in ("", "?") else None
        else:
            out[name] = float(value)
    if "max_rss_kb" in out:
        out["max_rss_mb"] = round(out["max_rss_kb"] / MB, 1)
    return out


_FINISHED = re.compile(r"^Finished jobid: \d+ \(Rule: ([^)]+)\)", re.M)
_STEPS = re.compile(r"^(\d+) of (\d+) steps \([^)]*\) done", re.M)
_NOTHING = "Nothing to be done"


def parse_snakemake_jobs(log_text: str, target: str = "all") -> dict[str, Any]:
    """Jobs a Snakemake run executed, from its console output.

    Parameters
    ----------
    log_text : str
        stdout + stderr of ``snakemake``.
    target : str, default='all'
        Name of the target rule, which is not counted as a job.

    Returns
    -------
    jobs : dict
        ``jobs`` (int, or None when the output says nothing: jobs finished,
        the target rule excluded), ``per_rule`` (dict rule -> count) and
        ``planned`` (int or None: steps Snakemake announced, target included).
    """
    per_rule: dict[str, int] = {}
    finished = _FINISHED.findall(log_text)
    for rule in finished:
        if rule != target:
            per_rule[rule] = per_rule.get(rule, 0) + 1
    steps = _STEPS.findall(log_text)
    planned = int(steps[-1][1]) if steps else None
    jobs: int | None
    if finished:
        jobs = sum(per_rule.values())
    elif steps:  # output without 'Finished jobid' lines: the target is the last step
        done = int(steps[-1][0])
        jobs = done - 1 if done == planned else done
    elif _NOTHING in log_text:
        jobs, planned = 0, 0
    else:
        jobs = None
    return {"jobs": jobs, "per_rule": per_rule, "planned": planned}


def _float_or_none(value: str | None) -> float | None:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def benchmark_snapshot(workdir: str | os.PathLike) -> dict[str, int]:
    """Modification times (ns) of the benchmark files now in a working directory."""
    root = Path(workdir) / "logs" / "benchmarks"
    return {str(f): f.stat().st_mtime_ns for f in root.glob("*/*.tsv")}


def read_benchmarks(workdir: str | os.PathLike,
                    before: Mapping[str, int] | None = None) -> list[JobBenchmark]:
    """Snakemake benchmark files of a working directory.

    Parameters
    ----------
    workdir : path-like
        Snakemake working directory; files are ``logs/benchmarks/<rule>/*.tsv``.
    before : mapping, optional
        A :func:`benchmark_snapshot` taken before a run: only files that are
        new or changed since are read, i.e. the jobs of that run.

    Returns
    -------
    jobs : list of JobBenchmark
        One per file (peak RSS over its rows when a file has repeats, time
        of the last row); values Snakemake could not measure (``NA``, ``-``)
        are None.
    """
    root = Path(workdir) / "logs" / "benchmarks"
    jobs = []
    for tsv in sorted(root.glob("*/*.tsv")):
        if before is not None and before.get(str(tsv)) == tsv.stat().st_mtime_ns:
            continue
        with open(tsv, newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        if not rows:
            continue
        rss = [_float_or_none(r.get("max_rss")) for r in rows]
        rss = [x for x in rss if x is not None]
        jobs.append(JobBenchmark(tsv.parent.name, tsv.stem, _float_or_none(rows[-1].get("s")),
                                 max(rss) if rss else None))
    return jobs


def summarise_rules(jobs: Iterable[JobBenchmark]) -> list[RuleStats]:
    """Per-rule totals of benchmark records, by decreasing peak RSS.

    Parameters
    ----------
    jobs : iterable of JobBenchmark

    Returns
    -------
    rules : list of RuleStats
    """
    by_rule: dict[str, list[JobBenchmark]] = {}
    for job in jobs:
        by_rule.setdefault(job.rule, []).append(job)
    out = []
    for rule, items in by_rule.items():
        known = [j for j in items if j.max_rss_mb is not None]
        top = max(known, key=lambda j: j.max_rss_mb) if known else None
        secs = [j.s for j in items if j.s is not None]
        out.append(RuleStats(rule, len(items), top.max_rss_mb if top else None,
                             top.name if top else None, round(sum(secs), 3),
                             max(secs) if secs else 0.0))
    out.sort(key=lambda r: (-(r.max_rss_mb or -1.0), r.rule))
    return out


# ---------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------


def make_config(data_dir: str | os.PathLike, atlases: Mapping[str, Any],
                variants: Mapping[str, Any], donors: str | list[str] = "all",
                qc: bool = False) -> dict[str, Any]:
    """Workflow config reading `data_dir` (no download, no synthetic data).

    Parameters
    ----------
    data_dir : path-like
        Dataset root in abagen's layout.
    atlases : mapping
        Atlas name -> config entry (e.g. ``{'builtin': 'dk-volume'}``).
    variants : mapping
        Variant name -> options over abagen's defaults.
    donors : 'all' or list of str, default='all'
    qc : bool, default=False
        QC figures and robustness summaries on.

    Returns
    -------
    config : dict
        Valid against ``config/schema/config.schema.yaml``.
    """
    return {
        "data_dir": str(Path(data_dir).resolve()),
        "download": False,
        "donors": donors if isinstance(donors, str) else list(donors),
        "synthetic": {"enabled": False},
        "atlases": {k: dict(v) for k, v in atlases.items()},
        "variants": {k: dict(v or {}) for k, v in variants.items()},
        # no `sweep` key: variants are listed explicitly (and snakemake.utils.validate
        # fails on `sweep: null` when filling in the defaults of its properties)
        "outputs": {"save_donors": False},
        # by default the processing is timed, not the QC figures / robustness
        # summaries (--qc: both)
        "qc": {"enabled": bool(qc)},
    }


def write_config(path: str | os.PathLike, config: Mapping[str, Any]) -> Path:
    """Write a config as YAML (block style, keys in the given order)."""
    import yaml

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by benchmarks/run_benchmark.py\n"
                    + yaml.safe_dump(dict(config), sort_keys=False))
    return path


def sweep_variants(n: int, grid: Mapping[str, Sequence[Any]] | None = None
                   ) -> dict[str, dict[str, Any]]:
    """The first `n` variants of a grid of options (abagen's defaults first).

    Parameters
    ----------
    n : int
        Number of variants, at most the size of the grid.
    grid : mapping of str -> sequence, optional
        Option -> values; default :data:`DEFAULT_GRID`.

    Returns
    -------
    variants : dict of str -> dict
        ``v000``, ``v001``, ... -> options (every option of the grid given).

    Examples
    --------
    >>> sweep_variants(2)['v001']
    {'gene_norm': 'srs', 'sample_norm': 'srs', 'ibf_threshold': 0.25}
    """
    grid = dict(DEFAULT_GRID if grid is None else grid)
    combos = list(itertools.product(*grid.values()))
    if not 1 <= n <= len(combos):
        raise ValueError(f"--variants must be between 1 and {len(combos)} (grid size), got {n}.")
    return {f"v{i:03d}": dict(zip(grid, combo, strict=True))
            for i, combo in enumerate(combos[:n])}


# ---------------------------------------------------------------------------
# dataset
# ---------------------------------------------------------------------------


def _dataset_ok(root: Path, params: Mapping[str, Any]) -> bool:
    manifest = root / "synth_manifest.json"
    if not manifest.is_file():
        return False
    try:
        content = json.loads(manifest.read_text())
    except ValueError:
        return False
    for key, value in params.items():
        if content.get(key) != value:
            return False
    for donor in content.get("donors", []):
        folder = root / "microarray" / f"normalized_microarray_donor{donor}"
        if not all((folder / f).is_file() for f in ("MicroarrayExpression.csv", "PACall.csv",
                                                    "Probes.csv", "SampleAnnot.csv",
                                                    "Ontology.csv")):
            return False
    return True


def ensure_dataset(cache: str | os.PathLike, *, n_probes: int, seed: int = 1,
                   precision: str = "full", n_jobs: int = 2) -> tuple[Path, float | None]:
    """The synthetic dataset of these parameters under `cache`, made if needed.

    Parameters
    ----------
    cache : path-like
        Cache folder; the dataset is ``<cache>/synth-p<n_probes>-s<seed>-<precision>``.
    n_probes, seed, precision, n_jobs
        Passed to :func:`abagen_core.datasets.synth.generate_dataset` (all donors).

    Returns
    -------
    root : pathlib.Path
        Dataset root.
    seconds : float or None
        Generation time; None when the cached dataset was reused (its
        ``synth_manifest.json`` matched the parameters and version).
    """
    from abagen_core import __version__
    from abagen_core.datasets.synth import generate_dataset
    from abagen_core.donors import DONORS

    root = Path(cache) / f"synth-p{n_probes}-s{seed}-{precision}"
    params = {"synthetic": True, "n_probes": n_probes, "seed": seed, "precision": precision,
              "donors": list(DONORS), "version": __version__}
    if _dataset_ok(root, params):
        return root, None
    t0 = time.perf_counter()
    generate_dataset(root, n_probes=n_probes, donors="all", seed=seed, precision=precision,
                     n_jobs=n_jobs)
    return root, round(time.perf_counter() - t0, 3)


# ---------------------------------------------------------------------------
# running commands
# ---------------------------------------------------------------------------

#: fallback when GNU time is absent: the same report, from wait4's rusage
_RUSAGE_WRAPPER = r"""
import os, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
proc = subprocess.Popen(cmd)
_, status, ru = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t0
code = os.waitstatus_to_exitcode(status)
with open(out, "w") as fh:
    fh.write(f"\tUser time (seconds): {ru.ru_utime:.2f}\n")
    fh.write(f"\tSystem time (seconds): {ru.ru_stime:.2f}\n")
    fh.write(f"\tElapsed (wall clock) time (h:mm:ss or m:ss): {int(wall // 60)}:{wall % 60:05.2f}\n")
    fh.write(f"\tMaximum resident set size (kbytes): {ru.ru_maxrss}\n")
    fh.write(f"\tExit status: {max(code, 0)}\n")
    if code < 0:
        fh.write(f"Command terminated by signal {-code}\n")
sys.exit(code if code >= 0 else 128 - code)
"""


def _timer_prefix(time_file: Path) -> list[str]:
    if os.access(TIME_BIN, os.X_OK):
        return [TIME_BIN, "-v", "-o", str(time_file)]
    return [sys.executable, "-c", _RUSAGE_WRAPPER, str(time_file)]


def _tree_rss(proc: Any) -> int:
    import psutil

    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in members:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(cmd: Sequence[str], *, cwd: str | os.PathLike, log: str | os.PathLike,
            env: Mapping[str, str] | None = None, timeout: float | None = None,
            interval: float = 0.2) -> RunResult:
    """Run a command under ``/usr/bin/time -v``, sampling its tree's RSS.

    Parameters
    ----------
    cmd : sequence of str
        The command.
    cwd : path-like
        Its working directory.
    log : path-like
        File receiving stdout and stderr; GNU time's report goes to
        ``<log>.time``.
    env : mapping, optional
        Environment (default: inherited).
    timeout : float, optional
        Seconds before the process group is killed (return code 124).
    interval : float, default=0.2
        Sampling period of the process-tree RSS.

    Returns
    -------
    result : RunResult
    """
    import psutil

    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    time_file = log.with_name(log.name + ".time")
    time_file.unlink(missing_ok=True)
    peak = 0
    stop = threading.Event()
    with open(log, "w") as out:
        out.write("$ " + " ".join(map(str, cmd)) + "\n")
        out.flush()
        t0 = time.perf_counter()
        popen = subprocess.Popen([*_timer_prefix(time_file), *map(str, cmd)], cwd=cwd,
                                 stdout=out, stderr=subprocess.STDOUT,
                                 env=None if env is None else dict(env),
                                 start_new_session=True)
        ps = psutil.Process(popen.pid)

        def _sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _tree_rss(ps))
                stop.wait(interval)

        sampler = threading.Thread(target=_sample, daemon=True)
        sampler.start()
        try:
            returncode = popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, 9)
            popen.wait()
            returncode = 124
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
    report = time_file.read_text() if time_file.exists() else ""
    return RunResult(returncode, round(wall, 3), parse_time_v(report),
                     round(peak / 2**20, 1) if peak else None, str(log))


def _tail(path: str | os.PathLike, n: int = 15) -> str:
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def _error_note(path: str | os.PathLike) -> str:
    """The most telling line of a failed command's log."""
    lines = [ln.strip() for ln in _tail(path, 60).splitlines() if ln.strip()]
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if re.search(r"(Error|Exception)\b", line) and not line.startswith("File "):
            if line.endswith(":") and i + 1 < len(lines):  # Snakemake: message on next line
                line = f"{line} {lines[i + 1]}"
            return line[:240]
    return lines[-1][:240] if lines else ""


# ---------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------


@dataclass
class Context:
    """Settings shared by the scenarios of one harness run."""

    work: Path
    data_dir: Path
    cores: int
    snakefile: Path
    snakemake: list[str]
    donors: str | list[str]
    timeout: float | None
    abagen_python: str | None
    env: dict[str, str]
    abagen_version: str | None = None
    qc: bool = False
    #: the config's sweep.chunk_mb (None: the schema's default)
    chunk_mb: float | None = None

    @property
    def logs(self) -> Path:
        return self.work / "logs"

    @property
    def runs(self) -> Path:
        return self.work / "runs"


def _run_workflow(ctx: Context, scenario: str, description: str, workdir: Path,
                  config: Mapping[str, Any]) -> Measurement:
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = write_config(workdir / f"config-{scenario}.yaml", config)
    cmd = [*ctx.snakemake, "--cores", str(ctx.cores), "--snakefile", str(ctx.snakefile),
           "--directory", str(workdir), "--configfile", str(cfg)]
    before = benchmark_snapshot(workdir)
    res = measure(cmd, cwd=workdir, log=ctx.logs / f"{scenario}.log", env=ctx.env,
                  timeout=ctx.timeout)
    text = Path(res.log).read_text(errors="replace")
    jobs = parse_snakemake_jobs(text)
    m = Measurement(scenario, description, "ok" if res.returncode == 0 else "error",
                    wall_s=res.wall_s, peak_rss_mb=res.time_v.get("max_rss_mb"),
                    tree_rss_mb=res.tree_rss_mb, jobs=jobs["jobs"],
                    returncode=res.returncode, log=res.log,
                    rules=summarise_rules(read_benchmarks(workdir, before)),
                    extra={"jobs_per_rule": jobs["per_rule"], "time_v": res.time_v,
                           "config": str(cfg), "workdir": str(workdir)})
    if res.returncode != 0:
        m.note = _error_note(res.log)
    return m


#: child script of the in-memory runs: imports one module, calls
#: get_expression_data once, writes the matrix and a JSON summary. Standard
#: library at the top level so it runs in abagen's venv as well as ours.
_CALL_SCRIPT = r'''
import importlib, json, sys, time
spec = json.load(open(sys.argv[1]))
t0 = time.perf_counter()
mod = importlib.import_module(spec["module"])
t1 = time.perf_counter()
out = mod.get_expression_data(spec["atlas"], spec["atlas_info"], data_dir=spec["data_dir"],
                              **spec["options"])
t2 = time.perf_counter()
if isinstance(out, tuple):
    out = out[0]
out.to_csv(spec["output"])
summary = {"import_s": t1 - t0, "call_s": t2 - t1, "shape": list(out.shape),
           "n_nan": int(out.isna().to_numpy().sum()),
           "version": getattr(sys.modules[spec["module"].split(".")[0]], "__version__", None),
           "python": sys.version.split()[0]}
for name in ("numpy", "pandas", "scipy", "nibabel"):
    m = sys.modules.get(name)
    summary[name] = getattr(m, "__version__", None)
json.dump(summary, open(spec["summary"], "w"), indent=1)
'''


def _dk_volume_files() -> tuple[str, str]:
    from abagen_core.utils import data_path

    return tuple(str(data_path(name)) for name in DK_VOLUME)  # type: ignore[return-value]


def _run_call(ctx: Context, scenario: str, description: str, python: str, module: str,
              rundir: Path, options: Mapping[str, Any] | None = None) -> Measurement:
    rundir.mkdir(parents=True, exist_ok=True)
    atlas, info = _dk_volume_files()
    spec = {"module": module, "atlas": atlas, "atlas_info": info,
            "data_dir": str(ctx.data_dir), "options": dict(options or {}),
            "output": str(rundir / "expression.csv"), "summary": str(rundir / "summary.json")}
    if ctx.donors != "all":
        spec["options"].setdefault("donors", ctx.donors)
    (rundir / "spec.json").write_text(json.dumps(spec, indent=1))
    (rundir / "call.py").write_text(_CALL_SCRIPT)
    Path(spec["summary"]).unlink(missing_ok=True)
    res = measure([python, str(rundir / "call.py"), str(rundir / "spec.json")], cwd=rundir,
                  log=ctx.logs / f"{scenario}.log", env=ctx.env, timeout=ctx.timeout)
    summary = {}
    if Path(spec["summary"]).exists():
        summary = json.loads(Path(spec["summary"]).read_text())
    m = Measurement(scenario, description, "ok" if res.returncode == 0 else "error",
                    wall_s=res.wall_s, peak_rss_mb=res.time_v.get("max_rss_mb"),
                    tree_rss_mb=res.tree_rss_mb, call_s=summary.get("call_s"),
                    returncode=res.returncode, log=res.log,
                    extra={"summary": summary, "time_v": res.time_v,
                           "output": spec["output"] if res.returncode == 0 else None})
    if res.returncode != 0:
        m.note = _error_note(res.log)
    return m


def _full_probe_table(data_dir: Path) -> bool:
    """Whether a synthetic dataset has the real number of probes (True if unknown)."""
    manifest = data_dir / "synth_manifest.json"
    try:
        return json.loads(manifest.read_text()).get("n_probes", 58692) >= 58692
    except (OSError, ValueError):
        return True


def _abagen_check(python: str) -> tuple[str | None, str]:
    """abagen's version in that interpreter, or None and why not."""
    try:
        out = subprocess.run([python, "-c", "import abagen; print(abagen.__version__)"],
                             capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"cannot run {python}: {exc}"
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"import abagen failed in {python}: {last}"
    return out.stdout.strip(), ""


def _combine_runs(scenario: str, description: str, parts: list[Measurement]) -> Measurement:
    """N single runs as one row: summed wall time, peak memory over the runs."""
    if parts and all(p.status == "skipped" for p in parts):
        return Measurement(scenario, description, "skipped", runs=len(parts), note=parts[0].note)
    ok = all(p.status == "ok" for p in parts)

    def _sum(attr: str) -> float | None:
        vals = [getattr(p, attr) for p in parts]
        return round(sum(vals), 3) if all(v is not None for v in vals) else None

    def _max(attr: str) -> float | None:
        vals = [getattr(p, attr) for p in parts if getattr(p, attr) is not None]
        return max(vals) if vals else None

    notes = sorted({p.note for p in parts if p.note})
    return Measurement(scenario, description, "ok" if ok else "error", wall_s=_sum("wall_s"),
                       peak_rss_mb=_max("peak_rss_mb"), tree_rss_mb=_max("tree_rss_mb"),
                       call_s=_sum("call_s"), runs=len(parts), note="; ".join(notes),
                       log=parts[0].log if parts else None,
                       extra={"runs": [asdict(p) for p in parts]})


def run_default(ctx: Context, scenarios: Sequence[str]) -> list[Measurement]:
    """The cold / atlas / option / api / abagen scenarios (those selected)."""
    results: list[Measurement] = []
    wf = ctx.runs / "workflow"
    dk = {"dk": ATLASES["dk"]}
    both = {"dk": ATLASES["dk"], "dks": ATLASES["dks"]}
    steps = {
        "cold": ("workflow from raw CSVs: atlas dk, variant default", dk, {"default": {}}),
        "atlas": ("warm: + atlas dks (dk-surface)", both, {"default": {}}),
        "option": ("warm: + variant zs (gene_norm=zscore)", both,
                   {"default": {}, "zs": {"gene_norm": "zscore"}}),
    }
    if "cold" in scenarios and wf.exists():
        shutil.rmtree(wf)
    for name, (desc, atlases, variants) in steps.items():
        if name not in scenarios:
            continue
        failed = [m.scenario for m in results if m.status == "error"]
        if name != "cold" and (failed or not wf.exists()):
            why = f"{failed[0]} failed" if failed else "needs the cold run's working directory"
            results.append(Measurement(name, desc, "skipped", note=why))
            continue
        _say(f"[{name}] {desc}")
        cfg = make_config(ctx.data_dir, atlases, variants, ctx.donors, qc=ctx.qc)
        results.append(_run_workflow(ctx, name, desc, wf, cfg))
        _say_result(results[-1])
    if "api" in scenarios:
        desc = "abagen_core.api.get_expression_data, defaults, dk volume"
        _say(f"[api] {desc}")
        results.append(_run_call(ctx, "api", desc, sys.executable, "abagen_core.api",
                                 ctx.runs / "api"))
        _say_result(results[-1])
    if "abagen" in scenarios:
        results.append(_run_abagen(ctx, "abagen", ctx.runs / "abagen"))
    return results


def _run_abagen(ctx: Context, scenario: str, rundir: Path,
                options: Mapping[str, Any] | None = None) -> Measurement:
    what = json.dumps(dict(options)) if options else "defaults"
    desc = f"abagen 0.1.3 get_expression_data, {what}, dk volume"
    if not ctx.abagen_python:
        return Measurement(scenario, desc, "skipped", note="no --abagen-python given")
    if ctx.abagen_version is None:
        ctx.abagen_version, why = _abagen_check(ctx.abagen_python)
        if ctx.abagen_version is None:
            return Measurement(scenario, desc, "skipped", note=why)
    version = ctx.abagen_version
    desc = desc.replace("0.1.3", version)
    _say(f"[{scenario}] {desc}")
    m = _run_call(ctx, scenario, desc, ctx.abagen_python, "abagen", rundir, options)
    if m.status == "error" and "not in index" in m.note and not _full_probe_table(ctx.data_dir):
        m.note += ("  [abagen 0.1.3 reannotates with a left merge, so it crashes when "
                   "Probes.csv lacks probes of its reannotation table: use --n-probes 58692]")
    if version != "0.1.3":
        m.note = (m.note + "; " if m.note else "") + f"abagen {version}, not 0.1.3"
    _say_result(m)
    return m


def run_sweep(ctx: Context, n: int, scenarios: Sequence[str]) -> list[Measurement]:
    """Sweep mode: N variants in one workflow run vs N single in-memory runs."""
    variants = sweep_variants(n)
    results: list[Measurement] = []
    if "cold" in scenarios:
        wf = ctx.runs / "sweep-workflow"
        if wf.exists():
            shutil.rmtree(wf)
        desc = f"one workflow run, {n} variants, atlas dk, from raw CSVs"
        _say(f"[sweep-workflow] {desc}")
        cfg = make_config(ctx.data_dir, {"dk": ATLASES["dk"]}, variants, ctx.donors)
        results.append(_run_workflow(ctx, "sweep-workflow", desc, wf, cfg))
        _say_result(results[-1])
    if "api" in scenarios:
        parts = []
        for name, opts in variants.items():
            _say(f"[sweep-api-{name}] {json.dumps(opts)}")
            parts.append(_run_call(ctx, f"sweep-api-{name}", f"api {name}: {json.dumps(opts)}",
                                   sys.executable,
                                   "abagen_core.api", ctx.runs / "sweep-api" / name, opts))
        results.append(_combine_runs("sweep-api", f"{n} single API runs", parts))
        _say_result(results[-1])
    if "abagen" in scenarios:
        if not ctx.abagen_python:
            results.append(Measurement("sweep-abagen", f"{n} single abagen runs", "skipped",
                                       note="no --abagen-python given"))
        else:
            parts = [_run_abagen(ctx, f"sweep-abagen-{name}", ctx.runs / "sweep-abagen" / name,
                                 opts) for name, opts in variants.items()]
            results.append(_combine_runs("sweep-abagen", f"{n} single abagen runs", parts))
            _say_result(results[-1])
    for m in results:
        m.extra["variants"] = variants
    return results


# ---------------------------------------------------------------------------
# output agreement
# ---------------------------------------------------------------------------


def compare_tables(a: str | os.PathLike, b: str | os.PathLike) -> dict[str, Any]:
    """How two region x gene CSV matrices agree.

    Parameters
    ----------
    a, b : path-like
        CSV files with the region id as first column and genes as columns.

    Returns
    -------
    agreement : dict
        ``same_index``, ``same_columns``, ``same_nan`` (bool), ``n_common_genes``
        and ``max_abs_diff`` (float over common rows and genes, NaN where both are).
    """
    import numpy as np
    import pandas as pd

    # correctly rounded parsing: pandas 3's default, 'round_trip' before it
    kw = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    x = pd.read_csv(a, index_col=0, **kw)
    y = pd.read_csv(b, index_col=0, **kw)
    rows = x.index.intersection(y.index)
    cols = x.columns.intersection(y.columns)
    xv = x.loc[rows, cols].to_numpy(dtype=float)
    yv = y.loc[rows, cols].to_numpy(dtype=float)
    same_nan = bool(np.array_equal(np.isnan(xv), np.isnan(yv)))
    diff = np.abs(xv - yv)
    finite = diff[~np.isnan(diff)]
    return {
        "same_index": bool(x.index.equals(y.index)),
        "same_columns": bool(x.columns.equals(y.columns)),
        "same_nan": same_nan,
        "shape": [list(x.shape), list(y.shape)],
        "n_common_genes": int(len(cols)),
        "max_abs_diff": float(finite.max()) if finite.size else None,
    }


def _agreement(results: list[Measurement]) -> dict[str, Any]:
    outputs: dict[str, str] = {}
    for m in results:
        if m.status != "ok":
            continue
        if m.extra.get("output"):
            outputs[m.scenario] = m.extra["output"]
        elif m.scenario == "cold":
            path = Path(m.extra.get("workdir", "")) / "results" / "dk" / "default" / "expression.csv"
            if path.exists():
                outputs["workflow"] = str(path)
    pairs = [("api", "abagen"), ("workflow", "abagen"), ("workflow", "api")]
    out = {}
    for a, b in pairs:
        if a in outputs and b in outputs:
            try:
                out[f"{a}~{b}"] = compare_tables(outputs[a], outputs[b])
            except Exception as exc:  # a malformed output is a finding, not a crash
                out[f"{a}~{b}"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


# ---------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------


def _fmt(x: Any, nd: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _ratios(m: Measurement, ref: Measurement) -> tuple[float | None, float | None]:
    """Wall and peak-RSS ratios of `m` to the reference (None unless `m` ran)."""
    if m.status != "ok":
        return None, None
    return _ratio(m.wall_s, ref.wall_s), _ratio(m.peak_rss_mb, ref.peak_rss_mb)


def _reference(results: Sequence[Measurement]) -> Measurement | None:
    for m in results:
        if m.scenario in ("abagen", "sweep-abagen") and m.status == "ok":
            return m
    return None


def format_table(results: Sequence[Measurement]) -> str:
    """The results as a text table, with ratios to abagen when it ran.

    Parameters
    ----------
    results : sequence of Measurement

    Returns
    -------
    table : str
        One line per scenario: status, wall time, peak RSS (GNU time),
        sampled process-tree RSS, jobs run, the rule with the highest
        per-job RSS, and the ratios ours/abagen (wall, peak RSS).
    """
    ref = _reference(results)
    header = ["scenario", "status", "wall s", "peak RSS MB", "tree RSS MB", "jobs",
              "max rule RSS MB (rule)"]
    if ref is not None:
        header += ["wall/abagen", "RSS/abagen"]
    rows = [header]
    for m in results:
        top = m.top_rule
        row = [m.scenario, m.status, _fmt(m.wall_s), _fmt(m.peak_rss_mb), _fmt(m.tree_rss_mb),
               _fmt(m.jobs if m.runs == 1 else f"{m.runs} runs"),
               f"{top.max_rss_mb:.1f} ({top.rule})" if top else "-"]
        if ref is not None:
            wall_r, rss_r = _ratios(m, ref)
            same = m is ref
            row += ["" if same else _fmt(wall_r, 2), "" if same else _fmt(rss_r, 2)]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for k, r in enumerate(rows):
        cells = [c.ljust(w) if i < 2 or i == 6 else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  {m.scenario}: {m.note}" for m in results if m.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def format_rules_table(results: Sequence[Measurement]) -> str:
    """Per-rule peak RSS from Snakemake's benchmark files, per scenario."""
    rows = [["scenario", "rule", "jobs", "max RSS MB", "job", "sum s", "max s"]]
    for m in results:
        for r in m.rules:
            rows.append([m.scenario, r.rule, str(r.jobs), _fmt(r.max_rss_mb),
                         r.max_rss_job or "-", _fmt(r.total_s), _fmt(r.max_s)])
    if len(rows) == 1:
        return "(no Snakemake benchmark files)"
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        cells = [c.rjust(w) if i in (2, 3, 5, 6) else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _environment() -> dict[str, Any]:
    info: dict[str, Any] = {"python": sys.version.split()[0], "platform": platform.platform(),
                            "cpu_count": os.cpu_count(), "hostname": platform.node()}
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    for name in ("abagen_core", "snakemake", "numpy", "pandas", "pyarrow"):
        try:
            mod = __import__(name)
            info[name] = getattr(mod, "__version__", None)
        except ImportError:
            info[name] = None
    return info


def write_results(work: str | os.PathLike, results: Sequence[Measurement],
                  meta: Mapping[str, Any]) -> dict[str, Path]:
    """Write ``results.json``, ``results.csv`` and ``rules.csv`` into `work`.

    Parameters
    ----------
    work : path-like
        Work folder.
    results : sequence of Measurement
    meta : mapping
        Run parameters, environment, dataset and agreement (JSON only).

    Returns
    -------
    paths : dict of str -> pathlib.Path
    """
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    ref = _reference(results)
    paths = {"json": work / "results.json", "csv": work / "results.csv",
             "rules": work / "rules.csv"}
    records = []
    for m in results:
        rec = asdict(m)
        top = m.top_rule
        rec["max_rule"] = top.rule if top else None
        rec["max_rule_rss_mb"] = top.max_rss_mb if top else None
        if ref is not None and m is not ref:
            rec["wall_ratio_abagen"], rec["rss_ratio_abagen"] = _ratios(m, ref)
        records.append(rec)
    paths["json"].write_text(json.dumps({**meta, "results": records}, indent=1, default=str)
                             + "\n")
    cols = ["scenario", "description", "status", "wall_s", "peak_rss_mb", "tree_rss_mb", "jobs",
            "runs", "call_s", "max_rule", "max_rule_rss_mb", "wall_ratio_abagen",
            "rss_ratio_abagen", "note"]
    with open(paths["csv"], "w", newline="") as fh:
        w = csv.DictWriter(fh, cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(records)
    with open(paths["rules"], "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["scenario", "rule", "jobs", "max_rss_mb", "max_rss_job", "total_s", "max_s"])
        for m in results:
            for r in m.rules:
                w.writerow([m.scenario, r.rule, r.jobs, r.max_rss_mb, r.max_rss_job, r.total_s,
                            r.max_s])
    return paths


def _say(msg: str) -> None:
    print(msg, flush=True)


def _say_result(m: Measurement) -> None:
    extra = f", {m.jobs} jobs" if m.jobs is not None else ""
    _say(f"    -> {m.status}: {_fmt(m.wall_s)} s, peak RSS {_fmt(m.peak_rss_mb)} MB{extra}"
         + (f"  ({m.note})" if m.note else ""))


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_benchmark.py",
        description=(
            "Benchmark the abagen-core Snakemake workflow and in-memory API on a synthetic "
            "AHBA-format dataset (generated once into <work>/cache), optionally against "
            "abagen 0.1.3. Scenarios: cold (workflow from raw CSVs), atlas (warm re-run with a "
            "second atlas), option (warm re-run with a zscore variant), api (in-memory "
            "get_expression_data), abagen (abagen 0.1.3 as a black box)."),
        epilog=(
            "Outputs: <work>/results.json, results.csv, rules.csv; logs in <work>/logs. "
            "Peak RSS: GNU time's maximum RSS of the largest single process; 'tree RSS' is "
            "the sampled peak of the summed RSS of all processes; per-rule figures come from "
            "Snakemake's benchmark files. abagen 0.1.3 venv: python3 -m venv /tmp/abagen-venv "
            "&& /tmp/abagen-venv/bin/pip install abagen==0.1.3 'pandas<2' 'numpy<1.25' "
            "(see benchmarks/README.md)."),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--work", required=True, type=Path,
                   help="work folder (cache, runs, logs, results)")
    p.add_argument("--n-probes", type=int, default=58692,
                   help="probes of the synthetic dataset (58692 = real size, ~4.2 GB)")
    p.add_argument("--seed", type=int, default=1, help="seed of the synthetic dataset")
    p.add_argument("--precision", choices=["full", "short"], default="full",
                   help="digits written by the generator (full = like the real files)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="use this AHBA-layout dataset instead of generating one")
    p.add_argument("--cache", type=Path, default=None,
                   help="dataset cache folder (default: <work>/cache)")
    p.add_argument("--donors", default="all",
                   help="'all' or comma-separated donor numbers")
    p.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    p.add_argument("--scenarios", default=",".join(SCENARIOS),
                   help=("comma-separated subset of: " + ", ".join(SCENARIOS)
                         + " (sweep mode: cold = the one workflow run, api, abagen)"))
    p.add_argument("--variants", type=int, default=None, metavar="N",
                   help=("sweep mode: N variants over gene_norm x sample_norm x ibf_threshold "
                         "as one workflow run vs N single API (and abagen) runs"))
    p.add_argument("--abagen-python", default=None, metavar="PYTHON",
                   help="python of a venv with abagen 0.1.3, to run the reference")
    p.add_argument("--snakefile", type=Path, default=SNAKEFILE, help="workflow Snakefile")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds before a single command is killed")
    p.add_argument("--qc", action="store_true",
                   help="workflow scenarios with QC figures and robustness summaries on "
                        "(the config default); without it they are off")
    p.add_argument("--keep", action="store_true",
                   help="keep the working directories (<work>/runs) after the run")
    return p


def _snakemake_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "snakemake"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("snakemake")
    return [found] if found else [sys.executable, "-m", "snakemake"]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns 0 when every selected scenario ran."""
    args = _parser().parse_args(argv)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        _parser().error(f"unknown scenarios {unknown}; choose from {list(SCENARIOS)}")
    if args.variants is not None:
        try:
            sweep_variants(args.variants)
        except ValueError as exc:
            _parser().error(str(exc))
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    donors: str | list[str] = "all"
    if args.donors != "all":
        donors = [d.strip() for d in args.donors.split(",") if d.strip()]

    if not os.access(TIME_BIN, os.X_OK):
        _say(f"note: {TIME_BIN} not found (Debian: apt-get install time); "
             "measuring with a Python rusage wrapper instead.")
    gen_s = None
    if args.data_dir is not None:
        data_dir = args.data_dir.resolve()
        dataset = {"data_dir": str(data_dir), "generated_s": None, "synthetic": False}
    else:
        cache = (args.cache or work / "cache").resolve()
        _say(f"dataset: {args.n_probes} probes, seed {args.seed}, {args.precision} precision "
             f"in {cache}")
        data_dir, gen_s = ensure_dataset(cache, n_probes=args.n_probes, seed=args.seed,
                                         precision=args.precision, n_jobs=max(args.cores, 1))
        how = "reused" if gen_s is None else f"generated in {gen_s:.1f} s"
        _say(f"    -> {how}: {data_dir}")
        dataset = {"data_dir": str(data_dir), "n_probes": args.n_probes, "seed": args.seed,
                   "precision": args.precision, "generated_s": gen_s, "synthetic": True}

    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    ctx = Context(work=work, data_dir=data_dir, cores=args.cores,
                  snakefile=args.snakefile.resolve(), snakemake=_snakemake_cmd(),
                  donors=donors, timeout=args.timeout, abagen_python=args.abagen_python,
                  env=env, qc=args.qc)
    t0 = time.time()
    if args.variants is not None:
        results = run_sweep(ctx, args.variants, scenarios)
    else:
        results = run_default(ctx, scenarios)
    agreement = _agreement(results)
    meta = {"started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t0)),
            "argv": list(sys.argv if argv is None else argv), "mode":
            "sweep" if args.variants is not None else "default", "cores": args.cores,
            "dataset": dataset, "snakefile": str(ctx.snakefile),
            "environment": _environment(), "agreement": agreement}
    paths = write_results(work, results, meta)

    _say("")
    _say(format_table(results))
    _say("")
    _say("Peak RSS per rule (Snakemake benchmark files):")
    _say(format_rules_table(results))
    for key, agr in agreement.items():
        _say(f"agreement {key}: " + json.dumps(agr))
    _say(f"\nresults: {paths['json']}, {paths['csv']}, {paths['rules']}")
    if not args.keep and ctx.runs.exists():
        shutil.rmtree(ctx.runs)
    return 0 if all(m.status in ("ok", "skipped") for m in results) else 1


if __name__ == "__main__":
    sys.exit(main())
