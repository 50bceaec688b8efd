"""abagen_core.outputs.robustness: correlations with a reference, gene spread, decision points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abagen_core.outputs import robustness as rb


def _matrix(seed: int = 0, n_regions: int = 12, n_genes: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n_regions, n_genes)),
                        index=pd.Index(range(1, n_regions + 1), name="label"),
                        columns=pd.Index([f"G{i:02d}" for i in range(n_genes)],
                                         name="gene_symbol"))


def _permute_regions(frame: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    order = np.random.default_rng(seed).permutation(len(frame))
    return pd.DataFrame(frame.to_numpy()[order], index=frame.index, columns=frame.columns)


def test_self_correlation_is_one():
    ref = _matrix()
    np.testing.assert_allclose(rb.regionwise_correlation(ref, ref), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rb.genewise_correlation(ref, ref), 1.0, rtol=0, atol=1e-12)
    table = rb.compare_to_reference({"ref": ref}, ref)
    assert table.loc["ref", ["regionwise_r_median", "genewise_r_mean"]].tolist() == \
        pytest.approx([1.0, 1.0])
    assert table.loc["ref", "n_regions"] == 12 and table.loc["ref", "n_genes"] == 30


def test_affine_transforms():
    ref = _matrix()
    np.testing.assert_allclose(rb.genewise_correlation(3 * ref - 7, ref), 1.0, atol=1e-12)
    np.testing.assert_allclose(rb.regionwise_correlation(-ref + 1, ref), -1.0, atol=1e-12)


def test_known_permutation_matches_corrcoef():
    ref = _matrix()
    perm = _permute_regions(ref)
    got = rb.genewise_correlation(perm, ref)
    expected = [np.corrcoef(perm[g], ref[g])[0, 1] for g in ref.columns]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-12)
    # region-wise: permute the genes instead
    cols = np.random.default_rng(3).permutation(ref.shape[1])
    gperm = pd.DataFrame(ref.to_numpy()[:, cols], index=ref.index, columns=ref.columns)
    got = rb.regionwise_correlation(gperm, ref)
    expected = [np.corrcoef(gperm.loc[r], ref.loc[r])[0, 1] for r in ref.index]
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=0, atol=1e-12)


def test_nan_cells_left_out_pairwise_and_alignment():
    ref = _matrix()
    other = _permute_regions(ref) + 0.1 * _matrix(5)
    other.iloc[[2, 7], 4] = np.nan          # regions without samples in the variant
    # a variant with the columns in another order, one gene more and one region less
    shuffled = other.iloc[1:, ::-1].assign(EXTRA=1.0)
    got = rb.genewise_correlation(shuffled, ref)
    assert list(got.index) == list(ref.columns)  # reference order, common genes
    g = ref.columns[4]
    keep = ~other[g].isna()
    keep.iloc[0] = False                     # region 1 is not in the variant
    expected = np.corrcoef(other.loc[keep, g], ref.loc[keep, g])[0, 1]
    assert got[g] == pytest.approx(expected, abs=1e-12)
    assert list(rb.regionwise_correlation(shuffled, ref).index) == list(ref.index[1:])


def test_constant_or_empty_profiles_are_nan():
    ref = _matrix()
    other = ref.copy()
    other["G00"] = 0.1
    other["G01"] = np.nan
    r = rb.genewise_correlation(other, ref)
    assert np.isnan(r["G00"]) and np.isnan(r["G01"])
    assert r.drop(["G00", "G01"]).to_numpy() == pytest.approx(1.0)


def test_gene_spread_zero_for_affine_variants_and_known_for_two():
    ref = _matrix()
    same = rb.gene_spread({"a": ref, "b": 2 * ref + 5, "c": ref * 0.5}, ref)
    np.testing.assert_allclose(same["spread"], 0.0, atol=1e-12)
    assert (same["n_variants"] == 3).all()
    perm = _permute_regions(ref)
    two = rb.gene_spread({"a": ref, "b": perm}, ref)

    def z(x):
        return (x - x.mean()) / x.std(ddof=1)

    g = "G03"
    expected = np.mean(np.abs(z(ref[g]).to_numpy() - z(perm[g]).to_numpy()) / np.sqrt(2))
    assert two.loc[g, "spread"] == pytest.approx(expected, abs=1e-12)
    assert two.loc[g, "genewise_r_min"] == pytest.approx(np.corrcoef(perm[g], ref[g])[0, 1])
    assert two.loc[g, "genewise_r_mean"] == pytest.approx(
        (1 + np.corrcoef(perm[g], ref[g])[0, 1]) / 2)


def test_gene_spread_counts_variants_with_the_gene():
    ref = _matrix()
    fewer = ref.drop(columns=["G05"])
    table = rb.gene_spread([("a", ref), ("b", fewer)], ref)
    assert table.loc["G05", "n_variants"] == 1
    assert np.isnan(table.loc["G05", "spread"])  # one variant: no spread
    assert table.loc["G06", "n_variants"] == 2


def test_option_table_and_decision_importance():
    options = {
        "default": {"gene_norm": "srs", "ibf_threshold": 0.5, "missing": None, "donors": ["1"]},
        "v1": {"gene_norm": "zscore", "ibf_threshold": 0.5, "missing": None, "donors": ["1"]},
        "v2": {"gene_norm": "srs", "ibf_threshold": 0.25, "missing": None, "donors": ["2"]},
        "v3": {"gene_norm": "zscore", "ibf_threshold": 0.25, "missing": None, "donors": ["2"]},
    }
    table = rb.option_table(options)
    assert list(table.columns) == ["gene_norm", "ibf_threshold"]  # donors ignored, missing fixed
    assert table.loc["v2", "ibf_threshold"] == "0.25"
    assert rb.option_table({"a": {"x": None}, "b": {"x": True}})["x"].tolist() == ["null", "true"]
    # ibf_threshold explains everything, gene_norm nothing
    scores = pd.Series([0.0, 0.0, 0.3, 0.3], index=list(options))
    by_option, by_value = rb.decision_importance(scores, table)
    assert list(by_option.index) == ["ibf_threshold", "gene_norm"]
    assert by_option.loc["ibf_threshold", "eta_squared"] == pytest.approx(1.0)
    assert by_option.loc["gene_norm", "eta_squared"] == pytest.approx(0.0)
    assert by_option.loc["ibf_threshold", "range"] == pytest.approx(0.3)
    row = by_value[(by_value["option"] == "ibf_threshold") & (by_value["value"] == "0.25")]
    assert row["n_variants"].item() == 2 and row["mean"].item() == pytest.approx(0.3)
    # partial effect: eta squared = between / total sum of squares
    scores = pd.Series([0.0, 0.1, 0.2, 0.5], index=list(options))
    by_option, _ = rb.decision_importance(scores, table)
    total = ((scores - scores.mean()) ** 2).sum()
    means = {"0.5": 0.05, "0.25": 0.35}
    between = sum(2 * (m - scores.mean()) ** 2 for m in means.values())
    assert by_option.loc["ibf_threshold", "eta_squared"] == pytest.approx(between / total)


def test_decision_importance_constant_scores_is_nan():
    table = pd.DataFrame({"x": ["a", "b"]}, index=["u", "v"])
    by_option, _ = rb.decision_importance(pd.Series([0.0, 0.0], index=["u", "v"]), table)
    assert np.isnan(by_option.loc["x", "eta_squared"])


def test_summary_ranks_the_option_that_moves_results_first():
    ref = _matrix()
    matrices, options = {}, {}
    for scale in (1.0, 2.0, 3.0):                  # harmless: affine rescaling
        for shuffle in (0, 1, 2):                  # harmful: permuted regions
            name = f"s{scale:g}-p{shuffle}"
            m = ref * scale
            if shuffle:
                m = _permute_regions(m, seed=shuffle)
            matrices[name] = m
            options[name] = {"scale": scale, "shuffle": shuffle, "donors": ["9861"]}
    matrices["default"] = ref
    options["default"] = {"scale": 1.0, "shuffle": 0, "donors": ["9861"]}
    summary = rb.robustness_summary(matrices, options, reference="default")
    assert summary.reference == "default"
    assert list(summary.decisions.index) == ["shuffle", "scale"]
    assert summary.decisions.loc["shuffle", "eta_squared"] > 0.9
    assert summary.decisions.loc["scale", "eta_squared"] < 0.05
    v = summary.variants
    assert v.loc["default", "dissimilarity"] == pytest.approx(0.0)
    assert v.loc["s2-p0", "genewise_r_median"] == pytest.approx(1.0)
    assert v.loc["s1-p1", "dissimilarity"] > 0.5
    assert {"scale", "shuffle", "dissimilarity", "regionwise_r_median", "n_genes"} <= set(v)
    assert summary.genes["spread"].is_monotonic_decreasing
    # one pass over a generator, with the reference given separately, gives the same
    streamed = rb.robustness_summary(iter(list(matrices.items())), options,
                                     reference="default", reference_matrix=ref)
    pd.testing.assert_frame_equal(streamed.variants, summary.variants)
    pd.testing.assert_frame_equal(streamed.genes, summary.genes)


def test_summary_needs_the_reference():
    ref = _matrix()
    with pytest.raises(ValueError, match="reference"):
        rb.robustness_summary({"a": ref}, {}, reference="default")
    with pytest.raises(ValueError, match="not among"):
        rb.robustness_summary(iter([("a", ref)]), {}, reference="default", reference_matrix=ref)


def test_choose_reference():
    defaults = {"x": 1}
    assert rb.choose_reference({"a": {"x": 2}, "default": {"x": 3}}) == "default"
    assert rb.choose_reference({"a": {"x": 2}, "b": {"x": 1}}, defaults=defaults) == "b"
    assert rb.choose_reference({"a": {"x": 2}, "b": {"x": 3}}, defaults=defaults) == "a"
    assert rb.choose_reference({"a": {}, "b": {}}, "b") == "b"
    with pytest.raises(ValueError, match="qc.reference.*'c'"):
        rb.choose_reference({"a": {}, "b": {}}, "c")


def test_donor_agreement():
    ref = _matrix()
    noisy = ref + 0.01 * _matrix(9)
    perm = _permute_regions(ref)
    perm.iloc[0] = np.nan                     # a region without this donor's samples
    pairs, stability = rb.donor_agreement({"1": ref, "2": noisy, "3": perm})
    assert np.allclose(np.diag(pairs), 1.0)
    assert pairs.equals(pairs.T)
    assert pairs.loc["1", "2"] > 0.99
    expected = np.median([np.corrcoef(perm[g].iloc[1:], ref[g].iloc[1:])[0, 1]
                          for g in ref.columns])
    assert pairs.loc["1", "3"] == pytest.approx(expected, abs=1e-12)
    assert stability.shape == (30,)
    assert stability.between(-1, 1).all()
