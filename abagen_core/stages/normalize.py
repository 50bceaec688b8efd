r"""Normalization of expression values (abagen's ``sample_norm``/``gene_norm``).

Every method normalizes each *column* of a matrix across its rows. Called on
a ``(n_samples, n_genes)`` frame it normalizes every gene across samples
(``gene_norm``); the pipeline calls it on the transpose,
``(n_genes, n_samples)``, to normalize every sample across genes
(``sample_norm``).

Formulas (abagen 0.1.3 manual, section "Data normalization options"):

=========================  ================================================
``center``                 :math:`x - \bar{x}`
``zscore``                 :math:`(x - \bar{x}) / \sigma_x` (``ddof=1``)
``minmax``                 :math:`(x - \min x) / (\max x - \min x)`
``sigmoid``                :math:`1 / (1 + \exp(-(x - \bar{x}) / \sigma_x))`
``scaled_sigmoid``         ``sigmoid`` then ``minmax``
``scaled_sigmoid_quantiles``  ``scaled_sigmoid`` with :math:`\bar{x}`,
                           :math:`\sigma_x` taken from the values clipped to
                           their 5th and 95th percentiles
``robust_sigmoid``         :math:`1 / (1 + \exp(-(x - \langle x \rangle) / IQR_x))`
                           with :math:`IQR_x = (Q_3 - Q_1) / 1.35`
``scaled_robust_sigmoid``  ``robust_sigmoid`` then ``minmax``
``mixed_sigmoid``          ``scaled_sigmoid`` for columns whose IQR is 0,
                           ``scaled_robust_sigmoid`` otherwise
``batch``                  removes donor (batch) effects with a linear model
=========================  ================================================

Missing values: every statistic (mean, SD, median, percentiles, min, max)
ignores NaN, NaN inputs stay NaN, and a column that is entirely NaN stays
NaN. Percentiles use numpy's default (linear) interpolation.

Zero dispersion: a column whose SD, IQR or range is 0 is divided by 0 exactly
as abagen does (IEEE arithmetic): ``0 / 0`` gives NaN (values equal to the
location), ``x / 0`` gives +/-inf, which the sigmoid maps to 1 or 0. A
:class:`RuntimeWarning` names the number of such columns unless
``ignore_warn=True``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from abagen_core.errors import InvalidOptionError

__all__ = [
    "NORMALIZATION_METHODS",
    "NORM_ALIASES",
    "NORM_NAMES",
    "IQR_NORMALIZER",
    "check_norm",
    "normalize_expression",
]

#: divisor turning an interquartile range into a normal-consistent scale
#: estimate (the manual's 2*sqrt(2)*erfinv(1/2) ~= 1.349, rounded to 1.35 as
#: in the manual's formula)
#: the normalized IQR divides (Q3 - Q1) by 2*sqrt(2)*erfinv(1/2) ~= 1.3490, the IQR
#: of a standard normal distribution (the manual's "~1.35" is this constant rounded)
IQR_NORMALIZER = 1.3489795003921634  # == 2 * sqrt(2) * scipy.special.erfinv(0.5)


# --------------------------------------------------------------------------
# column statistics: NaN ignored; all-NaN or too-short columns give NaN
# without numpy's RuntimeWarnings. NaN-free blocks take numpy's plain (and
# much faster) functions, which give identical results.


def _quiet(func: Callable[..., np.ndarray], *args: Any, **kwargs: Any) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return func(*args, **kwargs)


def _stat(plain: Callable[..., np.ndarray], nan_aware: Callable[..., np.ndarray],
          x: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
    func = nan_aware if np.isnan(x).any() else plain
    return _quiet(func, x, *args, axis=0, **kwargs)


def _mean(x: np.ndarray) -> np.ndarray:
    return _stat(np.mean, np.nanmean, x)


def _std(x: np.ndarray) -> np.ndarray:
    return _stat(np.std, np.nanstd, x, ddof=1)


def _percentiles(x: np.ndarray, q: Sequence[float]) -> np.ndarray:
    if x.shape[0] < 2 or np.isnan(x).any():
        return _stat(np.percentile, np.nanpercentile, x, q)
    return _linear_percentiles(x, q)


#: columns up to this long are sorted whole; longer ones are partitioned
_SORT_MAX_ROWS = 4096


def _linear_percentiles(x: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """``np.percentile(x, q, axis=0)`` of a NaN-free float array, bit for bit.

    numpy partitions a copy along axis 0 at every neighbouring rank (and at
    the first and last ones, to find NaN) and interpolates linearly. The same
    order statistics come here from one sort (short columns) or one partition
    at just the needed ranks (long columns) of a Fortran-ordered copy, each
    column contiguous, and are interpolated with numpy's own formula (method
    'linear': virtual index (n - 1) q / 100; a + (b - a) g, or
    b - (b - a)(1 - g) where g >= 0.5), so the numbers are identical.

    Parameters
    ----------
    x : numpy.ndarray of shape (n_rows, n_cols)
        float64, no NaN, n_rows >= 2.
    q : sequence of float
        Percentiles strictly between 0 and 100.

    Returns
    -------
    percentiles : numpy.ndarray of shape (len(q), n_cols)
    """
    n = x.shape[0]
    virtual = (n - 1) * np.true_divide(np.asarray(q, dtype=np.float64), 100)
    below = np.floor(virtual)
    lo = below.astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    gamma = (virtual - below)[:, np.newaxis]
    work = np.array(x, dtype=np.float64, order="F")
    if n <= _SORT_MAX_ROWS:
        work.sort(axis=0)
    else:
        work.partition(np.unique(np.concatenate([lo, hi])), axis=0)
    a, b = work[lo], work[hi]
    with np.errstate(invalid="ignore"):  # inf - inf, as numpy's (quiet here as before)
        diff = b - a
        out = np.add(a, diff * gamma)
        np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def _min(x: np.ndarray) -> np.ndarray:
    return _stat(np.min, np.nanmin, x)


def _max(x: np.ndarray) -> np.ndarray:
    return _stat(np.max, np.nanmax, x)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # IEEE division, as abagen: 0/0 -> NaN, x/0 -> +/-inf
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den


def _logistic(x: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    # 1 / (1 + exp(-(x - loc) / scale)), evaluated in one buffer: the same
    # operations in the same order as the plain expression (identical
    # results) without four full-size temporaries
    z = np.subtract(x, loc)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        np.divide(z, scale, out=z)
        np.negative(z, out=z)
        np.exp(z, out=z)
        np.add(z, 1.0, out=z)
        np.divide(1.0, z, out=z)
    return z


# --------------------------------------------------------------------------
# the methods: (n_rows, n_cols) float array -> (normalized array of the same
# shape, per-column divisor or None); the divisor feeds the zero-dispersion
# warning

_Result = tuple[np.ndarray, np.ndarray | None]


def _center(x: np.ndarray) -> _Result:
    return x - _mean(x), None


def _zscore(x: np.ndarray) -> _Result:
    sd = _std(x)
    return _divide(x - _mean(x), sd), sd


def _minmax(x: np.ndarray) -> _Result:
    lo = _min(x)
    rng = _max(x) - lo
    return _divide(x - lo, rng), rng


def _minmax_inplace(x: np.ndarray) -> np.ndarray:
    # _minmax on a temporary the caller owns: same arithmetic, no new buffer
    lo = _min(x)
    rng = _max(x) - lo
    np.subtract(x, lo, out=x)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(x, rng, out=x)
    return x


def _sigmoid(x: np.ndarray) -> _Result:
    sd = _std(x)
    return _logistic(x, _mean(x), sd), sd


def _scaled_sigmoid(x: np.ndarray) -> _Result:
    out, sd = _sigmoid(x)
    return _minmax_inplace(out), sd


def _scaled_sigmoid_quantiles(x: np.ndarray) -> _Result:
    # values outside the 5th-95th percentile range are left out (trimmed, not
    # winsorised) when computing the mean and SD; every value, including the
    # outliers, is then transformed (this reproduces abagen 0.1.3's numbers)
    lo, hi = _percentiles(x, [5, 95])
    mean, sd = _masked_mean_std(x, (x >= lo) & (x <= hi))
    return _minmax_inplace(_logistic(x, mean, sd)), sd


def _masked_mean_std(x: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NaN-ignoring mean and SD (``ddof=1``) of every column over the `keep` entries.

    Equal bit for bit to ``np.nanmean`` and ``np.nanstd(ddof=1)`` along
    axis 0 of ``np.where(keep, x, np.nan)``: the same steps in the same
    order (values outside `keep` set to 0 in a copy of `x`'s layout, sums
    along axis 0, deviations squared in place), but the masked copy and its
    sum are made once for both statistics. Columns with no kept value give
    NaN, as do SDs of columns with one.

    Parameters
    ----------
    x : numpy.ndarray of shape (n_rows, n_cols)
    keep : numpy.ndarray of bool, shape (n_rows, n_cols)
        False wherever `x` is NaN (as a comparison with `x` gives).

    Returns
    -------
    mean, sd : numpy.ndarray of shape (n_cols,)
    """
    work = np.where(keep, x, 0.0)
    count = np.sum(keep, axis=0, dtype=np.intp)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.true_divide(np.sum(work, axis=0), count)
        np.subtract(work, mean, out=work)
        np.copyto(work, 0.0, where=~keep)
        np.multiply(work, work, out=work)
        dof = count - 1
        var = np.true_divide(np.sum(work, axis=0), dof)
    var[dof <= 0] = np.nan
    return mean, np.sqrt(var, out=var)


