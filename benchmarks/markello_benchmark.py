#!/usr/bin/env python
"""The multiverse of Markello et al. (2021) as workflow sweeps: measured on a sample.

Markello et al. (2021, eLife 10:e72129) processed the AHBA data with every
combination of 14 decision points, 373,248 pipelines per atlas, at a cost of
3,100-6,200 core-hours. This script

1. counts the pipelines of :data:`LEVELS` (and says so if the count is not
   373,248);
2. groups them into *branches*: variants sharing the options of the
   upstream stages 'genes' and 'labels' (``abagen_core.options.STAGE_OPTIONS``),
   i.e. the variants one regional job can compute from one gene set and one
   label set; it prints the numbers of distinct gene sets, label sets,
   branches and variants per branch;
3. draws ``--branches K`` branches at random (seeded) plus one more for the
   cold start, and runs each as ``sweep: {list: [...]}`` of its variants in
   one working directory (the first one cold, from the raw CSVs; the others
   warm: converted donors and shared samples already there, like a
   multiverse run after its first branches). Each warm branch runs twice:
   step A with its first variant only (its gene set, its label set and one
   variant), step B with all its variants. A repeat of a finished branch
   (nothing to do) measures Snakemake's fixed cost;
4. spot-checks 2 variants per branch against single API runs in fresh
   processes (max |diff|);
5. extrapolates to all branches of one atlas (core-hours, hours on one
   16-core node), compared with Markello's 3,100-6,200 core-hours and with
   one abagen call measured on the same machine (per-variant marginal cost /
   abagen call time; the target is <= 1/100).

Times are measured and printed, never asserted. Helpers come from
``run_benchmark.py`` and ``sweep_benchmark.py``. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import math
import random
import shutil
import statistics
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LEVELS", "PROBE_PAIRS", "EXPECTED", "count_pipelines", "variant_at",
           "iter_variants", "group_branches", "Branches", "extrapolate", "main"]

HERE = Path(__file__).resolve().parent

#: probe_selection x donor_probes pairs of the multiverse: methods that pick one
#: probe per gene from all donors together only with 'aggregate'
PROBE_PAIRS: list[tuple[str, str]] = [
    ("average", "aggregate"), ("diff_stability", "aggregate"), ("rnaseq", "aggregate"),
    *[(m, d) for m in ("max_intensity", "corr_variance", "corr_intensity")
      for d in ("aggregate", "independent", "common")],
]

#: the 14 decision points (probe_selection and donor_probes given as pairs)
LEVELS: dict[str, list[Any]] = {
    "ibf_threshold": [0, 0.25, 0.5],
    "probe_selection/donor_probes": PROBE_PAIRS,
    "lr_mirror": [None, "bidirectional", "leftright"],
    "missing": [None, "centroids"],
    "tolerance": [0, 1, 2],
    "sample_norm": ["srs", "zscore", None],
    "gene_norm": ["srs", "zscore", None],
    "norm_matched": [True, False],
    "norm_structures": [True, False],
    "region_agg": ["donors", "samples"],
    "agg_metric": ["mean", "median"],
    "corrected_mni": [True, False],
    "reannotated": [True, False],
}
#: pipelines per atlas in Markello et al. (2021)
EXPECTED = 373_248
#: Markello et al.'s reported cost of the multiverse, core-hours
MARKELLO_CORE_HOURS = (3100, 6200)
#: cores of the node the extrapolation is for
NODE_CORES = 16
#: target: per-variant marginal cost / one abagen call
TARGET_RATIO = 1 / 100
ATLAS = "dk"


def _load(name: str) -> Any:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------
# the multiverse


def count_pipelines(levels: Mapping[str, Sequence[Any]] | None = None) -> int:
    """Number of pipelines: the product of the numbers of levels.

    Examples
    --------
    >>> count_pipelines()
    373248
    """
    return math.prod(len(v) for v in (LEVELS if levels is None else levels).values())


def count_report(levels: Mapping[str, Sequence[Any]] | None = None) -> list[str]:
    """Lines describing the count (and the discrepancy, if any) for printing."""
    levels = LEVELS if levels is None else levels
    n = count_pipelines(levels)
    sizes = " x ".join(f"{len(v)}" for v in levels.values())
    lines = [f"pipelines per atlas: {sizes} = {n:,} (decision points: "
             f"{sum(2 if '/' in k else 1 for k in levels)}; expected {EXPECTED:,}: "
             f"{'agrees' if n == EXPECTED else 'DIFFERS'})"]
    if n != EXPECTED:
        lines.append(f"  discrepancy: {n:,} / {EXPECTED:,} = {n / EXPECTED:.4g}")
        for key, values in levels.items():
            other = EXPECTED * len(values) / n
            if other.is_integer() and other != len(values):
                lines.append(f"  {EXPECTED:,} would need {int(other)} levels of {key} "
                             f"instead of {len(values)}")
    return lines


def variant_at(index: int, levels: Mapping[str, Sequence[Any]] | None = None
               ) -> dict[str, Any]:
    """The option dict of pipeline `index` (last level varies fastest).

    Examples
    --------
    >>> variant_at(0)['probe_selection'], variant_at(0)['donor_probes']
    ('average', 'aggregate')
    >>> variant_at(1)['reannotated']
    False
    """
    levels = LEVELS if levels is None else levels
    picks = []
    for values in reversed(list(levels.values())):
        index, r = divmod(index, len(values))
        picks.append(values[r])
    if index:
        raise IndexError("pipeline index out of range")
    out: dict[str, Any] = {}
    for key, value in zip(levels, reversed(picks), strict=True):
        if "/" in key:
            out.update(zip(key.split("/"), value, strict=True))
        else:
            out[key] = value
    return out


def iter_variants(levels: Mapping[str, Sequence[Any]] | None = None
                  ) -> Iterator[dict[str, Any]]:
    """Every pipeline's option dict, in :func:`variant_at` order."""
    levels = LEVELS if levels is None else levels
    for combo in itertools.product(*levels.values()):
        out: dict[str, Any] = {}
        for key, value in zip(levels, combo, strict=True):
            if "/" in key:
                out.update(zip(key.split("/"), value, strict=True))
            else:
                out[key] = value
        yield out


