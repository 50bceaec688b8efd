"""Checking and converting parcellation images (NIfTI volumes, GIFTI surfaces).

An atlas reaches the pipeline as one of

- a volumetric label image in MNI152 space (path or nibabel image);
- a ``(lh, rh)`` pair of GIFTI label images, by default on the fsaverage5
  surface (other geometry with ``geometry=`` and ``space=``);
- a ``(lh, rh)`` pair of FreeSurfer ``.annot`` files, converted with
  :func:`annot_to_gifti` and :func:`relabel_gifti` (see :func:`surface_pair`);
- a ``(lh, rh)`` pair of 1-D integer arrays of vertex labels;
- a dict donor -> one of the above in that donor's native space;
- an :class:`abagen_core.atlas.matching.AtlasTree`.

:func:`check_atlas` validates one of the first two (or a tree) and returns an
:class:`~abagen_core.atlas.matching.AtlasTree`; :func:`coerce_atlas_to_dict` turns
any of them into one tree per donor. Errors name the problem and the fix.

fsaverage surfaces live in MNI305 space while sample coordinates are MNI152:
the vertices of an fsaverage-space atlas are mapped to MNI152 with the
inverse of :data:`MNI152_TO_FSAVERAGE`, the 4-decimal MNI152 -> MNI305
affine that abagen 0.1.3 uses (its surface matches are reproduced only with
exactly this matrix).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abagen_core.atlas.labels import (
    HEMISPHERES,
    STRUCTURES,
    as_labels,
    check_atlas_info,
    check_img,
    gifti_labels,
    load_gifti,
)
from abagen_core.atlas.matching import AtlasTree
from abagen_core.donors import check_donors
from abagen_core.errors import InvalidOptionError
from abagen_core.utils import data_path

__all__ = [
    "BACKGROUND",
    "HEMISPHERES",
    "STRUCTURES",
    "MNI152_TO_FSAVERAGE",
    "SURFACE_SPACES",
    "check_img",
    "load_gifti",
    "check_atlas",
    "check_atlas_info",
    "coerce_atlas_to_dict",
    "leftify_atlas",
    "annot_to_gifti",
    "relabel_gifti",
    "surface_pair",
    "is_annot",
]

#: label names treated as background by :func:`relabel_gifti`
BACKGROUND = ["unknown", "corpuscallosum", "Background+FreeSurfer_Defined_Medial_Wall", "???"]


#: MNI152 -> fsaverage (MNI305) affine, as used by abagen 0.1.3
MNI152_TO_FSAVERAGE = np.array([
    [1.0022, 0.0071, -0.0177, 0.0528],
    [-0.0146, 0.9990, 0.0027, -1.5519],
    [0.0129, 0.0094, 1.0027, -1.2012],
    [0.0, 0.0, 0.0, 1.0],
])

#: surface spaces accepted by :func:`check_atlas` -> whether their vertices
#: are in fsaverage (MNI305) space and must be mapped to MNI152
SURFACE_SPACES: dict[str, bool] = {
    "fsaverage": True, "fsaverage3": True, "fsaverage4": True, "fsaverage5": True,
    "fsaverage6": True, "fsnative": False, "fslr": False,
    "civet": False,  # CIVET surfaces are in MNI152 (ICBM152) space already
}
_SPACE_ALIASES = {"fslr32k": "fslr", "fs_lr": "fslr", "fslr164k": "fslr"}

#: approximate bounding box (mm) of the MNI152 brain, for the space check
_MNI_BOX = np.array([[-91.0, -126.0, -72.0], [91.0, 91.0, 109.0]])
_MNI_MARGIN = 15.0

_PathOrImage = str | PathLike | Any


# --------------------------------------------------------------------------- loading


def _surface_geometry(surf: Any) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and faces of one hemisphere's surface (path, GIFTI or pair)."""
    import nibabel as nib  # lazy: slow to import

    if isinstance(surf, tuple) and len(surf) == 2 and not isinstance(surf[0], str | PathLike):
        vert, faces = surf
        return np.asarray(vert, dtype=np.float64), np.asarray(faces, dtype=np.int64)
    if hasattr(surf, "vertices") and hasattr(surf, "faces"):
        return (np.asarray(surf.vertices, dtype=np.float64),
                np.asarray(surf.faces, dtype=np.int64))
    if isinstance(surf, str | PathLike) and not str(surf).endswith((".gii", ".gii.gz")):
        path = Path(surf)
        if not path.exists():
            raise FileNotFoundError(f"Surface file {path} does not exist; check the path.")
        vert, faces = nib.freesurfer.read_geometry(str(path))
        return np.asarray(vert, dtype=np.float64), np.asarray(faces, dtype=np.int64)
    img = load_gifti(surf)
    try:
        vert, faces = img.agg_data(("pointset", "triangle"))
    except Exception:  # noqa: BLE001 - nibabel raises various errors on odd files
        vert = faces = None
    if vert is None or faces is None or np.ndim(vert) != 2:
        raise ValueError("A surface geometry file must hold a POINTSET and a TRIANGLE "
                         "array (a .surf.gii); got a GIFTI without them.")
    return np.asarray(vert, dtype=np.float64), np.asarray(faces, dtype=np.int64)