def _robust_sigmoid(x: np.ndarray) -> _Result:
    # quartiles and median from one partial sort (the median as the 50th
    # percentile: equal to np.median up to the last bit of the midpoint)
    q1, median, q3 = _percentiles(x, [25, 50, 75])
    iqr = q3 - q1
    return _logistic(x, median, iqr / IQR_NORMALIZER), iqr


def _scaled_robust_sigmoid(x: np.ndarray) -> _Result:
    out, iqr = _robust_sigmoid(x)
    return _minmax_inplace(out), iqr


def _mixed_sigmoid(x: np.ndarray) -> _Result:
    out, scale = _scaled_robust_sigmoid(x)
    flat = scale == 0
    if flat.any():
        out[:, flat], scale[flat] = _scaled_sigmoid(x[:, flat])
    return out, scale


def _batch(x: np.ndarray, batch: np.ndarray) -> _Result:
    # Linear model x ~ intercept + batch indicators, fitted to all batches at
    # once; the batch effects are removed and the intercept is kept. With
    # effect coding weighted by batch size the intercept is the grand mean of
    # the column and each batch's effect is its mean minus the grand mean, so
    # the residualized values are x - mean_batch + mean_all (NaN ignored).
    out = np.full_like(x, np.nan)
    grand = _mean(x)
    for label in pd.unique(batch):
        rows = batch == label
        out[rows] = x[rows] - _mean(x[rows]) + grand
    return out, None


