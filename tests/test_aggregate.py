"""Tests for abagen_core.stages.aggregate (only what other test files do not cover)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abagen_core.stages import aggregate
from abagen_core.stages.aggregate import check_metric, interpolate_region


def test_interpolate_region_inverse_distance_weights():
    expr = pd.DataFrame({"g1": [1.0, 3.0], "g2": [0.0, 4.0]})
    # points at distance 1 and 2 from sample 0, 0.5 from sample 1
    out = interpolate_region(expr, np.array([0, 0, 1]), np.array([1.0, 2.0, 0.5]))
    w = np.array([1.0, 0.5, 2.0])
    np.testing.assert_allclose(out, (w[:, None] * expr.to_numpy()[[0, 0, 1]]).sum(0) / w.sum())


def test_interpolate_region_zero_distance_weighs_one():
    # a voxel a sample sits on counts with weight 1 (abagen 0.1.3), not infinity
    expr = pd.DataFrame({"g1": [2.0, 10.0]})
    out = interpolate_region(expr, np.array([0, 1]), np.array([0.0, 0.5]))
    np.testing.assert_allclose(out, [(1 * 2.0 + 2 * 10.0) / 3])


def test_interpolate_region_weights_follow_float32_distances():
    # mesh distances come as float32 (as abagen 0.1.3 gives them): the weights
    # and their sum stay single precision, the values and the result float64
    rng = np.random.default_rng(3)
    expr = pd.DataFrame(rng.normal(size=(3, 4)))
    nearest = rng.integers(0, 3, size=500)
    dist = rng.uniform(0.5, 30.0, size=500)
    out32 = interpolate_region(expr, nearest, dist.astype(np.float32))
    out64 = interpolate_region(expr, nearest, dist)
    assert out32.dtype == np.float64 and out64.dtype == np.float64
    w32 = np.float32(1) / dist.astype(np.float32)
    values = expr.to_numpy()[nearest]
    np.testing.assert_array_equal(out32, (w32[:, None] * values).sum(0) / w32.sum())
    w64 = 1 / dist
    np.testing.assert_array_equal(out64, (w64[:, None] * values).sum(0) / w64.sum())
    # the two precisions really differ (the float32 path is not a no-op)
    assert np.abs(out32 - out64).max() > 1e-12


@pytest.mark.parametrize("metric", [
    lambda x: np.mean(x),             # no axis keyword
    lambda x, axis=None: 1.0,         # ignores axis
    lambda x, axis: np.mean(x),       # reduces everything
])
def test_check_metric_refuses_callables_without_axis(metric):
    # abagen 0.1.3 (black box): TypeError "... does not perform as expected ..."
    with pytest.raises(TypeError, match="accepts the `axis` keyword"):
        check_metric(metric)


def test_check_metric_accepts_reducers_along_axis():
    assert check_metric(np.nanmedian) is np.nanmedian
    assert check_metric("mean") is np.nanmean
    with pytest.raises(ValueError, match="agg_metric"):
        check_metric("sum")


def _random_blocks(seed: int):
    rng = np.random.default_rng(seed)
    for trial in range(200):
        k = int(rng.integers(1, 25))
        values = rng.standard_normal((k, 30)) * rng.choice([1.0, 1e-3, 1e5])
        if trial % 3 == 0:
            values = np.round(values, 1)  # ties
        if trial % 2:
            values[rng.random(values.shape) < rng.random()] = np.nan
        yield values


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_sorted_median_equals_numpy_nanmedian_bit_for_bit():
    """The sort-based median (fast path of 'median') gives numpy's nanmedian
    exactly: odd and even counts, ties, NaN skipped, all-NaN columns NaN."""
    from abagen_core.stages.aggregate import _reduce

    for values in _random_blocks(0):
        np.testing.assert_array_equal(_reduce(values, np.nanmedian),
                                      np.nanmedian(values, axis=0))


@pytest.mark.parametrize("metric", ["mean", "median"])
def test_aggregate_pooled_equals_aggregate_of_the_concatenation(metric):
    """Pooling tables region by region equals aggregating their concatenation,
    whether or not rows come sorted by region; label 0 is ignored."""
    rng = np.random.default_rng(1)
    tables, labels = [], []
    for n, is_sorted in [(40, False), (25, True), (7, False)]:
        lab = rng.integers(0, 6, n)
        if is_sorted:
            lab = np.sort(lab)
        tables.append(pd.DataFrame(rng.standard_normal((n, 12)),
                                   columns=[f"g{i}" for i in range(12)]))
        labels.append(lab)
    regions = [1, 2, 3, 4, 5, 9]  # 9 has no samples: NaN
    got = aggregate.aggregate_pooled(tables, labels, regions, metric)
    whole = pd.concat(tables, ignore_index=True)
    lab = np.concatenate(labels)
    expected = aggregate.aggregate_samples(whole, lab, regions, metric)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    # and both are pandas' group reductions (an independent implementation)
    grouped = whole[lab != 0].groupby(lab[lab != 0]).agg(metric).reindex(regions)
    np.testing.assert_allclose(got.to_numpy(), grouped.to_numpy(), rtol=0, atol=1e-12)
    assert got.loc[9].isna().all()


def test_mean_of_a_gene_does_not_depend_on_the_other_genes():
    """A region where one gene has no value (NaN): every other gene's mean is
    the one it gets in any subset of the genes (a sweep batch's chunk), bit
    for bit, and the empty gene is NaN without a warning."""
    import warnings

    rng = np.random.default_rng(4)
    values = rng.normal(size=(30, 500)) * 1e3
    values[:, 7] = np.nan
    labels = np.repeat([1, 2, 3], 10)
    # rows gathered into a C-ordered table, as a donor's sample rows are
    frame = pd.DataFrame(values, columns=[f"g{j}" for j in range(500)], copy=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole = aggregate.aggregate_samples(frame, labels, [1, 2, 3], "mean")
    assert whole["g7"].isna().all()
    for cols in (slice(0, 7), slice(8, 500), slice(100, 102)):
        # a table of its own, laid out as the whole (C order)
        chunk = pd.DataFrame(np.ascontiguousarray(values[:, cols]), columns=frame.columns[cols],
                             copy=False)
        assert chunk.to_numpy().flags.c_contiguous and frame.to_numpy().flags.c_contiguous
        part = aggregate.aggregate_samples(chunk, labels, [1, 2, 3], "mean")
        pd.testing.assert_frame_equal(part, whole.iloc[:, cols], check_exact=True)