def _check_space(space: str | None) -> str:
    if space is None:
        raise ValueError("`space` is required with `geometry`: one of "
                         f"{sorted(SURFACE_SPACES)} (the space of the geometry files).")
    key = str(space).lower()
    key = _SPACE_ALIASES.get(key, key)
    if key not in SURFACE_SPACES:
        raise InvalidOptionError("space", space, sorted(SURFACE_SPACES))
    return key


# --------------------------------------------------------------------------- atlas_info


def _intuit_atlas_info(lh, rh, lh_labels: np.ndarray, rh_labels: np.ndarray
                       ) -> pd.DataFrame | None:
    """atlas_info from GIFTI label tables: hemisphere from the file, cortex."""
    rows = []
    for hemi, img, data in (("L", lh, lh_labels), ("R", rh, rh_labels)):
        table = img.labeltable.get_labels_as_dict() if img.labeltable is not None else {}
        if not table:
            return None
        for key in np.unique(data[data != 0]):
            rows.append({"id": int(key), "label": table.get(int(key), ""),
                         "hemisphere": hemi, "structure": "cortex"})
    if not rows:
        return None
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- atlases


def check_atlas(atlas: Any, atlas_info: Any = None, geometry: Any = None,
                space: str | None = None, donor: str | None = None,
                data_dir: str | PathLike | None = None) -> AtlasTree:
    """Check that `atlas` is a valid parcellation and build its AtlasTree.

    Parameters
    ----------
    atlas : niimg-like, (2,) tuple, or AtlasTree
        Volumetric label image (MNI152 for a group atlas; a path or a nibabel
        image, not a bare array), or a surface atlas as a (lh, rh) pair of
        GIFTI label images, of FreeSurfer ``.annot`` files or of 1-D integer
        arrays (see :func:`surface_pair`), whose vertices carry integer ids
        distinct across hemispheres. ``.annot`` pairs are renumbered with
        :func:`relabel_gifti`; so are GIFTI pairs with label tables whose ids
        repeat across hemispheres (e.g. :func:`annot_to_gifti`'s output) when
        `atlas_info` is not given.
    atlas_info : path-like or pandas.DataFrame, optional
        Region table (see :func:`check_atlas_info`). For GIFTIs with label
        tables (and ``.annot`` files) it is intuited when not given
        (hemisphere from the file, structure 'cortex', names in 'label').
    geometry : (2,) tuple of surfaces, optional
        Geometry of a surface atlas: ``.surf.gii`` files, FreeSurfer surface
        files, or (vertices, faces) pairs (vertices of shape (n_vertices, 3),
        faces of shape (n_faces, 3)). Default: the bundled fsaverage5 pial
        surface for a group atlas. Required for a donor's surface atlas: this
        layer does not download; :func:`abagen_core.datasets.fetch_fsnative`
        gives the donor's FreeSurfer surfaces (the Python API fetches them,
        see :func:`coerce_atlas_to_dict`'s `native_geometry`).
    space : {'fsaverage', 'fsaverage5', 'fsaverage6', 'fsnative', 'fslr', 'civet'}, optional
        Space of `geometry` (required with it). fsaverage vertices are mapped
        to MNI152 with the inverse of :data:`MNI152_TO_FSAVERAGE`.
    donor : str, optional
        Donor the atlas belongs to (donor-specific / native atlas). Default:
        group atlas.
    data_dir : path-like, optional
        Accepted for abagen 0.1.3's signature, which downloads a donor's
        surfaces into it; here it only names the folder in the error asking
        for `geometry` (a donor's surface atlas without `geometry`).

    Returns
    -------
    atlas : abagen_core.atlas.matching.AtlasTree

    Warns
    -----
    UserWarning
        If a group volumetric atlas does not overlap the MNI152 brain.
    """
    if isinstance(atlas, AtlasTree):
        if atlas_info is not None or (donor is not None and atlas.group_atlas):
            atlas = copy.copy(atlas)
            if atlas_info is not None:
                atlas.atlas_info = atlas_info
            if donor is not None:
                atlas._group_atlas = False  # a donor's own (native) atlas
        return atlas
    if isinstance(atlas, Mapping):
        raise TypeError("check_atlas takes one atlas; for a dict of donor-specific atlases "
                        "use coerce_atlas_to_dict(atlas, donors).")
    group = donor is None
    if isinstance(atlas, tuple | list):
        return _check_surface_atlas(atlas, atlas_info, geometry, space, donor, data_dir)
    _refuse_lone_surface(atlas)
    if geometry is not None:
        raise ValueError("`geometry` only applies to surface atlases given as a (lh, rh) "
                         "tuple of GIFTI label images.")
    img = check_img(atlas)
    if group:
        _warn_if_not_mni(img)
    return AtlasTree(img, atlas_info=atlas_info, group_atlas=group)


