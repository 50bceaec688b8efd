"""Tests for abagen_core.stages.probes: reannotation, intensity filter, probe selection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abagen_core.errors import InvalidOptionError
from abagen_core.stages import probes as pr

PARITY = Path(__file__).resolve().parents[2] / "shared" / "parity"
DONORS = ["9861", "10021", "12876", "14380", "15496", "15697"]


# --------------------------------------------------------------------------
# seeded toy data
# --------------------------------------------------------------------------


def _probes(genes: list[str], start: int = 100) -> pd.DataFrame:
    ids = np.arange(start, start + len(genes), dtype="int64")
    return pd.DataFrame(
        {
            "probe_name": [f"P{i}" for i in ids],
            "gene_symbol": genes,
            "entrez_id": np.arange(len(genes), dtype="int64") + 1,
        },
        index=pd.Index(ids, name="probe_id"),
    )


def _annotation(n: int, structures: list[int] | None = None, ids=None) -> pd.DataFrame:
    ids = np.arange(1, n + 1) if ids is None else np.asarray(ids)
    if structures is None:
        structures = [4000 + (i % 5) for i in range(len(ids))]
    return pd.DataFrame(
        {"well_id": ids * 10, "structure_id": structures},
        index=pd.Index(ids, name="sample_id"),
    )


def _donor(rng, probes, n, shift=0.0):
    values = rng.normal(6 + shift, 1, size=(len(probes), n))
    return pd.DataFrame(values, index=probes.index, columns=np.arange(1, n + 1))


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    probes = _probes(["A", "A", "A", "B", "B", "C", "D", "D", "D", "D"])
    micro = {d: _donor(rng, probes, 30 + 5 * i, shift=i * 0.1) for i, d in enumerate(DONORS[:3])}
    annot = {d: _annotation(m.shape[1]) for d, m in micro.items()}
    return probes, micro, annot


# --------------------------------------------------------------------------
# options
# --------------------------------------------------------------------------


def test_invalid_probe_selection_names_parameter(toy):
    probes, micro, annot = toy
    with pytest.raises(InvalidOptionError, match="probe_selection"):
        pr.select_probes(micro, annot, probes, method="foo")
    with pytest.raises(ValueError, match="probe_selection"):
        pr.probe_summaries(micro["9861"], annot["9861"], probes, "max")


def test_invalid_donor_probes_names_parameter(toy):
    probes, micro, annot = toy
    with pytest.raises(InvalidOptionError, match="donor_probes"):
        pr.select_probes(micro, annot, probes, "max_intensity", donor_probes="each")


@pytest.mark.parametrize("method", ["average", "mean", "diff_stability", "rnaseq"])
@pytest.mark.parametrize("donor_probes", ["independent", "common"])
def test_aggregate_only_methods_reset(method, donor_probes):
    assert pr.check_donor_probes(donor_probes, method) == "aggregate"


def test_mean_is_alias_of_average():
    assert pr.check_probe_selection("mean") == "average"


# --------------------------------------------------------------------------
# annotation
# --------------------------------------------------------------------------


def test_reannotate_inner_join_sorted():
    probes = pd.DataFrame(
        {"probe_name": ["x", "y", "z"], "gene_symbol": ["old"] * 3, "entrez_id": [1.0] * 3},
        index=pd.Index([30, 10, 20], name="probe_id"),
    )
    table = pd.DataFrame(
        {"probe_name": ["z", "x", "w"], "gene_symbol": ["Z", "X", "W"], "entrez_id": [3, np.nan, 5]}
    )
    out = pr.reannotate_probes(probes, table)
    assert out.index.tolist() == [20, 30]
    assert out["gene_symbol"].tolist() == ["Z", "X"]
    kept = pr.filter_probes_without_entrez(out)
    assert kept.index.tolist() == [20]
    assert kept["entrez_id"].dtype == "int64"


def test_reannotate_default_table_loads():
    probes = pd.DataFrame(
        {"probe_name": ["CUST_98_PI416379584", "not-a-probe"]},
        index=pd.Index([2, 1], name="probe_id"),
    )
    out = pr.reannotate_probes(probes)
    assert out.index.tolist() == [2]
    assert out.loc[2, "gene_symbol"] == "ZNF883"


# --------------------------------------------------------------------------
# intensity-based filtering
# --------------------------------------------------------------------------


def test_pacall_summary_counts_repeated_samples():
    pacall = pd.DataFrame([[1, 0, 1], [0, 0, 1]], index=[5, 6], columns=[1, 2, 3])
    annot = _annotation(4, ids=[1, 1, 2, 3])
    summary = pr.pacall_summary(pacall, annot)
    assert summary.n_samples == 4
    assert summary.counts.tolist() == [3, 1]


def test_intensity_filter_threshold_is_inclusive():
    probes = _probes(["A", "B", "C"])
    s1 = pr.PACallSummary(pd.Series([1, 2, 0], index=probes.index), 2)
    s2 = pr.PACallSummary(pd.Series([1, 2, 4], index=probes.index), 4)
    # fractions: 2/6, 4/6, 4/6
    assert pr.intensity_filter([s1, s2], probes, 4 / 6).index.tolist() == [101, 102]
    assert pr.intensity_filter({"a": s1, "b": s2}, probes, 0).shape[0] == 3
    assert pr.intensity_filter([s1, s2], probes, 1).shape[0] == 0


@pytest.mark.parametrize("bad", [-0.1, 1.5, "half"])
def test_intensity_filter_invalid_threshold(bad):
    probes = _probes(["A"])
    s = pr.PACallSummary(pd.Series([1], index=probes.index), 1)
    with pytest.raises(ValueError, match="ibf_threshold"):
        pr.intensity_filter([s], probes, bad)


# --------------------------------------------------------------------------
# probe selection: properties
# --------------------------------------------------------------------------


def _concat(micro, annot, probes):
    return pd.concat([micro[d].loc[probes.index, annot[d].index] for d in micro], axis=1)


@pytest.mark.parametrize("method", ["max_intensity", "max_variance"])
def test_aggregate_equals_concatenated(toy, method):
    probes, micro, annot = toy
    cat = _concat(micro, annot, probes)
    score = cat.mean(axis=1) if method == "max_intensity" else cat.var(axis=1)
    expected = score.groupby(probes["gene_symbol"]).idxmax()
    sel = pr.select_probes(micro, annot, probes, method)
    assert sel["probe_id"].to_dict() == expected.to_dict()


def test_independent_is_per_donor(toy):
    probes, micro, annot = toy
    sel = pr.select_probes(micro, annot, probes, "max_variance", "independent")
    assert list(sel.columns) == [f"probe_id_{d}" for d in micro]
    for d in micro:
        one = pr.select_probes({d: micro[d]}, {d: annot[d]}, probes, "max_variance")
        assert sel[f"probe_id_{d}"].to_dict() == one["probe_id"].to_dict()


def test_ties_go_to_first_probe_id():
    probes = _probes(["A", "A", "A"])
    values = np.tile([1.0, 2.0, 3.0, 4.0], (3, 1))
    values[0] -= 1  # probe 100 lower; 101 and 102 identical
    micro = {"9861": pd.DataFrame(values, index=probes.index, columns=[1, 2, 3, 4])}
    annot = {"9861": _annotation(4)}
    for method in ("max_intensity", "max_variance"):
        sel = pr.select_probes(micro, annot, probes, method)
        assert sel.loc["A", "probe_id"] == (101 if method == "max_intensity" else 100)


def test_common_vote_smallest_probe_id_on_ties(toy):
    probes, micro, annot = toy
    summaries = {d: pr.probe_summaries(micro[d], annot[d], probes, "max_intensity") for d in micro}
    ind = pr.choose_probes(summaries, probes, "max_intensity", "independent")
    com = pr.choose_probes(summaries, probes, "max_intensity", "common")
    assert (com.nunique(axis=1) == 1).all()
    for gene, row in ind.iterrows():
        counts = row.value_counts()
        best = counts[counts == counts.max()].index.min()
        assert com.loc[gene].iloc[0] == best
    assert pr._most_common(np.array([7, 5, 7, 5, 9])) == 5


def test_single_probe_gene_keeps_probe(toy):
    probes, micro, annot = toy
    for method in ("max_intensity", "pc_loading", "corr_variance", "diff_stability"):
        sel = pr.select_probes(micro, annot, probes, method)
        assert sel.loc["C", "probe_id"] == 105


@pytest.mark.parametrize(
    ("corr", "fallback"), [("corr_intensity", "max_intensity"), ("corr_variance", "max_variance")]
)
def test_corr_two_probes_fall_back(toy, corr, fallback):
    probes, micro, annot = toy
    a = pr.select_probes(micro, annot, probes, corr)
    b = pr.select_probes(micro, annot, probes, fallback)
    assert a.loc["B", "probe_id"] == b.loc["B", "probe_id"]


def test_corr_picks_most_correlated_probe():
    rng = np.random.default_rng(1)
    signal = rng.normal(size=200)
    rows = [
        signal + 0.1 * rng.normal(size=200),
        signal + 0.5 * rng.normal(size=200),
        rng.normal(size=200) * 5 + 100,
        signal + 0.8 * rng.normal(size=200),
    ]
    probes = _probes(["G"] * 4)
    micro = {"9861": pd.DataFrame(rows, index=probes.index, columns=np.arange(1, 201))}
    annot = {"9861": _annotation(200)}
    sel = pr.select_probes(micro, annot, probes, "corr_intensity")
    assert sel.loc["G", "probe_id"] == 100  # least noisy copy of the shared signal
    # split the samples over two donors: pooled co-moments give the same answer
    micro2 = {"9861": micro["9861"].iloc[:, :80], "10021": micro["9861"].iloc[:, 80:]}
    micro2["10021"].columns = np.arange(1, 121)
    annot2 = {"9861": _annotation(80), "10021": _annotation(120)}
    summaries = [pr.probe_summaries(micro2[d], annot2[d], probes, "corr_variance") for d in micro2]
    com = pr._combine_comoments(
        [(s.n_samples, s.mean.to_numpy(), s.comoments["G"].to_numpy()) for s in summaries]
    )
    # and the pooled variance agrees with the concatenated one
    mean, m2, n = pr._combine_moments(summaries, probes.index)
    np.testing.assert_allclose(m2 / (n - 1), np.var(np.asarray(rows), axis=1, ddof=1))
    direct = np.cov(np.asarray(rows)) * 199
    np.testing.assert_allclose(com, direct, rtol=1e-10)


def test_pc_loading_prefers_probe_carrying_the_component():
    rng = np.random.default_rng(2)
    signal = rng.normal(size=600) * 3
    rows = [
        rng.normal(size=600),
        signal + rng.normal(size=600),
        -0.2 * signal + rng.normal(size=600),
    ]
    probes = _probes(["G"] * 3)
    micro = {"9861": pd.DataFrame(rows, index=probes.index, columns=np.arange(1, 601))}
    annot = {"9861": _annotation(600)}
    sel = pr.select_probes(micro, annot, probes, "pc_loading")
    assert sel.loc["G", "probe_id"] == 101


def test_diff_stability_needs_two_donors(toy):
    probes, micro, annot = toy
    with pytest.raises(ValueError, match="two donors"):
        pr.select_probes({"9861": micro["9861"]}, {"9861": annot["9861"]}, probes, "diff_stability")


def test_diff_stability_picks_consistent_probe():
    rng = np.random.default_rng(3)
    probes = _probes(["G", "G"])
    pattern = np.arange(8, dtype=float)
    micro, annot = {}, {}
    for d in DONORS[:3]:
        structures = np.repeat(np.arange(4000, 4008), 3)
        stable = pattern[structures - 4000] + 0.05 * rng.normal(size=24)
        noisy = rng.normal(size=24) * 10
        micro[d] = pd.DataFrame([noisy, stable], index=probes.index, columns=np.arange(1, 25))
        annot[d] = _annotation(24, structures=list(structures))
    sel = pr.select_probes(micro, annot, probes, "diff_stability")
    assert sel.loc["G", "probe_id"] == 101


def test_rnaseq_selection_and_dropped_genes():
    rng = np.random.default_rng(4)
    probes = _probes(["G", "G", "H", "K"])
    structures = list(np.repeat(np.arange(4000, 4006), 4))
    micro = {}
    for d in ("9861", "10021", "12876"):
        vals = rng.normal(size=(4, 24))
        micro[d] = pd.DataFrame(vals, index=probes.index, columns=np.arange(1, 25))
    annot = {d: _annotation(24, structures=structures) for d in micro}
    rna = {}
    for d in ("9861", "10021"):
        region_probe = micro[d].T.groupby(np.asarray(structures)).mean().T  # probe x structure
        table = pd.DataFrame(
            [region_probe.loc[101].to_numpy() * 2 + 1, np.zeros(6)],
            index=["G", "H"],
            columns=region_probe.columns,
        )
        rna[d] = table
    sel = pr.select_probes(micro, annot, probes, "rnaseq", rnaseq=rna)
    # K is absent from the RNA-seq data, H is constant there: both dropped
    assert sel.index.tolist() == ["G"]
    assert sel.loc["G", "probe_id"] == 101
    with pytest.raises(ValueError, match="rnaseq"):
        pr.select_probes(
            {"12876": micro["12876"]}, {"12876": annot["12876"]}, probes, "rnaseq", rnaseq=rna
        )


def test_rank_rows_matches_average_ranks():
    from scipy.stats import rankdata

    rng = np.random.default_rng(5)
    ties = rng.integers(0, 4, size=(50, 9)).astype(float)
    distinct = rng.normal(size=(50, 9))
    for x in (ties, distinct):
        np.testing.assert_array_equal(pr._rank_rows(x), rankdata(x, axis=1))


def test_subset_ranks_match_average_ranks_of_the_subset():
    from scipy.stats import rankdata

    rng = np.random.default_rng(6)
    x = rng.normal(size=(60, 12))
    x[:20, 3] = x[:20, 7]  # ties between a subset column and another one
    x[20:30, 1] = x[20:30, 2]  # ties outside the subset only
    x[30:35, 0] = np.nan  # NaN outside the subset
    x[35:40, 4] = np.nan  # NaN inside it
    x[40:45, 5] = x[40:45, 6]  # ties inside it
    rows = pr._row_order(x)
    for cols in (np.array([0, 3, 4, 5, 6, 8]), np.array([3, 4, 5, 6, 7, 9, 11]),
                 np.arange(12)):
        np.testing.assert_array_equal(pr._subset_ranks(rows, cols),
                                      rankdata(x[:, cols], axis=1))


def test_rnaseq_region_expression_groups_by_structure():
    tpm = pd.DataFrame([[1.0, 3.0, 5.0]], index=["G"])
    ann = pd.DataFrame({"ontology_structure_id": [7, 7, 9]})
    out = pr.rnaseq_region_expression(tpm, ann)
    assert out.loc["G"].tolist() == [2.0, 5.0]


# --------------------------------------------------------------------------
# collapsing
# --------------------------------------------------------------------------


def test_collapse_average_and_order(toy):
    probes, micro, annot = toy
    annot = {d: pd.concat([a, a.iloc[:3]]) for d, a in annot.items()}  # repeated ids
    out = pr.collapse_probes(micro, annot, probes, "average")
    d = "10021"
    assert out[d].index.tolist() == annot[d].index.tolist()
    assert out[d].columns.tolist() == ["A", "B", "C", "D"]
    expected = micro[d].loc[[100, 101, 102], annot[d].index].mean(axis=0).to_numpy()
    np.testing.assert_allclose(out[d]["A"].to_numpy(), expected)
    assert (out[d].dtypes == "float64").all()


def test_collapse_uses_donor_columns(toy):
    probes, micro, annot = toy
    out = pr.collapse_probes(micro, annot, probes, "max_variance", "independent")
    sel = pr.select_probes(micro, annot, probes, "max_variance", "independent")
    for d in micro:
        pid = sel.loc["D", f"probe_id_{d}"]
        np.testing.assert_array_equal(out[d]["D"].to_numpy(), micro[d].loc[pid].to_numpy())
    with pytest.raises(ValueError, match="donor"):
        pr.collapse_to_genes(micro["9861"], annot["9861"], probes, sel, "max_variance")


# --------------------------------------------------------------------------
# parity with abagen 0.1.3
# --------------------------------------------------------------------------


def _read_raw(donor: str, name: str) -> pd.DataFrame:
    path = PARITY / "data" / "microarray" / f"normalized_microarray_donor{donor}" / name
    frame = pd.read_csv(path, header=None, index_col=0)
    frame.columns = np.arange(1, frame.shape[1] + 1)
    frame.index.name = "probe_id"
    return frame


@pytest.fixture(scope="module")
def parity_raw():
    if not (PARITY / "expected" / "cases.json").exists():
        pytest.skip("parity set not available")
    micro = {d: _read_raw(d, "MicroarrayExpression.csv") for d in DONORS}
    pacall = {d: _read_raw(d, "PACall.csv") for d in DONORS}
    probes = pd.read_csv(
        PARITY / "data" / "microarray" / "normalized_microarray_donor9861" / "Probes.csv",
        index_col=0,
    )
    rnaseq = {}
    for d in pr.RNASEQ_DONORS:
        folder = PARITY / "data" / "rnaseq" / f"rnaseq_donor{d}"
        tpm = pd.read_csv(folder / "RNAseqTPM.csv", header=None, index_col=0)
        rnaseq[d] = pr.rnaseq_region_expression(tpm, pd.read_csv(folder / "SampleAnnot.csv"))
    cases = json.loads((PARITY / "expected" / "cases.json").read_text())["cases"]
    cases = {c["name"]: c for c in cases if c["name"].startswith("pi_")}
    return micro, pacall, probes, rnaseq, cases


PI_CASES = [
    "pi_average",
    "pi_max_intensity",
    "pi_max_variance",
    "pi_pc_loading",
    "pi_corr_intensity",
    "pi_corr_variance",
    "pi_diff_stability",
    "pi_rnaseq",
    "pi_independent_max_variance",
    "pi_common_max_variance",
    "pi_reannotated_false",
    "pi_corrected_mni_false",
    "pi_lr_mirror_bidirectional",
    "pi_sim_threshold_2",
    "pi_ibf_0p9",
]


@pytest.mark.parametrize("case", PI_CASES)
def test_parity_probe_intermediates(parity_raw, case):
    micro, pacall, raw_probes, rnaseq, cases = parity_raw
    kwargs = cases[case]["kwargs"]
    folder = PARITY / "expected" / case
    kept = pd.read_csv(folder / "samples_kept.csv.gz", index_col=0)
    annot = {
        d: kept.loc[kept["donor"].astype(str) == d].drop(columns="donor").set_index("sample_id")
        for d in DONORS
    }
    probes = raw_probes
    if kwargs.get("reannotated", True):
        probes = pr.reannotate_probes(probes)
    probes = pr.filter_probes_without_entrez(probes)
    summaries = {d: pr.pacall_summary(pacall[d], annot[d]) for d in DONORS}
    ibf = pr.intensity_filter(summaries, probes, kwargs.get("ibf_threshold", 0.5))

    expected = pd.read_csv(folder / "ibf_probes.csv", index_col=0)
    assert ibf.index.tolist() == expected.index.tolist()
    assert ibf.columns.tolist() == expected.columns.tolist()
    assert ibf["gene_symbol"].tolist() == expected["gene_symbol"].tolist()
    assert ibf["entrez_id"].tolist() == expected["entrez_id"].tolist()

    if not (folder / "selected_probes.csv").exists():
        return
    method = kwargs.get("probe_selection", "diff_stability")
    donor_probes = kwargs.get("donor_probes", "aggregate")
    # abagen 0.1.3's intermediate for 'common' records the per-donor choices
    # made before the vote; the vote itself (ties -> smallest probe id) was
    # checked end to end against dp_common_* (see choose_probes)
    ask = "independent" if donor_probes == "common" else donor_probes
    sel = pr.select_probes(micro, annot, ibf, method, ask, rnaseq=rnaseq)
    want = pd.read_csv(folder / "selected_probes.csv", index_col=0)
    assert sel.index.tolist() == want.index.tolist()
    assert sel.columns.tolist() == want.columns.tolist()
    np.testing.assert_array_equal(sel.to_numpy(), want.to_numpy())


def test_diff_stability_ranks_from_one_sort_equal_per_pair_ranking():
    """Ranks over each pair's shared structures, read off one sort per donor, give
    the same scores as ranking every pair from scratch (ties and NaN included)."""
    rng = np.random.default_rng(3)
    ids = pd.Index(np.arange(200) + 1000, name="probe_id")
    summaries = {}
    for d, n_struct in zip(["a", "b", "c"], [9, 12, 7], strict=True):
        values = rng.integers(0, 6, size=(len(ids), n_struct)).astype(float)  # many ties
        values[rng.random(values.shape) < 0.02] = np.nan
        values[:50] = rng.normal(size=(50, n_struct))  # and rows without ties
        structures = pd.Index(rng.choice(20, n_struct, replace=False), name="structure_id")
        summaries[d] = pr.ProbeSummary("diff_stability", 10,
                                       regions=pd.DataFrame(values, index=ids, columns=structures))
    got = pr._diff_stability_scores(summaries, ids[::-1]).to_numpy()
    pairs = []
    for a, b in [("a", "b"), ("a", "c"), ("b", "c")]:
        ra, rb = summaries[a].regions, summaries[b].regions
        shared = ra.columns.intersection(rb.columns)
        pairs.append(pr._spearman_rows(ra.loc[ids[::-1], shared].to_numpy(),
                                       rb.loc[ids[::-1], shared].to_numpy()))
    want = pr._nanmean_rows(np.vstack(pairs))
    np.testing.assert_array_equal(got, want)
    assert np.isfinite(got).sum() > 100


@pytest.mark.parametrize("method", ["max_intensity", "corr_variance"])
def test_moments_by_blocks_of_probes_equal_the_whole_matrix(method, monkeypatch):
    """probe_summaries takes the deviations a block of probes at a time (to
    bound its memory): sums of squares and co-moments equal the
    whole-matrix formulas bit for bit, mirrored (repeated) samples included."""
    rng = np.random.default_rng(5)
    probes = _probes(["A", "A", "A", "B", "C", "C", "C", "C", "D"] * 3)
    probes["gene_symbol"] = [f"{g}{i // 9}" for i, g in enumerate(probes["gene_symbol"])]
    micro = _donor(rng, probes, 40)
    annot = _annotation(60, ids=list(range(1, 41)) + list(range(1, 21)))  # 20 repeats
    monkeypatch.setattr(pr, "_MOMENT_ROWS", 4)
    got = pr.probe_summaries(micro, annot, probes, method)
    values = micro.loc[:, annot.index].to_numpy(dtype="float64")
    mean = values.mean(axis=1)
    dev = values - mean[:, None]
    np.testing.assert_array_equal(got.mean.to_numpy(), mean)
    np.testing.assert_array_equal(got.m2.to_numpy(), np.einsum("ij,ij->i", dev, dev))
    assert got.n_samples == 60
    # the same from the matrix read with the repeated columns in place
    repeated = pd.DataFrame(values, index=micro.index, columns=annot.index)
    again = pr.probe_summaries(repeated, annot, probes, method)
    np.testing.assert_array_equal(again.mean.to_numpy(), mean)
    np.testing.assert_array_equal(again.m2.to_numpy(), got.m2.to_numpy())
    for gene, com in again.comoments.items():
        np.testing.assert_array_equal(com.to_numpy(), got.comoments[gene].to_numpy())
    if method == "corr_variance":
        assert set(got.comoments) == {f"{g}{k}" for g in "AC" for k in range(3)}
        for gene, com in got.comoments.items():
            rows = dev[np.flatnonzero(probes["gene_symbol"].to_numpy() == gene)]
            np.testing.assert_array_equal(com.to_numpy(), rows @ rows.T)


def test_diff_stability_by_blocks_of_probes_equals_all_at_once(monkeypatch):
    """diff_stability ranks a block of probes at a time (to bound its
    memory); the scores equal those of all probes at once, bit for bit,
    with ties, NaN and structures not shared by every donor."""
    rng = np.random.default_rng(11)
    ids = pd.Index(np.arange(100, 137), name="probe_id")
    summaries = {}
    for k, donor in enumerate(DONORS[:3]):
        structures = np.arange(4000, 4012)[k:]  # overlapping structure sets
        values = rng.normal(size=(len(ids), len(structures))).round(1)  # ties
        values[3, 2] = np.nan
        summary = pr.ProbeSummary(method="diff_stability", n_samples=20)
        summary.regions = pd.DataFrame(values, index=ids,
                                       columns=pd.Index(structures, name="structure_id"))
        summaries[donor] = summary
    monkeypatch.setattr(pr, "_RANK_ROWS", 10**6)
    whole = pr._diff_stability_scores(summaries, ids)
    for rows in (2, 3, 10):
        monkeypatch.setattr(pr, "_RANK_ROWS", rows)
        pd.testing.assert_series_equal(pr._diff_stability_scores(summaries, ids), whole,
                                       check_exact=True, obj=f"blocks of {rows}")


def test_collapse_to_genes_takes_rows_and_mirrored_columns_at_once():
    """The chosen probes' rows and the annotated columns (repeats included,
    in annotation order) come out as the straightforward label lookups give
    them; a chosen probe missing from the matrix is a KeyError naming it."""
    rng = np.random.default_rng(8)
    probes = _probes(["A", "A", "B", "C", "C", "C"])
    micro = _donor(rng, probes, 12)
    annot = _annotation(15, ids=[3, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 3, 1, 7])
    selection = pd.DataFrame({"probe_id": [101, 102, 105]},
                             index=pd.Index(["A", "B", "C"], name="gene_symbol"))
    got = pr.collapse_to_genes(micro, annot, probes, selection, "max_intensity")
    expected = micro.loc[[101, 102, 105], list(annot.index)].T.to_numpy()
    np.testing.assert_array_equal(got.to_numpy(), expected)
    assert list(got.columns) == ["A", "B", "C"] and list(got.index) == list(annot.index)
    with pytest.raises(KeyError, match="999"):
        pr.collapse_to_genes(micro, annot, probes, selection.replace({105: 999}),
                             "max_intensity")