@dataclass
class Branches:
    """The multiverse grouped by upstream stage options.

    Attributes
    ----------
    n_variants : int
    gene_sets, label_sets : dict of str -> dict
        Stage key -> the options of stage 'genes' / 'labels'.
    branches : dict of (str, str) -> list of int
        (genes key, labels key) -> indices of its pipelines (:func:`variant_at`).
    """

    n_variants: int
    gene_sets: dict[str, dict[str, Any]]
    label_sets: dict[str, dict[str, Any]]
    branches: dict[tuple[str, str], list[int]]

    def sizes(self) -> dict[int, int]:
        """Variants per branch -> number of branches of that size."""
        out: dict[int, int] = {}
        for idx in self.branches.values():
            out[len(idx)] = out.get(len(idx), 0) + 1
        return dict(sorted(out.items()))


def group_branches(levels: Mapping[str, Sequence[Any]] | None = None) -> Branches:
    """Group every pipeline by (options of stage 'genes', options of stage 'labels').

    Options are validated and completed with abagen's defaults by
    ``abagen_core.options.check_options`` (once per distinct upstream
    subset), and keyed by ``stage_key``, the keys the workflow caches by.
    """
    from abagen_core.options import DEFAULTS, STAGE_OPTIONS, check_options, stage_key

    names = {s: tuple(STAGE_OPTIONS[s]) for s in ("genes", "labels")}
    keys: dict[str, dict[tuple, str]] = {"genes": {}, "labels": {}}
    sets: dict[str, dict[str, dict[str, Any]]] = {"genes": {}, "labels": {}}
    branches: dict[tuple[str, str], list[int]] = {}
    n = 0
    for i, variant in enumerate(iter_variants(levels)):
        n += 1
        pair = []
        for stage in ("genes", "labels"):
            raw = tuple(variant.get(o, DEFAULTS.get(o)) for o in names[stage])
            key = keys[stage].get(raw)
            if key is None:
                opts = check_options({o: v for o, v in zip(names[stage], raw, strict=True)
                                      if o in DEFAULTS})
                key = stage_key(opts, stage)
                keys[stage][raw] = key
                sets[stage][key] = {o: opts.get(o) for o in names[stage]}
            pair.append(key)
        branches.setdefault((pair[0], pair[1]), []).append(i)
    return Branches(n, sets["genes"], sets["labels"], branches)