_IMPLEMENTATIONS: Mapping[str, Callable[..., _Result]] = MappingProxyType({
    "center": _center,
    "zscore": _zscore,
    "minmax": _minmax,
    "sigmoid": _sigmoid,
    "scaled_sigmoid": _scaled_sigmoid,
    "scaled_sigmoid_quantiles": _scaled_sigmoid_quantiles,
    "robust_sigmoid": _robust_sigmoid,
    "scaled_robust_sigmoid": _scaled_robust_sigmoid,
    "mixed_sigmoid": _mixed_sigmoid,
    # Documented by the abagen 0.1.3 manual but refused there with "Provided
    # value for `norm` not recognized" (documented abagen bug); implemented
    # here as the manual describes.
    "batch": _batch,
})


def _public(impl: Callable[..., _Result]) -> Callable[..., np.ndarray]:
    def method(values: np.ndarray, *args: Any) -> np.ndarray:
        return impl(np.asarray(values, dtype=np.float64), *args)[0]

    method.__name__ = impl.__name__.lstrip("_")
    method.__doc__ = f"Normalize every column of a 2-D array with {method.__name__!r}."
    return method


#: canonical method name -> function normalizing every column of a 2-D array
#: ('batch' additionally takes the batch label of every row)
NORMALIZATION_METHODS = MappingProxyType(
    {name: _public(impl) for name, impl in _IMPLEMENTATIONS.items()}
)

#: alias -> canonical name (canonical names map to themselves)
NORM_ALIASES = MappingProxyType({
    **{name: name for name in NORMALIZATION_METHODS},
    "demean": "center",
    "sig": "sigmoid",
    "scaled_sig": "scaled_sigmoid",
    "scaled_sig_qnt": "scaled_sigmoid_quantiles",
    "rs": "robust_sigmoid",
    "rsig": "robust_sigmoid",
    "srs": "scaled_robust_sigmoid",
    "scaled_rsig": "scaled_robust_sigmoid",
    "mixed_sig": "mixed_sigmoid",
})