def _refuse_lone_surface(atlas: Any) -> None:
    """Clear errors for one hemisphere's file or a bare array given as the whole atlas."""
    if is_annot(atlas):
        raise ValueError(
            f"{atlas} is a FreeSurfer annotation, which holds one hemisphere; pass both "
            "hemispheres as a (lh, rh) pair, e.g. atlas=('lh.aparc.annot', 'rh.aparc.annot')."
        )
    if isinstance(atlas, np.ndarray):
        if atlas.ndim == 3:
            raise TypeError(
                f"Got a 3-D array of shape {atlas.shape} without an affine: the atlas' voxels "
                "must be placed in MNI152 space. Wrap it in an image, e.g. "
                "nibabel.Nifti1Image(array, affine), with the affine of the file it came from."
            )
        if atlas.ndim == 1:
            raise ValueError(
                f"Got one 1-D label array ({atlas.shape[0]} vertices); a surface atlas needs "
                "both hemispheres: pass atlas=(lh_labels, rh_labels)."
            )
        raise ValueError(f"Got a {atlas.ndim}-D array of shape {atlas.shape} as the atlas; "
                         "pass a nibabel.Nifti1Image(array, affine) for a volume or a "
                         "(lh, rh) pair of 1-D label arrays for a surface.")


def _warn_if_not_mni(img) -> None:
    data = np.asanyarray(img.dataobj)
    ijk = np.column_stack(np.nonzero(data))
    step = max(1, len(ijk) // 20000)
    xyz = ijk[::step] @ img.affine[:3, :3].T + img.affine[:3, 3]
    lo, hi = _MNI_BOX[0] - _MNI_MARGIN, _MNI_BOX[1] + _MNI_MARGIN
    inside = np.all((xyz >= lo) & (xyz <= hi), axis=1).mean()
    if inside < 0.9:
        warnings.warn(
            f"Only {inside:.0%} of the atlas' labelled voxels lie within the MNI152 brain "
            "(its affine looks far from MNI152 space). Group atlases are matched by the "
            "samples' MNI152 coordinates: resample the atlas to MNI152, or pass "
            "donor-specific (native) atlases as a dict keyed by donor.",
            UserWarning, stacklevel=3,
        )


def is_annot(item: Any) -> bool:
    """Whether `item` is the path of a FreeSurfer annotation (``.annot``) file.

    Parameters
    ----------
    item : any
        One hemisphere of an atlas.

    Returns
    -------
    annot : bool
    """
    return isinstance(item, str | PathLike) and str(item).lower().endswith(".annot")


def _source(item: Any, hemi: str) -> str:
    """How an error names one hemisphere of a surface atlas."""
    if isinstance(item, str | PathLike):
        return str(item)
    if isinstance(item, np.ndarray):
        return f"the {hemi} label array"
    return f"the {hemi} label image"


def _array_gifti(data: Any, hemi: str):
    """A GIFTI label image (no label table) from a 1-D array of vertex labels."""
    import nibabel as nib  # lazy: slow to import

    arr = np.asarray(data)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(
            f"The {hemi} label array has shape {arr.shape}; a surface atlas given as arrays "
            "needs one 1-D array of vertex labels per hemisphere, (lh, rh). For a volume "
            "pass nibabel.Nifti1Image(array, affine) instead."
        )
    labels = as_labels(arr)
    if labels.size and labels.max() > np.iinfo(np.int32).max:
        raise ValueError(f"Label {labels.max()} of the {hemi} array is too large for int32; "
                         "renumber the parcels.")
    darr = nib.gifti.GiftiDataArray(labels.astype(np.int32), intent="NIFTI_INTENT_LABEL",
                                    datatype="NIFTI_TYPE_INT32")
    return nib.gifti.GiftiImage(darrays=[darr])


def surface_pair(atlas: Sequence[Any]) -> tuple[Any, Any]:
    """The (lh, rh) GIFTI label images of a surface atlas given in any accepted form.

    Parameters
    ----------
    atlas : (2,) tuple
        Left and right hemisphere, both as GIFTI label images (paths or
        ``nibabel.gifti.GiftiImage``), both as FreeSurfer ``.annot`` paths, or
        both as 1-D integer arrays of vertex labels. ``.annot`` pairs are
        converted with :func:`annot_to_gifti` and renumbered with
        :func:`relabel_gifti`: background names (:data:`BACKGROUND`) become
        0, the left parcels 1..N and the right ones N+1.. in colour-table
        order, and the label tables keep the region names.

    Returns
    -------
    lh, rh : nibabel.gifti.GiftiImage
    """
    if not isinstance(atlas, tuple | list) or len(atlas) != 2:
        n = len(atlas) if isinstance(atlas, tuple | list) else 1
        raise ValueError(f"A surface atlas must be a (lh, rh) pair (GIFTI label images, "
                         f".annot files or 1-D label arrays); got {n} item(s).")
    lh, rh = atlas
    names = [Path(a).name.lower() if isinstance(a, str | PathLike) else "" for a in atlas]
    if names[0].startswith("rh.") and names[1].startswith("lh."):
        raise ValueError(f"The surface atlas ({atlas[0]}, {atlas[1]}) looks swapped: give the "
                         "left hemisphere first, atlas=(lh, rh).")
    if is_annot(lh) or is_annot(rh):
        for hemi, item in (("lh", lh), ("rh", rh)):
            if not is_annot(item):
                raise ValueError(
                    f"The surface atlas mixes a FreeSurfer .annot file with "
                    f"{_source(item, hemi)}; give both hemispheres as .annot files "
                    "(lh.annot, rh.annot) or both as GIFTI label images."
                )
        converted = (annot_to_gifti(lh), annot_to_gifti(rh))
        for path in (lh, rh):
            _warn_if_first_entry_is_a_parcel(path)
        return relabel_gifti(converted)
    return tuple(_array_gifti(item, hemi) if isinstance(item, np.ndarray) else load_gifti(item)
                 for hemi, item in (("lh", lh), ("rh", rh)))


def _warn_if_first_entry_is_a_parcel(path: str | PathLike) -> None:
    """annot_to_gifti makes colour-table entry 0 background: say so if it names a region."""
    import nibabel as nib  # lazy: slow to import

    labels, _, names = nib.freesurfer.read_annot(str(path))
    if not len(names):
        return
    first = names[0].decode() if isinstance(names[0], bytes) else str(names[0])
    n = int(np.count_nonzero(labels == 0))
    if first not in BACKGROUND and n:
        warnings.warn(
            f"{path}: the {n} vertices of colour-table entry 0 ('{first}') are read as "
            "background (as annot_to_gifti does). If it is a region, put a background entry "
            "(e.g. 'unknown') first in the colour table.", UserWarning, stacklevel=4)


def _has_tables(*imgs: Any) -> bool:
    return all(img.labeltable is not None and img.labeltable.get_labels_as_dict()
               for img in imgs)


def _check_surface_atlas(atlas: Sequence, atlas_info: Any, geometry: Any, space: str | None,
                         donor: str | None, data_dir: Any) -> AtlasTree:
    lh, rh = surface_pair(atlas)
    lh_lab, rh_lab = gifti_labels(lh), gifti_labels(rh)
    shared = np.intersect1d(lh_lab[lh_lab != 0], rh_lab[rh_lab != 0])
    if shared.size and atlas_info is None and _has_tables(lh, rh):
        # e.g. annot_to_gifti's output: colour-table indices in both hemispheres,
        # named by the label tables, so renumbering loses nothing
        warnings.warn(
            f"Labels {shared.tolist()[:10]} appear in both hemispheres; renumbered with "
            "relabel_gifti (background names dropped, left parcels first). The region names "
            "of the label tables are kept in atlas_info.", UserWarning, stacklevel=3)
        lh, rh = relabel_gifti((lh, rh))
        lh_lab, rh_lab = gifti_labels(lh), gifti_labels(rh)
    if geometry is None:
        if donor is None:
            geometry = tuple(data_path(f"fsaverage5-pial-{h}.surf.gii.gz") for h in ("lh", "rh"))
            space = "fsaverage5"
        else:
            where = f", data_dir={str(data_dir)!r}" if data_dir is not None else ""
            raise ValueError(
                f"The surface atlas of donor {donor} needs the donor's surfaces: pass "
                "geometry=(lh, rh) and space='fsnative', e.g. the pial surfaces of "
                f"abagen_core.datasets.fetch_fsnative({str(donor)!r}{where}). "
                "get_expression_data() fetches them itself."
            )
    space = _check_space(space)
    if not isinstance(geometry, tuple | list) or len(geometry) != 2:
        raise ValueError("`geometry` must be a (lh, rh) pair of surfaces.")
    verts, faces = [], []
    for hemi, surf, lab in (("lh", geometry[0], lh_lab), ("rh", geometry[1], rh_lab)):
        v, f = _surface_geometry(surf)
        if len(v) != len(lab):
            src = _source(atlas[0 if hemi == "lh" else 1], hemi)
            raise ValueError(
                f"The {hemi} atlas ({src}) has {len(lab)} vertices but its geometry ({space}) "
                f"has {len(v)}; the labels and the surface must have the same mesh. "
                "fsaverage5 has 10242 vertices per hemisphere: for another mesh pass its "
                "surfaces with geometry=(lh, rh) and space=..."
            )
        verts.append(v)
        faces.append(f)
    shared = np.intersect1d(lh_lab[lh_lab != 0], rh_lab[rh_lab != 0])
    if shared.size:
        raise ValueError(
            f"Labels {shared.tolist()[:10]} appear in both hemispheres; parcels must have ids "
            "distinct across hemispheres. Renumber them, e.g. with "
            "abagen_core.atlas.images.relabel_gifti(atlas) (GIFTIs), by adding the largest "
            "left label to the right array (arrays), or drop atlas_info so GIFTI label "
            "tables are renumbered for you."
        )
    coords = np.vstack(verts)
    if SURFACE_SPACES[space]:
        to_mni = np.linalg.inv(MNI152_TO_FSAVERAGE)
        coords = coords @ to_mni[:3, :3].T + to_mni[:3, 3]
    triangles = np.vstack([faces[0], faces[1] + len(verts[0])])
    labels = np.concatenate([lh_lab, rh_lab])
    if atlas_info is None:
        atlas_info = _intuit_atlas_info(lh, rh, lh_lab, rh_lab)
    return AtlasTree(labels, coords, triangles=triangles, atlas_info=atlas_info,
                     group_atlas=donor is None)


def coerce_atlas_to_dict(atlas: Any, donors: Any, atlas_info: Any = None,
                         native_geometry: Callable[[str], Sequence[Any]] | None = None,
                         *, geometry: Any = None, space: str | None = None
                         ) -> tuple[dict[str, AtlasTree], bool]:
    """One AtlasTree per donor, from a group atlas or a dict of donor atlases.

    Parameters
    ----------
    atlas : niimg-like, (2,) tuple of GIFTI, AtlasTree, or dict
        A group atlas (shared by all donors), or a dict donor -> atlas of
        donor-specific (native space) atlases; keys are donor numbers or UIDs.
    donors : 'all', str, int or list
        Donors to return trees for.
    atlas_info : path-like or pandas.DataFrame, optional
        Region table applied to every atlas.
    native_geometry : callable, optional
        ``native_geometry(donor) -> (lh, rh)``: the surfaces of a donor (a
        donor number), called once for each donor whose atlas is a (lh, rh)
        pair of GIFTIs (the geometry of a donor-specific surface atlas, in
        'fsnative' space). The Python API passes a function that downloads the
        donor's FreeSurfer pial surfaces; without it such atlases raise.
    geometry : (2,) tuple of surfaces, optional
        Geometry of a group surface atlas (see :func:`check_atlas`).
    space : str, optional
        Space of `geometry` (required with it).

    Returns
    -------
    atlas : dict of str -> AtlasTree
        Donor number -> tree (the same object for every donor of a group atlas).
    group_atlas : bool
        False for donor-specific atlases (samples must then be matched with
        native coordinates, see :func:`abagen_core.atlas.matching.native_coordinates`).
    """
    donors = check_donors(donors)
    if isinstance(atlas, Mapping):
        if geometry is not None:
            raise ValueError(
                "`geometry` applies to a group surface atlas; donor-specific surface atlases "
                "use each donor's FreeSurfer surfaces. For other meshes pass a dict of "
                "AtlasTrees built with check_atlas(atlas, geometry=..., space=..., donor=...)."
            )
        given: dict[str, Any] = {}
        for key, value in atlas.items():
            (donor,) = check_donors(key)
            given[donor] = value
        missing = [d for d in donors if d not in given]
        if missing:
            raise ValueError(
                f"The atlas dict has no atlas for donor(s) {missing} (it has "
                f"{sorted(given)}); give an atlas for every donor or restrict donors=."
            )
        trees = {}
        for d in donors:
            if native_geometry is not None and isinstance(given[d], tuple | list):
                trees[d] = check_atlas(given[d], atlas_info, geometry=native_geometry(d),
                                       space="fsnative", donor=d)
            else:
                trees[d] = check_atlas(given[d], atlas_info, donor=d)
        return trees, False
    tree = check_atlas(atlas, atlas_info, geometry=geometry, space=space)
    return {d: tree for d in donors}, True


# --------------------------------------------------------------------------- conversions


def leftify_atlas(atlas: _PathOrImage):
    """Zero out every region voxel in the right hemisphere of a volumetric atlas.

    Assumes RAS+ world coordinates with x = 0 at the midline: voxels whose
    world x is zero or positive are set to 0 (the midline plane too, as
    abagen 0.1.3 does).

    Parameters
    ----------
    atlas : str, os.PathLike or nibabel image

    Returns
    -------
    atlas : nibabel.Nifti1Image
        Copy with the right hemisphere zeroed.
    """
    import nibabel as nib  # lazy: slow to import

    img = check_img(atlas)
    data = np.asarray(img.dataobj).copy()
    ijk = np.indices(data.shape).reshape(3, -1).T
    x = ijk @ img.affine[0, :3] + img.affine[0, 3]
    data.reshape(-1)[x >= 0] = 0
    return nib.Nifti1Image(data, img.affine, header=img.header)


def annot_to_gifti(atlas: str | PathLike):
    """Convert a FreeSurfer ``.annot`` file to an in-memory GIFTI label image.

    Parameters
    ----------
    atlas : str or os.PathLike
        Surface annotation file.

    Returns
    -------
    gifti : nibabel.gifti.GiftiImage
        One int32 label array (values = indices into the annotation's colour
        table; vertices without a table entry get 0) and a label table.
    """
    import nibabel as nib  # lazy: slow to import

    path = Path(atlas)
    if not path.exists():
        raise FileNotFoundError(f"Annotation file {path} does not exist; check the path.")
    labels, ctab, names = nib.freesurfer.read_annot(str(path))
    labels = np.where(labels < 0, 0, labels).astype(np.int32)
    table = nib.gifti.GiftiLabelTable()
    for key, (name, colour) in enumerate(zip(names, ctab, strict=True)):
        lab = nib.gifti.GiftiLabel(key=key, red=colour[0] / 255, green=colour[1] / 255,
                                   blue=colour[2] / 255, alpha=1.0)
        lab.label = name.decode() if isinstance(name, bytes) else str(name)
        table.labels.append(lab)
    darr = nib.gifti.GiftiDataArray(labels, intent="NIFTI_INTENT_LABEL",
                                    datatype="NIFTI_TYPE_INT32")
    return nib.gifti.GiftiImage(labeltable=table, darrays=[darr])


def relabel_gifti(atlas: Sequence[Any], background: Iterable[str] | None = BACKGROUND,
                  offset: int | None = None) -> tuple[Any, Any]:
    """Renumber a (lh, rh) GIFTI atlas so ids are consecutive across hemispheres.

    Parameters
    ----------
    atlas : (2,) tuple of str, os.PathLike or GiftiImage
        Label images (lh, rh).
    background : list of str, default=BACKGROUND
        Names (in the label tables) of labels to set to 0.
    offset : int, optional
        First id of the right hemisphere (background excluded); default one
        past the last left-hemisphere id.

    Returns
    -------
    relabelled : (2,) tuple of nibabel.gifti.GiftiImage
        Non-background labels become 1..N in the left hemisphere and
        offset.. in the right, in order of their original ids; label tables
        are updated.
    """
    import nibabel as nib  # lazy: slow to import

    if not isinstance(atlas, tuple | list) or len(atlas) != 2:
        raise ValueError("relabel_gifti needs a (lh, rh) pair of GIFTI label images.")
    background = set(background or [])
    out = []
    start = 1
    for n, item in enumerate(atlas):
        img = load_gifti(item)
        data = gifti_labels(img)
        table = img.labeltable.get_labels_as_dict() if img.labeltable is not None else {}
        bg_keys = [k for k, name in table.items() if name in background]
        data = np.where(np.isin(data, bg_keys), 0, data)
        ids = np.unique(data[data != 0])
        if n == 1 and offset is not None:
            start = int(offset)
        new_ids = np.arange(start, start + len(ids))
        lookup = dict(zip(ids.tolist(), new_ids.tolist(), strict=True))
        newdata = np.zeros_like(data, dtype=np.int32)
        if ids.size:
            newdata = np.where(data == 0, 0, new_ids[np.searchsorted(ids, data)]).astype(np.int32)
        new_table = nib.gifti.GiftiLabelTable()
        zero = nib.gifti.GiftiLabel(key=0, red=1.0, green=1.0, blue=1.0, alpha=0.0)
        zero.label = table.get(0, "unknown") if 0 not in bg_keys else "unknown"
        new_table.labels.append(zero)
        old_labels = {lab.key: lab for lab in img.labeltable.labels} if img.labeltable else {}
        for old, new in lookup.items():
            src = old_labels.get(old)
            rgba = src.rgba if src is not None and src.rgba[0] is not None else (0, 0, 0, 1)
            lab = nib.gifti.GiftiLabel(key=new, red=rgba[0], green=rgba[1], blue=rgba[2],
                                       alpha=rgba[3])
            lab.label = table.get(old, str(old))
            new_table.labels.append(lab)
        darr = nib.gifti.GiftiDataArray(newdata, intent="NIFTI_INTENT_LABEL",
                                        datatype="NIFTI_TYPE_INT32")
        out.append(nib.gifti.GiftiImage(labeltable=new_table, darrays=[darr]))
        start = (new_ids[-1] + 1) if ids.size else start
    return out[0], out[1]