def check_levels(levels: Mapping[str, Sequence[Any]] | None = None) -> list[str]:
    """Problems ``check_options`` finds with any single level (empty: all valid)."""
    from abagen_core.options import check_options

    problems = []
    levels = LEVELS if levels is None else levels
    for key, values in levels.items():
        for value in values:
            opts = dict(zip(key.split("/"), value, strict=True)) if "/" in key \
                else {key: value}
            try:
                check_options(opts)
            except ValueError as exc:
                problems.append(f"{key}={value!r}: {exc}")
    return problems


# ---------------------------------------------------------------------------
# running sampled branches


@dataclass
class BranchRun:
    """One sampled branch: its two runs (A: first variant, B: all variants)."""

    branch: int                     # index in the sorted branch list
    prefix: str
    upstream: dict[str, Any]
    n_variants: int
    role: str                       # 'cold' or 'warm'
    status: str = "ok"
    new_gene_set: bool = True
    a_s: float | None = None
    a_jobs: int | None = None
    a_cpu_s: float | None = None
    b_s: float | None = None
    b_jobs: int | None = None
    b_cpu_s: float | None = None
    job_rss_mb: float | None = None
    job_rss_rule: str | None = None
    # GNU time's maximum RSS of the largest single process of each step (exact,
    # unlike Snakemake's sampled benchmark figures; includes Snakemake itself)
    a_max_rss_mb: float | None = None
    b_max_rss_mb: float | None = None
    marginal_s: float | None = None
    marginal_cpu_s: float | None = None
    checked: list[str] = field(default_factory=list)
    max_abs_diff: float | None = None
    note: str = ""


def _upstream(variant: Mapping[str, Any]) -> dict[str, Any]:
    from abagen_core.options import STAGE_OPTIONS

    names = set(STAGE_OPTIONS["genes"]) | set(STAGE_OPTIONS["labels"])
    return {k: v for k, v in variant.items() if k in names}


def branch_config(data_dir: Path, prefix: str, variants: Sequence[Mapping[str, Any]],
                  chunk_mb: float | None = None) -> dict[str, Any]:
    """Workflow config running `variants` as ``sweep: {list: ..., prefix: ...}``.

    The ``default`` variant stays (``config/config.yaml`` always holds it); it
    is computed by the first run and cached afterwards.
    """
    sweep = {"list": [dict(v) for v in variants], "prefix": prefix}
    if chunk_mb is not None:
        sweep["chunk_mb"] = chunk_mb
    return {"data_dir": str(data_dir), "download": False, "donors": "all",
            "synthetic": {"enabled": False}, "atlases": {ATLAS: {"builtin": "dk-volume"}},
            "outputs": {"save_donors": False}, "qc": {"enabled": False},
            "variants": {"default": {}}, "sweep": sweep}


def _prune(workdir: Path, prefix: str) -> None:
    """Drop a finished branch's per-variant result folders (GBs at full size)."""
    for folder in (workdir / "results" / ATLAS).glob(f"{prefix}-*"):
        shutil.rmtree(folder, ignore_errors=True)


