"""The pipeline's stages, as functions on in-memory objects.

These are the *only* implementations of each step: the Python API
(:mod:`abagen_core.api`) chains them in memory, and the Snakemake workflow's
scripts call them one per rule with parquet files in between. The stage
boundaries:

==========================  ==================  ===========================
stage                       granularity         depends on the atlas?
==========================  ==================  ===========================
:func:`prepare_probes`      once                no
:func:`prepare_samples`     per donor           no
:func:`abagen_core.probes.pacall_summary` /
``probe_summaries``         per donor           no
:func:`select_probes`       gather over donors  no
:func:`donor_genes`         per donor           no
:func:`label_donor`         per atlas, donor    yes
:func:`normalize_donor`     per atlas, donor    yes
:func:`combine_donors`      gather per atlas    yes
==========================  ==================  ===========================

The sample-level outputs (abagen's ``get_samples_in_mask`` and
``get_interpolated_map``) branch off after :func:`donor_genes`, atlas-free:
:func:`samples_in_mask` per donor, :func:`combine_samples`, then
:func:`mask_points`, :func:`interpolate_samples` and :func:`dense_maps`.

Sample-level frames keep one row per sample (mirrored copies included, in
annotation order) with a plain positional index; the matching annotation
rows are kept alongside, so nothing relies on sample ids being unique.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import aggregate, normalize, probes, samples

__all__ = [
    "prepare_probes",
    "prepare_samples",
    "select_probes",
    "donor_genes",
    "label_donor",
    "normalize_genes",
    "normalize_donor",
    "fill_missing",
    "combine_donors",
    "samples_in_mask",
    "well_coordinates",
    "combine_samples",
    "mask_tree",
    "check_genes",
    "check_n_neighbors",
    "select_genes",
    "mask_points",
    "interpolate_samples",
    "dense_maps",
    "write_samples_in_mask",
    "write_map_samples",
    "write_interpolated_map",
    "write_map_metadata",
]

LOG = logging.getLogger("abagen_core")


def prepare_probes(probe_table: pd.DataFrame, *, reannotated: bool = True,
                   reannotation: pd.DataFrame | None = None) -> pd.DataFrame:
    """Probe annotation used throughout: reannotated (or not), Entrez ids only.

    Parameters
    ----------
    probe_table : pandas.DataFrame of shape (n_probes, 6)
        A donor's ``Probes.csv`` (identical for all donors).
    reannotated : bool, default=True
        Use the Arnatkeviciute et al. (2019) reannotation (inner join on
        probe name).
    reannotation : pandas.DataFrame, optional
        Replacement reannotation table (default: the bundled one).

    Returns
    -------
    probes : pandas.DataFrame of shape (n_kept, n_columns)
        Indexed by ``probe_id`` (sorted), with ``probe_name``,
        ``gene_symbol``, ``entrez_id``.
    """
    table = probes.reannotate_probes(probe_table, reannotation) if reannotated else probe_table
    return probes.filter_probes_without_entrez(table)


def prepare_samples(annotation: pd.DataFrame, ontology: pd.DataFrame, *,
                    corrected_mni: bool = True, lr_mirror: str | None = None,
                    sim_threshold: float | None = None,
                    microarray: pd.DataFrame | None = None,
                    probe_ids: pd.Index | None = None,
                    native_affine: np.ndarray | None = None) -> pd.DataFrame:
    """A donor's raw SampleAnnot -> the annotation of the samples it keeps.

    With `native_affine` (the donor's T1w affine, for donor-specific atlases)
    the sample coordinates are the native ones (affine applied to
    ``mri_voxel_{x,y,z}``), and the hemisphere check uses them, as abagen
    0.1.3 does; `corrected_mni` is then irrelevant.

    Coordinates are corrected (``corrected_mni``), hemisphere mismatches are
    dropped, dissimilar samples removed (``sim_threshold``, needs
    `microarray` and the `probe_ids` to correlate over), and samples are
    mirrored (``lr_mirror``).

    Returns
    -------
    annotation : pandas.DataFrame of shape (n_kept, 7)
        Index ``sample_id`` (repeats after mirroring).
    """
    if native_affine is not None:
        from .matching import native_coordinates

        native = native_coordinates(annotation, native_affine)
        annotation = annotation.copy()
        annotation[["mni_x", "mni_y", "mni_z"]] = native.to_numpy(dtype=np.float64)
        corrected_mni = False
    annot = samples.prepare_annotation(annotation, ontology, corrected_mni=corrected_mni)
    if sim_threshold is not None:
        if microarray is None:
            raise ValueError("sim_threshold needs the donor's microarray expression.")
        annot = samples.similarity_threshold(microarray, annot, probe_ids, sim_threshold)
    if lr_mirror is not None:
        annot = samples.mirror_samples(annot, ontology, lr_mirror)
    return annot


def select_probes(pacall_summaries: Mapping[str, probes.PACallSummary],
                  summaries: Mapping[str, probes.ProbeSummary] | None,
                  probe_info: pd.DataFrame, *, ibf_threshold: float, probe_selection: str,
                  donor_probes: str,
                  rnaseq: Mapping[str, pd.DataFrame] | None = None,
                  microarray: Mapping[str, pd.DataFrame] | None = None,
                  annotation: Mapping[str, pd.DataFrame] | None = None,
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Intensity-based filtering, then the choice of one probe per gene.

    Either pass per-donor `summaries` (computed over all candidate probes)
    or the donors' `microarray` and `annotation` to summarise the filtered
    probes directly.

    Returns
    -------
    kept : pandas.DataFrame of shape (n_kept, n_columns)
        Probes that pass the intensity filter.
    selection : pandas.DataFrame or None
        :func:`abagen_core.probes.choose_probes` output (None for 'average').
    """
    kept = probes.intensity_filter(pacall_summaries, probe_info, ibf_threshold)
    LOG.info("%d of %d probes pass intensity-based filtering (threshold %s)",
             len(kept), len(probe_info), ibf_threshold)
    if summaries is None:
        selection = probes.select_probes(microarray, annotation, kept, probe_selection,
                                         donor_probes, rnaseq)
    else:
        selection = probes.choose_probes(summaries, kept, probe_selection, donor_probes, rnaseq)
    return kept, selection


def donor_genes(microarray: pd.DataFrame, annotation: pd.DataFrame, kept: pd.DataFrame,
                selection: pd.DataFrame | None, *, probe_selection: str,
                sample_norm: str | None, donor: str) -> pd.DataFrame:
    """One donor's samples x genes matrix, normalised across genes per sample.

    Returns
    -------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
        Rows in annotation order with a positional index (mirrored copies
        are separate rows); columns ``gene_symbol``.
    """
    expr = probes.collapse_to_genes(microarray, annotation, kept, selection,
                                    probe_selection, donor)
    expr = expr.reset_index(drop=True)
    if sample_norm is not None:
        expr = normalize.normalize_expression(expr.T, norm=sample_norm, ignore_warn=True).T
    expr.columns.name = "gene_symbol"
    return expr.astype(np.float64)


def label_donor(annotation: pd.DataFrame, atlas_tree: Any, *, tolerance: float,
                coords: pd.DataFrame | None = None) -> np.ndarray:
    """Region label of every sample of one donor (0 = unmatched).

    Parameters
    ----------
    annotation : pandas.DataFrame of shape (n_samples, 7)
    atlas_tree : abagen_core.matching.AtlasTree
    tolerance : float
    coords : pandas.DataFrame of shape (n_samples, 3), optional
        Coordinates to match instead of ``mni_{x,y,z}`` (native-space
        coordinates for donor-specific atlases).

    Returns
    -------
    labels : numpy.ndarray of shape (n_samples,)
    """
    annot = _with_coords(annotation, coords)
    labels = atlas_tree.label_samples(annot, tolerance=tolerance)
    return np.asarray(labels).reshape(-1).astype(np.int64)


def _with_coords(annotation: pd.DataFrame, coords: pd.DataFrame | None) -> pd.DataFrame:
    if coords is None:
        return annotation
    annot = annotation.copy()
    annot[["mni_x", "mni_y", "mni_z"]] = np.asarray(coords, dtype=np.float64)
    return annot


def normalize_genes(expression: pd.DataFrame, annotation: pd.DataFrame, labels: np.ndarray, *,
                    gene_norm: str | None, norm_matched: bool, norm_structures: bool,
                    coords: Any = None):
    """Normalise every gene across one donor's samples.

    With `norm_matched`, unmatched samples (label 0) are dropped first and
    only matched samples enter the statistics; otherwise all samples do.
    With `norm_structures`, each structural class (the sample's
    ``structure``) is normalised separately.

    Returns
    -------
    expression, annotation, labels, coords
        The (possibly reduced) inputs, rows aligned, expression normalised.
    """
    labels = np.asarray(labels)
    if norm_matched:
        keep = np.flatnonzero(labels != 0)
        expression = expression.iloc[keep]
        annotation = annotation.iloc[keep]
        coords = None if coords is None else np.asarray(coords)[keep]
        labels = labels[keep]
    if gene_norm is not None:
        structures = annotation["structure"].to_numpy() if norm_structures else None
        expression = normalize.normalize_expression(expression, norm=gene_norm,
                                                    structures=structures, ignore_warn=True)
    return expression, annotation, labels, coords


def normalize_donor(expression: pd.DataFrame, annotation: pd.DataFrame, labels: np.ndarray,
                    atlas_tree: Any, *, gene_norm: str | None, norm_matched: bool,
                    norm_structures: bool, missing: str | None,
                    coords: pd.DataFrame | None = None, region_agg: str | None = None,
                    agg_metric: Any = "mean") -> pd.DataFrame:
    """Gene normalization of one donor, then filling of its empty regions.

    Unmatched samples are dropped before normalization when `norm_matched`
    (so they cannot fill missing regions either, as in abagen), otherwise
    after it. Regions without a sample of this donor are filled with
    `missing`: 'centroids' adds the sample nearest to the region's centroid,
    'interpolate' adds the inverse-distance weighted average of the samples
    nearest to each of the region's voxels/vertices.

    With ``region_agg='donors'`` and a named `agg_metric` the matched
    samples of each region are reduced here already (one row per region:
    the donor's regional value), which is what :func:`combine_donors` would
    compute from the sample rows; the result is identical and the table
    handed to the gather step is ~10x smaller. Otherwise (pooled samples,
    or a callable metric) the sample rows are kept.

    Returns
    -------
    normalized : pandas.DataFrame of shape (n_rows, 3 + n_genes)
        Columns ``label``, ``fill``, ``weight``, then the genes; one row per
        matched sample (or per region, see above) plus one per filled region.
    """
    expression, annotation, labels, coords = normalize_genes(
        expression, annotation, labels, gene_norm=gene_norm, norm_matched=norm_matched,
        norm_structures=norm_structures, coords=coords)
    labels = np.asarray(labels)
    fill = None
    if missing is not None:
        fill = fill_missing(expression, annotation, labels, atlas_tree, missing=missing,
                            coords=coords)
    if region_agg == "donors" and isinstance(agg_metric, str):
        return _regional_rows(expression, labels, fill, agg_metric)
    out = expression.copy()
    out.insert(0, "weight", 1.0)
    out.insert(0, "fill", FILL_NONE)
    out.insert(0, "label", labels)
    if fill is not None:
        out = pd.concat([out, fill], ignore_index=True)
    out = out.loc[out["label"].to_numpy() != 0].reset_index(drop=True)
    out["label"] = out["label"].astype(np.int64)
    out["fill"] = out["fill"].astype(np.int64)
    out.columns.name = "gene_symbol"
    return out


def _regional_rows(expression: pd.DataFrame, labels: np.ndarray, fill: pd.DataFrame | None,
                   agg_metric: str) -> pd.DataFrame:
    """One row per region of a donor (plus its centroid candidates).

    The matched samples of each region (or its single interpolated row) are
    reduced with `agg_metric` exactly as :func:`combine_donors` does for
    ``region_agg='donors'``; reducing that one row again there returns it
    unchanged (nanmean/nanmedian of one value), so results are identical.
    """
    matched = np.flatnonzero(labels != 0)
    genes = expression if len(matched) == len(labels) else expression.iloc[matched]
    labs = labels[matched].astype(np.int64)
    kinds = np.full(len(labs), FILL_NONE, dtype=np.int64)
    candidates = None
    if fill is not None and len(fill):
        kind = fill["fill"].to_numpy()
        interpolated = fill.loc[kind == FILL_INTERPOLATED]
        candidates = fill.loc[kind == FILL_CENTROID]
        if len(interpolated):
            genes = pd.concat([genes.reset_index(drop=True), _genes(interpolated)],
                              ignore_index=True)
            labs = np.concatenate([labs, interpolated["label"].to_numpy(dtype=np.int64)])
            kinds = np.concatenate([kinds, np.full(len(interpolated), FILL_INTERPOLATED)])
    regions = np.unique(labs)
    reduced = aggregate.aggregate_samples(genes, labs, regions, agg_metric)
    # a region's row is 'interpolated' when it has no sample (then one interpolated row)
    order = np.argsort(labs, kind="stable")
    region_kind = kinds[order][np.searchsorted(labs[order], regions)]
    out = reduced.reset_index(drop=True)
    out.columns.name = None
    meta = pd.DataFrame({"label": regions.astype(np.int64), "fill": region_kind,
                         "weight": np.ones(len(regions))})
    out = pd.concat([meta, out], axis=1)
    if candidates is not None and len(candidates):
        out = pd.concat([out, candidates], ignore_index=True)
    out["label"] = out["label"].astype(np.int64)
    out["fill"] = out["fill"].astype(np.int64)
    out.columns.name = "gene_symbol"
    return out


#: kinds of rows in a normalised donor table (column ``fill``)
FILL_NONE, FILL_CENTROID, FILL_INTERPOLATED = 0, 1, 2
_META_COLUMNS = ["label", "fill", "weight"]


def batch_normalize(expression: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """'batch' normalization: remove donor effects with one linear model over all donors.

    abagen 0.1.3 documents this method but refuses it (documented abagen
    bug); we implement it as its manual describes (see
    :func:`abagen_core.normalize.normalize_expression`). Every gene is
    residualised on donor membership across all donors' rows at once.
    """
    donors = list(expression)
    stacked = pd.concat([expression[d] for d in donors], ignore_index=True)
    batch = np.concatenate([[i] * len(expression[d]) for i, d in enumerate(donors)])
    out = normalize.normalize_expression(stacked, norm="batch", batch=batch, ignore_warn=True)
    result, start = {}, 0
    for d in donors:
        n = len(expression[d])
        result[d] = out.iloc[start:start + n].set_axis(expression[d].index)
        start += n
    return result


def batch_normalize_matched(expression: Mapping[str, pd.DataFrame],
                            annotation: Mapping[str, pd.DataFrame],
                            labels: Mapping[str, np.ndarray], *, norm_matched: bool):
    """Gene 'batch' normalization over the (matched) samples of all donors.

    Returns
    -------
    expression, annotation, labels : dict
        Reduced to matched samples when `norm_matched`; expression batch-normalised.
    """
    expr, annot, labs = {}, {}, {}
    for donor in expression:
        lab = np.asarray(labels[donor])
        keep = np.flatnonzero(lab != 0) if norm_matched else np.arange(len(lab))
        expr[donor] = expression[donor].iloc[keep]
        annot[donor] = annotation[donor].iloc[keep]
        labs[donor] = lab[keep]
    return batch_normalize(expr), annot, labs


def fill_missing(expression: pd.DataFrame, annotation: pd.DataFrame, labels: np.ndarray,
                 atlas_tree: Any, *, missing: str,
                 coords: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows for the atlas regions that have no sample in this donor.

    ``'centroids'``: one *candidate* row per empty region, the donor's
    sample closest to the region centroid, with weight 1 / distance; the
    gather step uses candidates only for regions that no donor has a sample
    in, averaging them across donors with those weights (abagen 0.1.3's
    numbers). ``'interpolate'``: one row per empty region, the inverse-
    distance weighted average of the samples nearest to each of the region's
    voxels/vertices (see :meth:`abagen_core.matching.AtlasTree.fill_label`).

    Returns
    -------
    rows : pandas.DataFrame of shape (n_filled, 3 + n_genes)
        Columns ``label``, ``fill``, ``weight``, then the genes.
    """
    annot = _with_coords(annotation, coords)
    labels = np.asarray(labels)
    present = set(labels[labels != 0].tolist())
    empty = [int(lab) for lab in atlas_tree.labels if int(lab) not in present]
    columns = [*_META_COLUMNS, *expression.columns]
    if not empty or len(annot) == 0:
        return pd.DataFrame(columns=columns)
    values = expression.to_numpy(dtype=np.float64)
    rows = []
    if missing == "centroids":
        nearest, dist = atlas_tree.match_closest_samples(annot, empty, return_dist=True)
        for lab, idx, d in zip(empty, nearest, dist, strict=True):
            if idx >= 0:
                weight = 1.0 / d if d > 0 else np.inf
                rows.append([lab, FILL_CENTROID, weight, *values[idx]])
    elif missing == "interpolate":
        for lab in empty:
            nearest, dist = atlas_tree.fill_label(annot, lab, return_dist=True)
            if len(nearest):
                rows.append([lab, FILL_INTERPOLATED, 1.0,
                             *aggregate.interpolate_region(expression, nearest, dist)])
    else:
        raise ValueError(f"Invalid value for `missing`: {missing!r}")
    return pd.DataFrame(rows, columns=columns)


def _genes(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in _META_COLUMNS if c in frame.columns])


def _centroid_fill(expression: pd.DataFrame, candidates: Mapping[str, pd.DataFrame]
                   ) -> pd.DataFrame:
    """Fill regions without any sample with the 1/distance-weighted donor candidates."""
    empty = expression.index[expression.isna().all(axis=1)]
    pooled = pd.concat([c for c in candidates.values() if len(c)], ignore_index=True) \
        if any(len(c) for c in candidates.values()) else None
    if pooled is None or not len(empty):
        return expression
    expression = expression.copy()
    for region in empty:
        rows = pooled.loc[pooled["label"].to_numpy() == region]
        if not len(rows):
            continue
        w = rows["weight"].to_numpy(dtype=np.float64)
        vals = _genes(rows).to_numpy(dtype=np.float64)
        if np.isinf(w).any():
            w = np.isinf(w).astype(np.float64)
        expression.loc[region] = (w[:, None] * vals).sum(axis=0) / w.sum()
    return expression


def combine_donors(normalized: Mapping[str, pd.DataFrame], regions: Sequence[int], *,
                   region_agg: str, agg_metric: Any
                   ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Region x gene matrix from every donor's normalised, labelled rows.

    Returns
    -------
    expression : pandas.DataFrame of shape (n_regions, n_genes)
        Index ``label``; columns ``gene_symbol``.
    donors : dict of str -> pandas.DataFrame of shape (n_regions, n_genes)
        Donor-level matrices (empty when ``region_agg='samples'``).
    """
    aggregate.check_region_agg(region_agg)
    real = {d: f.loc[f["fill"].to_numpy() != FILL_CENTROID] for d, f in normalized.items()}
    candidates = {d: f.loc[f["fill"].to_numpy() == FILL_CENTROID] for d, f in normalized.items()}
    per_donor = {}
    if region_agg == "donors":
        for donor, frame in real.items():
            per_donor[donor] = aggregate.aggregate_samples(
                _genes(frame), frame["label"].to_numpy(), regions, agg_metric)
        expression = aggregate.aggregate_donors(per_donor, agg_metric)
        for donor, frame in per_donor.items():
            # donor-level matrices take the donor's own candidate sample
            per_donor[donor] = _centroid_fill(frame, {donor: candidates[donor]})
    else:
        pooled = pd.concat(list(real.values()), ignore_index=True)
        expression = aggregate.aggregate_samples(
            _genes(pooled), pooled["label"].to_numpy(), regions, agg_metric)
    expression = _centroid_fill(expression, candidates)
    expression.columns.name = "gene_symbol"
    for frame in per_donor.values():
        frame.columns.name = "gene_symbol"
    return expression, per_donor


# ---------------------------------------------------------------------------
# sample-level outputs: get_samples_in_mask and get_interpolated_map


def samples_in_mask(expression: pd.DataFrame, annotation: pd.DataFrame, mask_tree: Any, *,
                    tolerance: float, gene_norm: str | None, norm_structures: bool,
                    positions: pd.DataFrame | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """One donor's gene-normalised samples inside a mask, with their MNI coordinates.

    Genes are normalised across *all* of the donor's samples (abagen 0.1.3
    ignores ``norm_matched`` here), then the samples that the mask matches
    are kept.

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
        :func:`donor_genes` output (rows aligned with `annotation`).
    annotation : pandas.DataFrame of shape (n_samples, 7)
        :func:`prepare_samples` output (index ``sample_id``).
    mask_tree : abagen_core.matching.AtlasTree or None
        The mask (non-zero = inside); None keeps every sample.
    tolerance : float
        As in :func:`label_donor`.
    gene_norm : str or None
    norm_structures : bool
    positions : pandas.DataFrame, optional
        Table with ``well_id`` and ``mni_{x,y,z}`` whose first row per well
        gives the reported coordinates (default: `annotation`; the donor's
        MNI annotation when `annotation` holds native coordinates).

    Returns
    -------
    expression : pandas.DataFrame of shape (n_inside, n_genes)
        Index ``well_id``; columns ``gene_symbol``.
    coords : numpy.ndarray of shape (n_inside, 3)
        MNI coordinates of the samples.
    """
    annot = annotation.reset_index()
    if mask_tree is None:
        labels = np.ones(len(annot), dtype=np.int64)
    else:
        labels = label_donor(annotation, mask_tree, tolerance=tolerance)
    expr, annot, labels, _ = normalize_genes(expression, annot, labels, gene_norm=gene_norm,
                                             norm_matched=False,
                                             norm_structures=norm_structures)
    inside = np.flatnonzero(np.asarray(labels) != 0)
    expr = expr.iloc[inside].copy()
    wells = annot["well_id"].to_numpy()[inside]
    expr.index = pd.Index(wells, name="well_id")
    expr.columns.name = "gene_symbol"
    coords = well_coordinates(annotation if positions is None else positions, wells)
    return expr, coords


def well_coordinates(annotation: pd.DataFrame, well_ids: Any) -> np.ndarray:
    """MNI coordinates of wells, from the first annotation row of each well.

    abagen 0.1.3 reports every sample at its well's coordinate, so a mirrored
    copy is placed where its original sample is (the parity set's
    interpolated maps depend on this); originals come first in `annotation`.

    Returns
    -------
    coords : numpy.ndarray of shape (n_wells, 3)
    """
    first = annotation.loc[~annotation["well_id"].duplicated(keep="first").to_numpy()]
    where = first.set_index("well_id")[["mni_x", "mni_y", "mni_z"]]
    return where.loc[np.asarray(well_ids)].to_numpy(dtype=np.float64)


def combine_samples(expression: Mapping[str, pd.DataFrame], coords: Mapping[str, np.ndarray],
                    *, masked: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """Concatenate the donors' sample-level outputs (donor order of the mappings).

    Raises
    ------
    ValueError
        If `masked` and no sample of any donor lies inside the mask.
    """
    donors = list(expression)
    if masked and sum(len(expression[d]) for d in donors) == 0:
        raise ValueError("No tissue sample falls inside the mask (within `tolerance`); "
                         "check the mask is in MNI152/fsaverage5 space and not empty.")
    frame = pd.concat([expression[d] for d in donors])
    frame.columns.name = "gene_symbol"
    return frame, np.vstack([np.asarray(coords[d]).reshape(-1, 3) for d in donors])


def check_genes(genes: Any) -> list[str]:
    """Gene symbols as a list (a single string is one gene); refuses empty or repeated ones."""
    if isinstance(genes, str):
        genes = [genes]
    genes = list(genes)
    if not genes:
        raise ValueError("genes is empty; give at least one gene symbol.")
    bad = [g for g in genes if not isinstance(g, str) or not g.strip()]
    if bad:
        raise ValueError(f"genes must be gene symbols (non-empty strings); got {bad}.")
    repeated = sorted({g for g in genes if genes.count(g) > 1})
    if repeated:
        raise ValueError(f"genes lists {repeated} more than once.")
    return genes


def check_n_neighbors(n_neighbors: Any) -> int:
    """Number of neighbours of the k-nearest-neighbour interpolation (a positive integer)."""
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral) \
            or n_neighbors < 1:
        raise ValueError(f"n_neighbors must be a positive integer; got {n_neighbors!r}.")
    return int(n_neighbors)


def select_genes(expression: pd.DataFrame, genes: Sequence[str]) -> pd.DataFrame:
    """The columns `genes` of a samples x genes matrix; unknown genes are an error naming them."""
    unknown = [g for g in genes if g not in expression.columns]
    if unknown:
        raise ValueError(f"Genes not in the processed data: {unknown}. Check the symbols "
                         "(reannotated names) and the probe filtering options.")
    return expression[list(genes)]


def mask_tree(mask: Any) -> Any:
    """The AtlasTree of a group mask (NIfTI in MNI152, or (lh, rh) GIFTIs on fsaverage5).

    Only non-zero matters in a mask, so a GIFTI pair that uses the same
    value in both hemispheres (a plain binary mask) is accepted: it is
    binarised as 1 (left) and 2 (right), since the matching code needs
    distinct values per hemisphere, as for a parcellation.
    """
    from . import images

    if not isinstance(mask, tuple | list):
        return images.check_atlas(mask)
    if len(mask) != 2:
        raise ValueError(f"A surface mask must be a (lh, rh) pair of GIFTI images; got "
                         f"{len(mask)} item(s).")
    lh, rh = (images.load_gifti(m) for m in mask)
    values = [np.asarray(img.darrays[0].data).reshape(-1) if img.darrays else np.zeros(0)
              for img in (lh, rh)]
    if np.intersect1d(values[0][values[0] != 0], values[1][values[1] != 0]).size:
        import nibabel as nib

        lh, rh = (nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(
            np.where(v != 0, value, 0).astype(np.int32), intent="NIFTI_INTENT_LABEL",
            datatype="NIFTI_TYPE_INT32")]) for v, value in zip(values, (1, 2), strict=True))
    return images.check_atlas((lh, rh))


def mask_points(mask: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    """The non-zero points of a mask: the mask's space, their indices and MNI coordinates.

    Parameters
    ----------
    mask : niimg-like or (lh, rh) tuple of GIFTI images
        Volume in MNI152 space, or GIFTI images on fsaverage5.

    Returns
    -------
    space : nibabel.Nifti1Image or abagen_core.matching.AtlasTree
    index : numpy.ndarray of shape (n_points, 3) or (n_points,)
        Voxel indices, or vertex positions in (lh, rh) order.
    points : numpy.ndarray of shape (n_points, 3)
    """
    from . import images

    if isinstance(mask, tuple | list):
        tree = mask_tree(mask)
        inside = np.flatnonzero(np.asarray(tree.atlas) != 0)
        points = np.asarray(tree.coords)  # the labelled vertices, in vertex order
        space, index = tree, inside
    else:
        space = images.check_img(mask)
        index = np.argwhere(np.asanyarray(space.dataobj) != 0)
        points = index @ space.affine[:3, :3].T + space.affine[:3, 3]
    if len(points) == 0:
        raise ValueError("The mask has no non-zero voxel/vertex; nothing to interpolate.")
    return space, index, points


def interpolate_samples(expression: pd.DataFrame, coords: np.ndarray, genes: Sequence[str],
                        points: np.ndarray, *, n_neighbors: int) -> np.ndarray:
    """Expression of `genes` at `points` by distance-weighted k-nearest-neighbour regression.

    Each point gets the 1 / distance weighted mean of its `n_neighbors`
    nearest samples (scikit-learn's ``KNeighborsRegressor``); fewer samples
    than `n_neighbors` use them all. Genes are predicted independently.

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_samples, n_all_genes)
    coords : numpy.ndarray of shape (n_samples, 3)
    genes : sequence of str
    points : numpy.ndarray of shape (n_points, 3)
    n_neighbors : int

    Returns
    -------
    values : numpy.ndarray of shape (n_points, n_genes)
    """
    from sklearn.neighbors import KNeighborsRegressor

    n_neighbors = check_n_neighbors(n_neighbors)
    values = select_genes(expression, genes).to_numpy(dtype=np.float64)
    model = KNeighborsRegressor(n_neighbors=min(n_neighbors, len(coords)), weights="distance")
    model.fit(np.asarray(coords, dtype=np.float64), values)
    return model.predict(points).reshape(len(points), len(genes))


def dense_maps(values: np.ndarray, space: Any, index: np.ndarray, genes: Sequence[str]
               ) -> dict[str, Any]:
    """Per gene, a map in the mask's space that is zero outside the mask.

    Parameters
    ----------
    values : numpy.ndarray of shape (n_points, n_genes)
    space, index
        From :func:`mask_points`.
    genes : sequence of str

    Returns
    -------
    dense : dict of str -> nibabel.Nifti1Image or numpy.ndarray of shape (n_vertices,)
        float64 NIfTI images for volumes; arrays over all (lh, then rh) vertices
        for surfaces.
    """
    import nibabel as nib

    from .matching import AtlasTree

    out = {}
    for j, gene in enumerate(genes):
        if isinstance(space, AtlasTree):
            dense = np.zeros(len(np.asarray(space.atlas)))
            dense[index] = values[:, j]
            out[gene] = dense
        else:
            dense = np.zeros(space.shape[:3])
            dense[tuple(np.asarray(index).T)] = values[:, j]
            out[gene] = nib.Nifti1Image(dense, space.affine)
    return out


# ---------------------------------------------------------------------------
# helpers for the workflow's scripts (paths in, files out)


def load_atlas(spec: Mapping[str, Any], donor: str | None = None) -> Any:
    """Build the AtlasTree of a workflow atlas spec for one donor.

    Parameters
    ----------
    spec : mapping
        ``kind`` ('volume', 'surface', 'native'), ``files`` (list of the
        donor's image paths, or a dict as in the plan), ``info``,
        ``geometry``, ``space``.
    donor : str, optional
        Needed for native atlases given as a dict.
    """
    from . import images

    files = spec["files"]
    if isinstance(files, Mapping):
        if spec["kind"] == "volume":
            files = [files["image"]]
        elif spec["kind"] == "surface":
            files = [files["lh"], files["rh"]]
        else:
            files = [files[donor if donor is not None else next(iter(files))]]
    image = files[0] if len(files) == 1 else tuple(files)
    geometry = tuple(spec["geometry"]) if spec.get("geometry") else None
    kwargs = {}
    if spec["kind"] == "native":
        kwargs["donor"] = donor
    return images.check_atlas(image, spec.get("info"), geometry=geometry,
                              space=spec.get("space"), **kwargs)


def atlas_regions(tree: Any) -> list[int]:
    """Region ids of an atlas (sorted, background excluded)."""
    return [int(x) for x in tree.labels]


def read_donor_genes(donors: Sequence[str], genes: Sequence[str], samples: Sequence[str]
                     ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Every donor's ``donor_genes`` and ``prepare_samples`` tables, by donor.

    Parameters
    ----------
    donors : sequence of str
    genes, samples : sequence of path
        One file per donor, in `donors` order.
    """
    from .artifacts import read_frame

    return ({d: read_frame(p, kind="genes") for d, p in zip(donors, genes, strict=True)},
            {d: read_frame(p, kind="samples") for d, p in zip(donors, samples, strict=True)})


def count_rows(path: str) -> int:
    """Number of rows of a parquet file (from its footer)."""
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def _report_atlas(spec: Mapping[str, Any], n_regions: int) -> Any:
    from .report import AtlasDescriptor

    kind = "surface" if spec["kind"] == "surface" else "volumetric"
    space = {"volume": "MNI", "native": "native"}.get(spec["kind"],
                                                      spec.get("space") or "fsaverage5")
    return AtlasDescriptor(n_regions, kind, space)


def methods_text(options: Mapping[str, Any], atlas_spec: Mapping[str, Any], *, n_regions: int,
                 counts: pd.DataFrame, n_kept_probes: int, n_genes: int,
                 synthetic: bool, return_donors: bool = False) -> str:
    """The methods report of a workflow result (same text as ``return_report``)."""
    from .report import Report

    opts = {k: v for k, v in options.items() if k != "donors"}
    return Report(_report_atlas(atlas_spec, n_regions), atlas_spec.get("info"),
                  donors=options["donors"], return_donors=return_donors, counts=counts,
                  n_probes=n_kept_probes, n_genes=n_genes, synthetic=synthetic,
                  **opts).gen_report()


def write_results(normalized: Mapping[str, pd.DataFrame], labels: Mapping[str, np.ndarray], *,
                  regions: Sequence[int],
                  options: Mapping[str, Any], atlas: Mapping[str, Any], n_kept_probes: int,
                  checksums: Sequence[str], synthetic: bool,
                  outputs: Mapping[str, str]) -> pd.DataFrame:
    """Write a variant's final files atomically (expression, counts, report, metadata).

    The metadata sidecar is written last: a result folder whose
    ``metadata.json`` exists is complete.
    """
    import json
    import platform
    from pathlib import Path

    from . import __version__
    from .artifacts import write_text_atomic
    from .io import write_frame_csv, write_frame_parquet
    from .options import describe

    regions = [int(r) for r in regions]
    expression, _ = combine_donors(normalized, regions, region_agg=options["region_agg"],
                                   agg_metric=options["agg_metric"])
    counts = aggregate.count_samples(labels, regions)
    Path(outputs["metadata"]).unlink(missing_ok=True)
    write_frame_csv(expression, outputs["expression"])
    write_frame_parquet(expression, outputs["parquet"])
    write_text_atomic(counts.to_csv(), outputs["counts"])
    text = methods_text(options, atlas, n_regions=len(regions), counts=counts,
                        n_kept_probes=n_kept_probes, n_genes=expression.shape[1],
                        synthetic=synthetic)
    write_text_atomic(text, outputs["methods"])
    sums = {}
    for path in checksums:
        digest, name = Path(path).read_text().split()
        sums[f"{Path(path).parent.name}/{name}"] = digest
    meta = {
        "data_source": "SYNTHETIC (generated by abagen_core.synth; not AHBA data)"
        if synthetic else "Allen Human Brain Atlas microarray data",
        "synthetic": bool(synthetic),
        "atlas": {k: v for k, v in atlas.items()},
        "options": describe(dict(options)),
        "shape": list(expression.shape),
        "n_probes_after_intensity_filter": n_kept_probes,
        "input_checksums_sha256": sums,
        "software": _versions(__version__, platform.python_version()),
    }
    if synthetic:
        LOG.warning("These results come from SYNTHETIC data, not from the AHBA.")
    write_text_atomic(json.dumps(meta, indent=2, default=str), outputs["metadata"])
    return expression


def _versions(ours: str, python: str) -> dict[str, str]:
    # installed distributions' versions, read without importing them (importing
    # scikit-learn alone would cost the gather job ~0.5 s)
    from importlib.metadata import PackageNotFoundError, version

    out = {"abagen_core": ours, "python": python}
    for name in ("numpy", "pandas", "scipy", "nibabel", "pyarrow", "scikit-learn"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_donor_expression(normalized: pd.DataFrame, *, regions: Sequence[int],
                           options: Mapping[str, Any], dest: str, donor: str) -> pd.DataFrame:
    """One donor's region x gene matrix (``save_donors``), written atomically."""
    from .io import write_frame_csv

    _, per_donor = combine_donors({donor: normalized}, [int(r) for r in regions],
                                  region_agg="donors", agg_metric=options["agg_metric"])
    frame = per_donor[donor]
    frame.columns.name = "gene_symbol"
    write_frame_csv(frame, dest)
    return frame


# ---------------------------------------------------------------------------
# workflow writers of the sample-level targets (samples_in_mask, interpolated_maps)

#: coordinate columns stored beside the genes in a map's sample table
_MAP_COORDS = ("_mni_x", "_mni_y", "_mni_z")


def _provenance(synthetic: bool, checksums: Sequence[str]) -> dict[str, Any]:
    """Data source, synthetic flag and SHA-256 of the input matrices (metadata fields)."""
    from pathlib import Path

    sums = {}
    for path in checksums:
        digest, name = Path(path).read_text().split()
        sums[f"{Path(path).parent.name}/{name}"] = digest
    if synthetic:
        LOG.warning("These results come from SYNTHETIC data, not from the AHBA.")
    return {
        "data_source": "SYNTHETIC (generated by abagen_core.synth; not AHBA data)"
        if synthetic else "Allen Human Brain Atlas microarray data",
        "synthetic": bool(synthetic),
        "input_checksums_sha256": sums,
    }


def _sample_level(genes: Mapping[str, pd.DataFrame], samples: Mapping[str, pd.DataFrame],
                  mask: Mapping[str, Any] | None, options: Mapping[str, Any]
                  ) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    """Per donor :func:`samples_in_mask` on the workflow's cached genes and samples."""
    tree = None
    if mask is not None:
        files = list(mask["files"])
        tree = mask_tree(files[0] if mask["kind"] == "volume" else tuple(files))
    expression, coords = {}, {}
    for donor in genes:
        expression[donor], coords[donor] = samples_in_mask(
            genes[donor], samples[donor], tree, tolerance=options.get("tolerance"),
            gene_norm=options["gene_norm"], norm_structures=options["norm_structures"])
        LOG.info("donor %s: %d samples", donor, len(expression[donor]))
    return expression, coords


def write_samples_in_mask(genes: Mapping[str, pd.DataFrame],
                          samples: Mapping[str, pd.DataFrame], *,
                          mask: Mapping[str, Any] | None, options: Mapping[str, Any],
                          n_kept_probes: int, checksums: Sequence[str], synthetic: bool,
                          outputs: Mapping[str, str]) -> pd.DataFrame:
    """Write a ``samples_in_mask`` target (expression, coordinates, metadata) atomically.

    Parameters
    ----------
    genes, samples : dict of str -> pandas.DataFrame
        Per donor (in donor order), :func:`donor_genes` and :func:`prepare_samples` outputs.
    mask : dict or None
        ``{'kind': 'volume' | 'surface', 'files': [...]}``; None = every sample.
    options : mapping
        The validated options that apply to sample-level outputs.
    outputs : mapping
        Paths ``expression`` (CSV), ``parquet``, ``coordinates`` (CSV) and
        ``metadata`` (JSON, written last: a folder with it is complete).

    Returns
    -------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
        Index ``well_id``; as :func:`abagen_core.api.get_samples_in_mask`.
    """
    import json
    import platform
    from pathlib import Path

    from . import __version__
    from .artifacts import write_text_atomic
    from .io import write_frame_csv, write_frame_parquet
    from .options import describe

    Path(outputs["metadata"]).unlink(missing_ok=True)
    per_donor, per_coords = _sample_level(genes, samples, mask, options)
    expression, coords = combine_samples(per_donor, per_coords, masked=mask is not None)
    table = pd.DataFrame(coords, index=expression.index, columns=["mni_x", "mni_y", "mni_z"])
    table.insert(0, "donor", np.repeat(list(per_donor), [len(f) for f in per_donor.values()]))
    write_frame_csv(expression, outputs["expression"])
    write_frame_parquet(expression, outputs["parquet"])
    write_text_atomic(table.to_csv(), outputs["coordinates"])
    source = _provenance(synthetic, checksums)
    meta = {
        "data_source": source["data_source"],
        "synthetic": source["synthetic"],
        "target": "samples_in_mask",
        "mask": None if mask is None else {"kind": mask["kind"], "files": list(mask["files"])},
        "options": describe(dict(options)),
        "shape": list(expression.shape),
        "n_samples_per_donor": {d: len(f) for d, f in per_donor.items()},
        "n_probes_after_intensity_filter": n_kept_probes,
        "input_checksums_sha256": source["input_checksums_sha256"],
        "software": _versions(__version__, platform.python_version()),
    }
    write_text_atomic(json.dumps(meta, indent=2, default=str), outputs["metadata"])
    return expression


def write_map_samples(genes: Mapping[str, pd.DataFrame], samples: Mapping[str, pd.DataFrame],
                      *, wanted: Sequence[str], options: Mapping[str, Any], n_kept_probes: int,
                      checksums: Sequence[str], synthetic: bool, dest: str) -> pd.DataFrame:
    """The training samples of an interpolated map: every sample, the wanted genes, MNI coords.

    The same samples as ``get_samples_in_mask(mask=None, ...)``; genes are
    selected after normalization, so an unknown gene is an error naming it.
    Written with :func:`abagen_core.artifacts.write_frame` (kind
    ``map_samples``); the provenance goes into the file's attributes.

    Returns
    -------
    table : pandas.DataFrame of shape (n_samples, n_genes + 3)
        Index ``well_id``; the genes, then ``_mni_x``, ``_mni_y``, ``_mni_z``.
    """
    from .artifacts import write_frame

    per_donor, per_coords = _sample_level(genes, samples, None, options)
    expression, coords = combine_samples(per_donor, per_coords, masked=False)
    table = select_genes(expression, wanted).copy()
    for j, col in enumerate(_MAP_COORDS):
        table[col] = coords[:, j]
    attrs = {**_provenance(synthetic, checksums), "n_samples": len(table),
             "n_samples_per_donor": {d: len(f) for d, f in per_donor.items()},
             "n_probes_after_intensity_filter": n_kept_probes, "genes": list(wanted)}
    write_frame(table, dest, kind="map_samples", attrs=attrs)
    return table


def _save_image_atomic(img: Any, dest: str) -> None:
    import nibabel as nib

    from .io import atomic_path

    with atomic_path(dest, keep_suffix=True) as tmp:  # nibabel needs the extension
        nib.save(img, tmp)


def write_interpolated_map(table: pd.DataFrame, *, gene: str, mask: Mapping[str, Any],
                           n_neighbors: int, outputs: Mapping[str, str]) -> Any:
    """Interpolate one gene over a mask and write the map atomically.

    Parameters
    ----------
    table : pandas.DataFrame of shape (n_samples, n_genes + 3)
        :func:`write_map_samples` output.
    mask : dict
        ``{'kind': 'volume', 'files': [nifti]}`` or ``{'kind': 'surface',
        'files': [lh, rh]}`` (fsaverage5).
    outputs : mapping
        ``image`` (a float64 ``.nii.gz``) for a volume; ``lh`` and ``rh``
        (``.func.gii``, float32 as GIFTI allows no float64) for a surface.

    Returns
    -------
    dense : nibabel.Nifti1Image or numpy.ndarray of shape (n_vertices,)
        As ``get_interpolated_map(...)[gene]``.
    """
    import nibabel as nib

    from .images import load_gifti

    files = list(mask["files"])
    space, index, points = mask_points(files[0] if mask["kind"] == "volume" else tuple(files))
    coords = table[list(_MAP_COORDS)].to_numpy(dtype=np.float64)
    values = interpolate_samples(table.drop(columns=list(_MAP_COORDS)), coords, [gene],
                                 points, n_neighbors=n_neighbors)
    dense = dense_maps(values, space, index, [gene])[gene]
    LOG.info("%s: %d points interpolated from %d samples (k=%d)", gene, len(points),
             len(coords), n_neighbors)
    if mask["kind"] == "volume":
        dense.set_data_dtype(np.float64)
        _save_image_atomic(dense, outputs["image"])
        return dense
    n_lh = len(np.asarray(load_gifti(files[0]).darrays[0].data).reshape(-1))
    for hemi, part, structure in (("lh", dense[:n_lh], "CortexLeft"),
                                  ("rh", dense[n_lh:], "CortexRight")):
        array = nib.gifti.GiftiDataArray(part.astype(np.float32), intent="NIFTI_INTENT_NONE",
                                         datatype="NIFTI_TYPE_FLOAT32",
                                         meta=nib.gifti.GiftiMetaData({"Name": gene}))
        img = nib.gifti.GiftiImage(darrays=[array], meta=nib.gifti.GiftiMetaData(
            {"AnatomicalStructurePrimary": structure}))
        _save_image_atomic(img, outputs[hemi])
    return dense


def write_map_metadata(attrs: Mapping[str, Any], *, mask: Mapping[str, Any],
                       genes: Sequence[str], n_neighbors: int, options: Mapping[str, Any],
                       files: Sequence[str], dest: str) -> dict[str, Any]:
    """The ``metadata.json`` of an interpolated-maps target, written last.

    Parameters
    ----------
    attrs : mapping
        Attributes of the :func:`write_map_samples` file (provenance, sample counts).
    files : sequence of str
        The map files written (recorded by name).
    """
    import json
    import platform
    from pathlib import Path

    from . import __version__
    from .artifacts import write_text_atomic
    from .options import describe

    meta = {
        "data_source": attrs["data_source"],
        "synthetic": attrs["synthetic"],
        "target": "interpolated_maps",
        "mask": {"kind": mask["kind"], "files": list(mask["files"])},
        "genes": list(genes),
        "n_neighbors": int(n_neighbors),
        "method": "k-nearest-neighbour regression, 1/distance weights, on every sample's "
                  "MNI coordinate (abagen 0.1.3's get_interpolated_map)",
        "options": describe(dict(options)),
        "files": [Path(f).name for f in files],
        "n_samples": attrs["n_samples"],
        "n_samples_per_donor": attrs["n_samples_per_donor"],
        "n_probes_after_intensity_filter": attrs["n_probes_after_intensity_filter"],
        "input_checksums_sha256": attrs["input_checksums_sha256"],
        "software": _versions(__version__, platform.python_version()),
    }
    write_text_atomic(json.dumps(meta, indent=2, default=str), dest)
    return meta
