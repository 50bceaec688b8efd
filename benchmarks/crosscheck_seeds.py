#!/usr/bin/env python
"""Cross-check abagen_core against abagen 0.1.3 on several synthetic datasets.

For every seed a small synthetic AHBA-format dataset is generated
(``abagen_core.datasets.synth.generate_dataset``, all 6 donors) and, with
``--perturb``, rewritten the way other AHBA-format datasets may differ from
ours: the Ontology.csv rows shuffled, the ``structure_id_path`` of some
sampled structures rewired under other class ids (e.g. cortex below
hippocampus, sulci & spaces, no class id at all), some right-hemisphere
structures re-parented, and every donor's samples in another order
(SampleAnnot rows and matrix columns together). The option families
(:data:`FAMILIES`, volume and surface) then run through abagen (black box)
and ``abagen_core.api`` as in ``abagen_crosscheck.py`` (parity rules: index,
columns, NaN positions, 1e-6). Prints one line per case and a table of
max |diff| per case and seed; exit status 1 if any case differs.

Usage::

    python benchmarks/crosscheck_seeds.py --abagen-python /tmp/abagen-venv/bin/python \\
        --seeds 2-7 --work /tmp/crosscheck-seeds [--perturb] [--n-probes 1000]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from abagen_crosscheck import run_variant  # noqa: E402

__all__ = ["FAMILIES", "KNOWN_ABAGEN_BUGS", "main", "perturb_dataset"]

#: the option families, on the DK surface (default) and volume
FAMILIES: dict[str, dict[str, Any]] = {
    "surface_default": {},
    "surface_tol0": {"tolerance": 0},
    "surface_tol1": {"tolerance": 1},
    "surface_tol4": {"tolerance": 4},
    "surface_tol_mm": {"tolerance": -3},
    "surface_mirror": {"lr_mirror": "bidirectional"},
    "surface_mirror_leftright": {"lr_mirror": "leftright"},
    "surface_mirror_rightleft": {"lr_mirror": "rightleft"},
    "surface_mirror_tol0": {"lr_mirror": "bidirectional", "tolerance": 0},
    "surface_interpolate": {"missing": "interpolate"},
    "surface_interpolate_mirror": {"missing": "interpolate", "lr_mirror": "bidirectional"},
    "surface_centroids": {"missing": "centroids"},
    "surface_samples": {"region_agg": "samples"},
    "surface_not_matched": {"norm_matched": False},
    "surface_structures": {"norm_structures": True, "norm_matched": False},
    "surface_donors": {"return_donors": True},
    "volume_default": {"atlas": "volume"},
    "volume_tol0": {"atlas": "volume", "tolerance": 0},
    "volume_tol4": {"atlas": "volume", "tolerance": 4},
    "volume_mirror": {"atlas": "volume", "lr_mirror": "bidirectional"},
    "volume_mirror_leftright": {"atlas": "volume", "lr_mirror": "leftright"},
    "volume_interpolate_mirror": {"atlas": "volume", "missing": "interpolate",
                                  "lr_mirror": "bidirectional"},
    "volume_centroids": {"atlas": "volume", "missing": "centroids"},
    "volume_samples": {"atlas": "volume", "region_agg": "samples"},
    "volume_structures": {"atlas": "volume", "norm_structures": True, "norm_matched": False},
    "volume_no_info": {"atlas": "volume-no-info"},
    "volume_no_info_mirror": {"atlas": "volume-no-info", "lr_mirror": "bidirectional"},
    "volume_no_info_structures": {"atlas": "volume-no-info", "norm_structures": True},
}

#: abagen 0.1.3 crashes (last line of its error) that are its bugs, not
#: disagreements: reported as 'abagen bug' when ours gives a result
KNOWN_ABAGEN_BUGS = {
    # missing='interpolate' when some donor has a sample in every region (with
    # lr_mirror on the DK volume): nothing left to fill, pandas.concat([])
    "ValueError: No objects to concatenate":
        "missing='interpolate' with a donor that has a sample in every region",
    # the same for missing='centroids' (../shared/parity/README.md)
    "ValueError: Shape of passed values is":
        "missing='centroids' with a donor that has a sample in every region",
}

#: class-defining ontology ids put above a rewired structure (deepest decides)
_REWIRED = (
    ("4008",), ("4249",), ("4008", "4249"), ("4249", "4008"), ("4275", "4008"),
    ("4008", "4275"), ("4696", "9131"), ("9131", "4696"), ("9218", "4008"),
    ("4008", "9218"), ("9352",), ("9352", "4008"), ("4008", "9352"), ("9418",), (),
)
_ONTOLOGY_QUOTED = {"acronym", "name", "structure_id_path", "color_hex_triplet"}
_SAMPLES_QUOTED = {"structure_acronym", "structure_name"}


def _read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _write_rows(path: Path, header: list[str], rows: list[list[str]], quoted: set[str]) -> None:
    """CSV in the AHBA layout: the text columns of `quoted` in double quotes."""
    q = [col in quoted for col in header]
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    for row in rows:
        out.write(",".join('"' + v.replace('"', '""') + '"' if qq else v
                           for v, qq in zip(row, q, strict=True)) + "\n")
    path.write_text(out.getvalue())


def _reorder_columns(src: Path, dst: Path, order: np.ndarray) -> None:
    """Matrix CSV (column 0 = probe id) with its sample columns in `order`."""
    cols = np.r_[0, order + 1]
    with open(src) as fin, open(dst, "w") as fout:
        for line in fin:
            fields = line.rstrip("\n").split(",")
            fout.write(",".join(fields[i] for i in cols) + "\n")


def perturb_dataset(src: str | os.PathLike, dst: str | os.PathLike, seed: int,
                    rewire: float = 0.3, reparent: float = 0.2) -> Path:
    """Copy an AHBA-format dataset with a perturbed ontology and sample order.

    Parameters
    ----------
    src, dst : path-like
        Dataset to read; folder to write (replaced).
    seed : int
        Seed of the perturbation.
    rewire : float, default=0.3
        Fraction of the sampled structures whose ``structure_id_path`` gets
        another chain of class-defining ids above the structure.
    reparent : float, default=0.2
        Fraction of right-hemisphere structures given another parent (their
        left counterpart keeps the acronym).

    Returns
    -------
    dst : pathlib.Path
    """
    src, dst = Path(src), Path(dst)
    rng = np.random.default_rng([int(seed), 18])
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for item in src.iterdir():
        if item.name != "microarray":
            (dst / item.name).symlink_to(item.resolve())
    donors = sorted((src / "microarray").iterdir())
    header, ont = _read_rows(donors[0] / "Ontology.csv")
    col = {name: i for i, name in enumerate(header)}
    used: set[str] = set()
    for folder in donors:
        s_header, s_rows = _read_rows(folder / "SampleAnnot.csv")
        used.update(r[s_header.index("structure_id")] for r in s_rows)
    for row in ont:
        sid = row[col["id"]]
        if sid in used and rng.random() < rewire:
            chain = _REWIRED[rng.integers(len(_REWIRED))]
            row[col["structure_id_path"]] = "/" + "/".join(("4005", *chain, sid)) + "/"
        if row[col["hemisphere"]] == "R" and rng.random() < reparent:
            row[col["parent_structure_id"]] = "4006"
    ont = [ont[i] for i in rng.permutation(len(ont))]
    for folder in donors:
        out = dst / "microarray" / folder.name
        out.mkdir(parents=True)
        for item in folder.iterdir():
            if item.name not in ("Ontology.csv", "SampleAnnot.csv", "MicroarrayExpression.csv",
                                 "PACall.csv"):
                (out / item.name).symlink_to(item.resolve())
        _write_rows(out / "Ontology.csv", header, ont, _ONTOLOGY_QUOTED)
        s_header, s_rows = _read_rows(folder / "SampleAnnot.csv")
        order = rng.permutation(len(s_rows))
        _write_rows(out / "SampleAnnot.csv", s_header, [s_rows[i] for i in order],
                    _SAMPLES_QUOTED)
        for name in ("MicroarrayExpression.csv", "PACall.csv"):
            _reorder_columns(folder / name, out / name, order)
    return dst


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--abagen-python", required=True,
                   help="interpreter with abagen 0.1.3 (see benchmarks/abagen_reference.py)")
    p.add_argument("--seeds", type=_seeds, default=_seeds("2-6"),
                   help="seeds, e.g. '2-6' or '2,5,9'")
    p.add_argument("--work", type=Path, default=Path("crosscheck-seeds"),
                   help="folder for the datasets (seed<N>[-perturbed]/, reused when "
                        "present) and the outputs (runs/)")
    p.add_argument("--n-probes", type=int, default=1000, help="probes per dataset")
    p.add_argument("--perturb", action="store_true",
                   help="perturb ontology and sample order (see perturb_dataset)")
    p.add_argument("--variants", type=Path,
                   help="JSON file of name -> options (default: FAMILIES)")
    args = p.parse_args(argv)
    from abagen_core.datasets.synth import generate_dataset

    variants = json.loads(args.variants.read_text()) if args.variants else FAMILIES
    table: dict[str, dict[int, str]] = {name: {} for name in variants}
    failed, worst_all = 0, 0.0
    for seed in args.seeds:
        data = args.work / f"seed{seed}"
        if not (data / "synth_manifest.json").exists():
            generate_dataset(data, n_probes=args.n_probes, seed=seed, mri=False)
        if args.perturb:
            data = perturb_dataset(data, args.work / f"seed{seed}-perturbed", seed)
        print(f"== seed {seed}: {data}", flush=True)
        for name, options in variants.items():
            status, worst, detail = run_variant(args.abagen_python, options, data.resolve(),
                                                args.work / "runs" / data.name / name)
            if status == "FAIL" and detail.endswith("| ours: ok") and any(
                    detail.startswith(f"abagen: {msg}") for msg in KNOWN_ABAGEN_BUGS):
                status = "abagen bug"
            failed += status == "FAIL"
            if np.isfinite(worst):
                worst_all = max(worst_all, worst)
            table[name][seed] = (f"{worst:.1e}" if status == "ok" else
                                 status if status in ("both fail", "abagen bug")
                                 else f"FAIL {worst:.1e}")
            print(f"{status:9s} {name}: max |diff| {worst:.2e}" + (f" ({detail})" if detail
                                                                      else ""), flush=True)
    width = max(map(len, table))
    print("\n" + "case".ljust(width) + "".join(f" | seed {s:<8d}" for s in args.seeds))
    for name, cells in table.items():
        print(name.ljust(width) + "".join(f" | {cells[s]:<13s}" for s in args.seeds))
    n = len(variants) * len(args.seeds)
    bugs = sum(cell == "abagen bug" for cells in table.values() for cell in cells.values())
    print(f"{n - failed} of {n} cases agree ({bugs} of them abagen crashes on a known bug "
          f"while ours runs: {'; '.join(KNOWN_ABAGEN_BUGS.values())}); "
          f"largest |diff| {worst_all:.2e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
