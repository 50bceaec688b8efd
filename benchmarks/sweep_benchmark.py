#!/usr/bin/env python
"""Cost of a sweep of N variants in one workflow run against N independent runs.

For each N (default 10, 100, 1000):

``sweep``
    One cold ``snakemake`` run (fresh working directory, from the raw CSVs)
    with N variants: ``default`` plus ``sweep: {list: [...]}`` with the next
    N - 1 option sets of :data:`GRID` (abagen's defaults first, the cheapest
    option varying fastest). Stages shared by variants run once.
``base``
    One cold run of the ``default`` variant alone (fresh working directory):
    the per-variant marginal cost of a sweep is (sweep s - base s) / (N - 1).
``independent``
    Single-variant runs of the same options: a fresh Python process calling
    ``abagen_core.api.get_expression_data`` (``api``, the default), abagen
    0.1.3 in its own interpreter (``abagen``, added when ``--abagen-python``
    is given), or a cold workflow run in a fresh working directory
    (``workflow``). ``--sample K`` of the N variants (evenly spread, the
    first included) are run and the cost of N is extrapolated as N x their
    mean wall time; ``--sample all`` runs every one (nothing extrapolated).

Every independent run's matrix is compared with the sweep's matrix of the
same variant (max |difference|; identical index, columns and NaN positions;
equal means max |diff| <= 1e-6), so the benchmark also checks that sweep
results equal single runs. The sweep's matrices are read with
``abagen_core.workflow.results.read_variant`` when that module exists (batched
sweep outputs), else from ``results/<atlas>/<variant>/expression.parquet``.
Peak RSS per job comes from Snakemake's benchmark files
(``logs/benchmarks/<rule>/*.tsv``). Nothing is asserted about time.

Results: a printed table, ``<work>/sweep_results.json`` and
``sweep_results.csv``; logs in ``<work>/logs/``. Helpers (dataset cache,
``/usr/bin/time -v`` measurement, Snakemake log parsing) come from
``run_benchmark.py``. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import itertools
import json
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["GRID", "SweepRow", "grid_variants", "sample_indices", "sweep_config",
           "single_config", "format_sweep_table", "read_sweep_variant", "compare_frames",
           "job_peak", "main"]

HERE = Path(__file__).resolve().parent

#: the option grid: 10 x 10 x 10 = 1,000 variants; the first value of each option
#: is abagen's default, and the last option varies fastest (the cheapest to change:
#: gene_norm re-runs only the per-atlas normalization)
GRID: dict[str, list[Any]] = {
    "ibf_threshold": [0.5, 0.25, 0.75, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8],
    "sample_norm": ["srs", "zscore", "minmax", "rs", "center", "sigmoid", "scaled_sigmoid",
                    "scaled_sigmoid_quantiles", "mixed_sigmoid", None],
    "gene_norm": ["srs", "zscore", "minmax", "rs", "center", "sigmoid", "scaled_sigmoid",
                  "scaled_sigmoid_quantiles", "mixed_sigmoid", None],
}
ATLAS = {"dk": {"builtin": "dk-volume"}}
#: largest |difference| between a sweep's matrix and a single run's that counts as equal
#: (the workflow gives identical numbers; the in-memory API and abagen agree to ~1e-14)
TOLERANCE = 1e-6
#: independent-run modes
MODES = ("api", "abagen", "workflow")


def _harness() -> Any:
    """benchmarks/run_benchmark.py, imported from its file."""
    if "run_benchmark" in sys.modules:
        return sys.modules["run_benchmark"]
    spec = importlib.util.spec_from_file_location("run_benchmark", HERE / "run_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_benchmark"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def grid_variants(n: int, grid: Mapping[str, Sequence[Any]] | None = None
                  ) -> dict[str, dict[str, Any]]:
    """The first `n` option sets of the grid, named like the sweep names them.

    Returns
    -------
    variants : dict of str -> dict
        ``default`` (the first grid point, abagen's defaults, given as ``{}``)
        then ``sweep-0000`` ... for the next ``n - 1`` points, the names
        :func:`abagen_core.workflow.plan.expand_sweep` gives to a ``sweep: {list: ...}``.

    Examples
    --------
    >>> list(grid_variants(3))
    ['default', 'sweep-0000', 'sweep-0001']
    >>> grid_variants(2)['sweep-0000']
    {'ibf_threshold': 0.5, 'sample_norm': 'srs', 'gene_norm': 'zscore'}
    """
    grid = dict(GRID if grid is None else grid)
    size = 1
    for values in grid.values():
        size *= len(values)
    if not 1 <= n <= size:
        raise ValueError(f"N must be between 1 and {size} (grid size), got {n}.")
    combos = itertools.islice(itertools.product(*grid.values()), n)
    out: dict[str, dict[str, Any]] = {}
    for i, combo in enumerate(combos):
        name = "default" if i == 0 else f"sweep-{i - 1:04d}"
        out[name] = {} if i == 0 else dict(zip(grid, combo, strict=True))
    return out


def sample_indices(n: int, k: int | None) -> list[int]:
    """`k` indices evenly spread over ``range(n)``, the first and last included.

    Examples
    --------
    >>> sample_indices(100, 3)
    [0, 50, 99]
    >>> sample_indices(2, 5)
    [0, 1]
    """
    if k is None or k >= n:
        return list(range(n))
    if k <= 1:
        return [0]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def _base_config(data_dir: Path, qc: bool) -> dict[str, Any]:
    return {"data_dir": str(data_dir), "download": False, "donors": "all",
            "synthetic": {"enabled": False}, "atlases": dict(ATLAS),
            "outputs": {"save_donors": False}, "qc": {"enabled": bool(qc)}}


def sweep_config(data_dir: str | os.PathLike, variants: Mapping[str, Mapping[str, Any]], *,
                 chunk_mb: float | None = None,
                 qc: bool = False) -> dict[str, Any]:
    """Config of the sweep run: ``default`` plus a ``sweep: {list: ...}`` of the others.

    Parameters
    ----------
    data_dir : path-like
    variants : mapping
        :func:`grid_variants` output (``default`` first).
    qc : bool, default=False
        QC figures and robustness summary (``qc.enabled``).
    """
    names = list(variants)
    if not names or names[0] != "default":
        raise ValueError("the first variant must be 'default'")
    cfg = _base_config(Path(data_dir), qc)
    cfg["variants"] = {"default": {}}
    if len(names) > 1:
        cfg["sweep"] = {"list": [dict(variants[n]) for n in names[1:]], "prefix": "sweep"}
        if chunk_mb is not None:
            cfg["sweep"]["chunk_mb"] = chunk_mb
    return cfg


def single_config(data_dir: str | os.PathLike, name: str, options: Mapping[str, Any], *,
                  qc: bool = False) -> dict[str, Any]:
    """Config of an independent run of one variant (same name as in the sweep)."""
    cfg = _base_config(Path(data_dir), qc)
    cfg["variants"] = {name: dict(options)}
    return cfg


def read_sweep_variant(workdir: str | os.PathLike, atlas: str, variant: str) -> Any:
    """One variant's region x gene matrix from a workflow working directory.

    Uses ``abagen_core.workflow.results.read_variant(workdir, atlas, variant)``
    when that function is importable (the batched sweep outputs) and the
    variant is found there; otherwise reads
    ``<workdir>/results/<atlas>/<variant>/expression.parquet``.

    Returns
    -------
    matrix : pandas.DataFrame
        Regions x genes.
    """
    try:
        from abagen_core.workflow.results import read_variant
    except ImportError:
        read_variant = None
    parquet = Path(workdir) / "results" / atlas / variant / "expression.parquet"
    if read_variant is not None:
        try:
            return read_variant(workdir, atlas, variant)
        except (KeyError, FileNotFoundError, LookupError):
            if not parquet.exists():
                raise
    from abagen_core.storage.parquet import read_frame_parquet

    return read_frame_parquet(parquet)


def read_matrix_csv(path: str | os.PathLike) -> Any:
    """A region x gene CSV (first column: region id), floats parsed exactly."""
    import pandas as pd

    kw = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, index_col=0, **kw)


def compare_frames(x: Any, y: Any) -> dict[str, Any]:
    """How two region x gene matrices agree (like ``run_benchmark.compare_tables``).

    Index and columns are compared as strings (a parquet index may be
    integers where a CSV's is too, or not).

    Returns
    -------
    agreement : dict
        ``same_index``, ``same_columns``, ``same_nan``, ``shape``,
        ``n_common_genes`` and ``max_abs_diff`` (over common rows and genes,
        ignoring cells NaN in both; None when nothing is common).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"G1": [1.0, 2.0]}, index=[1, 2])
    >>> compare_frames(a, a + 1e-9)["max_abs_diff"] < 1e-8
    True
    """
    import numpy as np

    x = x.copy()
    y = y.copy()
    for f in (x, y):
        f.index = f.index.map(str)
        f.columns = f.columns.map(str)
    rows = x.index.intersection(y.index)
    cols = x.columns.intersection(y.columns)
    xv = x.loc[rows, cols].to_numpy(dtype=float)
    yv = y.loc[rows, cols].to_numpy(dtype=float)
    same_nan = bool(np.array_equal(np.isnan(xv), np.isnan(yv)))
    diff = np.abs(xv - yv)
    finite = diff[~np.isnan(diff)]
    return {"same_index": bool(x.index.equals(y.index)),
            "same_columns": bool(x.columns.equals(y.columns)),
            "same_nan": same_nan, "shape": [list(x.shape), list(y.shape)],
            "n_common_genes": int(len(cols)),
            "max_abs_diff": float(finite.max()) if finite.size else None}


def job_peak(hb: Any, workdir: str | os.PathLike,
             before: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Largest per-job peak RSS of a run, from Snakemake's benchmark files.

    Returns
    -------
    peak : dict
        ``rss_mb`` and ``rule`` of the job with the highest ``max_rss``,
        ``job_s`` (summed job seconds) and ``n_files`` (benchmark files read).
    """
    jobs = hb.read_benchmarks(workdir, before)
    known = [j for j in jobs if j.max_rss_mb is not None]
    top = max(known, key=lambda j: j.max_rss_mb) if known else None
    return {"rss_mb": round(top.max_rss_mb, 1) if top else None,
            "rule": f"{top.rule}/{top.name}" if top else None,
            "job_s": round(sum(j.s or 0.0 for j in jobs), 3), "n_files": len(jobs)}