def run_branch(hb: Any, sb: Any, ctx: Any, index: int, pipelines: Sequence[int],
               role: str, workdir: Path, seen_gene_sets: set[str], gene_key: str,
               n_check: int, rng: random.Random, prune: bool,
               noop: dict[str, Any] | None = None) -> BranchRun:
    """Steps A and B of one branch, then its spot checks.

    With `noop` (a dict), the finished branch is run once more before its
    result folders are pruned and `noop` is filled with that run's figures.
    """
    variants = [variant_at(i) for i in pipelines]
    prefix = f"b{index:04d}"
    run = BranchRun(branch=index, prefix=prefix, upstream=_upstream(variants[0]),
                    n_variants=len(variants), role=role,
                    new_gene_set=gene_key not in seen_gene_sets)
    print(f"[{prefix}] {role} branch, {len(variants)} variants, "
          f"{json.dumps(run.upstream)}", flush=True)
    peaks = []
    for step, chosen in (("A", variants[:1]), ("B", variants)):
        res, jobs = sb._snakemake_run(hb, ctx, f"{prefix}-{step}", workdir,
                                      branch_config(ctx.data_dir, prefix, chosen,
                                                    ctx.chunk_mb))
        peak = res.time_v.get("max_rss_mb")
        exact = "" if peak is None else f", max process RSS {peak:.0f} MB"
        print(f"    {step}: {'ok' if res.returncode == 0 else 'error'} {res.wall_s:.1f} s, "
              f"{jobs['jobs']} jobs, CPU {jobs['cpu_s']} s{exact}", flush=True)
        if res.returncode != 0:
            run.status = "error"
            run.note = f"step {step}: {hb._error_note(res.log)}"
            print(f"    branch {prefix} cannot run, excluded from the sample: {run.note}",
                  flush=True)
            return run
        if step == "A":
            run.a_s, run.a_jobs, run.a_cpu_s = res.wall_s, jobs["jobs"], jobs["cpu_s"]
            run.a_max_rss_mb = peak
        else:
            run.b_s, run.b_jobs, run.b_cpu_s = res.wall_s, jobs["jobs"], jobs["cpu_s"]
            run.b_max_rss_mb = peak
        if jobs["peak"]["rss_mb"] is not None:
            peaks.append((jobs["peak"]["rss_mb"], jobs["peak"]["rule"]))
    seen_gene_sets.add(gene_key)
    if noop is not None:
        noop.update(noop_run(hb, sb, ctx, workdir, run, pipelines))
    if peaks:
        run.job_rss_mb, run.job_rss_rule = max(peaks, key=lambda p: p[0])
    # spot checks: the first variant and n_check - 1 others at random
    names = [f"{prefix}-{i:04d}" for i in range(len(variants))]
    picks = [0, *rng.sample(range(1, len(variants)), min(n_check - 1, len(variants) - 1))]
    diffs = []
    for k in picks[:n_check]:
        info = sb.run_single(hb, ctx, "api", names[k], variants[k])
        if info["output"] is None:
            run.note += f" {names[k]}: API run failed: {info.get('note')}"
            continue
        agree = sb.compare_frames(sb.read_sweep_variant(workdir, ATLAS, names[k]),
                                  sb.read_matrix_csv(info["output"]))
        ok = agree["same_index"] and agree["same_columns"] and agree["same_nan"]
        diffs.append(agree["max_abs_diff"] if agree["max_abs_diff"] is not None else 0.0)
        if not ok:
            run.note += f" {names[k]}: layout differs ({agree['shape']})"
        run.checked.append(f"{names[k]} ({info['wall_s']:.1f} s)")
        print(f"    check {names[k]} vs API ({info['wall_s']:.1f} s): max |diff| "
              f"{agree['max_abs_diff']}", flush=True)
    run.max_abs_diff = max(diffs) if diffs else None
    if run.max_abs_diff is not None and run.max_abs_diff > sb.TOLERANCE or "layout" in run.note:
        run.status = "mismatch"
    if prune:
        _prune(workdir, prefix)
    return run