#: every accepted value of ``norm`` (None = no normalization)
NORM_NAMES: tuple[str | None, ...] = (None, *NORM_ALIASES)


def check_norm(name: str | None, param: str = "sample_norm") -> str | None:
    """Resolve a normalization name (or alias) to its canonical name.

    Parameters
    ----------
    name : str or None
        Method name or alias; None means no normalization.
    param : str, default='sample_norm'
        Parameter name used in the error message.

    Returns
    -------
    canonical : str or None

    Raises
    ------
    InvalidOptionError
        If `name` is not an accepted value; the message lists them all.

    Examples
    --------
    >>> check_norm('srs')
    'scaled_robust_sigmoid'
    >>> check_norm(None) is None
    True
    """
    if name is None:
        return None
    if not isinstance(name, str) or name not in NORM_ALIASES:
        raise InvalidOptionError(param, name, NORM_NAMES)
    return NORM_ALIASES[name]


def _row_labels(labels: Any, frame: pd.DataFrame, what: str) -> np.ndarray:
    """Per-row labels (structures or batches) aligned to `frame`'s rows."""
    if isinstance(labels, pd.DataFrame):
        if "structure" in labels.columns:
            labels = labels["structure"]
        elif labels.shape[1] == 1:
            labels = labels.iloc[:, 0]
        else:
            raise ValueError(f"`{what}` DataFrame must have a 'structure' column.")
    if isinstance(labels, pd.Series):
        if labels.index.equals(frame.index):
            values = labels.to_numpy(dtype=object)
        elif labels.index.is_unique and frame.index.is_unique:
            values = labels.reindex(frame.index).to_numpy(dtype=object)
        else:
            raise ValueError(
                f"`{what}` index does not match the expression index and one of them "
                "has duplicates; pass labels in row order (array) instead."
            )
    else:
        values = np.asarray(labels, dtype=object)
        if values.shape != (len(frame),):
            raise ValueError(
                f"`{what}` must have one label per row of expression "
                f"({len(frame)}); got shape {values.shape}."
            )
    return values


def _missing(values: np.ndarray) -> np.ndarray:
    return pd.isna(pd.Series(values, dtype=object)).to_numpy()


def _normalize_frame(expression: pd.DataFrame, canonical: str, structures: Any,
                     batch: Any, ignore_warn: bool) -> pd.DataFrame:
    # every method returns a new array: the input is never written to
    values = expression.to_numpy(dtype=np.float64)
    func = _IMPLEMENTATIONS[canonical]
    if canonical == "batch":
        if batch is None:
            raise ValueError("norm='batch' needs `batch`: the donor (batch) of every row.")
        batch = _row_labels(batch, expression, "batch")
        if _missing(batch).any():
            raise ValueError("`batch` has missing labels.")

    if structures is None:
        groups = [np.ones(len(expression), dtype=bool)]
    else:
        labels = _row_labels(structures, expression, "structures")
        absent = _missing(labels)
        if absent.any() and not ignore_warn:
            warnings.warn(
                f"{int(absent.sum())} row(s) have no structural class; they are "
                "returned as NaN.", RuntimeWarning, stacklevel=3,
            )
        groups = [(labels == lab) & ~absent for lab in pd.unique(labels[~absent])]

    n_flat = 0
    if structures is None and canonical != "batch":
        # one group of all rows: the method's result is the output
        out, scale = func(values)
        if scale is not None:
            n_flat += int(np.sum(scale == 0))
        groups = []
    else:
        out = np.full_like(values, np.nan)
    for rows in groups:
        block = values[rows]
        if canonical == "batch":
            out[rows], scale = func(block, batch[rows])
        else:
            out[rows], scale = func(block)
        if scale is not None:
            n_flat += int(np.sum(scale == 0))
    if n_flat and not ignore_warn:
        warnings.warn(
            f"norm={canonical!r}: {n_flat} column(s) have zero dispersion (SD, IQR or "
            "range); dividing by zero gives NaN (0/0) or a saturated value, as in abagen.",
            RuntimeWarning, stacklevel=3,
        )
    return pd.DataFrame(out, index=expression.index, columns=expression.columns, copy=False)


