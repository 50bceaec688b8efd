"""How much processing choices move the results: multiverse robustness summaries.

A sweep (``sweep:`` in the workflow config) gives one region x gene matrix
per processing variant. The functions here compare those matrices with a
reference variant (usually abagen's defaults):

- :func:`regionwise_correlation`: for each region, the Pearson correlation
  of its gene profile in a variant with the same region's profile in the
  reference;
- :func:`genewise_correlation`: for each gene, the correlation of its
  regional profile (across regions) with the reference's;
- :func:`gene_spread`: for each gene, how much its regional profile moves
  across variants (scale-free: profiles are z-scored first);
- :func:`decision_importance`: which options (decision points) move the
  results most, from the variants' dissimilarity to the reference grouped by
  each option's value;
- :func:`donor_agreement`: the same gene-wise correlation between donors'
  regional matrices, a quality-control view of one variant.

Matrices are compared on the regions and genes they have in common, and
NaN cells (regions without samples) are left out pairwise.
:func:`robustness_summary` does everything in one pass over the variants, so
a sweep of a thousand variants never needs all matrices in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "RobustnessSummary",
    "regionwise_correlation",
    "genewise_correlation",
    "compare_to_reference",
    "gene_spread",
    "decision_importance",
    "option_table",
    "donor_agreement",
    "robustness_summary",
    "choose_reference",
]

#: per-variant score that decision points are ranked by (1 - this correlation)
SCORE = "genewise_r_median"


def _align(matrix: pd.DataFrame, reference: pd.DataFrame) -> tuple[np.ndarray, np.ndarray,
                                                                     pd.Index, pd.Index]:
    """Values of both matrices on their common regions and genes (reference order)."""
    rows = reference.index[reference.index.isin(matrix.index)]
    cols = reference.columns[reference.columns.isin(matrix.columns)]
    a = matrix.reindex(index=rows, columns=cols).to_numpy(dtype=np.float64)
    b = reference.reindex(index=rows, columns=cols).to_numpy(dtype=np.float64)
    return a, b, rows, cols


def _paired_r(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
    """Pearson r of `a` and `b` along `axis`, over the positions finite in both.

    NaN where fewer than two positions are finite or either side is constant
    (deviations at rounding level count as constant).
    """
    valid = np.isfinite(a) & np.isfinite(b)
    n = valid.sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        a0 = np.where(valid, a, 0.0)
        b0 = np.where(valid, b, 0.0)
        da = np.where(valid, a0 - a0.sum(axis=axis, keepdims=True) / n, 0.0)
        db = np.where(valid, b0 - b0.sum(axis=axis, keepdims=True) / n, 0.0)
        ssa = (da * da).sum(axis=axis)
        ssb = (db * db).sum(axis=axis)
        r = (da * db).sum(axis=axis) / np.sqrt(ssa * ssb)
    n = n.squeeze(axis)
    flat = np.zeros(r.shape, dtype=bool)
    for x0, ss in ((a0, ssa), (b0, ssb)):
        scale = np.abs(x0).max(axis=axis) if x0.size else np.zeros(r.shape)
        flat |= ss <= n * (1e-12 * np.maximum(scale, 1e-300)) ** 2
    r = np.where((n < 2) | flat, np.nan, r)
    return np.clip(r, -1.0, 1.0)


def regionwise_correlation(matrix: pd.DataFrame, reference: pd.DataFrame) -> pd.Series:
    """Correlation of each region's gene profile with the reference's.

    Parameters
    ----------
    matrix : pandas.DataFrame of shape (n_regions, n_genes)
        A variant's region x gene matrix.
    reference : pandas.DataFrame of shape (n_regions_ref, n_genes_ref)
        The reference variant's matrix.

    Returns
    -------
    r : pandas.Series of shape (n_common_regions,)
        Pearson r across the common genes, indexed by the common regions (in
        the reference's order); NaN for regions without values in either.

    Examples
    --------
    >>> ref = pd.DataFrame([[1., 2., 4.], [3., 1., 0.]], columns=list('abc'))
    >>> regionwise_correlation(2 * ref + 1, ref).tolist()
    [1.0, 1.0]
    """
    a, b, rows, _ = _align(matrix, reference)
    return pd.Series(_paired_r(a, b, axis=1), index=rows, name="r")


def genewise_correlation(matrix: pd.DataFrame, reference: pd.DataFrame) -> pd.Series:
    """Correlation of each gene's regional profile with the reference's.

    Parameters
    ----------
    matrix : pandas.DataFrame of shape (n_regions, n_genes)
        Region x gene matrix to assess.
    reference : pandas.DataFrame of shape (n_regions_ref, n_genes_ref)
        Matrix it is compared with (rows and columns aligned by label).

    Returns
    -------
    r : pandas.Series of shape (n_common_genes,)
        Pearson r across the common regions (regions NaN in either matrix
        left out), indexed by the common genes in the reference's order.
    """
    a, b, _, cols = _align(matrix, reference)
    return pd.Series(_paired_r(a, b, axis=0), index=cols, name="r")


def _summary_row(region_r: pd.Series, gene_r: pd.Series) -> dict[str, float]:
    def _stat(x: pd.Series, how: str) -> float:
        x = x.to_numpy(dtype=np.float64)
        x = x[np.isfinite(x)]
        if not x.size:
            return float("nan")
        return float(np.median(x) if how == "median" else x.mean())

    return {
        "regionwise_r_median": _stat(region_r, "median"),
        "regionwise_r_mean": _stat(region_r, "mean"),
        "genewise_r_median": _stat(gene_r, "median"),
        "genewise_r_mean": _stat(gene_r, "mean"),
        "n_regions": int(len(region_r)),
        "n_genes": int(len(gene_r)),
    }


def compare_to_reference(matrices: Iterable[tuple[str, pd.DataFrame]] |
                         Mapping[str, pd.DataFrame],
                         reference: pd.DataFrame) -> pd.DataFrame:
    """Region-wise and gene-wise agreement of every variant with the reference.

    Parameters
    ----------
    matrices : mapping or iterable of (str, pandas.DataFrame of shape (n_regions, n_genes))
        Variant name -> region x gene matrix (an iterable of pairs is
        consumed once, so matrices can be read one at a time).
    reference : pandas.DataFrame of shape (n_regions_ref, n_genes_ref)

    Returns
    -------
    table : pandas.DataFrame of shape (n_variants, 6)
        Index ``variant``; columns ``regionwise_r_median``,
        ``regionwise_r_mean``, ``genewise_r_median``, ``genewise_r_mean``
        (over the finite correlations), ``n_regions`` and ``n_genes`` in
        common with the reference.
    """
    items = matrices.items() if isinstance(matrices, Mapping) else matrices
    rows = {name: _summary_row(regionwise_correlation(m, reference),
                               genewise_correlation(m, reference)) for name, m in items}
    return _variant_frame(rows)


def _variant_frame(rows: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    cols = ["regionwise_r_median", "regionwise_r_mean", "genewise_r_median", "genewise_r_mean",
            "n_regions", "n_genes"]
    table = pd.DataFrame.from_dict(dict(rows), orient="index", columns=cols)
    table.index.name = "variant"
    return table.astype({"n_regions": np.int64, "n_genes": np.int64})


def _zscore_columns(values: np.ndarray) -> np.ndarray:
    """z-score each column over its finite rows (ddof=1); constant columns -> NaN."""
    valid = np.isfinite(values)
    n = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        x0 = np.where(valid, values, 0.0)
        mean = x0.sum(axis=0) / n
        dev = np.where(valid, values - mean, 0.0)
        sd = np.sqrt((dev * dev).sum(axis=0) / (n - 1))
        z = dev / sd
    bad = (n < 2) | ~(sd > 1e-12 * np.maximum(np.abs(mean), 1.0))
    z[:, bad] = np.nan
    z[~valid] = np.nan
    return z


class _SpreadAccumulator:
    """Running mean and variance (Welford) of z-scored regional profiles per cell."""

    def __init__(self, reference: pd.DataFrame) -> None:
        self.rows, self.cols = reference.index, reference.columns
        shape = reference.shape
        self.count = np.zeros(shape, dtype=np.int64)
        self.mean = np.zeros(shape, dtype=np.float64)
        self.m2 = np.zeros(shape, dtype=np.float64)
        self.n_variants = np.zeros(shape[1], dtype=np.int64)
        self.r_sum = np.zeros(shape[1], dtype=np.float64)
        self.r_n = np.zeros(shape[1], dtype=np.int64)
        self.r_min = np.full(shape[1], np.inf)

    def add(self, matrix: pd.DataFrame, gene_r: pd.Series) -> None:
        z = _zscore_columns(matrix.reindex(index=self.rows, columns=self.cols)
                            .to_numpy(dtype=np.float64))
        self.n_variants += np.asarray(self.cols.isin(matrix.columns), dtype=np.int64)
        ok = np.isfinite(z)
        self.count += ok
        delta = np.where(ok, z - self.mean, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean += np.where(ok, delta / np.maximum(self.count, 1), 0.0)
        self.m2 += np.where(ok, delta * (np.where(ok, z, 0.0) - self.mean), 0.0)
        r = gene_r.reindex(self.cols).to_numpy(dtype=np.float64)
        fin = np.isfinite(r)
        self.r_sum += np.where(fin, r, 0.0)
        self.r_n += fin
        self.r_min = np.where(fin, np.minimum(self.r_min, r), self.r_min)

    def result(self) -> pd.DataFrame:
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(self.m2 / (self.count - 1))
        sd[self.count < 2] = np.nan
        n_cells = np.isfinite(sd).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = np.where(n_cells > 0, np.nansum(sd, axis=0) / np.maximum(n_cells, 1),
                              np.nan)
            mean_r = np.where(self.r_n > 0, self.r_sum / np.maximum(self.r_n, 1), np.nan)
        min_r = np.where(self.r_n > 0, self.r_min, np.nan)
        table = pd.DataFrame({"spread": spread, "genewise_r_mean": mean_r,
                              "genewise_r_min": min_r, "n_variants": self.n_variants},
                             index=pd.Index(self.cols, name="gene_symbol"))
        return table


def gene_spread(matrices: Iterable[tuple[str, pd.DataFrame]] | Mapping[str, pd.DataFrame],
                reference: pd.DataFrame) -> pd.DataFrame:
    """How much each gene's regional profile moves across variants.

    Each variant's profile of a gene (its column) is z-scored across the
    regions it has values for, so the spread does not depend on the scale a
    normalization gives. For every region the standard deviation of the
    z-scores across variants is taken; a gene's spread is the mean of these
    over regions. Profiles that are positive affine transforms of each
    other have spread 0.

    Parameters
    ----------
    matrices : mapping or iterable of (str, pandas.DataFrame of shape (n_regions, n_genes))
        Every variant (usually the reference included).
    reference : pandas.DataFrame of shape (n_regions_ref, n_genes_ref)
        Defines the regions and genes reported, and the correlations.

    Returns
    -------
    table : pandas.DataFrame of shape (n_genes_ref, 4)
        Index ``gene_symbol`` (the reference's genes); columns ``spread``,
        ``genewise_r_mean`` and ``genewise_r_min`` (correlation of the gene's
        profile with the reference's, over variants), ``n_variants`` (variants
        that have the gene).
    """
    acc = _SpreadAccumulator(reference)
    items = matrices.items() if isinstance(matrices, Mapping) else matrices
    for _, matrix in items:
        acc.add(matrix, genewise_correlation(matrix, reference))
    return acc.result()


def _value_label(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return ",".join(_value_label(v) for v in value)
    if callable(value):
        return getattr(value, "__name__", repr(value))
    return str(value)


def option_table(options: Mapping[str, Mapping[str, Any]], *,
                 ignore: Iterable[str] = ("donors",)) -> pd.DataFrame:
    """The options that differ between variants, as text labels.

    Parameters
    ----------
    options : mapping of str -> mapping
        Variant name -> its full (validated) option set.
    ignore : iterable of str, default=('donors',)
        Options never treated as decision points.

    Returns
    -------
    table : pandas.DataFrame of shape (n_variants, n_varying_options)
        Index ``variant``; one column per option with more than one value
        among the variants (values as text: ``null``, ``true``, ``0.5``, ...),
        in alphabetical order.

    Examples
    --------
    >>> option_table({'a': {'x': 1, 'y': None}, 'b': {'x': 1, 'y': 'srs'}})['y'].tolist()
    ['null', 'srs']
    """
    ignore = set(ignore)
    names = sorted({k for opts in options.values() for k in opts} - ignore)
    table = pd.DataFrame({n: [_value_label(opts.get(n)) for opts in options.values()]
                          for n in names}, index=pd.Index(list(options), name="variant"))
    varying = [n for n in names if table[n].nunique() > 1]
    return table[varying].astype(object)


def decision_importance(scores: pd.Series, options: pd.DataFrame
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Which decision points move the results most.

    Parameters
    ----------
    scores : pandas.Series of shape (n_variants,)
        Dissimilarity of each variant to the reference (e.g. 1 - median
        gene-wise r), indexed by variant; NaN scores are left out.
    options : pandas.DataFrame of shape (n_variants, n_options)
        Option values per variant (:func:`option_table`).

    Returns
    -------
    by_option : pandas.DataFrame of shape (n_options, 4)
        Index ``option``; ``n_values``; ``eta_squared``, the share of the
        variance of the scores explained by the option's value (between-group
        over total sum of squares; NaN when the scores do not vary);
        ``range``, the largest minus the smallest mean score of its values;
        ``max_mean``, the largest mean score. Sorted by ``eta_squared`` then
        ``range``, largest first.
    by_value : pandas.DataFrame
        Columns ``option``, ``value``, ``n_variants``, ``mean``, ``median``
        (of the scores of the variants with that value).

    Examples
    --------
    >>> s = pd.Series([0.0, 0.0, 0.5, 0.5], index=list('abcd'))
    >>> o = pd.DataFrame({'x': ['1', '1', '2', '2'], 'y': ['p', 'q', 'p', 'q']},
    ...                  index=list('abcd'))
    >>> decision_importance(s, o)[0]['eta_squared'].tolist()
    [1.0, 0.0]
    """
    scores = scores.astype(np.float64)
    scores = scores[np.isfinite(scores.to_numpy())]
    opts = options.reindex(scores.index)
    total = float(((scores - scores.mean()) ** 2).sum())
    summary, values = [], []
    for option in opts.columns:
        groups = scores.groupby(opts[option].astype(str).to_numpy(), sort=True)
        stats = groups.agg(["count", "mean", "median"])
        between = float((stats["count"] * (stats["mean"] - scores.mean()) ** 2).sum())
        eta = between / total if total > 0 else float("nan")
        summary.append({"option": option, "n_values": int(len(stats)),
                        "eta_squared": min(max(eta, 0.0), 1.0) if np.isfinite(eta) else eta,
                        "range": float(stats["mean"].max() - stats["mean"].min()),
                        "max_mean": float(stats["mean"].max())})
        for value, row in stats.iterrows():
            values.append({"option": option, "value": str(value),
                           "n_variants": int(row["count"]), "mean": float(row["mean"]),
                           "median": float(row["median"])})
    by_option = pd.DataFrame(summary, columns=["option", "n_values", "eta_squared", "range",
                                               "max_mean"])
    if len(by_option):
        by_option = by_option.sort_values(["eta_squared", "range"], ascending=False,
                                          na_position="last", kind="stable")
    by_option = by_option.set_index("option")
    by_value = pd.DataFrame(values, columns=["option", "value", "n_variants", "mean",
                                             "median"])
    return by_option, by_value


def donor_agreement(per_donor: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.Series]:
    """Agreement between donors' regional matrices (a quality-control view).

    Parameters
    ----------
    per_donor : mapping of str -> pandas.DataFrame of shape (n_regions, n_genes)
        Donor -> that donor's region x gene matrix (NaN for regions without
        the donor's samples).

    Returns
    -------
    pairs : pandas.DataFrame of shape (n_donors, n_donors)
        Median over genes of the gene-wise correlation between two donors'
        regional profiles (regions both donors have); 1 on the diagonal.
    stability : pandas.Series of shape (n_genes,)
        Per gene, the mean over donor pairs of that correlation (the
        "differential stability" of Hawrylycz et al. 2015).
    """
    donors = list(per_donor)
    pairs = pd.DataFrame(np.eye(len(donors)), index=pd.Index(donors, name="donor"),
                         columns=pd.Index(donors, name="donor"))
    genes = None
    for frame in per_donor.values():
        genes = frame.columns if genes is None else genes.intersection(frame.columns, sort=False)
    genes = pd.Index([]) if genes is None else genes
    total = np.zeros(len(genes))
    count = np.zeros(len(genes))
    for i, d1 in enumerate(donors):
        for d2 in donors[i + 1:]:
            r = genewise_correlation(per_donor[d1], per_donor[d2].reindex(columns=genes))
            r = r.reindex(genes).to_numpy(dtype=np.float64)
            fin = np.isfinite(r)
            pairs.loc[d1, d2] = pairs.loc[d2, d1] = float(np.median(r[fin])) if fin.any() \
                else np.nan
            total += np.where(fin, r, 0.0)
            count += fin
    with np.errstate(invalid="ignore", divide="ignore"):
        stability = pd.Series(np.where(count > 0, total / np.maximum(count, 1), np.nan),
                              index=pd.Index(genes, name="gene_symbol"), name="stability")
    return pairs, stability


@dataclass
class RobustnessSummary:
    """Result of :func:`robustness_summary`.

    Attributes
    ----------
    reference : str
        Name of the reference variant.
    variants : pandas.DataFrame of shape (n_variants, n_options + 7)
        Per variant: the varying options, ``dissimilarity`` (1 - median
        gene-wise r) and the columns of :func:`compare_to_reference`.
    genes : pandas.DataFrame of shape (n_genes, 4)
        :func:`gene_spread`, sorted by spread (largest first).
    decisions : pandas.DataFrame
        By option (:func:`decision_importance`).
    decision_values : pandas.DataFrame
        By option value (:func:`decision_importance`).
    """

    reference: str
    variants: pd.DataFrame
    genes: pd.DataFrame
    decisions: pd.DataFrame
    decision_values: pd.DataFrame


def robustness_summary(matrices: Iterable[tuple[str, pd.DataFrame]] |
                       Mapping[str, pd.DataFrame],
                       options: Mapping[str, Mapping[str, Any]], *,
                       reference: str,
                       reference_matrix: pd.DataFrame | None = None) -> RobustnessSummary:
    """Everything the workflow's robustness summary reports, in one pass.

    Parameters
    ----------
    matrices : mapping or iterable of (str, pandas.DataFrame of shape (n_regions, n_genes))
        Every variant's matrix, the reference's included; an iterable is
        consumed once (each matrix can be dropped after use).
    options : mapping of str -> mapping
        Variant -> its full option set (for the decision points); variants
        without options are reported without option values.
    reference : str
        Name of the reference variant.
    reference_matrix : pandas.DataFrame, optional
        The reference's matrix; required when `matrices` is not a mapping.

    Returns
    -------
    summary : RobustnessSummary
    """
    if reference_matrix is None:
        if not isinstance(matrices, Mapping) or reference not in matrices:
            raise ValueError(f"reference variant {reference!r} not found; pass its matrix as "
                             "`reference_matrix` or include it in `matrices`.")
        reference_matrix = matrices[reference]
    items = matrices.items() if isinstance(matrices, Mapping) else matrices
    acc = _SpreadAccumulator(reference_matrix)
    rows: dict[str, dict[str, Any]] = {}
    for name, matrix in items:
        gene_r = genewise_correlation(matrix, reference_matrix)
        rows[name] = _summary_row(regionwise_correlation(matrix, reference_matrix), gene_r)
        acc.add(matrix, gene_r)
    if reference not in rows:
        raise ValueError(f"reference variant {reference!r} is not among the matrices given.")
    # rows in the order of `options` (the plan's), whatever order the matrices came in
    order = [n for n in options if n in rows] + [n for n in rows if n not in options]
    table = _variant_frame({n: rows[n] for n in order})
    opts = option_table({name: options.get(name, {}) for name in table.index})
    scores = 1.0 - table[SCORE]
    by_option, by_value = decision_importance(scores, opts)
    variants = pd.concat([opts, scores.rename("dissimilarity").to_frame(), table], axis=1)
    variants.index.name = "variant"
    genes = acc.result().sort_values("spread", ascending=False, na_position="last",
                                     kind="stable")
    return RobustnessSummary(reference, variants, genes, by_option, by_value)


def choose_reference(variants: Mapping[str, Mapping[str, Any]], requested: str | None = None,
                     defaults: Mapping[str, Any] | None = None) -> str:
    """The reference variant of a robustness summary.

    Parameters
    ----------
    variants : mapping of str -> mapping
        Variant name -> its full (validated) options, in config order.
    requested : str, optional
        The configured reference (``qc.reference``); must be a variant.
    defaults : mapping, optional
        The full default option set (same donors); a variant equal to it is
        the reference when none is requested and no variant is named
        ``default``.

    Returns
    -------
    name : str
        `requested`; else ``'default'`` if present; else the first variant
        with the default options; else the first variant.

    Raises
    ------
    ValueError
        If `requested` is not a variant, or there are no variants.

    Examples
    --------
    >>> choose_reference({'a': {'x': 2}, 'b': {'x': 1}}, defaults={'x': 1})
    'b'
    """
    names = list(variants)
    if not names:
        raise ValueError("there are no variants to compare.")
    if requested is not None:
        if requested not in variants:
            shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
            raise ValueError(f"qc.reference: no variant named {requested!r} (variants: "
                             f"{shown}).")
        return requested
    if "default" in variants:
        return "default"
    if defaults is not None:
        for name in names:
            if dict(variants[name]) == dict(defaults):
                return name
    return names[0]