def noop_run(hb: Any, sb: Any, ctx: Any, workdir: Path, run: BranchRun,
             pipelines: Sequence[int]) -> dict[str, Any]:
    """Repeat a finished branch: Snakemake's fixed cost (start-up, DAG, nothing to do)."""
    res, jobs = sb._snakemake_run(
        hb, ctx, f"{run.prefix}-noop", workdir,
        branch_config(ctx.data_dir, run.prefix, [variant_at(i) for i in pipelines],
                      ctx.chunk_mb))
    print(f"[noop] repeat of {run.prefix}: {res.wall_s:.1f} s, {jobs['jobs']} jobs, "
          f"CPU {jobs['cpu_s']} s", flush=True)
    return {"wall_s": res.wall_s, "jobs": jobs["jobs"], "cpu_s": jobs["cpu_s"],
            "returncode": res.returncode}


def marginals(runs: Sequence[BranchRun], noop: Mapping[str, Any]) -> None:
    """Per-variant marginal cost of each run: (B - no-op) / (variants - 1)."""
    for r in runs:
        if r.status == "error" or r.b_s is None or r.n_variants < 2:
            continue
        r.marginal_s = round(max(r.b_s - (noop.get("wall_s") or 0.0), 0.0)
                             / (r.n_variants - 1), 4)
        if r.b_cpu_s is not None:
            r.marginal_cpu_s = round(max(r.b_cpu_s - (noop.get("cpu_s") or 0.0), 0.0)
                                     / (r.n_variants - 1), 4)


def extrapolate(runs: Sequence[BranchRun], noop: Mapping[str, Any], n_branches: int,
                n_gene_sets: int, cold: BranchRun | None = None,
                cores: int = NODE_CORES, branch_size: int | None = None) -> dict[str, Any]:
    """All branches of one atlas from the warm sample.

    CPU-based (the headline): per-branch regional cost R = marginal CPU x
    variants; per-gene-set cost G = CPU of step A - no-op CPU - marginal CPU
    (its gene set, its label set and one variant; only branches whose gene
    set was new); core-hours = (branches x mean R + gene sets x mean G + the
    cold branch's step A) / 3600; node hours = core-hours / `cores`.
    Wall-based (the brief's formula): the same with wall times in place of
    CPU times, i.e. each branch taking one core for its measured wall time.

    Examples
    --------
    >>> r = BranchRun(0, "b0000", {}, 96, "warm", a_s=20.0, a_cpu_s=30.0, b_s=50.0,
    ...               b_cpu_s=60.0, marginal_s=0.5, marginal_cpu_s=0.6)
    >>> e = extrapolate([r], {"wall_s": 3.0, "cpu_s": 4.0}, 3888, 1296)
    >>> round(e["cpu"]["core_hours"], 1)
    71.3
    """
    warm = [r for r in runs if r.role == "warm" and r.status != "error"
            and r.marginal_s is not None]
    out: dict[str, Any] = {"n_branches": n_branches, "n_gene_sets": n_gene_sets,
                           "sampled": len(warm), "node_cores": cores}
    if not warm:
        return out
    for kind, a_attr, m_attr, fixed in (("cpu", "a_cpu_s", "marginal_cpu_s", "cpu_s"),
                                        ("wall", "a_s", "marginal_s", "wall_s")):
        per_branch = [getattr(r, m_attr) * (branch_size or r.n_variants) for r in warm
                      if getattr(r, m_attr) is not None]
        new = [r for r in warm if r.new_gene_set and getattr(r, a_attr) is not None] or warm
        per_gene_set = [max(getattr(r, a_attr) - (noop.get(fixed) or 0.0)
                            - (getattr(r, m_attr) or 0.0), 0.0) for r in new]
        if not per_branch:
            continue
        mean_r = statistics.fmean(per_branch)
        mean_g = statistics.fmean(per_gene_set)
        cold_s = getattr(cold, a_attr) if cold is not None and cold.status != "error" else 0.0
        total_s = n_branches * mean_r + n_gene_sets * mean_g + (cold_s or 0.0)
        core_h = total_s / 3600
        out[kind] = {"per_branch_s": round(mean_r, 2), "per_gene_set_s": round(mean_g, 2),
                     "cold_s": cold_s, "core_hours": round(core_h, 2),
                     "node_hours": round(core_h / cores, 3),
                     "vs_markello": [round(core_h / m, 5) for m in MARKELLO_CORE_HOURS]}
    return out