def normalize_expression(
    expression: pd.DataFrame | Sequence[pd.DataFrame],
    norm: str | None = "srs",
    structures: Any = None,
    ignore_warn: bool = False,
    batch: Any = None,
) -> pd.DataFrame | list[pd.DataFrame]:
    """Normalize every column of `expression` across its rows.

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_rows, n_columns) or list of those
        E.g. samples x genes (each gene is normalized across samples) or its
        transpose (each sample across genes). A list is normalized element by
        element (for ``'batch'``: jointly, see `batch`).
    norm : {'srs', 'scaled_robust_sigmoid', 'scaled_rsig', 'rs', 'robust_sigmoid', \
'rsig', 'center', 'demean', 'zscore', 'minmax', 'sigmoid', 'sig', 'scaled_sigmoid', \
'scaled_sig', 'scaled_sigmoid_quantiles', 'scaled_sig_qnt', 'mixed_sigmoid', \
'mixed_sig', 'batch'} or None, default='srs'
        Method; see the module docstring for the formulas. None returns a
        float64 copy.
    structures : pandas.Series of shape (n_rows,), pandas.DataFrame with a \
'structure' column, array-like, or list of those, optional
        Structural class of every row. When given, each class is normalized
        separately; rows without a class are returned as NaN. A Series is
        aligned on the index when it equals (or, both unique, can be
        reindexed to) `expression`'s index; arrays are taken in row order.
    ignore_warn : bool, default=False
        Suppress the warning about zero-dispersion columns (and rows without
        a structural class).
    batch : array-like of shape (n_rows,) or pandas.Series, optional
        Batch (donor) of every row; required for ``norm='batch'`` on a single
        frame. With a list of frames and no `batch`, list position is the
        batch and the frames (which must share their columns) are fitted
        together, then split back.

    Returns
    -------
    normalized : pandas.DataFrame of shape (n_rows, n_columns) or list of those
        float64, same index and columns as the input.

    Raises
    ------
    InvalidOptionError
        If `norm` is not an accepted name.

    Notes
    -----
    ``'batch'`` follows the manual: a linear model of batch membership with an
    intercept is fitted to all batches at once and the data are residualized
    with the estimated batch effects, keeping the intercept; i.e. every
    column has its batch mean subtracted and its grand mean (over all rows)
    added back. abagen 0.1.3 documents this method but refuses it.

    Examples
    --------
    >>> df = pd.DataFrame({'g': [1.0, 2.0, 3.0]})
    >>> normalize_expression(df, 'zscore')['g'].tolist()
    [-1.0, 0.0, 1.0]
    """
    canonical = check_norm(norm, "norm")
    if isinstance(expression, (list, tuple)):
        frames = list(expression)
        if canonical == "batch" and batch is None:
            columns = frames[0].columns
            if any(not f.columns.equals(columns) for f in frames):
                raise ValueError(
                    "norm='batch' on a list fits all frames together; they must have "
                    "identical columns."
                )
            stacked = pd.concat(frames, axis=0, ignore_index=True)
            labels = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
            if structures is not None:
                structures = np.concatenate(
                    [_row_labels(s, f, "structures") for s, f in zip(structures, frames,
                                                                        strict=True)])
            joint = normalize_expression(stacked, canonical, structures=structures,
                                         ignore_warn=ignore_warn, batch=labels)
            bounds = np.cumsum([0] + [len(f) for f in frames])
            return [
                pd.DataFrame(joint.to_numpy()[a:b], index=f.index, columns=f.columns)
                for f, a, b in zip(frames, bounds[:-1], bounds[1:], strict=True)
            ]
        structs = structures if structures is not None else [None] * len(frames)
        batches = batch if batch is not None else [None] * len(frames)
        return [
            normalize_expression(f, canonical, structures=s, ignore_warn=ignore_warn,
                                 batch=b)
            for f, s, b in zip(frames, structs, batches, strict=True)
        ]
    if not isinstance(expression, pd.DataFrame):
        expression = pd.DataFrame(expression)
    if canonical is None:
        return expression.astype(np.float64)
    return _normalize_frame(expression, canonical, structures, batch, ignore_warn)