@dataclass
class SweepRow:
    """One N: the sweep run and the independent runs it is compared with."""

    n: int
    mode: str                       # 'workflow' or 'api'
    status: str
    sweep_s: float | None = None
    sweep_jobs: int | None = None
    sweep_rss_mb: float | None = None
    job_rss_mb: float | None = None
    job_rss_rule: str | None = None
    cpu_s: float | None = None
    base_s: float | None = None
    marginal_s: float | None = None
    plan_s: float | None = None
    sampled: int = 0
    single_mean_s: float | None = None
    independent_s: float | None = None
    extrapolated: bool = False
    ratio: float | None = None
    single_rss_mb: float | None = None
    max_abs_diff: float | None = None
    identical_layout: bool | None = None
    note: str = ""
    singles: dict[str, Any] = field(default_factory=dict)


def _fmt(x: Any, nd: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}" if abs(x) >= 1e-3 or x == 0 else f"{x:.1e}"
    return str(x)


def format_sweep_table(rows: Sequence[SweepRow]) -> str:
    """The results as text tables: the sweeps, then the comparison with single runs."""
    sweeps: dict[int, SweepRow] = {}
    for r in rows:
        sweeps.setdefault(r.n, r)
    first = [["N", "status", "sweep s", "jobs", "plan s", "job peak GB", "peak job",
              "CPU s", "base s", "marginal s/variant"]]
    for r in sweeps.values():
        first.append([str(r.n), r.status, _fmt(r.sweep_s), _fmt(r.sweep_jobs), _fmt(r.plan_s),
                      _fmt(None if r.job_rss_mb is None else r.job_rss_mb / 1024, 2),
                      r.job_rss_rule or "-", _fmt(r.cpu_s), _fmt(r.base_s),
                      _fmt(r.marginal_s, 2)])
    second = [["N", "independent", "status", "runs", "mean single s", "single peak GB",
               "N x single s", "ratio", "max |diff|"]]
    for r in rows:
        runs = f"{r.sampled} of {r.n}" if r.extrapolated else str(r.sampled)
        second.append([str(r.n), r.mode, r.status, runs, _fmt(r.single_mean_s),
                       _fmt(None if r.single_rss_mb is None else r.single_rss_mb / 1024, 2),
                       _fmt(r.independent_s) + (" (est.)" if r.extrapolated else ""),
                       _fmt(r.ratio, 2), _fmt_diff(r.max_abs_diff)])
    lines = _table(first, left=(1, 6)) + [""] + _table(second, left=(1, 2))
    notes = [f"  N={r.n} {r.mode}: {r.note}" for r in rows if r.note]
    lines += ["", "marginal = (sweep s - base s) / (N - 1), base = cold run of 'default' alone;",
              "ratio = (N x single) / sweep: how many times cheaper the sweep is;",
              f"max |diff|: sweep matrix vs single run, equal when <= {TOLERANCE:g}."]
    if notes:
        lines += ["notes:", *notes]
    return "\n".join(lines)