def format_branches(runs: Sequence[BranchRun]) -> str:
    """Per-branch table."""
    head = ["branch", "role", "probes", "ibf", "mirror", "tol", "s_norm", "mni/rean",
            "vars", "status", "A s", "A jobs", "B s", "B jobs", "job peak GB",
            "marg s", "marg CPU s", "max |diff|"]
    table = [head]
    for r in runs:
        u = r.upstream
        table.append([r.prefix, r.role + ("" if r.new_gene_set else "*"),
                      f"{u.get('probe_selection')}/{u.get('donor_probes')}",
                      str(u.get("ibf_threshold")), str(u.get("lr_mirror")),
                      str(u.get("tolerance")), str(u.get("sample_norm")),
                      f"{str(u.get('corrected_mni'))[0]}/{str(u.get('reannotated'))[0]}",
                      str(r.n_variants), r.status, _f(r.a_s), _f(r.a_jobs), _f(r.b_s),
                      _f(r.b_jobs), _f(None if r.job_rss_mb is None else r.job_rss_mb / 1024,
                                       2), _f(r.marginal_s, 3), _f(r.marginal_cpu_s, 3),
                      sb_fmt_diff(r.max_abs_diff)])
    lines = _table(table, left=(0, 1, 2, 4, 6, 9))
    notes = [f"  {r.prefix}: {r.note.strip()}" for r in runs if r.note.strip()]
    lines += ["", "A = first variant alone (gene set + label set + 1 variant); B = all "
              "variants of the branch; marg = (B - no-op) / (vars - 1);",
              "* = gene set already computed by an earlier branch"]
    if notes:
        lines += ["notes:", *notes]
    return "\n".join(lines)


def format_summary(ext: Mapping[str, Any], ref: Mapping[str, Any],
                   runs: Sequence[BranchRun]) -> str:
    """The extrapolation and the comparison with one abagen call."""
    if not ext.get("sampled"):
        return "no warm branch ran: nothing to extrapolate"
    lines = [f"extrapolation to one atlas: {ext['n_branches']:,} branches, "
             f"{ext['n_gene_sets']:,} distinct gene sets, from {ext['sampled']} warm branches"]
    table = [["basis", "per branch s", "per gene set s", "core-hours",
              f"hours on {ext['node_cores']} cores", "x Markello 3,100", "x Markello 6,200"]]
    for kind in ("cpu", "wall"):
        e = ext.get(kind)
        if not e:
            continue
        table.append([kind, _f(e["per_branch_s"]), _f(e["per_gene_set_s"]),
                      _f(e["core_hours"], 1), _f(e["node_hours"], 2),
                      _f(e["vs_markello"][0], 4), _f(e["vs_markello"][1], 4)])
    lines += _table(table, left=(0,))
    lines += ["core-hours = (branches x mean per-branch + gene sets x mean per-gene-set "
              "+ cold step A) / 3600; hours = core-hours / cores (perfect packing).", ""]
    warm = [r for r in runs if r.role == "warm" and r.marginal_s is not None]
    if warm:
        m_wall = statistics.fmean(r.marginal_s for r in warm)
        cpu = [r.marginal_cpu_s for r in warm if r.marginal_cpu_s is not None]
        m_cpu = statistics.fmean(cpu) if cpu else None
        table = [["reference call", "s", "marginal wall s/variant", "ratio (wall)",
                  "marginal CPU s/variant", "ratio (CPU)", f"target <= {TARGET_RATIO:g}"]]
        for name, info in ref.items():
            s = info.get("wall_s") if info.get("ok") else None
            rw = m_wall / s if s else None
            rc = m_cpu / s if s and m_cpu is not None else None
            table.append([name, _f(s), _f(m_wall, 3), _f(rw, 4), _f(m_cpu, 3), _f(rc, 4),
                          "-" if rw is None else ("met" if rw <= TARGET_RATIO else "not met")
                          + " (wall)"])
        lines += _table(table, left=(0, 6))
        for name, info in ref.items():
            if not info.get("ok"):
                lines.append(f"  {name}: {info.get('note', 'not run')}")
    return "\n".join(lines)


