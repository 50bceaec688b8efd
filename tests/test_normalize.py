"""Tests of abagen_core.stages.normalize: hand-computed values and properties."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from abagen_core.errors import InvalidOptionError
from abagen_core.stages.normalize import (
    IQR_NORMALIZER,
    NORM_ALIASES,
    NORM_NAMES,
    NORMALIZATION_METHODS,
    _linear_percentiles,
    _masked_mean_std,
    check_norm,
    normalize_expression,
)

COLUMN_METHODS = [m for m in NORMALIZATION_METHODS if m != "batch"]
SCALED = ["minmax", "scaled_sigmoid", "scaled_sigmoid_quantiles",
          "scaled_robust_sigmoid", "mixed_sigmoid"]


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(1234)
    values = rng.lognormal(mean=2.0, sigma=0.5, size=(40, 7))
    return pd.DataFrame(values, index=pd.RangeIndex(100, 140, name="sample_id"),
                        columns=pd.Index([f"g{i}" for i in range(7)], name="gene_symbol"))


def _norm(frame, method, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return normalize_expression(frame, method, **kwargs)


# ---------------------------------------------------------------- hand values

X = [1.0, 2.0, 3.0, 4.0, 10.0]
MEAN = 4.0
SD = math.sqrt((9 + 4 + 1 + 0 + 36) / 4)        # ddof=1
MEDIAN, Q1, Q3 = 3.0, 2.0, 4.0                    # linear percentiles of X
NIQR = (Q3 - Q1) / 1.3489795003921634


def _logit(v, loc, scale):
    return 1 / (1 + math.exp(-(v - loc) / scale))


def _rescale(vals):
    lo, hi = min(vals), max(vals)
    return [(v - lo) / (hi - lo) for v in vals]


def _tiny():
    return pd.DataFrame({"a": X})


@pytest.mark.parametrize(("method", "expected"), [
    ("center", [v - MEAN for v in X]),
    ("zscore", [(v - MEAN) / SD for v in X]),
    ("minmax", [(v - 1) / 9 for v in X]),
    ("sigmoid", [_logit(v, MEAN, SD) for v in X]),
    ("scaled_sigmoid", _rescale([_logit(v, MEAN, SD) for v in X])),
    ("robust_sigmoid", [_logit(v, MEDIAN, NIQR) for v in X]),
    ("scaled_robust_sigmoid", _rescale([_logit(v, MEDIAN, NIQR) for v in X])),
    ("mixed_sigmoid", _rescale([_logit(v, MEDIAN, NIQR) for v in X])),
])
def test_hand_computed(method, expected):
    out = _norm(_tiny(), method)
    np.testing.assert_allclose(out["a"].to_numpy(), expected, rtol=0, atol=1e-14)


def test_hand_computed_quantiles():
    # 5th / 95th linear percentiles of X are 1.2 and 8.8: values outside are
    # left out of the mean and SD (trimmed), as abagen 0.1.3 does
    inside = [2.0, 3.0, 4.0]
    mean = sum(inside) / 3
    sd = math.sqrt(sum((c - mean) ** 2 for c in inside) / 2)
    expected = _rescale([_logit(v, mean, sd) for v in X])     # unclipped values transformed
    out = _norm(_tiny(), "scaled_sigmoid_quantiles")
    np.testing.assert_allclose(out["a"].to_numpy(), expected, rtol=0, atol=1e-14)


def test_hand_computed_mixed_flat_iqr():
    # IQR 0 but SD > 0: the scaled sigmoid (mean / SD) is used
    col = [5.0, 5.0, 5.0, 5.0, 5.0, 0.0, 12.0]
    mean = sum(col) / 7
    sd = math.sqrt(sum((c - mean) ** 2 for c in col) / 6)
    expected = _rescale([_logit(v, mean, sd) for v in col])
    frame = pd.DataFrame({"flat": col, "x": [1.0, 2, 3, 4, 5, 6, 8]})
    out = _norm(frame, "mixed_sigmoid")
    np.testing.assert_allclose(out["flat"].to_numpy(), expected, atol=1e-14)
    np.testing.assert_allclose(out["x"], _norm(frame[["x"]], "srs")["x"], atol=0)


def test_iqr_constant():
    assert IQR_NORMALIZER == pytest.approx(1.3489795003921634, abs=1e-15)


def test_hand_computed_batch():
    frame = pd.DataFrame({"a": [1.0, 3.0, 10.0, 14.0]})
    out = _norm(frame, "batch", batch=["d1", "d1", "d2", "d2"])
    # batch means 2 and 12, grand mean 7
    np.testing.assert_allclose(out["a"], [6.0, 8.0, 5.0, 9.0], atol=1e-14)


# ------------------------------------------------------------------ registry

def test_aliases_equal(data):
    for alias, canonical in NORM_ALIASES.items():
        if canonical == "batch":
            continue
        pd.testing.assert_frame_equal(_norm(data, alias), _norm(data, canonical))
    assert check_norm("demean") == "center"
    assert check_norm("rsig") == check_norm("rs") == "robust_sigmoid"
    assert check_norm("scaled_rsig") == check_norm("srs") == "scaled_robust_sigmoid"
    assert check_norm("scaled_sig_qnt") == "scaled_sigmoid_quantiles"
    assert check_norm("mixed_sig") == "mixed_sigmoid"
    assert check_norm("sig") == "sigmoid" and check_norm("scaled_sig") == "scaled_sigmoid"


def test_check_norm_invalid():
    with pytest.raises(InvalidOptionError, match="gene_norm") as err:
        check_norm("robust", "gene_norm")
    assert isinstance(err.value, ValueError)
    assert "scaled_robust_sigmoid" in str(err.value) and "batch" in str(err.value)
    with pytest.raises(InvalidOptionError):
        normalize_expression(pd.DataFrame({"a": [1.0]}), "nope")
    assert None in NORM_NAMES and "srs" in NORM_NAMES


def test_none_is_float_copy(data):
    ints = data.round().astype(int)
    out = normalize_expression(ints, None)
    assert out.dtypes.eq(np.float64).all()
    pd.testing.assert_frame_equal(out, ints.astype(float))


# ---------------------------------------------------------------- properties

@pytest.mark.parametrize("method", COLUMN_METHODS)
def test_shape_index_dtype(data, method):
    out = _norm(data, method)
    assert out.index.equals(data.index) and out.columns.equals(data.columns)
    assert out.dtypes.eq(np.float64).all()
    assert not out.isna().any().any()


@pytest.mark.parametrize("method", SCALED)
def test_unit_interval(data, method):
    out = _norm(data, method)
    np.testing.assert_allclose(out.min(), 0, atol=1e-15)
    np.testing.assert_allclose(out.max(), 1, atol=1e-15)


def test_moments(data):
    np.testing.assert_allclose(_norm(data, "center").mean(), 0, atol=1e-12)
    z = _norm(data, "zscore")
    np.testing.assert_allclose(z.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(ddof=1), 1, atol=1e-12)
    for method in ("sigmoid", "robust_sigmoid"):
        out = _norm(data, method)
        assert ((out > 0) & (out < 1)).all().all()
    # the robust sigmoid maps the median to exactly 1/2
    odd = data.iloc[:39]
    rs = _norm(odd, "rs")
    at_median = odd.eq(odd.median()).to_numpy()
    np.testing.assert_allclose(rs.to_numpy()[at_median], 0.5, atol=1e-15)


@pytest.mark.parametrize("method", [m for m in COLUMN_METHODS if m != "center"])
def test_affine_invariance(data, method):
    moved = data * 3.7 + 11.0
    np.testing.assert_allclose(_norm(moved, method), _norm(data, method), atol=1e-12)


@pytest.mark.parametrize("method", COLUMN_METHODS)
def test_row_permutation_equivariance(data, method):
    order = np.random.default_rng(5).permutation(len(data))
    shuffled = _norm(data.iloc[order], method)
    pd.testing.assert_frame_equal(shuffled.loc[data.index], _norm(data, method),
                                  check_exact=False, atol=1e-14, rtol=0)


@pytest.mark.parametrize("method", COLUMN_METHODS)
def test_columns_independent(data, method):
    full = _norm(data, method)
    for col in data.columns[:3]:
        pd.testing.assert_series_equal(full[col], _norm(data[[col]], method)[col])


def test_transpose_normalizes_rows(data):
    by_sample = _norm(data.T, "srs").T
    np.testing.assert_allclose(by_sample.min(axis=1), 0, atol=1e-15)
    np.testing.assert_allclose(by_sample.max(axis=1), 1, atol=1e-15)


@pytest.mark.parametrize("method", COLUMN_METHODS + ["batch"])
def test_structures_equals_per_group(data, method):
    rng = np.random.default_rng(7)
    classes = pd.Series(rng.choice(["cortex", "subcortex/brainstem", "cerebellum"],
                                   size=len(data)), index=data.index)
    batch = np.arange(len(data)) % 2
    kw = {"batch": batch} if method == "batch" else {}
    out = _norm(data, method, structures=classes, **kw)
    for cls in classes.unique():
        rows = (classes == cls).to_numpy()
        kw = {"batch": batch[rows]} if method == "batch" else {}
        expected = _norm(data[rows], method, **kw)
        pd.testing.assert_frame_equal(out[rows], expected)
    # a DataFrame with a 'structure' column and a plain array work alike
    kw = {"batch": batch} if method == "batch" else {}
    frame = classes.to_frame("structure")
    pd.testing.assert_frame_equal(_norm(data, method, structures=frame, **kw), out)
    pd.testing.assert_frame_equal(_norm(data, method, structures=classes.to_numpy(), **kw),
                                  out)


def test_structures_missing_class(data):
    classes = pd.Series(["cortex"] * len(data), index=data.index, dtype=object)
    classes.iloc[3] = None
    with pytest.warns(RuntimeWarning, match="no structural class"):
        out = normalize_expression(data, "zscore", structures=classes)
    assert out.iloc[3].isna().all()
    pd.testing.assert_frame_equal(out.drop(data.index[3]),
                                  _norm(data.drop(data.index[3]), "zscore"))


@pytest.mark.parametrize("method", COLUMN_METHODS)
def test_nan_rows_ignored(data, method):
    holed = data.copy()
    holed.iloc[[4, 17]] = np.nan
    out = _norm(holed, method)
    assert out.iloc[[4, 17]].isna().all().all()
    kept = holed.drop(holed.index[[4, 17]])
    pd.testing.assert_frame_equal(out.drop(holed.index[[4, 17]]), _norm(kept, method),
                                  check_exact=False, atol=1e-14, rtol=0)


@pytest.mark.parametrize("method", COLUMN_METHODS)
def test_single_nan_cell_stays_nan(data, method):
    holed = data.copy()
    holed.iloc[2, 1] = np.nan
    out = _norm(holed, method)
    assert np.isnan(out.iloc[2, 1])
    assert out.drop(columns=data.columns[1]).notna().all().all()
    pd.testing.assert_series_equal(out.iloc[:, 1].drop(data.index[2]),
                                   _norm(holed.iloc[:, [1]].drop(data.index[2]), method)
                                   .iloc[:, 0], check_exact=False, atol=1e-14, rtol=0)


@pytest.mark.parametrize("method", ["zscore", "minmax", "sigmoid", "scaled_sigmoid",
                                    "scaled_sigmoid_quantiles", "robust_sigmoid", "srs",
                                    "mixed_sigmoid"])
def test_constant_column_nan_and_warning(method):
    frame = pd.DataFrame({"flat": [2.0] * 6, "x": [1.0, 2, 3, 4, 5, 7]})
    with pytest.warns(RuntimeWarning, match="zero dispersion"):
        out = normalize_expression(frame, method)
    assert out["flat"].isna().all()
    assert out["x"].notna().all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = normalize_expression(frame, method, ignore_warn=True)
    pd.testing.assert_frame_equal(out, quiet)


def test_zero_iqr_saturates():
    # IQR 0: values off the median are divided by zero -> +/-inf -> 1 / 0
    frame = pd.DataFrame({"a": [0.0, 5.0, 5.0, 5.0, 5.0, 5.0, 9.0]})
    out = normalize_expression(frame, "rs", ignore_warn=True)["a"]
    assert out.iloc[0] == 0.0 and out.iloc[-1] == 1.0 and out.iloc[1:-1].isna().all()


def test_batch_removes_batch_means(data):
    donors = np.repeat(["9861", "10021", "12876", "14380"], 10)
    shifted = data + np.repeat([0.0, 5.0, -3.0, 9.0], 10)[:, None]
    out = _norm(shifted, "batch", batch=donors)
    means = out.groupby(donors).mean()
    np.testing.assert_allclose(means.to_numpy(), np.broadcast_to(shifted.mean().to_numpy(),
                                                                 means.shape), atol=1e-12)
    # within-batch deviations untouched
    dev = out - out.groupby(donors).transform("mean")
    ref = shifted - shifted.groupby(donors).transform("mean")
    np.testing.assert_allclose(dev, ref, atol=1e-12)


def test_batch_list_mode(data):
    parts = [data.iloc[:15], data.iloc[15:]]
    out = _norm(parts, "batch")
    joint = _norm(data, "batch", batch=[0] * 15 + [1] * 25)
    pd.testing.assert_frame_equal(pd.concat(out), joint)
    with pytest.raises(ValueError, match="needs `batch`"):
        normalize_expression(data, "batch")


def test_list_mode(data):
    parts = [data.iloc[:20], data.iloc[20:]]
    out = _norm(parts, "srs")
    assert isinstance(out, list) and len(out) == 2
    for part, res in zip(parts, out, strict=True):
        pd.testing.assert_frame_equal(res, _norm(part, "srs"))


def test_registry_functions_on_arrays(data):
    values = data.to_numpy()
    for name, func in NORMALIZATION_METHODS.items():
        if name == "batch":
            out = func(values, np.arange(len(values)) % 2)
            expected = _norm(data, name, batch=np.arange(len(values)) % 2)
        else:
            out = func(values)
            expected = _norm(data, name)
        np.testing.assert_allclose(out, expected.to_numpy(), rtol=0, atol=1e-12)
    assert set(NORM_ALIASES.values()) == set(NORMALIZATION_METHODS)


# ---------------------------------------------------------------------------
# fast exact statistics: equal to numpy's functions bit for bit


@pytest.mark.parametrize("n_rows", [2, 3, 5, 10, 101, 4096, 4097, 6000])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("kind", ["normal", "ties", "infinite"])
def test_linear_percentiles_equal_numpy(n_rows, order, kind):
    rng = np.random.default_rng(n_rows)
    x = rng.normal(size=(n_rows, 23))
    if kind == "ties":
        x = np.round(x, 1)
    elif kind == "infinite":
        x[rng.integers(0, n_rows, 4), rng.integers(0, 23, 4)] = np.inf
        x[0, 2] = -np.inf
    x = np.asarray(x, order=order)
    for q in ([25, 50, 75], [5, 95], [0.1, 99.9]):
        with np.errstate(invalid="ignore"):
            expected = np.percentile(x, q, axis=0)
        got = _linear_percentiles(x, q)
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("n_rows", [1, 2, 3, 40, 700])
@pytest.mark.parametrize("order", ["C", "F"])
def test_masked_mean_std_equal_numpy(n_rows, order):
    rng = np.random.default_rng(n_rows)
    x = np.asarray(rng.normal(size=(n_rows, 17)), order=order)
    x[rng.integers(0, n_rows, 3), rng.integers(0, 17, 3)] = np.nan
    keep = (rng.random(x.shape) < 0.8) & ~np.isnan(x)  # as its caller: NaN never kept
    keep[:, 0] = False  # no kept value: NaN mean and SD
    keep[1:, 1] = False  # one kept value: NaN SD
    inside = np.where(keep, x, np.nan)
    mean, sd = _masked_mean_std(x, keep)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(mean, np.nanmean(inside, axis=0))
        np.testing.assert_array_equal(sd, np.nanstd(inside, axis=0, ddof=1))
    assert np.isnan(mean[0]) and np.isnan(sd[0]) and np.isnan(sd[1])


@pytest.mark.parametrize("norm", COLUMN_METHODS)
def test_samples_normalised_in_blocks_equal_the_whole_table(norm, monkeypatch):
    """normalize_samples works a block of samples at a time (to bound its
    memory); every block size gives the numbers of the whole table, bit for
    bit, in the same Fortran layout."""
    from abagen_core.stages import regional

    rng = np.random.default_rng(7)
    values = np.asfortranarray(rng.lognormal(size=(23, 300)))
    values[3] = 2.0  # a flat sample
    frame = pd.DataFrame(values, index=pd.RangeIndex(23, name="sample"),
                         columns=pd.Index([f"g{j}" for j in range(300)], name="gene_symbol"))
    monkeypatch.setattr(regional, "SAMPLE_BLOCK", 10**6)
    whole = regional.normalize_samples(frame, norm)
    for block in (2, 3, 5, 8):
        monkeypatch.setattr(regional, "SAMPLE_BLOCK", block)
        got = regional.normalize_samples(frame, norm)
        assert got.to_numpy().flags.f_contiguous
        pd.testing.assert_frame_equal(got, whole, check_exact=True, obj=f"block {block}")
    # the input is left as it was
    np.testing.assert_array_equal(frame.to_numpy(), values)
