"""explain_genes: the step where each gene left, consistent with the result's columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abagen_core import api
from abagen_core.stages import probes
from abagen_core.stages.explain import GENE_STATUSES, explain_genes
from abagen_core.utils import data_path

DONORS = ["12876", "15496"]
ATLAS = str(data_path("atlas-desikankilliany.nii.gz"))


def _explained(data_dir, genes=None, **options):
    """api.explain_genes with the test's default options, and those options."""
    opts = dict(ibf_threshold=0.5, probe_selection="max_intensity", donor_probes="aggregate",
                reannotated=True)
    opts.update(options)
    return api.explain_genes(genes, donors=DONORS, data_dir=str(data_dir), **opts), opts


@pytest.mark.parametrize("options", [
    {},
    {"reannotated": False},
    {"probe_selection": "average"},
    {"donor_probes": "independent"},
    {"ibf_threshold": 0.9},
    {"lr_mirror": "bidirectional", "corrected_mni": False},
])
def test_kept_genes_are_exactly_the_result_columns(bundled_parity, options):
    table, opts = _explained(bundled_parity / "data", **options)
    expression = api.get_expression_data(ATLAS, donors=DONORS,
                                         data_dir=str(bundled_parity / "data"), **opts)
    kept = table.index[table["status"] == "kept"]
    assert sorted(kept) == sorted(expression.columns)
    assert set(table["status"].dropna()) <= set(GENE_STATUSES)
    # every explained gene left at exactly one step, with a sentence saying why
    assert table["detail"].str.len().gt(0).all()


def test_intensity_figures_decide_the_filter(bundled_parity):
    table, opts = _explained(bundled_parity / "data", ibf_threshold=0.6)
    below = table[table["status"] == "below_intensity"]
    above = table[table["status"].isin(["kept", "not_selected"])]
    assert len(below) and len(above)
    assert (below["signal_fraction"] < 0.6).all()
    assert (above["signal_fraction"] >= 0.6).all()
    assert (below["n_probes_above_threshold"] == 0).all()
    # the pooled fraction lies between the donors' fractions
    donors = table[[f"fraction_{d}" for d in DONORS]]
    ok = table["signal_fraction"].notna()
    assert (table.loc[ok, "signal_fraction"] <= donors[ok].max(axis=1) + 1e-12).all()
    assert (table.loc[ok, "signal_fraction"] >= donors[ok].min(axis=1) - 1e-12).all()


def test_reannotation_and_entrez_steps():
    table = pd.DataFrame({"probe_name": ["p1", "p2", "p3", "p4"],
                          "gene_symbol": ["A", "B", "C", "D"],
                          "entrez_id": [1.0, 2.0, np.nan, 4.0]},
                         index=pd.Index([1, 2, 3, 4], name="probe_id"))
    # reannotation: p1 -> A, p2 -> A (B disappears), p3 -> C without Entrez, p4 absent
    annotated = pd.DataFrame({"probe_name": ["p1", "p2", "p3"],
                              "gene_symbol": ["A", "A", "C"],
                              "entrez_id": [1.0, 1.0, np.nan]},
                             index=pd.Index([1, 2, 3], name="probe_id"))
    summary = probes.PACallSummary(pd.Series([4, 1], index=pd.Index([1, 2], name="probe_id")),
                                   4)
    kept = annotated.loc[[1]]
    selection = pd.DataFrame({"probe_id": [1]}, index=pd.Index(["A"], name="gene_symbol"))
    out = explain_genes(table, annotated, {"9861": summary}, kept, selection,
                        ibf_threshold=0.5, reannotated=True,
                        genes=["A", "B", "C", "D", "NOPE"])
    assert list(out["status"].iloc[:4]) == ["kept", "not_in_reannotation", "no_entrez_id",
                                            "not_in_reannotation"]
    assert pd.isna(out.loc["NOPE", "status"])
    assert out.loc["A", "probe"] == "1" and out.loc["A", "n_probes"] == 2
    assert out.loc["A", "signal_fraction"] == 1.0  # the best of its two probes


def test_below_threshold_names_the_fraction():
    annotated = pd.DataFrame({"probe_name": ["p1"], "gene_symbol": ["A"], "entrez_id": [1.0]},
                             index=pd.Index([1], name="probe_id"))
    summaries = {"9861": probes.PACallSummary(pd.Series([1], index=annotated.index), 4),
                 "10021": probes.PACallSummary(pd.Series([0], index=annotated.index), 6)}
    out = explain_genes(annotated, annotated, summaries, annotated.iloc[:0], None,
                        ibf_threshold=0.5, reannotated=False)
    row = out.loc["A"]
    assert row["status"] == "below_intensity"
    assert row["signal_fraction"] == pytest.approx(0.1)
    assert row["fraction_9861"] == pytest.approx(0.25) and row["fraction_10021"] == 0
    assert "10.0%" in row["detail"] and "ibf_threshold=0.5" in row["detail"]


def test_a_few_genes_by_name(bundled_parity):
    everything, _ = _explained(bundled_parity / "data")
    some = list(everything.index[:3]) + ["NOT_A_GENE"]
    table, _ = _explained(bundled_parity / "data", genes=some)
    assert list(table.index) == some
    pd.testing.assert_frame_equal(table.iloc[:3], everything.iloc[:3])
    assert pd.isna(table.loc["NOT_A_GENE", "status"])
    single, _ = _explained(bundled_parity / "data", genes=some[0])
    assert list(single.index) == some[:1]
