"""Running the parity cases (abagen 0.1.3's outputs) through this package.

``expected/cases.json`` of a parity set lists, per case, the function, its
keyword arguments (with symbolic inputs) and the files abagen wrote. This
module resolves the inputs, runs our implementation and compares; the test
suite and ``python -m abagen_core.parity`` use it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abagen_core import api
from abagen_core.donors import DONORS
from abagen_core.outputs.report import as_abagen_text
from abagen_core.utils import data_path

__all__ = ["load_cases", "resolve_kwargs", "run_case", "read_frame", "compare_frame", "check_case"]

TOL = 1e-6


def load_cases(root: Path) -> list[dict[str, Any]]:
    """All cases of a parity set rooted at `root` (holding data/ and expected/).

    Parameters
    ----------
    root : path-like
        Parity set folder.

    Returns
    -------
    cases : list of dict
    """
    return json.loads((Path(root) / "expected" / "cases.json").read_text())["cases"]


def _input(name: str, root: Path) -> Any:
    table = {
        "dk_volume": lambda: str(data_path("atlas-desikankilliany.nii.gz")),
        "dk_info": lambda: str(data_path("atlas-desikankilliany.csv")),
        "dk_surface": lambda: (str(data_path("atlas-desikankilliany-lh.label.gii.gz")),
                               str(data_path("atlas-desikankilliany-rh.label.gii.gz"))),
        "dk_native": lambda: {d: str(data_path("native_dk", d, "atlas-desikankilliany.nii.gz"))
                              for d in DONORS},
        "dk_native_surface": lambda: {
            d: (str(data_path("native_dk", d, "atlas-desikankilliany-lh.label.gii.gz")),
                str(data_path("native_dk", d, "atlas-desikankilliany-rh.label.gii.gz")))
            for d in DONORS},
    }
    if name in table:
        return table[name]()
    path = Path(root) / "expected" / "inputs" / f"{name}.nii.gz"
    if path.exists():
        return str(path)
    raise KeyError(f"unknown parity input {name!r}")


def resolve_kwargs(kwargs: dict[str, Any], root: Path) -> dict[str, Any]:
    """Replace the symbolic inputs of a case's kwargs with real objects.

    Parameters
    ----------
    kwargs : dict
        A case's keyword arguments: ``'$DATA'`` (the set's ``data/`` folder),
        ``{'$input': name}`` (a bundled atlas or ``expected/inputs/<name>.nii.gz``)
        and ``{'$dir': path}`` (a folder under `root`) are replaced.
    root : path-like
        Parity set folder.

    Returns
    -------
    kwargs : dict
    """
    out = {}
    for key, value in kwargs.items():
        if value == "$DATA":
            value = str(Path(root) / "data")
        elif isinstance(value, dict) and "$input" in value:
            value = _input(value["$input"], root)
        elif isinstance(value, dict) and "$dir" in value:
            value = str(Path(root) / value["$dir"])
        out[key] = value
    return out


def run_case(case: dict[str, Any], root: Path) -> Any:
    """Call our implementation of the case's function with its kwargs.

    Parameters
    ----------
    case : dict
        One entry of ``cases.json`` (``func``, ``kwargs``).
    root : path-like
        Parity set folder.

    Returns
    -------
    result : object
        What the function returns.
    """
    kwargs = resolve_kwargs(case["kwargs"], root)
    func = {"get_expression_data": api.get_expression_data,
            "get_samples_in_mask": api.get_samples_in_mask,
            "get_interpolated_map": api.get_interpolated_map}[case["func"]]
    return func(**kwargs)


def read_frame(path: Path | str) -> pd.DataFrame:
    """A CSV written by abagen (or by pandas), read with a correctly rounding parser.

    Parameters
    ----------
    path : path-like
        CSV file (optionally gzipped) with the index in its first column.

    Returns
    -------
    frame : pandas.DataFrame of shape (n_rows, n_columns)
    """
    kw = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
    return pd.read_csv(path, index_col=0, **kw)


def compare_frame(got: pd.DataFrame, expected: pd.DataFrame, what: str = "") -> list[str]:
    """Differences between two frames under the parity rules (empty = match).

    Parameters
    ----------
    got, expected : pandas.DataFrame of shape (n_rows, n_columns)
    what : str, default=''
        Name of the output, prefixed to each message.

    Returns
    -------
    problems : list of str
        Empty when the frames match.
    """
    problems = []
    if got.shape != expected.shape:
        return [f"{what}: shape {got.shape} != {expected.shape}"]
    gi = [str(x) for x in got.index]
    ei = [str(x) for x in expected.index]
    if gi != ei:
        return [f"{what}: index differs (first: {[(a, b) for a, b in zip(gi, ei, strict=True) if a != b][:3]})"]
    gc = [str(x) for x in got.columns]
    ec = [str(x) for x in expected.columns]
    if gc != ec:
        return [f"{what}: columns differ (first: {[(a, b) for a, b in zip(gc, ec, strict=True) if a != b][:3]})"]
    a = got.to_numpy(dtype=np.float64)
    b = expected.to_numpy(dtype=np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return [f"{what}: NaN positions differ ({int(np.isnan(a).sum())} vs {int(np.isnan(b).sum())})"]
    diff = np.nanmax(np.abs(a - b)) if np.isfinite(a).any() else 0.0
    if diff > TOL:
        return [f"{what}: max abs diff {diff:.3g}"]
    return problems


def strip_synthetic_notice(text: str) -> str:
    """Remove the warning paragraph we prepend to reports on synthetic data.

    abagen does not know about synthetic data; everything after our notice
    must equal its text.

    Parameters
    ----------
    text : str
        A methods report.

    Returns
    -------
    text : str
    """
    if text.startswith("WARNING:") and "synthetic" in text.split("\n\n", 1)[0]:
        return text.split("\n\n", 1)[1]
    return text


def _compare_expression(expression: Any, outputs: dict[str, Any], folder: Path) -> list[str]:
    """Compare one expression frame, or a dict of donor frames, with abagen's files."""
    if isinstance(expression, dict):
        problems = []
        for donor, spec in outputs["expression"].items():
            problems += compare_frame(expression[donor], read_frame(folder / spec["file"]),
                                      f"expression[{donor}]")
        return problems
    return compare_frame(expression, read_frame(folder / "expression.csv.gz"), "expression")


