"""Tests for abagen_core.aggregate (only what other test files do not cover)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from abagen_core.aggregate import interpolate_region


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
