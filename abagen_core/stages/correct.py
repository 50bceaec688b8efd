"""Post-processing corrections of regional expression (abagen.correct).

- :func:`remove_distance` regresses inter-regional Euclidean distance out of a
  region x region coexpression matrix (separately per connection type when
  structural classes are known).
- :func:`keep_stable_genes` keeps the genes whose regional expression
  profile is most consistent across donors (differential stability).

:func:`~abagen_core.stages.normalize.normalize_expression`, the third function of
abagen's ``correct`` module, lives in :mod:`abagen_core.stages.normalize` and is
re-exported here.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from abagen_core.stages.normalize import normalize_expression

__all__ = [
    "keep_stable_genes",
    "normalize_expression",
    "region_centroids",
    "remove_distance",
]


# --------------------------------------------------------------------------
# centroids


def region_centroids(atlas: Any, labels: Sequence[int] | None = None) -> dict[int, np.ndarray]:
    """Centroid (centre of mass, world coordinates) of every parcel.

    Parameters
    ----------
    atlas : path or nibabel image
        Volumetric parcellation; each parcel a unique non-zero integer.
    labels : sequence of int, optional
        Parcels to return (default: every non-zero label, sorted).

    Returns
    -------
    centroids : dict of int -> numpy.ndarray of shape (3,)
        Mean of the world (affine-mapped) coordinates of each parcel's voxels.

    Raises
    ------
    ValueError
        If a requested label is not in the atlas.
    """
    import nibabel as nib  # lazy: slow to import

    img = nib.load(str(atlas)) if isinstance(atlas, str | PathLike) else atlas
    if not hasattr(img, "affine") or img.affine is None:
        raise ValueError("`atlas` must be a volumetric image (path or nibabel image) or "
                         "precomputed centroids.")
    data = np.asanyarray(img.dataobj)
    data = np.rint(data).astype(np.int64) if data.dtype.kind == "f" else data
    ijk = np.nonzero(data)
    values = data[ijk]
    xyz = nib.affines.apply_affine(img.affine, np.column_stack(ijk).astype(np.float64))
    present = np.unique(values)
    wanted = present if labels is None else np.asarray(labels, dtype=np.int64)
    missing = np.setdiff1d(wanted, present)
    if missing.size:
        raise ValueError(f"Label(s) {missing.tolist()} not found in `atlas`.")
    order = np.argsort(values, kind="stable")
    sorted_vals = values[order]
    out: dict[int, np.ndarray] = {}
    for lab in wanted:
        lo, hi = np.searchsorted(sorted_vals, [lab, lab + 1])
        out[int(lab)] = xyz[order[lo:hi]].mean(axis=0)
    return out


def _centroid_array(atlas: Any, labels: Sequence[int] | None, n_regions: int
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """(n_regions, 3) centroids and the region labels (None if unknown)."""
    if isinstance(atlas, Mapping):
        keys = list(atlas) if labels is None else [int(lab) for lab in labels]
        missing = [k for k in keys if k not in atlas]
        if missing:
            raise ValueError(f"No centroid for label(s) {missing}.")
        coords = np.array([np.asarray(atlas[k], dtype=np.float64) for k in keys])
        lab_arr: np.ndarray | None = np.asarray(keys)
    elif isinstance(atlas, np.ndarray | pd.DataFrame | list | tuple) and \
            np.asarray(atlas).ndim == 2 and np.asarray(atlas).dtype.kind in "fiu":
        coords = np.asarray(atlas, dtype=np.float64)
        lab_arr = None if labels is None else np.asarray(labels)
        if isinstance(atlas, pd.DataFrame) and labels is None:
            lab_arr = atlas.index.to_numpy()
    else:
        cents = region_centroids(atlas, labels)
        lab_arr = np.asarray(list(cents))
        coords = np.array(list(cents.values()))
    if coords.ndim != 2 or len(coords) != n_regions:
        raise ValueError(
            f"`coexpression` has {n_regions} regions but {len(coords)} centroids were "
            "found; pass `labels` naming the regions used."
        )
    if lab_arr is not None and len(lab_arr) != n_regions:
        raise ValueError(f"`labels` has {len(lab_arr)} entries for {n_regions} regions.")
    return coords, lab_arr


def _structures(atlas_info: Any, labels: np.ndarray | None, n_regions: int) -> np.ndarray:
    info = pd.read_csv(atlas_info) if isinstance(atlas_info, str | PathLike) else atlas_info
    if not isinstance(info, pd.DataFrame) or "structure" not in info.columns:
        raise ValueError("`atlas_info` must have columns 'id' and 'structure'.")
    if "id" in info.columns:
        info = info.set_index("id")
    if labels is None:
        if len(info) != n_regions:
            raise ValueError("Pass `labels` to match regions of `coexpression` to `atlas_info`.")
        labels = info.index.to_numpy()
    absent = [int(lab) for lab in labels if lab not in info.index]
    if absent:
        raise ValueError(f"Label(s) {absent} missing from `atlas_info`.")
    return info.loc[labels, "structure"].astype(str).to_numpy()


# --------------------------------------------------------------------------


def remove_distance(coexpression: Any, atlas: Any, atlas_info: Any = None,
                    labels: Sequence[int] | None = None) -> np.ndarray:
    """Regress inter-regional distance out of a coexpression matrix.

    For every pair of regions (upper triangle) the coexpression value is
    modelled as ``b0 + b1 * distance`` (ordinary least squares, Euclidean
    distance between region centroids) and replaced by its residual. With
    `atlas_info` each connection type (unordered pair of structural classes,
    e.g. cortex-cortex, cortex-subcortex) is fitted separately.

    Parameters
    ----------
    coexpression : array_like of shape (n_regions, n_regions)
        Symmetric, e.g. ``numpy.corrcoef(expression)``.
    atlas : path, nibabel image, array_like of shape (n_regions, 3) or dict
        Volumetric parcellation (centroids are computed as the mean world
        coordinate of each parcel's voxels), precomputed centroids in the row
        order of `coexpression`, or a dict label -> centroid.
    atlas_info : pandas.DataFrame or path, optional
        Columns 'id' and 'structure'. When given, connection types are
        residualized independently.
    labels : sequence of int of length n_regions, optional
        The regions (atlas labels) of `coexpression`, in order. Needed when
        they are a subset of the atlas, or to match centroid arrays to
        `atlas_info`.

    Returns
    -------
    residualized : numpy.ndarray of shape (n_regions, n_regions)
        Symmetric residuals. The diagonal (self-pairs, not used in the fit)
        is 0. Pairs with NaN coexpression are left out of the fit and stay
        NaN.

    Raises
    ------
    ValueError
        If shapes, labels and atlas do not agree.
    """
    coexp = np.asarray(coexpression, dtype=np.float64)
    if coexp.ndim != 2 or coexp.shape[0] != coexp.shape[1]:
        raise ValueError(f"`coexpression` must be square; got shape {coexp.shape}.")
    n = coexp.shape[0]
    coords, lab_arr = _centroid_array(atlas, labels, n)
    dist = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1))

    iu, ju = np.triu_indices(n, k=1)
    if atlas_info is not None:
        struct = _structures(atlas_info, lab_arr, n)
        pair_type = np.array(["|".join(sorted(p)) for p in zip(struct[iu], struct[ju],
                                                                strict=True)])
    else:
        pair_type = np.zeros(len(iu), dtype=object)

    y_all = coexp[iu, ju]
    x_all = dist[iu, ju]
    resid = np.full(len(iu), np.nan)
    for kind in pd.unique(pair_type):
        sel = (pair_type == kind) & np.isfinite(y_all)
        if not sel.any():
            continue
        design = np.column_stack([np.ones(sel.sum()), x_all[sel]])
        beta, *_ = np.linalg.lstsq(design, y_all[sel], rcond=None)
        resid[sel] = y_all[sel] - design @ beta

    out = np.zeros_like(coexp)
    out[iu, ju] = resid
    out[ju, iu] = resid
    return out


def _pair_corr(a: np.ndarray, b: np.ndarray, rank: bool) -> np.ndarray:
    """Column-wise correlation of two (n_regions, n_genes) arrays (NaN: pairwise)."""
    out = np.full(a.shape[1], np.nan)
    valid = np.isfinite(a) & np.isfinite(b)
    full = valid.all(axis=0)

    def _corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if rank:
            from scipy import stats  # lazy: slow to import

            x = stats.rankdata(x, axis=0)
            y = stats.rankdata(y, axis=0)
        x = x - x.mean(axis=0)
        y = y - y.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (x * y).sum(0) / np.sqrt((x * x).sum(0) * (y * y).sum(0))

    if full.any():
        out[full] = _corr(a[:, full], b[:, full])
    for g in np.flatnonzero(~full):
        rows = valid[:, g]
        if rows.sum() >= 2:
            out[g] = _corr(a[rows, g][:, None], b[rows, g][:, None])[0]
    return out


def keep_stable_genes(expression: Sequence[pd.DataFrame], threshold: float = 0.9,
                      percentile: bool = True, rank: bool = True,
                      return_stability: bool = False
                      ) -> list[pd.DataFrame] | tuple[list[pd.DataFrame], np.ndarray]:
    """Keep the genes with the highest differential stability across donors.

    The differential stability of a gene is the mean, over all pairs of
    donors, of the correlation (Spearman if `rank`, else Pearson) of its
    expression across regions between the two donors. Regions missing (NaN)
    in either donor of a pair are left out for that pair.

    Parameters
    ----------
    expression : list of pandas.DataFrame of shape (n_regions, n_genes)
        One per donor (at least two); rows are aligned on the first frame's
        index and genes restricted to those present in every frame.
    threshold : float, default=0.9
        Minimum stability; with `percentile` the stability's quantile
        (0-1): 0.9 keeps the top 10% of genes.
    percentile : bool, default=True
        Whether `threshold` is a percentile (linear interpolation) instead of
        an absolute correlation.
    rank : bool, default=True
        Spearman (True) or Pearson (False) correlation.
    return_stability : bool, default=False
        Also return the stability of every gene.

    Returns
    -------
    expression : list of pandas.DataFrame of shape (n_regions, n_kept)
        Genes with stability >= the cutoff (NaN stability never kept).
    stability : numpy.ndarray of shape (n_genes,)
        Only if `return_stability`; per gene, in the column order of the
        first frame (restricted to shared genes).

    Raises
    ------
    ValueError
        With fewer than two donors, or a threshold outside [0, 1] when
        `percentile`.
    """
    frames = list(expression)
    if len(frames) < 2:
        raise ValueError("Differential stability needs expression from at least two donors.")
    if percentile and not 0 <= threshold <= 1:
        raise ValueError(f"With percentile=True `threshold` must be in [0, 1]; got {threshold}.")
    genes = frames[0].columns
    for frame in frames[1:]:
        genes = genes[genes.isin(frame.columns)]
    index = frames[0].index
    arrays = [f.reindex(index=index, columns=genes).to_numpy(dtype=np.float64)
              for f in frames]
    pairs = [_pair_corr(a, b, rank) for a, b in itertools.combinations(arrays, 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        stability = np.nanmean(np.vstack(pairs), axis=0)
    cutoff = np.nanpercentile(stability, threshold * 100) if percentile else threshold
    keep = np.zeros(len(genes), dtype=bool)
    finite = np.isfinite(stability)
    keep[finite] = stability[finite] >= cutoff
    kept = [f.loc[:, genes[keep]] for f in frames]
    if return_stability:
        return kept, stability
    return kept