def check_case(case: dict[str, Any], root: Path) -> list[str]:
    """Run one `ok` case and compare all its outputs; returns the problems.

    Parameters
    ----------
    case : dict
        One entry of ``cases.json`` with status ``'ok'``.
    root : path-like
        Parity set folder.

    Returns
    -------
    problems : list of str
        Empty when every output matches.
    """
    folder = Path(root) / "expected" / case["name"]
    result = run_case(case, root)
    outputs = case["outputs"]
    if case["func"] == "get_expression_data":
        kw = case["kwargs"]
        items = [result] if not isinstance(result, tuple) else list(result)
        expression = items.pop(0)
        problems = _compare_expression(expression, outputs, folder)
        if kw.get("return_counts"):
            counts = items.pop(0)
            problems += compare_frame(counts.astype(float),
                                      read_frame(folder / "counts.csv").astype(float), "counts")
        if kw.get("return_report"):
            # abagen's text except our software sentence (the one deliberate change)
            text = as_abagen_text(strip_synthetic_notice(items.pop(0)))
            if text != (folder / "report.txt").read_text():
                problems.append("report text differs")
        return problems
    if case["func"] == "get_samples_in_mask":
        expression, coords = result
        problems = _compare_expression(expression, outputs, folder)
        if not isinstance(expression, dict):
            exp_coords = read_frame(folder / "coords.csv.gz")
            got = pd.DataFrame(np.asarray(coords), index=expression.index,
                               columns=exp_coords.columns)
            problems += compare_frame(got, exp_coords, "coords")
        return problems
    if case["func"] == "get_interpolated_map":
        expected = np.load(folder / "dense.npz")
        problems = []
        for gene in outputs["dense"]["genes"]:
            img = result[gene]
            arr = np.asarray(img.get_fdata() if hasattr(img, "get_fdata") else img)
            ref = expected[gene]
            if arr.shape != ref.shape:
                problems.append(f"{gene}: shape {arr.shape} != {ref.shape}")
            elif np.nanmax(np.abs(arr - ref)) > TOL:
                problems.append(f"{gene}: max abs diff {np.nanmax(np.abs(arr - ref)):.3g}")
        return problems
    raise ValueError(f"unknown function {case['func']}")


def main(argv: list[str] | None = None) -> int:
    """Command line: run the `ok` cases of a parity set and print one line per case.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``): the parity set folder, and
        ``-k TEXT`` to run only the cases whose name contains TEXT.

    Returns
    -------
    status : int
        0 when every case matches, else 1.
    """
    parser = argparse.ArgumentParser(
        description="Run parity cases (abagen 0.1.3 outputs) and report matches.")
    parser.add_argument("root", type=Path, help="parity set folder (with data/ and expected/)")
    parser.add_argument("-k", "--select", default="", help="only cases whose name contains this")
    args = parser.parse_args(argv)
    n_ok = n_bad = 0
    for case in load_cases(args.root):
        if case["status"] != "ok" or args.select not in case["name"]:
            continue
        if case["func"] == "probe_intermediates":
            continue
        t0 = time.perf_counter()
        try:
            problems = check_case(case, args.root)
        except Exception as exc:  # noqa: BLE001 - report and continue
            problems = [f"{type(exc).__name__}: {exc}"]
        dt = time.perf_counter() - t0
        status = "ok " if not problems else "BAD"
        n_ok += not problems
        n_bad += bool(problems)
        print(f"{status} {case['name']:40s} {dt:6.2f}s {'; '.join(problems)[:200]}", flush=True)
    print(f"{n_ok} matched, {n_bad} differ")
    return 0 if n_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
