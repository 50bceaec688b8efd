"""Tests for abagen_core.stages.aggregate (only what other test files do not cover)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
