"""Sample preparation: coordinates, ontology classes, hemisphere checks, mirroring.

Everything in this module is atlas-independent: it turns a donor's raw
``SampleAnnot.csv`` + ``Ontology.csv`` into the *annotation* table used by all
later stages (see :func:`prepare_annotation`):

=============  ===========================================================
column         meaning
=============  ===========================================================
well_id        Allen well id of the tissue sample
structure_id   AHBA ontology structure of the sample
hemisphere     'L', 'R' or 'B' (bilateral/midline) from the ontology
structure      'cortex', 'subcortex/brainstem', 'cerebellum',
               'white matter', 'other' (sulci & spaces) or None (no
               class id on the path)
mni_x/y/z      MNI152 coordinates (corrected by default)
=============  ===========================================================

The index is ``sample_id`` (1-based row of SampleAnnot.csv); after mirroring
it repeats (a mirrored copy keeps its sample's id, as in abagen).
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abagen_core.utils import check_choice, data_path

__all__ = [
    "ANNOTATION_COLUMNS",
    "matrix_columns",
    "STRUCTURE_CLASSES",
    "LR_MIRROR_OPTIONS",
    "corrected_mni_coordinates",
    "SampleCoordinates",
    "update_mni_coords",
    "label_structures",
    "annotate_samples",
    "drop_mismatch_samples",
    "mirror_samples",
    "check_lr_mirror",
    "similarity_threshold",
    "prepare_annotation",
]

ANNOTATION_COLUMNS = ["well_id", "structure_id", "hemisphere", "structure",
                      "mni_x", "mni_y", "mni_z"]

#: broad structural classes and the AHBA ontology ids that define them. A
#: structure takes the class of the *deepest* of these ids on its
#: ``structure_id_path`` (the last one on the path), as abagen 0.1.3 does:
#: hippocampal formation (4249) sits under cerebral cortex (4008) and counts
#: as subcortex, while a structure with 4008 below 4249 would be cortex.
#: 'other' is sulci & spaces (9352). A structure with none of these ids on
#: its path has no class (``None``) and never takes a region when matching is
#: constrained by atlas_info (abagen matches such samples to no region, not
#: even 'other' ones).
STRUCTURE_CLASSES: dict[str, tuple[int, ...]] = {
    "subcortex/brainstem": (4249, 4275, 4391, 9001, 9512, 9131),
    "cortex": (4008,),
    "cerebellum": (4696,),
    "white matter": (9218,),
    "other": (9352,),
}
_CLASS_OF_ID = {str(sid): name for name, ids in STRUCTURE_CLASSES.items() for sid in ids}

LR_MIRROR_OPTIONS = [None, "bidirectional", "leftright", "rightleft"]


@lru_cache(maxsize=1)
def _corrected_table() -> pd.DataFrame:
    table = pd.read_csv(data_path("corrected_mni_coordinates.csv.gz"))
    return table.set_index("well_id")[
        ["corrected_mni_x", "corrected_mni_y", "corrected_mni_z"]
    ]


def corrected_mni_coordinates() -> pd.DataFrame:
    """The non-linearly registered ("corrected") MNI coordinates of all samples.

    Returns
    -------
    coords : pandas.DataFrame of shape (3702, 3)
        Index ``well_id``; columns ``corrected_mni_{x,y,z}`` (float64).
        From the alleninf package (K. Gorgolewski), BSD 3-clause.
    """
    return _corrected_table().copy()


class SampleCoordinates:
    """User-supplied MNI coordinates of some or all samples (``corrected_mni=<table>``).

    Refined registrations of the AHBA samples have been published since the
    "corrected" coordinates abagen uses; a table of them can replace those
    coordinates. Samples absent from the table keep the corrected coordinates
    of :func:`corrected_mni_coordinates`.

    Parameters
    ----------
    table : pandas.DataFrame or path-like
        Columns ``well_id``, ``mni_x``, ``mni_y``, ``mni_z`` (or ``well_id``
        as the index), one row per sample; a CSV file with these columns.

    Attributes
    ----------
    coords : pandas.DataFrame of shape (n_given, 3)
        Index ``well_id`` (sorted); columns ``mni_x``, ``mni_y``, ``mni_z``
        (float64).
    sha256 : str
        Digest of the table's content (well ids and values): identical tables
        give identical cache keys, whatever their row order or file name.
    source : str
        The file name, or ``'DataFrame'``.

    Raises
    ------
    ValueError
        Naming the offending well ids: unknown to the AHBA, repeated, or with
        missing or non-finite coordinates; or the missing columns.
    """

    COLUMNS = ("mni_x", "mni_y", "mni_z")

    def __init__(self, table: Any) -> None:
        if isinstance(table, SampleCoordinates):
            self.coords, self.sha256, self.source = table.coords, table.sha256, table.source
            return
        if isinstance(table, str | os.PathLike):
            path = Path(table)
            if not path.is_file():
                raise ValueError(f"corrected_mni: the coordinate table {path} does not exist; "
                                 "pass True, False or a CSV with columns well_id, mni_x, "
                                 "mni_y, mni_z.")
            self.source = str(path)
            table = pd.read_csv(path)
        elif isinstance(table, pd.DataFrame):
            self.source = "DataFrame"
        else:
            raise ValueError(f"corrected_mni must be True, False or a coordinate table "
                             f"(DataFrame or CSV path); got {type(table).__name__}.")
        frame = table.reset_index() if "well_id" not in table.columns else table
        missing = [c for c in ("well_id", *self.COLUMNS) if c not in frame.columns]
        if missing:
            raise ValueError(f"corrected_mni: the coordinate table lacks column(s) {missing}; "
                             "it needs well_id, mni_x, mni_y, mni_z.")
        ids = pd.to_numeric(frame["well_id"], errors="coerce")
        if ids.isna().any() or (ids != ids.round()).any():
            bad = frame["well_id"][ids.isna() | (ids != ids.round())].tolist()[:10]
            raise ValueError(f"corrected_mni: well ids must be integers; got {bad}.")
        ids = ids.astype("int64")
        known = _corrected_table().index
        unknown = sorted(set(ids) - set(known))
        if unknown:
            raise ValueError(f"corrected_mni: {len(unknown)} well id(s) are not AHBA "
                             f"microarray samples, e.g. {unknown[:10]}. Check the table.")
        repeated = sorted(set(ids[ids.duplicated()]))
        if repeated:
            raise ValueError(f"corrected_mni: well id(s) {repeated[:10]} appear more than "
                             "once in the coordinate table.")
        values = frame[list(self.COLUMNS)].apply(pd.to_numeric, errors="coerce")
        values = values.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            raise ValueError(f"corrected_mni: well id(s) {ids[bad].tolist()[:10]} have "
                             "missing or non-finite coordinates.")
        coords = pd.DataFrame(values, index=pd.Index(ids.to_numpy(), name="well_id"),
                              columns=list(self.COLUMNS)).sort_index()
        self.coords = coords
        digest = hashlib.sha256(coords.index.to_numpy(dtype="<i8").tobytes())
        digest.update(coords.to_numpy(dtype="<f8").tobytes())
        self.sha256 = digest.hexdigest()

    def __repr__(self) -> str:
        return f"SampleCoordinates(n={len(self.coords)}, sha256={self.sha256[:16]})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SampleCoordinates) and other.sha256 == self.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def table(self) -> pd.DataFrame:
        """Coordinates of every AHBA sample: the given ones over the corrected ones.

        Returns
        -------
        coords : pandas.DataFrame of shape (3702, 3)
            Index ``well_id``; columns ``mni_x``, ``mni_y``, ``mni_z``.
        """
        base = _corrected_table().copy()
        base.columns = list(self.COLUMNS)
        base.loc[self.coords.index, list(self.COLUMNS)] = self.coords.to_numpy()
        return base


def update_mni_coords(annotation: pd.DataFrame,
                      coords: pd.DataFrame | None = None) -> pd.DataFrame:
    """Replace ``mni_{x,y,z}`` by the corrected coordinates of each well.

    Parameters
    ----------
    annotation : pandas.DataFrame of shape (n_samples, >=4)
        Must have ``well_id`` and ``mni_{x,y,z}``.
    coords : pandas.DataFrame, optional
        Corrected coordinates indexed by ``well_id``; defaults to the bundled
        table (:func:`corrected_mni_coordinates`).

    Returns
    -------
    annotation : pandas.DataFrame of shape (n_samples, n_columns)
        A copy with updated coordinates.

    Raises
    ------
    ValueError
        If a well id has no corrected coordinate.
    """
    coords = _corrected_table() if coords is None else coords
    wells = annotation["well_id"].to_numpy()
    missing = ~np.isin(wells, coords.index.to_numpy())
    if missing.any():
        raise ValueError(
            f"{int(missing.sum())} samples have no corrected MNI coordinate "
            f"(e.g. well_id {wells[missing][0]}); these are not AHBA microarray "
            "samples. Use corrected_mni=False to keep the coordinates of SampleAnnot.csv."
        )
    values = coords.loc[wells].to_numpy(dtype=np.float64)
    out = annotation.copy()
    out[["mni_x", "mni_y", "mni_z"]] = values
    return out


def label_structures(ontology: pd.DataFrame) -> pd.DataFrame:
    """Hemisphere and broad structural class of every ontology structure.

    Parameters
    ----------
    ontology : pandas.DataFrame of shape (n_structures, 8)
        As returned by :func:`abagen_core.io.read_ontology`.

    Returns
    -------
    classes : pandas.DataFrame of shape (n_structures, 2)
        Index ontology ``id``; columns ``hemisphere`` ('L', 'R', or 'B' where
        the ontology leaves it empty) and ``structure``.
    """
    # the deepest class-defining id on the path wins (abagen 0.1.3's rule,
    # established by black-box probes on ontologies with rewired paths)
    structure = [_path_class(path) for path in ontology["structure_id_path"].astype(str)]
    hemisphere = ontology["hemisphere"].astype(object).where(
        ontology["hemisphere"].notna(), "B")
    return pd.DataFrame({"hemisphere": hemisphere.to_numpy(),
                         "structure": np.array(structure, dtype=object)},
                        index=pd.Index(ontology["id"].to_numpy(), name="id"))


def _path_class(path: str) -> str | None:
    """Class of the deepest :data:`STRUCTURE_CLASSES` id on a structure_id_path."""
    for node in reversed(path.strip("/").split("/")):
        if node in _CLASS_OF_ID:
            return _CLASS_OF_ID[node]
    return None


def annotate_samples(annotation: pd.DataFrame, ontology: pd.DataFrame) -> pd.DataFrame:
    """Add ontology ``hemisphere`` and ``structure`` to a SampleAnnot table.

    Parameters
    ----------
    annotation : pandas.DataFrame of shape (n_samples, 13)
        :func:`abagen_core.io.read_annotation` output.
    ontology : pandas.DataFrame of shape (n_structures, 8)

    Returns
    -------
    annotation : pandas.DataFrame of shape (n_samples, 7)
        Columns :data:`ANNOTATION_COLUMNS`, index ``sample_id``.

    Raises
    ------
    ValueError
        If a sample's structure id is absent from the ontology.
    """
    classes = label_structures(ontology)
    sid = annotation["structure_id"].to_numpy()
    unknown = ~np.isin(sid, classes.index.to_numpy())
    if unknown.any():
        raise ValueError(
            f"structure_id {sid[unknown][0]} of SampleAnnot.csv is not in Ontology.csv; "
            "the donor's files do not belong together. Re-fetch the donor."
        )
    out = annotation[["well_id", "structure_id"]].copy()
    out["hemisphere"] = classes["hemisphere"].loc[sid].to_numpy()
    out["structure"] = classes["structure"].loc[sid].to_numpy()
    for axis in "xyz":
        out[f"mni_{axis}"] = annotation[f"mni_{axis}"].to_numpy(dtype=np.float64)
    return out[ANNOTATION_COLUMNS]


def drop_mismatch_samples(annotation: pd.DataFrame) -> pd.DataFrame:
    """Drop samples whose ontology hemisphere disagrees with their x coordinate.

    A left-hemisphere sample needs ``mni_x < 0``, a right one ``mni_x > 0``;
    a bilateral/midline ('B') sample is kept only when ``mni_x == 0`` exactly
    (abagen 0.1.3's rule, which the parity numbers depend on).

    Parameters
    ----------
    annotation : pandas.DataFrame of shape (n_samples, n_columns)
        With ``hemisphere`` and ``mni_x``.

    Returns
    -------
    annotation : pandas.DataFrame of shape (n_kept, n_columns)
    """
    x = annotation["mni_x"].to_numpy()
    hemi = annotation["hemisphere"].to_numpy()
    keep = (((hemi == "L") & (x < 0)) | ((hemi == "R") & (x > 0))
            | ((hemi == "B") & (x == 0)))
    return annotation.loc[keep]


def check_lr_mirror(lr_mirror):
    """Validate `lr_mirror`; ``True`` means 'bidirectional' (abagen's old API).

    Parameters
    ----------
    lr_mirror : {None, 'bidirectional', 'leftright', 'rightleft'} or bool

    Returns
    -------
    lr_mirror : str or None
    """
    if lr_mirror is True:
        return "bidirectional"
    if lr_mirror is False:
        return None
    return check_choice("lr_mirror", lr_mirror, LR_MIRROR_OPTIONS)


def _contralateral_ids(ontology: pd.DataFrame) -> pd.Series:
    """Map each lateralised structure id to its other-hemisphere counterpart.

    The counterpart is the structure with the same acronym in the other
    hemisphere, whatever its parent (abagen 0.1.3 looks structures up by
    (acronym, hemisphere): black-box probes with re-parented right-hemisphere
    structures showed that mirrored copies follow the acronym). Of several
    structures sharing an acronym and hemisphere the first in ontology order
    is used.
    """
    ont = ontology[ontology["hemisphere"].isin(["L", "R"])]
    ids = ont["id"].to_numpy()
    acronym = ont["acronym"].astype(str).to_numpy()
    hemi = ont["hemisphere"].to_numpy()
    left = pd.Series(ids[hemi == "L"], index=acronym[hemi == "L"])
    right = pd.Series(ids[hemi == "R"], index=acronym[hemi == "R"])
    left = left[~left.index.duplicated()]
    right = right[~right.index.duplicated()]
    common = left.index.intersection(right.index)
    mapping = pd.concat([
        pd.Series(right.loc[common].to_numpy(), index=left.loc[common].to_numpy()),
        pd.Series(left.loc[common].to_numpy(), index=right.loc[common].to_numpy()),
    ])
    return mapping


def mirror_samples(annotation: pd.DataFrame, ontology: pd.DataFrame,
                   swap: str = "bidirectional") -> pd.DataFrame:
    """Duplicate samples into the other hemisphere (x -> -x).

    Mirrored copies get the opposite ``hemisphere``, the contralateral
    ontology structure (same acronym, other side) and *that* structure's
    class (:func:`label_structures`), and keep their ``sample_id``; as in
    abagen 0.1.3, whose mirrored copies match regions by the class of the
    contralateral structure (black-box probes on ontologies whose left and
    right structures sit under different class ids). A structure without a
    counterpart keeps its id and class (abagen 0.1.3 fails on such
    ontologies). Copies are appended after the originals: first the copies
    of left samples (for 'bidirectional'/'leftright'), then those of right
    samples (for 'bidirectional'/'rightleft').

    Parameters
    ----------
    annotation : pandas.DataFrame of shape (n_samples, 7)
    ontology : pandas.DataFrame
    swap : {'bidirectional', 'leftright', 'rightleft'}, default='bidirectional'

    Returns
    -------
    annotation : pandas.DataFrame of shape (n_samples + n_mirrored, 7)
    """
    swap = check_lr_mirror(swap)
    if swap is None:
        return annotation
    mapping = _contralateral_ids(ontology)
    classes = label_structures(ontology)["structure"]
    classes = classes[~classes.index.duplicated()]
    sources = {"bidirectional": ("L", "R"), "leftright": ("L",), "rightleft": ("R",)}[swap]
    parts = [annotation]
    for hemi in sources:
        copy = annotation.loc[annotation["hemisphere"].to_numpy() == hemi].copy()
        copy["mni_x"] = -copy["mni_x"]
        copy["hemisphere"] = "R" if hemi == "L" else "L"
        sid = copy["structure_id"]
        mapped = sid.map(mapping)
        found = mapped.notna().to_numpy()
        copy["structure_id"] = mapped.fillna(sid).astype(sid.dtype)
        if "structure" in copy.columns and found.any():
            structure = copy["structure"].to_numpy(dtype=object, copy=True)
            structure[found] = classes.reindex(mapped[found].astype(sid.dtype)).to_numpy()
            copy["structure"] = structure
        parts.append(copy)
    return pd.concat(parts)


def similarity_threshold(microarray: pd.DataFrame, annotation: pd.DataFrame,
                         probes: pd.Index | None = None,
                         threshold: float | None = 5) -> pd.DataFrame:
    """Drop samples whose expression is unlike that of the donor's other samples.

    Samples are correlated (Pearson) with each other across probes; each
    sample's summed correlation is compared with the distribution over
    samples, and those more than `threshold` standard deviations below the
    mean are dropped.

    Parameters
    ----------
    microarray : pandas.DataFrame of shape (n_probes, n_samples_total)
        The donor's expression, columns sample ids.
    annotation : pandas.DataFrame of shape (n_samples, 7)
        Samples to consider.
    probes : pandas.Index, optional
        Probes to correlate over (default: all rows of `microarray`).
    threshold : float or None, default=5
        None disables the filter.

    Returns
    -------
    annotation : pandas.DataFrame of shape (n_kept, 7)
    """
    if threshold is None:
        return annotation
    threshold = float(threshold)
    data = microarray if probes is None else microarray.loc[probes]
    sids = annotation.index.to_numpy()
    values = data[sids].to_numpy(dtype=np.float64)
    corr = np.corrcoef(values, rowvar=False)
    total = corr.sum(axis=1)
    cutoff = total.mean() - threshold * total.std(ddof=1)
    return annotation.loc[total >= cutoff]


def prepare_annotation(annotation: pd.DataFrame, ontology: pd.DataFrame, *,
                       corrected_mni: bool | SampleCoordinates = True) -> pd.DataFrame:
    """Raw SampleAnnot -> annotation with classes and checked hemispheres.

    Chains :func:`update_mni_coords` (when `corrected_mni` is True, or a
    :class:`SampleCoordinates` table, whose coordinates replace those of the
    samples it lists),
    :func:`annotate_samples` and :func:`drop_mismatch_samples`. Similarity
    thresholding and mirroring come after (they need expression data / are
    optional).

    Parameters
    ----------
    annotation : pandas.DataFrame of shape (n_samples, 13)
        :func:`abagen_core.io.read_annotation` output.
    ontology : pandas.DataFrame of shape (n_structures, 8)
    corrected_mni : bool, default=True

    Returns
    -------
    annotation : pandas.DataFrame of shape (n_kept, 7)
    """
    if isinstance(corrected_mni, SampleCoordinates):
        annotation = update_mni_coords(annotation, corrected_mni.table())
    elif corrected_mni:
        annotation = update_mni_coords(annotation)
    return drop_mismatch_samples(annotate_samples(annotation, ontology))


def matrix_columns(annotation: pd.DataFrame) -> list[int]:
    """Sample ids to read from a donor's matrix for `annotation`.

    Parameters
    ----------
    annotation : pandas.DataFrame of shape (n_samples, n_columns)
        Processed sample annotation, index ``sample_id`` (repeats allowed).

    Returns
    -------
    columns : list of int
        Each sample id once, in annotation order: a matrix read with these
        columns lines up with `annotation` without a reordering copy (unless
        samples repeat, as after mirroring).
    """
    return list(dict.fromkeys(int(x) for x in annotation.index))
