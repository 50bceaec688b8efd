"""Aggregation of sample-level expression into regions and across donors.

Two choices (abagen's ``region_agg`` and ``agg_metric``):

- ``region_agg='donors'``: samples of one region are reduced within each
  donor (:func:`aggregate_samples`), then the donor matrices are reduced
  element-wise (:func:`aggregate_donors`);
- ``region_agg='samples'``: all donors' samples of a region are pooled and
  reduced at once (:func:`aggregate_samples` on the concatenation).

``agg_metric`` is 'mean', 'median' or a callable accepting ``axis=``.
Missing values are skipped, so a region without samples in a donor does not
erase the other donors' values.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from abagen_core.utils import check_choice

__all__ = [
    "AGG_METRICS",
    "REGION_AGG_OPTIONS",
    "check_metric",
    "check_region_agg",
    "aggregate_samples",
    "aggregate_pooled",
    "aggregate_donors",
    "count_samples",
    "interpolate_region",
]

AGG_METRICS: dict[str, Callable] = {"mean": np.nanmean, "median": np.nanmedian}
REGION_AGG_OPTIONS = ["donors", "samples"]


_METRIC_ERROR = ("Provided metric {metric!r} does not perform as expected. Please ensure it "
                 "accepts the `axis` keyword argument and can reduce an `N`-dimensional "
                 "input to an `N-1`-dimensional output (e.g. numpy.nanmean).")


def check_metric(metric: str | Callable) -> Callable:
    """Resolve `agg_metric` to a function ``f(array, axis=...)``.

    A callable must reduce an N-d array along the ``axis`` keyword, as
    abagen 0.1.3 requires: it is tried on a small 2-D array first.

    Parameters
    ----------
    metric : {'mean', 'median'} or callable
        A callable is returned as is once it passes the check.

    Returns
    -------
    metric : callable

    Raises
    ------
    InvalidOptionError
        If a string is not 'mean' or 'median'.
    TypeError
        If a callable does not accept ``axis`` or does not reduce along it
        (abagen 0.1.3's error).
    """
    if callable(metric):
        probe = np.arange(6, dtype=np.float64).reshape(2, 3)
        try:
            shape = np.shape(metric(probe, axis=1))
        except Exception as exc:  # any failure on the probe means the same thing
            raise TypeError(_METRIC_ERROR.format(metric=metric)) from exc
        if shape != (2,):
            raise TypeError(_METRIC_ERROR.format(metric=metric))
        return metric
    check_choice("agg_metric", metric, list(AGG_METRICS),
                 hint="Or pass a callable accepting an `axis` keyword.")
    return AGG_METRICS[metric]


def check_region_agg(region_agg: str) -> str:
    """Validate `region_agg` ('donors' or 'samples').

    Parameters
    ----------
    region_agg : {'donors', 'samples'}

    Returns
    -------
    region_agg : str
    """
    return check_choice("region_agg", region_agg, REGION_AGG_OPTIONS)


def _sorted_median(values: np.ndarray) -> np.ndarray:
    """Median along axis 0 skipping NaN, from a full sort.

    Equal bit for bit to ``np.nanmedian`` (the middle value, or the mean of
    the two middle values, ``(a + b) / 2``; NaN where a column has no value)
    and several times faster on samples x genes blocks: sorting along the rows
    beats numpy's strided partition, and ``np.nanmedian`` of small arrays goes
    through masked arrays.
    """
    ordered = np.sort(values, axis=0)  # NaN sorts last
    k = ordered.shape[0]
    if k and not np.isnan(ordered[-1]).any():
        if k % 2:
            return ordered[k // 2].copy()
        return (ordered[k // 2 - 1] + ordered[k // 2]) / 2
    n = k - np.isnan(ordered).sum(axis=0)
    low = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0)[None], axis=0)[0]
    high = np.take_along_axis(ordered, np.maximum(n // 2, 0)[None], axis=0)[0]
    out = np.where(n % 2 == 1, low, (low + high) / 2)
    out[n == 0] = np.nan
    return out


def _reduce(values: np.ndarray, metric: Callable) -> np.ndarray:
    if values.shape[0] == 0:
        return np.full(values.shape[1], np.nan)
    # faster counterparts giving the same numbers bit for bit: the sorted median,
    # and the plain mean on NaN-free input (the same sum of the rows, in order)
    if metric is np.nanmedian:
        return _sorted_median(values)
    if metric is np.nanmean and not np.isnan(values).any():
        return np.mean(values, axis=0)
    if metric is np.nanmean:
        # every column reduced in place, also beside a column without any
        # value (NaN, its warning silenced): a column subset (values[:, ok])
        # would be laid out otherwise and summed in another order, so that a
        # gene's mean would depend on the other genes of the table (a sweep
        # batch's chunk of genes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(values, axis=0)
    return np.asarray(metric(values, axis=0), dtype=np.float64)


def aggregate_samples(expression: pd.DataFrame, labels: np.ndarray | pd.Series,
                      regions: Sequence[int], metric: str | Callable = "mean"
                      ) -> pd.DataFrame:
    """Reduce samples sharing a region label.

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
    labels : array-like of shape (n_samples,)
        Region of each sample (0 = unmatched, ignored).
    regions : sequence of int
        Rows of the output, in order (regions without samples are NaN).
    metric : {'mean', 'median'} or callable, default='mean'

    Returns
    -------
    regional : pandas.DataFrame of shape (n_regions, n_genes)
        Index ``label``, columns the genes of `expression`.
    """
    return aggregate_pooled([expression], [labels], regions, metric)


def aggregate_pooled(expression: Sequence[pd.DataFrame], labels: Sequence[np.ndarray],
                     regions: Sequence[int], metric: str | Callable = "mean") -> pd.DataFrame:
    """Reduce the samples of several tables sharing a region label, without concatenating them.

    The result is :func:`aggregate_samples` of the row-wise concatenation of
    `expression` (rows of a region in table order, then row order): each
    region's rows are gathered from every table and reduced, so only one
    region's rows are copied at a time.

    Parameters
    ----------
    expression : sequence of pandas.DataFrame of shape (n_samples_i, n_genes)
        Same columns.
    labels : sequence of array-like of shape (n_samples_i,)
        Region of each row (0 = unmatched, ignored).
    regions : sequence of int
    metric : {'mean', 'median'} or callable, default='mean'

    Returns
    -------
    regional : pandas.DataFrame of shape (n_regions, n_genes)
        Index ``label``, columns those of the first table.
    """
    func = check_metric(metric)
    if not expression:
        raise ValueError("No tables to aggregate.")
    tables = []
    for frame, lab in zip(expression, labels, strict=True):
        lab = np.asarray(lab)
        if lab.shape[0] != frame.shape[0]:
            raise ValueError(f"labels has {lab.shape[0]} entries but expression has "
                             f"{frame.shape[0]} samples; they must align row by row.")
        values = frame.to_numpy(dtype=np.float64)
        if np.all(lab[:-1] <= lab[1:]):  # sorted by region: each region's rows are a slice
            order, sorted_labels = None, lab
        else:
            order = np.argsort(lab, kind="stable")
            sorted_labels = lab[order]
        tables.append((values, order, np.searchsorted(sorted_labels, regions, side="left"),
                       np.searchsorted(sorted_labels, regions, side="right")))
    columns = expression[0].columns
    out = np.full((len(regions), len(columns)), np.nan)
    # the mean or median of a single sample is that sample (NaN stays NaN):
    # copied without a reduction (regions already reduced per donor have one row)
    single_is_identity = func in (np.nanmean, np.nanmedian)
    for i in range(len(regions)):
        blocks = [values[lo[i]:hi[i]] if order is None else values[order[lo[i]:hi[i]]]
                  for values, order, lo, hi in tables if hi[i] > lo[i]]
        if not blocks:
            continue
        block = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
        out[i] = block[0] if len(block) == 1 and single_is_identity else _reduce(block, func)
    return pd.DataFrame(out, index=pd.Index(list(regions), name="label"), columns=columns,
                        copy=False)


def aggregate_donors(regional: Mapping[str, pd.DataFrame] | Sequence[pd.DataFrame],
                     metric: str | Callable = "mean") -> pd.DataFrame:
    """Reduce donor-level region x gene matrices element-wise (NaN skipped).

    Parameters
    ----------
    regional : mapping or sequence of pandas.DataFrame of shape (n_regions, n_genes)
        All with the same index and columns.
    metric : {'mean', 'median'} or callable, default='mean'

    Returns
    -------
    expression : pandas.DataFrame of shape (n_regions, n_genes)
    """
    func = check_metric(metric)
    frames = list(regional.values()) if isinstance(regional, Mapping) else list(regional)
    if not frames:
        raise ValueError("No donor matrices to aggregate.")
    first = frames[0]
    for frame in frames[1:]:
        if not (frame.index.equals(first.index) and frame.columns.equals(first.columns)):
            raise ValueError("Donor matrices must share regions and genes to be aggregated.")
    stack = np.stack([f.to_numpy(dtype=np.float64) for f in frames])
    flat = stack.reshape(stack.shape[0], -1)
    out = _reduce(flat, func).reshape(stack.shape[1:])
    return pd.DataFrame(out, index=first.index, columns=first.columns, copy=False)


def count_samples(labels: Mapping[str, np.ndarray], regions: Sequence[int]) -> pd.DataFrame:
    """Number of samples of each donor matched to each region.

    Parameters
    ----------
    labels : mapping of str to array-like
        Donor -> region label of each of its samples (0 = unmatched).
    regions : sequence of int

    Returns
    -------
    counts : pandas.DataFrame of shape (n_regions, n_donors)
        int64; index the regions, columns the donors.
    """
    regions = list(regions)
    out = {}
    for donor, lab in labels.items():
        lab = np.asarray(lab)
        counts = pd.Series(lab[lab != 0]).value_counts()
        out[donor] = counts.reindex(regions, fill_value=0).to_numpy(dtype=np.int64)
    return pd.DataFrame(out, index=pd.Index(regions))


def interpolate_region(expression: pd.DataFrame, nearest: np.ndarray,
                       distance: np.ndarray) -> np.ndarray:
    """Inverse-distance weighted expression of a region from its nearest samples.

    Every voxel/vertex of the region is given the expression of its nearest
    sample; the region's value is the average of those, weighted by the
    inverse of each voxel's distance to its sample. A voxel at distance 0
    (a sample sits on it) gets weight 1, as in abagen 0.1.3.

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
    nearest : array of shape (n_points,)
        Row position (in `expression`) of the nearest sample of each point.
    distance : array of shape (n_points,)
        Distance of each point to that sample (>= 0). float32 distances (as
        :meth:`abagen_core.atlas.matching.AtlasTree.fill_label` gives for meshes)
        give float32 weights; anything else is used as float64.

    Returns
    -------
    values : numpy.ndarray of shape (n_genes,)
        float64.
    """
    distance = np.asarray(distance)
    if distance.dtype != np.float32:
        distance = distance.astype(np.float64)
    # weights, and their sum, in the precision of the distances: abagen 0.1.3
    # does so, and its mesh distances are float32 (AtlasTree.fill_label)
    weights = np.ones_like(distance)
    np.divide(distance.dtype.type(1), distance, out=weights, where=distance > 0)
    values = expression.to_numpy(dtype=np.float64)[np.asarray(nearest)]
    return (weights[:, None] * values).sum(axis=0) / weights.sum()
