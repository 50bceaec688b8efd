"""benchmarks/abagen_crosscheck.py: the comparison and its plumbing (abagen is not needed).

A stand-in ``abagen`` package that forwards to abagen_core plays abagen's side,
so the script's whole path runs; whatever it compares must then agree.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BUNDLED_PARITY

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cc():
    """The script, imported from its file (benchmarks/ is not a package)."""
    for name in ("abagen_reference", "abagen_crosscheck"):
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    yield sys.modules["abagen_crosscheck"]
    for name in ("abagen_reference", "abagen_crosscheck"):
        sys.modules.pop(name, None)


def _frame(values, index=(1, 2), columns=("A", "B")):
    return pd.DataFrame(np.asarray(values, dtype=float), index=list(index), columns=list(columns))


def test_compare_outputs_agreement_and_each_kind_of_difference(cc):
    ref = {"all": _frame([[1.0, np.nan], [2.0, 3.0]])}
    worst, problems = cc.compare_outputs(ref, {"all": _frame([[1.0 + 1e-9, np.nan], [2.0, 3.0]])})
    assert problems == [] and worst == pytest.approx(1e-9)
    _, problems = cc.compare_outputs(ref, {"all": _frame([[1.1, np.nan], [2.0, 3.0]])})
    assert problems and "diff" in problems[0]
    _, problems = cc.compare_outputs(ref, {"all": _frame([[1.0, 0.0], [2.0, 3.0]])})
    assert problems and "NaN" in problems[0]
    _, problems = cc.compare_outputs(ref, {"all": _frame([[1.0, np.nan], [2.0, 3.0]],
                                                         index=(1, 3))})
    assert problems and "index" in problems[0]
    _, problems = cc.compare_outputs(ref, {"9861": ref["all"]})
    assert problems and "outputs" in problems[0]


@pytest.fixture
def stand_in_abagen(tmp_path):
    """A Python launcher whose ``abagen`` is abagen_core's API."""
    pkg = tmp_path / "fake" / "abagen"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "from abagen_core.api import get_expression_data  # noqa: F401\n"
        "__version__ = '0.1.3-stand-in'\n")
    launcher = tmp_path / "python"
    launcher.write_text(f"#!/bin/sh\nPYTHONPATH={tmp_path / 'fake'}${{PYTHONPATH:+:$PYTHONPATH}} "
                        f"exec {sys.executable} \"$@\"\n")
    launcher.chmod(0o755)
    return str(launcher)


def test_main_runs_both_sides_and_reports(cc, stand_in_abagen, bundled_parity, tmp_path, capsys):
    variants = tmp_path / "variants.json"
    variants.write_text(json.dumps({
        "surface": {"missing": "interpolate", "donors": ["12876", "15496"],
                    "return_donors": True},
        "refused": {"missing": "nope", "donors": ["12876", "15496"]},
    }))
    rc = cc.main(["--abagen-python", stand_in_abagen, "--data-dir",
                  str(bundled_parity / "data"), "--work", str(tmp_path / "work"),
                  "--variants", str(variants)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "ok        surface: max |diff| 0.00e+00" in out
    assert "both fail refused" in out
    assert "2 of 2 variants agree" in out
    written = json.loads((tmp_path / "work" / "surface" / "abagen_index.json").read_text())
    assert sorted(written) == ["12876", "15496"]


def test_main_refuses_an_interpreter_without_abagen(cc, tmp_path):
    with pytest.raises(SystemExit):
        cc.main(["--abagen-python", sys.executable, "--data-dir", str(BUNDLED_PARITY / "data"),
                 "--work", str(tmp_path)])


def test_perturbed_dataset_keeps_every_sample_with_its_columns(tmp_path):
    """crosscheck_seeds.perturb_dataset: new sample order, same data per well."""
    spec = importlib.util.spec_from_file_location(
        "crosscheck_seeds", REPO / "benchmarks" / "crosscheck_seeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from abagen_core.datasets.synth import generate_dataset

    src = tmp_path / "src"
    generate_dataset(src, n_probes=20, donors=["9861"], rnaseq=False, mri=False)
    dst = module.perturb_dataset(src, tmp_path / "dst", seed=3)
    folder = "microarray/normalized_microarray_donor9861"
    frames = {}
    for root in (src, dst):
        ann = pd.read_csv(root / folder / "SampleAnnot.csv")
        expr = pd.read_csv(root / folder / "MicroarrayExpression.csv", header=None, index_col=0)
        calls = pd.read_csv(root / folder / "PACall.csv", header=None, index_col=0)
        expr.columns = calls.columns = ann["well_id"].to_numpy()
        onto = pd.read_csv(root / folder / "Ontology.csv").set_index("id").sort_index()
        frames[root] = ann.set_index("well_id"), expr, calls, onto
    (a0, e0, c0, o0), (a1, e1, c1, o1) = frames[src], frames[dst]
    assert not a0.index.equals(a1.index) and sorted(a0.index) == sorted(a1.index)
    pd.testing.assert_frame_equal(a1.loc[a0.index], a0)
    pd.testing.assert_frame_equal(e1[e0.columns], e0)
    pd.testing.assert_frame_equal(c1[c0.columns], c0)
    assert o0.index.equals(o1.index) and (o0["acronym"] == o1["acronym"]).all()
    assert (o0["structure_id_path"] != o1["structure_id_path"]).any()