def sb_fmt_diff(x: float | None) -> str:
    """A max |diff|: '0' when exactly zero, else two significant digits."""
    if x is None:
        return "-"
    return "0" if x == 0 else f"{x:.1e}"


def _f(x: Any, nd: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}" if abs(x) >= 10 ** -nd or x == 0 else f"{x:.1e}"
    return str(x)


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


def reference_calls(hb: Any, sb: Any, ctx: Any) -> dict[str, Any]:
    """One default call of our API and one of abagen, each in a fresh process."""
    out: dict[str, Any] = {}
    info = sb.run_single(hb, ctx, "api", "reference-default", {})
    out["abagen_core API"] = {"ok": info["output"] is not None, "wall_s": info["wall_s"],
                              "call_s": info.get("call_s"), "note": info.get("note", "")}
    why = sb.check_abagen(hb, ctx)
    if why:
        out[f"abagen {ctx.abagen_version or '0.1.3'}"] = {"ok": False, "note": why}
        return out
    print(f"[reference] abagen {ctx.abagen_version}, defaults", flush=True)
    info = sb.run_single(hb, ctx, "abagen", "reference-default", {})
    note = info.get("note", "")
    out[f"abagen {ctx.abagen_version}"] = {"ok": info["output"] is not None,
                                           "wall_s": info["wall_s"],
                                           "call_s": info.get("call_s"), "note": note}
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="markello_benchmark.py",
        description=("The 373,248-pipeline multiverse of Markello et al. (2021): count, group "
                     "into branches, run a seeded sample of branches as workflow sweeps and "
                     "extrapolate to one atlas."),
        epilog="See benchmarks/README.md. Results: <work>/markello_results.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--work", required=True, type=Path, help="work folder")
    p.add_argument("--branches", type=int, default=10,
                   help="warm branches to run (one more is drawn for the cold run)")
    p.add_argument("--seed", type=int, default=1, help="seed of the branch sample")
    p.add_argument("--count-only", action="store_true",
                   help="only count and group the pipelines; run nothing")
    p.add_argument("--data-dir", type=Path, default=None,
                   help=("AHBA-layout dataset (read only), e.g. "
                         "/tmp/bcache/synth-p58692-s1-full; default: generate a --n-probes "
                         "dataset (with RNA-seq) into <work>/cache"))
    p.add_argument("--n-probes", type=int, default=2000, help="probes of the generated dataset")
    p.add_argument("--data-seed", type=int, default=1, help="seed of the generated dataset")
    p.add_argument("--precision", choices=["full", "short"], default="short",
                   help="digits of the generated dataset")
    p.add_argument("--abagen-python", default=None,
                   help="interpreter with abagen 0.1.3 (e.g. /tmp/abagen-venv/bin/python)")
    p.add_argument("--max-variants", type=int, default=None,
                   help=("for quick development runs: only the first M variants of each "
                         "branch (the extrapolation still uses the full branch size)"))
    p.add_argument("--checks", type=int, default=2,
                   help="variants per branch compared with single API runs")
    p.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds before a single command is killed")
    p.add_argument("--chunk-mb", type=float, default=None,
                   help="the config's sweep.chunk_mb (MiB of values a batch holds at once; "
                        "default: the schema's)")
    p.add_argument("--keep", action="store_true",
                   help="keep the working directory and every branch's result folders")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; 0 unless a spot check disagreed."""
    args = _parser().parse_args(argv)
    for line in count_report():
        print(line)
    problems = check_levels()
    for line in problems:
        print(f"  invalid level: {line}")
    t0 = time.perf_counter()
    groups = group_branches()
    sizes = groups.sizes()
    print(f"grouped in {time.perf_counter() - t0:.1f} s: {len(groups.gene_sets):,} distinct "
          f"gene sets (stage 'genes'), {len(groups.label_sets):,} label sets (stage "
          f"'labels'), {len(groups.branches):,} branches; variants per branch: "
          + ", ".join(f"{k} ({v:,} branches)" for k, v in sizes.items()), flush=True)
    summary: dict[str, Any] = {
        "pipelines": groups.n_variants, "expected": EXPECTED,
        "levels": {k: [list(v) if isinstance(v, tuple) else v for v in vals]
                   for k, vals in LEVELS.items()},
        "gene_sets": len(groups.gene_sets), "label_sets": len(groups.label_sets),
        "branches": len(groups.branches), "variants_per_branch": sizes,
        "invalid_levels": problems}
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.count_only:
        (work / "markello_results.json").write_text(json.dumps(summary, indent=1) + "\n")
        return 0
    hb, sb = _load("run_benchmark"), _load("sweep_benchmark")
    ns = argparse.Namespace(work=work, data_dir=args.data_dir, n_probes=args.n_probes,
                            seed=args.data_seed, precision=args.precision, cores=args.cores,
                            timeout=args.timeout, abagen_python=args.abagen_python)
    ctx, dataset = sb.make_context(hb, ns)
    ctx.chunk_mb = args.chunk_mb
    keys = sorted(groups.branches)
    rng = random.Random(args.seed)
    drawn = rng.sample(range(len(keys)), min(args.branches + 1, len(keys)))
    print(f"sample (seed {args.seed}): branches {drawn} (first: cold)", flush=True)
    workdir = ctx.runs / "multiverse"
    if workdir.exists():
        shutil.rmtree(workdir)
    seen: set[str] = set()
    runs: list[BranchRun] = []
    noop: dict[str, Any] = {}
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    for k, index in enumerate(drawn):
        key = keys[index]
        pipelines = groups.branches[key][:args.max_variants]
        run = run_branch(hb, sb, ctx, index, pipelines, "cold" if k == 0 else "warm",
                         workdir, seen, key[0], args.checks, rng, prune=not args.keep,
                         noop=noop if not noop else None)
        runs.append(run)
        _write(work, summary, dataset, runs, noop, {}, {}, started, args)
    marginals(runs, noop)
    ref = reference_calls(hb, sb, ctx)
    cold = runs[0] if runs else None
    full_size = max(sizes)  # variants per branch in the multiverse (all equal here)
    ext = extrapolate(runs, noop, len(groups.branches), len(groups.gene_sets), cold,
                      branch_size=full_size)
    if args.max_variants:
        ext["truncated_branches"] = args.max_variants
        print(f"\nNOTE: branches truncated to their first {args.max_variants} variants "
              f"(--max-variants); the extrapolation uses {full_size} per branch.")
    _write(work, summary, dataset, runs, noop, ext, ref, started, args)
    print("")
    print(format_branches(runs))
    print(f"\nno-op repeat of a finished branch (Snakemake's fixed cost): "
          f"{_f(noop.get('wall_s'))} s wall, {_f(noop.get('cpu_s'))} s CPU")
    print("")
    print(format_summary(ext, ref, runs))
    excluded = [r.prefix for r in runs if r.status == "error"]
    if excluded:
        print(f"\nexcluded (could not run): {', '.join(excluded)}")
    print(f"\nresults: {work / 'markello_results.json'}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if any(r.status == "mismatch" for r in runs) else 0


def _write(work: Path, summary: Mapping[str, Any], dataset: Mapping[str, Any],
           runs: Sequence[BranchRun], noop: Mapping[str, Any], ext: Mapping[str, Any],
           ref: Mapping[str, Any], started: str, args: argparse.Namespace) -> None:
    record = {**summary, "started": started, "argv": sys.argv, "dataset": dataset,
              "cores": args.cores, "seed": args.seed, "noop": noop,
              "runs": [asdict(r) for r in runs], "extrapolation": ext, "reference": ref}
    (work / "markello_results.json").write_text(json.dumps(record, indent=1, default=str)
                                                 + "\n")


if __name__ == "__main__":
    sys.exit(main())
