#!/usr/bin/env python
"""Compare abagen_core with abagen 0.1.3 on option combinations beyond the parity set.

Each variant (a name and keyword arguments of ``get_expression_data``) is run
twice on the same dataset: by ``abagen.get_expression_data`` in the Python
given by ``--abagen-python`` (a venv made by ``abagen_reference.py``; abagen is
only called, its code is never read), and by ``abagen_core.api`` here. The
outputs must agree as the parity set's cases do: same index, columns and NaN
positions, values within 1e-6. One line per variant; the exit status is
1 if any variant differs.

Variants use ``reannotated=False`` unless they say otherwise: abagen 0.1.3's
reannotation crashes on a probe table smaller than the real one (such as the
parity data's), see ../shared/parity/README.md.

Usage::

    python benchmarks/abagen_crosscheck.py --abagen-python /tmp/abagen-venv/bin/python \\
        --data-dir ../shared/parity/data --work /tmp/crosscheck
    python benchmarks/abagen_crosscheck.py ... --variants my_variants.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_VARIANTS", "compare_outputs", "main", "read_outputs", "run_variant"]

#: name -> options; ``"atlas": "surface"`` (default) is the fsaverage5 DK pair,
#: ``"volume"`` the DK volume with its info table, ``"volume-no-info"`` without
DEFAULT_VARIANTS: dict[str, dict[str, Any]] = {
    "surface_interpolate": {"missing": "interpolate"},
    "surface_interpolate_donors": {"missing": "interpolate", "return_donors": True},
    "surface_interpolate_mirror": {"missing": "interpolate", "lr_mirror": "bidirectional"},
    "surface_interpolate_not_matched": {"missing": "interpolate", "norm_matched": False},
    "surface_interpolate_samples": {"missing": "interpolate", "region_agg": "samples"},
    "surface_interpolate_tolerance_mm": {"missing": "interpolate", "tolerance": -3},
    "surface_centroids": {"missing": "centroids"},
    "volume_interpolate": {"atlas": "volume", "missing": "interpolate"},
    "volume_interpolate_no_info": {"atlas": "volume-no-info", "missing": "interpolate"},
    "volume_interpolate_median": {"atlas": "volume", "missing": "interpolate",
                                  "agg_metric": "median", "return_donors": True},
}

#: child script: standard library at the top level, so it runs in abagen's
#: venv as in ours; writes every returned frame as CSV plus an index file
_CHILD = r'''
import importlib, json, sys
spec = json.load(open(sys.argv[1]))
mod = importlib.import_module(spec["module"])
atlas, info = spec["atlas"], spec["atlas_info"]
if isinstance(atlas, list):
    atlas = tuple(atlas)
opts = dict(spec["options"], verbose=0)
out = mod.get_expression_data(atlas, info, data_dir=spec["data_dir"], **opts)
frames = out if isinstance(out, dict) else {"all": out}
files = {}
for key, frame in frames.items():
    path = spec["prefix"] + str(key) + ".csv"
    frame.to_csv(path)
    files[str(key)] = path
json.dump(files, open(spec["prefix"] + "index.json", "w"))
'''


def _atlas(kind: str) -> tuple[Any, Any]:
    from abagen_core.utils import data_path

    if kind == "volume":
        return (str(data_path("atlas-desikankilliany.nii.gz")),
                str(data_path("atlas-desikankilliany.csv")))
    if kind == "volume-no-info":
        return str(data_path("atlas-desikankilliany.nii.gz")), None
    if kind == "surface":
        return [str(data_path(f"atlas-desikankilliany-{h}.label.gii.gz")) for h in ("lh", "rh")], None
    raise ValueError(f"Unknown atlas {kind!r} in a variant: use 'surface', 'volume' or "
                     "'volume-no-info'.")


def _start(python: str, module: str, options: Mapping[str, Any], data_dir: Path,
           prefix: Path) -> subprocess.Popen:
    """Start one variant in `python` (output files under `prefix`)."""
    opts = dict(options)
    atlas, info = _atlas(opts.pop("atlas", "surface"))
    opts.setdefault("reannotated", False)
    spec = {"module": module, "atlas": atlas, "atlas_info": info, "data_dir": str(data_dir),
            "options": opts, "prefix": str(prefix)}
    prefix.parent.mkdir(parents=True, exist_ok=True)
    spec_file = Path(f"{prefix}spec.json")
    spec_file.write_text(json.dumps(spec, indent=1))
    child = prefix.parent / "child.py"
    child.write_text(_CHILD)
    # abagen 0.1.3 looks for RNA-seq data (probe_selection='rnaseq') under
    # $ABAGEN_DATA, and downloads it when not found there
    env = dict(os.environ, ABAGEN_DATA=str(data_dir))
    return subprocess.Popen([python, str(child), str(spec_file)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _finish(proc: subprocess.Popen, prefix: Path) -> tuple[dict[str, str] | None, str]:
    """(files, "") or (None, the error's last line) of a started variant."""
    _, err = proc.communicate()
    if proc.returncode != 0:
        return None, (err.strip().splitlines() or ["?"])[-1]
    return json.loads(Path(f"{prefix}index.json").read_text()), ""


def _run(python: str, module: str, options: Mapping[str, Any], data_dir: Path,
         prefix: Path) -> tuple[dict[str, str] | None, str]:
    """Run one variant in `python`; (files, "") or (None, the error's last line)."""
    return _finish(_start(python, module, options, data_dir, prefix), prefix)


def run_variant(abagen_python: str, options: Mapping[str, Any], data_dir: Path, work: Path
                ) -> tuple[str, float, str]:
    """Run one variant through abagen and abagen_core (at the same time) and compare.

    Returns
    -------
    status : {'ok', 'FAIL', 'both fail'}
    max_diff : float
        NaN when nothing compares.
    detail : str
        The problems found, or the errors.
    """
    sides = (("abagen", abagen_python, "abagen"), ("ours", sys.executable, "abagen_core.api"))
    procs = {side: (_start(python, module, options, data_dir, work / f"{side}_"),
                    work / f"{side}_") for side, python, module in sides}
    runs = {side: _finish(proc, prefix) for side, (proc, prefix) in procs.items()}
    if runs["abagen"][0] is None or runs["ours"][0] is None:
        # both refusing is agreement only if abagen refuses too
        both = runs["abagen"][0] is None and runs["ours"][0] is None
        return ("both fail" if both else "FAIL", np.nan,
                f"abagen: {runs['abagen'][1] or 'ok'} | ours: {runs['ours'][1] or 'ok'}")
    worst, problems = compare_outputs(read_outputs(runs["abagen"][0]),
                                      read_outputs(runs["ours"][0]))
    return ("FAIL" if problems else "ok"), worst, "; ".join(problems)


def read_outputs(files: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """The frames a run wrote (key -> frame), read with a correctly rounding parser."""
    from abagen_core.parity import read_frame

    return {key: read_frame(path) for key, path in files.items()}


def compare_outputs(ref: Mapping[str, pd.DataFrame], ours: Mapping[str, pd.DataFrame]
                    ) -> tuple[float, list[str]]:
    """Largest absolute difference and the problems found under the parity rules.

    Parameters
    ----------
    ref, ours : mapping of str -> pandas.DataFrame
        Frames by key (``"all"`` or donor ids).

    Returns
    -------
    max_diff : float
        Over the values both sides have (NaN where nothing compares).
    problems : list of str
        Empty when every frame matches (:func:`abagen_core.parity.compare_frame`).
    """
    from abagen_core.parity import compare_frame

    if sorted(ref) != sorted(ours):
        return np.nan, [f"outputs {sorted(ref)} vs {sorted(ours)}"]
    worst, problems = np.nan, []
    for key in ref:
        problems += compare_frame(ours[key], ref[key], key)
        if ours[key].shape == ref[key].shape:
            diff = np.abs(ours[key].to_numpy(dtype=np.float64) - ref[key].to_numpy(dtype=np.float64))
            if np.isfinite(diff).any():
                worst = np.nanmax([worst, np.nanmax(diff)])
    return worst, problems


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--abagen-python", required=True,
                   help="interpreter with abagen 0.1.3 (see benchmarks/abagen_reference.py)")
    p.add_argument("--data-dir", type=Path, required=True,
                   help="AHBA-format dataset (e.g. ../shared/parity/data)")
    p.add_argument("--work", type=Path, default=Path("crosscheck"),
                   help="folder for the outputs of both runs")
    p.add_argument("--variants", type=Path,
                   help="JSON file of name -> options (default: the built-in set)")
    args = p.parse_args(argv)
    if not args.data_dir.is_dir():
        p.error(f"--data-dir {args.data_dir} is not a folder; give a dataset in the AHBA "
                "download layout (e.g. ../shared/parity/data).")
    from abagen_reference import abagen_version

    version = abagen_version(args.abagen_python)
    if version is None:
        p.error(f"{args.abagen_python} cannot import abagen; create a venv with "
                "python benchmarks/abagen_reference.py --venv DIR")
    variants = (json.loads(args.variants.read_text()) if args.variants
                else DEFAULT_VARIANTS)
    print(f"abagen {version} ({args.abagen_python}) vs abagen_core ({sys.executable}); "
          f"data {args.data_dir}")
    failed = 0
    for name, options in variants.items():
        status, worst, detail = run_variant(args.abagen_python, options,
                                            args.data_dir.resolve(), args.work / name)
        failed += status == "FAIL"
        if status in ("FAIL", "both fail") and not np.isfinite(worst):
            print(f"{status:9s} {name}: {detail}")
            continue
        print(f"{status:9s} {name}: max |diff| {worst:.2e}" + (f" ({detail})" if detail else ""))
    print(f"{len(variants) - failed} of {len(variants)} variants agree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