def _fmt_diff(x: float | None) -> str:
    """A max |diff|: '0' when exactly zero, else two significant digits."""
    if x is None:
        return "-"
    return "0" if x == 0 else f"{x:.1e}"


def _table(table: Sequence[Sequence[str]], left: Sequence[int] = ()) -> list[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for k, row in enumerate(table):
        cells = [c.ljust(w) if i in left else c.rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


# ---------------------------------------------------------------------------
# running


def _cpu(res: Any) -> float | None:
    u, s = res.time_v.get("user_s"), res.time_v.get("system_s")
    return None if u is None or s is None else round(u + s, 2)


def _snakemake_run(hb: Any, ctx: Any, tag: str, workdir: Path, config: Mapping[str, Any],
                   *, dry_run: bool = False) -> tuple[Any, dict[str, Any]]:
    """One ``snakemake`` command; returns the measurement and the job counts.

    The job counts also hold ``peak`` (:func:`job_peak` of the benchmark
    files this run wrote) and ``cpu_s`` (user + system seconds of the
    command and the jobs it waited for).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = hb.write_config(workdir / f"config-{tag}.yaml", config)
    cmd = [*ctx.snakemake, "--cores", str(ctx.cores), "--snakefile", str(ctx.snakefile),
           "--directory", str(workdir), "--configfile", str(cfg)]
    if dry_run:
        cmd.append("-n")
    before = hb.benchmark_snapshot(workdir)
    res = hb.measure(cmd, cwd=workdir, log=ctx.logs / f"{tag}.log", env=ctx.env,
                     timeout=ctx.timeout)
    jobs = hb.parse_snakemake_jobs(Path(res.log).read_text(errors="replace"))
    jobs["peak"] = job_peak(hb, workdir, before)
    jobs["cpu_s"] = _cpu(res)
    return res, jobs


def run_single(hb: Any, ctx: Any, mode: str, name: str, options: Mapping[str, Any],
               qc: bool = False, keep: bool = False, atlas: str = "dk") -> dict[str, Any]:
    """One independent run of one variant; wall time, status, peak RSS, matrix path.

    Parameters
    ----------
    mode : {'api', 'abagen', 'workflow'}
        A fresh Python process calling ``abagen_core.api.get_expression_data``,
        abagen's in ``ctx.abagen_python``, or a cold workflow run.
    """
    rundir = ctx.runs / f"single-{mode}" / name
    if rundir.exists():
        shutil.rmtree(rundir)
    if mode == "workflow":
        res, jobs = _snakemake_run(hb, ctx, f"single-{mode}-{name}", rundir,
                                   single_config(ctx.data_dir, name, options, qc=qc))
        out = rundir / "results" / atlas / name / "expression.csv"
        info = {"wall_s": res.wall_s, "jobs": jobs["jobs"], "returncode": res.returncode,
                "rss_mb": jobs["peak"]["rss_mb"], "cpu_s": jobs["cpu_s"], "log": res.log}
    else:
        python = sys.executable if mode == "api" else ctx.abagen_python
        module = "abagen_core.api" if mode == "api" else "abagen"
        m = hb._run_call(ctx, f"single-{mode}-{name}", f"{mode} {name}", python, module,
                         rundir, options)
        out = rundir / "expression.csv"
        info = {"wall_s": m.wall_s, "returncode": m.returncode, "rss_mb": m.peak_rss_mb,
                "call_s": m.call_s, "log": m.log,
                "version": m.extra.get("summary", {}).get("version")}
    info["output"] = None
    if info["returncode"] == 0 and out.exists():
        # keep only the matrix: a cold run's working directory is GBs at full size
        kept = ctx.work / "singles" / mode / f"{name}.csv"
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, kept)
        info["output"] = str(kept)
    else:
        info["note"] = hb._error_note(info["log"])
        if mode == "abagen" and not hb._full_probe_table(ctx.data_dir):
            info["note"] += " [abagen 0.1.3 needs the full probe table: use full-size data]"
    _drop(rundir, keep)
    return info


def _drop(path: Path, keep: bool) -> None:
    if not keep and path.exists():
        shutil.rmtree(path, ignore_errors=True)


def run_base(hb: Any, ctx: Any, qc: bool, keep: bool) -> dict[str, Any]:
    """Cold workflow run of the ``default`` variant alone: the N = 1 point."""
    workdir = ctx.runs / "base"
    if workdir.exists():
        shutil.rmtree(workdir)
    print("[base] one cold workflow run of 'default' alone", flush=True)
    res, jobs = _snakemake_run(hb, ctx, "base", workdir,
                               sweep_config(ctx.data_dir, {"default": {}}, qc=qc))
    print(f"    -> {'ok' if res.returncode == 0 else 'error'}: {res.wall_s:.1f} s, "
          f"{jobs['jobs']} jobs", flush=True)
    _drop(workdir, keep)
    return {"wall_s": res.wall_s if res.returncode == 0 else None, "jobs": jobs["jobs"],
            "cpu_s": jobs["cpu_s"], "peak": jobs["peak"], "returncode": res.returncode,
            "log": res.log}


def run_n(hb: Any, ctx: Any, n: int, modes: Sequence[str], sample: int | None, qc: bool,
          keep: bool, cache: dict[tuple[str, str], dict[str, Any]],
          base: Mapping[str, Any] | None = None) -> list[SweepRow]:
    """The sweep of N variants and its independent runs (each mode)."""
    variants = grid_variants(n)
    names = list(variants)
    workdir = ctx.runs / f"sweep-{n}"
    if workdir.exists():
        shutil.rmtree(workdir)
    config = sweep_config(ctx.data_dir, variants, qc=qc, chunk_mb=ctx.chunk_mb)
    print(f"[N={n}] plan (snakemake -n)", flush=True)
    plan, _ = _snakemake_run(hb, ctx, f"sweep-{n}-plan", workdir, config, dry_run=True)
    print(f"    -> {plan.wall_s:.1f} s", flush=True)
    print(f"[N={n}] sweep: one workflow run with {n} variants", flush=True)
    res, jobs = _snakemake_run(hb, ctx, f"sweep-{n}", workdir, config)
    ok = res.returncode == 0
    print(f"    -> {'ok' if ok else 'error'}: {res.wall_s:.1f} s, {jobs['jobs']} jobs, "
          f"job peak {jobs['peak']['rss_mb']} MB ({jobs['peak']['rule']})", flush=True)
    base_s = (base or {}).get("wall_s")
    marginal = round((res.wall_s - base_s) / (n - 1), 3) if ok and base_s and n > 1 else None
    rows = []
    picked = [names[i] for i in sample_indices(n, sample)]
    matrices: dict[str, Any] = {}
    for mode in modes or ["none"]:
        row = SweepRow(n=n, mode=mode, status="ok" if ok else "error", sweep_s=res.wall_s,
                       sweep_jobs=jobs["jobs"], sweep_rss_mb=res.time_v.get("max_rss_mb"),
                       job_rss_mb=jobs["peak"]["rss_mb"], job_rss_rule=jobs["peak"]["rule"],
                       cpu_s=jobs["cpu_s"], base_s=base_s, marginal_s=marginal,
                       plan_s=plan.wall_s, sampled=len(picked),
                       extrapolated=len(picked) < n)
        if not ok or mode == "none":
            row.note = hb._error_note(res.log) if not ok else ""
            row.sampled, row.extrapolated = 0, False
            rows.append(row)
            continue
        diffs, layout_ok, walls, rss = [], True, [], []
        for name in picked:
            key = (mode, name)
            if key not in cache:
                print(f"[N={n}] independent {mode} run: {name} {json.dumps(variants[name])}",
                      flush=True)
                cache[key] = run_single(hb, ctx, mode, name, variants[name], qc, keep)
                print(f"    -> {cache[key]['wall_s']:.1f} s"
                      + ("" if cache[key]["output"] else f" FAILED: {cache[key].get('note')}"),
                      flush=True)
            info = cache[key]
            row.singles[name] = dict(info)
            if info["output"] is None:
                row.status = "error"
                row.note = f"{name}: {info.get('note', 'failed')}"
                continue
            walls.append(info["wall_s"])
            if info.get("rss_mb") is not None:
                rss.append(info["rss_mb"])
            if name not in matrices:
                matrices[name] = read_sweep_variant(workdir, "dk", name)
            agree = compare_frames(matrices[name], read_matrix_csv(info["output"]))
            row.singles[name]["agreement"] = agree
            layout_ok &= agree["same_index"] and agree["same_columns"] and agree["same_nan"]
            if agree["max_abs_diff"] is not None:
                diffs.append(agree["max_abs_diff"])
        if walls:
            row.single_mean_s = round(sum(walls) / len(walls), 3)
            row.independent_s = round(row.single_mean_s * n, 3) if row.extrapolated \
                else round(sum(walls), 3)
            row.ratio = round(row.independent_s / row.sweep_s, 3) if row.sweep_s else None
        row.single_rss_mb = max(rss) if rss else None
        row.max_abs_diff = max(diffs) if diffs else None
        row.identical_layout = layout_ok
        if walls and (not layout_ok or (row.max_abs_diff or 0.0) > TOLERANCE):
            row.status = "mismatch"
        rows.append(row)
    _drop(workdir, keep)
    return rows


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sweep_benchmark.py",
        description=("Wall time of one workflow run with N variants (a sweep) against N "
                     "independent single-variant runs, for several N; checks that the sweep's "
                     "per-variant matrices equal the single runs'."),
        epilog="See benchmarks/README.md. Results: <work>/sweep_results.json, .csv.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--work", required=True, type=Path, help="work folder")
    p.add_argument("--variants", default="10,100,1000",
                   help="comma-separated numbers of variants N (at most 1000)")
    p.add_argument("--data-dir", type=Path, default=None,
                   help=("AHBA-layout dataset to use, read only (e.g. the full-size synthetic "
                         "one, /tmp/bcache/synth-p58692-s1-full); default: generate a "
                         "--n-probes dataset into <work>/cache"))
    p.add_argument("--n-probes", type=int, default=2000,
                   help="probes of the generated dataset (2000 = the demo's)")
    p.add_argument("--seed", type=int, default=1, help="seed of the generated dataset")
    p.add_argument("--precision", choices=["full", "short"], default="short",
                   help="digits of the generated dataset")
    p.add_argument("--independent", default="api",
                   help=("comma-separated independent-run modes: api, abagen, workflow "
                         "('abagen' is added when --abagen-python is given)"))
    p.add_argument("--abagen-python", default=None,
                   help="interpreter with abagen 0.1.3 installed (e.g. /tmp/abagen-venv/bin/python)")
    p.add_argument("--sample", default="3",
                   help="independent runs per N (evenly spread; extrapolated to N), or 'all'")
    p.add_argument("--no-base", action="store_true",
                   help="skip the cold 'default'-only run (no marginal cost then)")
    p.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    p.add_argument("--qc", action="store_true",
                   help="include QC figures and the robustness summary (qc.enabled)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds before a single command is killed")
    p.add_argument("--keep", action="store_true", help="keep the working directories")
    p.add_argument("--chunk-mb", type=float, default=None,
                   help="the config's sweep.chunk_mb (MiB of values a batch holds at once; "
                        "default: the schema's)")
    return p


def make_context(hb: Any, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The harness context and a description of the dataset (made if needed)."""
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.data_dir is not None:
        data_dir = args.data_dir.resolve()
        dataset: dict[str, Any] = {"data_dir": str(data_dir)}
    else:
        data_dir, gen_s = hb.ensure_dataset(work / "cache", n_probes=args.n_probes,
                                            seed=args.seed, precision=args.precision,
                                            n_jobs=max(args.cores, 1))
        dataset = {"data_dir": str(data_dir), "n_probes": args.n_probes, "seed": args.seed,
                   "precision": args.precision, "generated_s": gen_s}
    print(f"dataset: {data_dir}", flush=True)
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    # abagen looks for the RNA-seq files under $ABAGEN_DATA
    env["ABAGEN_DATA"] = str(data_dir)
    ctx = hb.Context(work=work, data_dir=Path(data_dir), cores=args.cores,
                     snakefile=hb.SNAKEFILE, snakemake=hb._snakemake_cmd(), donors="all",
                     timeout=args.timeout, abagen_python=args.abagen_python, env=env)
    return ctx, dataset


def check_abagen(hb: Any, ctx: Any) -> str | None:
    """Why abagen cannot be used (None when it can); sets ``ctx.abagen_version``."""
    if not ctx.abagen_python:
        return "no --abagen-python given"
    if not Path(ctx.abagen_python).exists():
        return f"{ctx.abagen_python} does not exist (yet)"
    ctx.abagen_version, why = hb._abagen_check(ctx.abagen_python)
    if ctx.abagen_version is None:
        return why
    if not hb._full_probe_table(ctx.data_dir):
        print("note: abagen 0.1.3 crashes on datasets with fewer probes than its "
              "reannotation table (use the full-size data)", flush=True)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; 0 when every run succeeded and every check agreed."""
    args = _parser().parse_args(argv)
    hb = _harness()
    try:
        ns = [int(x) for x in args.variants.split(",") if x.strip()]
        for n in ns:
            grid_variants(n)
    except ValueError as exc:
        _parser().error(str(exc))
    modes = [m.strip() for m in args.independent.split(",") if m.strip()]
    if set(modes) - set(MODES):
        _parser().error(f"--independent: choose from {', '.join(MODES)}")
    if args.abagen_python and "abagen" not in modes:
        modes.append("abagen")
    sample = None if args.sample == "all" else int(args.sample)
    ctx, dataset = make_context(hb, args)
    ctx.chunk_mb = args.chunk_mb
    work = ctx.work
    if "abagen" in modes:
        why = check_abagen(hb, ctx)
        if why:
            print(f"abagen runs skipped: {why}", flush=True)
            modes.remove("abagen")
        else:
            print(f"abagen {ctx.abagen_version} in {ctx.abagen_python}", flush=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    base = None if args.no_base else run_base(hb, ctx, args.qc, args.keep)
    cache: dict[tuple[str, str], dict[str, Any]] = {}
    rows: list[SweepRow] = []
    meta = {"started": started, "argv": list(sys.argv if argv is None else argv),
            "dataset": dataset, "cores": args.cores, "qc": args.qc, "grid": GRID,
            "base": base, "abagen_version": ctx.abagen_version,
            "environment": hb._environment()}
    for n in ns:
        rows += run_n(hb, ctx, n, modes, sample, args.qc, args.keep, cache, base)
        _write(work, rows, meta)
    print("")
    print(format_sweep_table(rows))
    print(f"\nresults: {work / 'sweep_results.json'}, {work / 'sweep_results.csv'}")
    return 0 if all(r.status == "ok" for r in rows) else 1


def _write(work: Path, rows: Sequence[SweepRow], meta: Mapping[str, Any]) -> None:
    records = [asdict(r) for r in rows]
    (work / "sweep_results.json").write_text(
        json.dumps({**meta, "results": records}, indent=1, default=str) + "\n")
    cols = [f for f in SweepRow.__dataclass_fields__ if f != "singles"]
    with open(work / "sweep_results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(records)


if __name__ == "__main__":
    sys.exit(main())
