#!/usr/bin/env python
"""Cost of planning a multiverse-sized sweep: ``build_plan`` and its parts.

The sweep is the multiverse of Markello et al. (2021) for one atlas: its 14
decision points with

- ``ibf_threshold`` {0, 0.25, 0.5};
- 12 valid ``probe_selection`` x ``donor_probes`` pairs: ``average``,
  ``diff_stability`` and ``rnaseq`` only with ``aggregate``;
  ``max_intensity``, ``corr_variance`` and ``corr_intensity`` with
  ``aggregate``, ``independent`` and ``common``;
- ``lr_mirror`` {None, bidirectional, leftright}; ``missing`` {None,
  centroids}; ``tolerance`` {0, 1, 2}; ``sample_norm`` and ``gene_norm``
  {srs, zscore, None};
- ``norm_matched``, ``norm_structures``, ``region_agg``, ``agg_metric``,
  ``corrected_mni`` and ``reannotated``, two levels each;

3 x 12 x 3 x 2 x 3 x 3 x 3 x 2^6 = 373,248 variants. The config is built in
memory (nothing is read but the bundled DK atlas): ``sweep: {grids: [two
grids]}`` (``--form grids``) or the same variants as ``sweep: {list: [...]}``
(``--form list``; every version of ``build_plan`` reads it). The
1,000-variant case is the first 1,000 of them, as a list.

Parts, each timed in a fresh Python process (wall and CPU seconds of the
part alone; its peak RSS is that process' ``ru_maxrss``: the config, the
imports and the part itself):

``expand``
    :func:`abagen_core.workflow.plan.expand_sweep` of the config's sweep.
``check``
    :func:`abagen_core.options.check_options` on every variant, one call each.
``check-memo``
    :class:`abagen_core.options.OptionsChecker` (what ``build_plan`` uses:
    each distinct value checked once) on every variant, when it exists.
``keys``
    the seven :func:`abagen_core.options.stage_key` of every variant, one call
    each (on the ``check`` results, which are not timed here).
``keys-memo``
    :class:`abagen_core.options.StageKeys` (what ``build_plan`` uses: each
    stage hashed once per distinct set of its options) on every variant, when
    it exists.
``build``
    :func:`abagen_core.workflow.plan.build_plan` of the whole config.
``cache-read``
    :func:`abagen_core.workflow.plan.cached_plan` reading the plan that a
    first call (not timed) saved in a temporary folder: what a cluster job
    does instead of ``build``; when it exists.

Usage::

    python benchmarks/plan_benchmark.py                    # both sizes, every part
    python benchmarks/plan_benchmark.py --sizes 373248 --parts build
    /usr/bin/time -v python benchmarks/plan_benchmark.py --run build --size 373248

``--run PART`` runs one part in this process (what the parent runs in each
child) and prints one JSON line.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["MULTIVERSE_GRIDS", "multiverse_size", "multiverse_list", "config", "run_part",
           "main"]

REPO = Path(__file__).resolve().parent.parent
MULTIVERSE = 373_248
PARTS = ("expand", "check", "check-memo", "keys", "keys-memo", "build", "cache-read")

def _sibling(name: str) -> Any:
    """A script of this folder imported as a module (they are not a package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


#: the decision points of Markello et al. (2021) but probe_selection x donor_probes,
#: written once in markello_benchmark.py
_COMMON: dict[str, list[Any]] = {
    k: v for k, v in _sibling("markello_benchmark").LEVELS.items() if "/" not in k}

#: Markello et al.'s multiverse as the union of two grids
MULTIVERSE_GRIDS: list[dict[str, list[Any]]] = [
    {**_COMMON, "probe_selection": ["average", "diff_stability", "rnaseq"],
     "donor_probes": ["aggregate"]},
    {**_COMMON, "probe_selection": ["max_intensity", "corr_variance", "corr_intensity"],
     "donor_probes": ["aggregate", "independent", "common"]},
]


def multiverse_size() -> int:
    """Number of variants of :data:`MULTIVERSE_GRIDS` (373,248).

    Returns
    -------
    n : int
    """
    total = 0
    for grid in MULTIVERSE_GRIDS:
        n = 1
        for values in grid.values():
            n *= len(values)
        total += n
    return total


def multiverse_list(n: int | None = None) -> list[dict[str, Any]]:
    """The first `n` variants of the multiverse as option dicts, in grid order.

    Parameters
    ----------
    n : int, optional
        How many (default: all).

    Returns
    -------
    variants : list of dict
    """
    out: list[dict[str, Any]] = []
    for grid in MULTIVERSE_GRIDS:
        names = sorted(grid)
        for values in itertools.product(*(grid[k] for k in names)):
            if n is not None and len(out) >= n:
                return out
            out.append(dict(zip(names, values, strict=True)))
    return out


def config(size: int, form: str) -> dict[str, Any]:
    """The workflow config of a sweep of `size` variants (one atlas, all donors).

    Parameters
    ----------
    size : int
        373248 (the multiverse) or fewer (the first `size` of it).
    form : {'grids', 'list'}
        ``sweep: {grids: ...}`` (the whole multiverse only) or ``sweep: {list: ...}``.

    Returns
    -------
    config : dict
    """
    if form == "grids" and size == MULTIVERSE:
        sweep: dict[str, Any] = {"grids": [dict(g) for g in MULTIVERSE_GRIDS]}
    else:
        sweep = {"list": multiverse_list(size)}
    return {"donors": "all", "atlases": {"dk": {"builtin": "dk-volume"}},
            "variants": {}, "sweep": sweep, "outputs": {"save_donors": False}}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run_part(part: str, size: int, form: str) -> dict[str, Any]:
    """Run and time one part in this process.

    Parameters
    ----------
    part : {'expand', 'check', 'check-memo', 'keys', 'keys-memo', 'build', 'cache-read'}
    size : int
    form : {'grids', 'list'}

    Returns
    -------
    row : dict
        ``part``, ``size``, ``form``, ``seconds`` and ``cpu_seconds`` (the part
        alone; None when the part does not exist in this version), ``variants``
        (how many it saw), ``peak_rss_mb`` (this process, at the end).
    """
    from abagen_core import options
    from abagen_core.donors import check_donors
    from abagen_core.options import check_options, stage_key
    from abagen_core.workflow import plan as plan_module
    from abagen_core.workflow.plan import STAGES, build_plan, expand_sweep

    cfg = config(size, form)
    donors = check_donors("all")
    missing = (part.endswith("-memo") and not hasattr(options, "OptionsChecker")) or \
        (part == "cache-read" and not hasattr(plan_module, "cached_plan"))
    if missing:
        return {"part": part, "size": size, "form": form, "seconds": None,
                "cpu_seconds": None, "variants": 0, "peak_rss_mb": round(_peak_mb(), 1)}
    t0, c0 = time.perf_counter(), time.process_time()
    if part == "build":
        plan = build_plan(cfg, base=REPO)
        n = len(plan.variants)
    elif part == "cache-read":
        with tempfile.TemporaryDirectory() as folder:
            plan_module.cached_plan(cfg, REPO, folder, write=True)
            t0, c0 = time.perf_counter(), time.process_time()
            plan = plan_module.cached_plan(cfg, REPO, folder, write=False)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = len(plan.variants)
    else:
        variants = expand_sweep(cfg["sweep"])
        n = len(variants)
        if part != "expand":
            check = options.OptionsChecker() if part == "check-memo" else check_options
            t0, c0 = time.perf_counter(), time.process_time()
            checked = [check(dict(o, donors=donors)) for o in variants.values()]
        if part == "keys":
            t0, c0 = time.perf_counter(), time.process_time()
            for opts in checked:
                staged = dict(opts, native=False)
                for stage in STAGES:
                    stage_key(staged, stage)
        elif part == "keys-memo":
            keys = options.StageKeys(STAGES)
            t0, c0 = time.perf_counter(), time.process_time()
            for opts in checked:
                keys(opts, native=False)
    if part != "cache-read":
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"part": part, "size": size, "form": form, "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu, 3), "variants": n, "peak_rss_mb": round(_peak_mb(), 1)}


def main(argv: list[str] | None = None) -> int:
    """Command line: time the parts in child processes and print a table.

    Parameters
    ----------
    argv : list of str, optional

    Returns
    -------
    status : int
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=f"1000,{MULTIVERSE}",
                        help="comma-separated sweep sizes (default: 1000,373248)")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated parts (default: {','.join(PARTS)})")
    parser.add_argument("--form", choices=("grids", "list"), default="grids",
                        help="how the multiverse is written in the config (default: grids)")
    parser.add_argument("--run", choices=PARTS, help="run one part here (JSON line)")
    parser.add_argument("--size", type=int, default=MULTIVERSE, help="with --run")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    if args.run:
        print(json.dumps(run_part(args.run, args.size, args.form)), flush=True)
        return 0
    rows = []
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        for part in (p.strip() for p in args.parts.split(",") if p.strip()):
            cmd = [sys.executable, __file__, "--run", part, "--size", str(size),
                   "--form", args.form]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                print(proc.stderr[-3000:], file=sys.stderr)
                return proc.returncode
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            row["process_s"] = round(wall, 2)
            rows.append(row)
            if row["seconds"] is None:
                timing = f"{'(not in this version)':>27}"
            else:
                timing = f"{row['seconds']:>9.2f} s (CPU {row['cpu_seconds']:>7.2f} s)"
            print(f"{row['size']:>8,d} variants  {row['part']:<10} {row['form']:<6}{timing}"
                  f"  peak RSS {row['peak_rss_mb']:>6.0f} MB  (process {wall:.1f} s)",
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
