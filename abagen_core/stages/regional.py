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
:func:`abagen_core.stages.probes.pacall_summary` /
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
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from abagen_core.atlas.matching import native_coordinates
from abagen_core.stages import aggregate, normalize, probes, samples
from abagen_core.utils import even_slices

__all__ = [
    "prepare_probes",
    "prepare_samples",
    "select_probes",
    "donor_genes",
    "normalize_samples",
    "label_donor",
    "normalize_genes",
    "normalize_donor",
    "finish_donor",
    "NORMALIZATION_OPTIONS",
    "branch_variants",
    "genes_read_per_group",
    "fill_missing",
    "combine_donors",
    "combine_rows",
    "samples_in_mask",
    "well_coordinates",
    "combine_samples",
    "check_genes",
    "check_n_neighbors",
    "select_genes",
    "interpolate_samples",
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

    Parameters
    ----------
    annotation : pandas.DataFrame of shape (n_samples, 13)
        :func:`abagen_core.io.read_annotation` output.
    ontology : pandas.DataFrame of shape (n_structures, 8)
        :func:`abagen_core.io.read_ontology` output.
    corrected_mni : bool, default=True
    lr_mirror : {None, 'bidirectional', 'leftright', 'rightleft'}, default=None
    sim_threshold : float, optional
    microarray : pandas.DataFrame of shape (n_probes, n_samples), optional
        Needed with `sim_threshold`.
    probe_ids : pandas.Index, optional
        Probes to correlate samples over (with `sim_threshold`).
    native_affine : numpy.ndarray of shape (4, 4), optional
        The donor's T1w affine.

    Returns
    -------
    annotation : pandas.DataFrame of shape (n_kept, 7)
        Index ``sample_id`` (repeats after mirroring).
    """
    if native_affine is not None:
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

    Parameters
    ----------
    pacall_summaries : dict of str -> abagen_core.stages.probes.PACallSummary
        Per donor.
    summaries : dict of str -> abagen_core.stages.probes.ProbeSummary or None
        Per donor, over all candidate probes.
    probe_info : pandas.DataFrame of shape (n_probes, n_columns)
        The (reannotated) probe table, index ``probe_id``.
    ibf_threshold : float
    probe_selection : str
    donor_probes : {'aggregate', 'independent', 'common'}
    rnaseq : dict of str -> pandas.DataFrame of shape (n_genes, n_structures), optional
        Regional RNA-seq expression (``probe_selection='rnaseq'``).
    microarray : dict of str -> pandas.DataFrame of shape (n_probes, n_samples), optional
    annotation : dict of str -> pandas.DataFrame of shape (n_samples, 7), optional

    Returns
    -------
    kept : pandas.DataFrame of shape (n_kept, n_columns)
        Probes that pass the intensity filter.
    selection : pandas.DataFrame or None
        :func:`abagen_core.stages.probes.choose_probes` output (None for 'average').
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

    Parameters
    ----------
    microarray : pandas.DataFrame of shape (n_probes, n_all_samples)
        The donor's expression (at least the probes in use).
    annotation : pandas.DataFrame of shape (n_samples, 7)
        :func:`prepare_samples` output.
    kept : pandas.DataFrame of shape (n_kept, n_columns)
        Probes kept by the intensity filter.
    selection : pandas.DataFrame or None
        :func:`select_probes` output (None for 'average').
    probe_selection : str
    sample_norm : str or None
    donor : str

    Returns
    -------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
        Rows in annotation order with a positional index (mirrored copies
        are separate rows); columns ``gene_symbol``.
    """
    expr = probes.collapse_to_genes(microarray, annotation, kept, selection,
                                    probe_selection, donor)
    expr = normalize_samples(expr.reset_index(drop=True), sample_norm)
    expr.columns.name = "gene_symbol"
    return expr


#: samples :func:`normalize_samples` normalises at once (up to twice as many; at least 2)
SAMPLE_BLOCK = 256


def normalize_samples(expression: pd.DataFrame, sample_norm: str | None) -> pd.DataFrame:
    """Every sample (row) of a donor's genes normalised across genes (``sample_norm``).

    The values are taken as a Fortran-ordered float64 array (each gene
    contiguous: the layout a genes file is read back in) and returned in
    that layout, so that the numbers never depend on how the input was laid
    out: sweep batches normalise genes read from a file (``sample_norm=None``)
    and give :func:`donor_genes`' numbers bit for bit (sums' rounding
    follows the memory order).

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
    sample_norm : str or None
        A :data:`abagen_core.stages.normalize.NORM_NAMES` value.

    Returns
    -------
    normalized : pandas.DataFrame of shape (n_samples, n_genes)
        float64, Fortran-ordered, same index and columns.
    """
    values = np.asfortranarray(expression.to_numpy(dtype=np.float64))
    if sample_norm is not None:
        # a block of samples at a time (their temporaries, not the table's);
        # each sample's numbers are its own, and blocks of two samples or
        # more are reduced in the same order as the whole table
        out = np.empty_like(values, order="F")
        # blocks at least SAMPLE_BLOCK wide
        for block in even_slices(len(values), len(values) // SAMPLE_BLOCK):
            flipped = pd.DataFrame(np.ascontiguousarray(values[block].T), copy=False)
            out[block] = normalize.normalize_expression(
                flipped, norm=sample_norm, ignore_warn=True).to_numpy().T
        values = out
    return pd.DataFrame(values, index=expression.index, columns=expression.columns,
                        copy=False)


def label_donor(annotation: pd.DataFrame, atlas_tree: Any, *, tolerance: float,
                coords: pd.DataFrame | None = None) -> np.ndarray:
    """Region label of every sample of one donor (0 = unmatched).

    Parameters
    ----------
    annotation : pandas.DataFrame of shape (n_samples, 7)
    atlas_tree : abagen_core.atlas.matching.AtlasTree
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

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
    annotation : pandas.DataFrame of shape (n_samples, 7)
    labels : numpy.ndarray of shape (n_samples,)
        Region of each sample (0 = unmatched).
    gene_norm : str or None
    norm_matched : bool
    norm_structures : bool
    coords : array-like of shape (n_samples, 3), optional
        Coordinates kept aligned with the rows.

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
    if gene_norm is not None and len(expression):
        # a donor none of whose samples matched the atlas has nothing to
        # normalise (abagen 0.1.3 skips it with a warning; see combine_donors)
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

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
        :func:`donor_genes` output.
    annotation : pandas.DataFrame of shape (n_samples, 7)
    labels : numpy.ndarray of shape (n_samples,)
        Region of each sample (0 = unmatched).
    atlas_tree : abagen_core.atlas.matching.AtlasTree or None
        Needed only with `missing`.
    gene_norm : str or None
    norm_matched : bool
    norm_structures : bool
    missing : {None, 'centroids', 'interpolate'}
    coords : pandas.DataFrame of shape (n_samples, 3), optional
        Coordinates to use instead of ``mni_{x,y,z}`` (native space).
    region_agg : {'donors', 'samples'}, optional
    agg_metric : {'mean', 'median'} or callable, default='mean'

    Returns
    -------
    normalized : pandas.DataFrame of shape (n_rows, 3 + n_genes)
        Columns ``label``, ``fill``, ``weight``, then the genes; one row per
        matched sample (or per region, see above) plus one per filled region.
    """
    normalized = normalize_genes(
        expression, annotation, labels, gene_norm=gene_norm, norm_matched=norm_matched,
        norm_structures=norm_structures, coords=coords)
    return finish_donor(*normalized, atlas_tree, missing=missing, region_agg=region_agg,
                        agg_metric=agg_metric)


def finish_donor(expression: pd.DataFrame, annotation: pd.DataFrame, labels: np.ndarray,
                 coords: Any, atlas_tree: Any, *, missing: str | None,
                 region_agg: str | None = None, agg_metric: Any = "mean",
                 cache: dict | None = None) -> pd.DataFrame:
    """Filling of a donor's empty regions and its rows for the gather step.

    The second half of :func:`normalize_donor`, on the output of
    :func:`normalize_genes`; a batch of variants that share a gene
    normalization calls it once per variant on one normalised table.

    Parameters
    ----------
    expression, annotation, labels, coords
        :func:`normalize_genes` output.
    atlas_tree : abagen_core.atlas.matching.AtlasTree or None
        Needed only with `missing`.
    missing : {None, 'centroids', 'interpolate'}
    region_agg : {'donors', 'samples'}, optional
    agg_metric : {'mean', 'median'} or callable, default='mean'
    cache : dict, optional
        A memo shared by the calls on *one* normalised table (one per donor
        and normalization): the filled rows of each `missing` and the
        regional rows of each metric are computed once and reused (the
        centroid candidates do not enter a donor's regional values, so
        ``missing=None`` and ``'centroids'`` share them). Results are the
        same as without it; the returned tables may be shared between calls
        (do not modify them).

    Returns
    -------
    normalized : pandas.DataFrame of shape (n_rows, 3 + n_genes)
        As :func:`normalize_donor`.
    """
    rows, candidates = _finish_parts(expression, annotation, labels, coords, atlas_tree,
                                     missing=missing, region_agg=region_agg,
                                     agg_metric=agg_metric, cache={} if cache is None else cache)
    if candidates is None:
        return rows
    out = pd.concat([rows, candidates], ignore_index=True)
    out["label"] = out["label"].astype(np.int64)
    out["fill"] = out["fill"].astype(np.int64)
    out.columns.name = "gene_symbol"
    return out


def _finish_parts(expression: pd.DataFrame, annotation: pd.DataFrame, labels: np.ndarray,
                  coords: Any, atlas_tree: Any, *, missing: str | None, region_agg: str | None,
                  agg_metric: Any, cache: dict) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """:func:`finish_donor` as (rows, centroid candidates or None), memoised in `cache`."""
    labels = np.asarray(labels)
    fill = None
    if missing is not None:
        if ("fill", missing) not in cache:
            cache["fill", missing] = fill_missing(expression, annotation, labels, atlas_tree,
                                                  missing=missing, coords=coords)
        fill = cache["fill", missing]
    interpolated, candidates = _split_fill(fill)
    key = ("samples", interpolated is not None)
    if key not in cache:
        cache[key] = _sample_rows(expression, labels, interpolated)
    rows = cache[key]
    if _one_row_per_region(region_agg, agg_metric):
        key = ("regions", agg_metric, interpolated is not None)
        if key not in cache:
            cache[key] = _regional_rows(rows, agg_metric)
        rows = cache[key]
    return rows, candidates


def _split_fill(fill: pd.DataFrame | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The interpolated rows and the centroid candidates of :func:`fill_missing` (None if none)."""
    if fill is None or not len(fill):
        return None, None
    kind = fill["fill"].to_numpy()
    interpolated = fill.loc[kind == FILL_INTERPOLATED]
    candidates = fill.loc[kind == FILL_CENTROID]
    return (interpolated if len(interpolated) else None,
            candidates if len(candidates) else None)


def _sample_rows(expression: pd.DataFrame, labels: np.ndarray,
                 interpolated: pd.DataFrame | None) -> pd.DataFrame:
    """A donor's matched sample rows (plus interpolated ones) with their meta columns.

    Rows are sorted by region, stably (a region's samples keep their order),
    so that every aggregation reads each region's rows as one slice; every
    reduction in :func:`combine_donors` is per region and order-stable, so
    results do not change.
    """
    matched = np.flatnonzero(labels != 0)
    labs = labels[matched].astype(np.int64)
    kinds = np.full(len(labs), FILL_NONE, dtype=np.int64)
    values = expression.to_numpy(dtype=np.float64)
    if interpolated is None:
        order = np.argsort(labs, kind="stable")
        values = values[matched[order]]  # one copy: matched rows, by region
    else:
        labs = np.concatenate([labs, interpolated["label"].to_numpy(dtype=np.int64)])
        kinds = np.concatenate([kinds, np.full(len(interpolated), FILL_INTERPOLATED)])
        order = np.argsort(labs, kind="stable")
        values = np.concatenate([values[matched],
                                 _genes(interpolated).to_numpy(dtype=np.float64)])[order]
    out = pd.DataFrame(values, columns=expression.columns, copy=False)
    out.insert(0, "weight", 1.0)
    out.insert(0, "fill", kinds[order])
    out.insert(0, "label", labs[order])
    out.columns.name = "gene_symbol"
    return out


#: the options a gene normalization depends on (variants sharing them share it)
NORMALIZATION_OPTIONS = ("gene_norm", "norm_matched", "norm_structures")


def branch_variants(genes: Mapping[str, pd.DataFrame], annotation: Mapping[str, pd.DataFrame],
                    labels: Mapping[str, np.ndarray], trees: Mapping[str, Any],
                    variants: Mapping[str, Mapping[str, Any]]
                    ) -> Iterator[tuple[str, dict[str, pd.DataFrame], dict[str, pd.DataFrame]]]:
    """Every variant of a branch (same genes, same labels), sharing normalizations.

    Variants are grouped by their :data:`NORMALIZATION_OPTIONS`. Each group
    normalises one donor at a time and derives the rows of each of its
    variants from that table, sharing what variants have in common (the
    filled rows of each ``missing``, the donor's sample rows, its regional
    rows of each metric; see :func:`finish_donor`); the normalised table is
    then dropped. The result of each variant is identical to calling
    :func:`normalize_donor` per donor with its options (the centroid
    candidates given apart, see below; :func:`combine_rows` takes them so).

    Memory: a group holds its donors' rows (regional rows, or the matched
    sample rows when a variant pools samples or uses a callable metric)
    until its variants are yielded. When every variant of every group keeps
    one row per region, the genes are read once and kept; otherwise they
    are read once per group.

    Parameters
    ----------
    genes : mapping of str -> pandas.DataFrame of shape (n_samples, n_genes)
        Per donor, :func:`donor_genes` output (a lazy mapping that reads a
        file at each access keeps at most one copy in memory; see above).
    annotation : mapping of str -> pandas.DataFrame of shape (n_samples, 7)
        Per donor, the samples (``reset_index()`` of the sample table).
    labels : mapping of str -> numpy.ndarray of shape (n_samples,)
        Per donor, the region of each sample (0 = unmatched).
    trees : mapping of str -> AtlasTree or None
        Per donor, the atlas (only read by variants with ``missing``).
    variants : mapping of str -> mapping
        Variant name -> its validated options; 'batch' normalizations are
        not batched (the workflow refuses them).

    Yields
    ------
    name : str
        A key of `variants`, grouped by normalization (first appearance order).
    rows : dict of str -> pandas.DataFrame of shape (n_rows, 3 + n_genes)
        Per donor, :func:`normalize_donor` output without the centroid
        candidates (shared between variants: do not modify).
    candidates : dict of str -> pandas.DataFrame or None
        Per donor, its centroid candidate rows (``missing='centroids'``).
    """
    twins, groups = _normalization_groups(variants)
    if len(groups) > 1 and not _keeps_sample_rows(variants):
        # only regional rows are held: the genes fit beside them, read once
        genes = _Cached(genes)
    for (gene_norm, norm_matched, norm_structures), names in groups.items():
        normalization = {"gene_norm": gene_norm, "norm_matched": norm_matched,
                         "norm_structures": norm_structures}
        parts: dict[str, dict[str, tuple]] = {name: {} for name in names}
        for donor in annotation:
            table = normalize_genes(genes[donor], annotation[donor], labels[donor],
                                    **normalization)
            memo: dict = {}
            for name in names:
                opts = variants[name]
                parts[name][donor] = _finish_parts(
                    *table, trees.get(donor), missing=opts["missing"],
                    region_agg=opts["region_agg"], agg_metric=opts["agg_metric"], cache=memo)
            del table, memo
        for name in names:
            done = parts.pop(name)
            rows = {d: r for d, (r, _) in done.items()}
            candidates = {d: c for d, (_, c) in done.items()}
            for twin in twins[name]:
                yield twin, rows, candidates
            # drop this variant's tables before the next group fills its own
            del done, rows, candidates


def _normalization_groups(variants: Mapping[str, Mapping[str, Any]]
                          ) -> tuple[dict[str, list[str]], dict[tuple, list[str]]]:
    """The variants :func:`branch_variants` computes, and their normalization groups.

    Returns
    -------
    twins : dict of str -> list of str
        Computed variant -> the variants it stands for (itself included).
    groups : dict of tuple -> list of str
        :data:`NORMALIZATION_OPTIONS` values -> the computed variants that share them.
    """
    twins: dict[str, list[str]] = {}
    for name, first in _same_computation(variants).items():
        twins.setdefault(first, []).append(name)
    groups: dict[tuple, list[str]] = {}
    for name in twins:
        groups.setdefault(tuple(variants[name][k] for k in NORMALIZATION_OPTIONS),
                          []).append(name)
    return twins, groups


def genes_read_per_group(variants: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether :func:`branch_variants` reads each donor's genes once per normalization group.

    It does when the variants need more than one gene normalization and
    one of them keeps sample rows (pooled samples or a callable metric):
    those rows are held until the group is done, and the genes are not
    kept beside them. Otherwise each donor's genes are read once.

    Parameters
    ----------
    variants : mapping of str -> mapping
        Variant name -> validated options.

    Returns
    -------
    per_group : bool
    """
    _, groups = _normalization_groups(variants)
    return len(groups) > 1 and _keeps_sample_rows(variants)


def _keeps_sample_rows(variants: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether a variant keeps sample rows (pooled samples or a callable metric)."""
    return not all(_one_row_per_region(o["region_agg"], o["agg_metric"])
                   for o in variants.values())


def _same_computation(variants: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Each variant -> the first variant whose computation is the same.

    Options that cannot change the numbers are set aside: without a gene
    normalization, ``norm_structures`` is unused, and ``norm_matched`` only
    decides which samples may fill empty regions (with ``missing``). Such
    variants run the same code on the same rows, so computing one gives the
    other's result bit for bit.
    """
    first: dict[tuple, str] = {}
    out = {}
    for name, opts in variants.items():
        key = dict(opts)
        if key["gene_norm"] is None:
            key["norm_structures"] = None
            if key["missing"] is None:
                key["norm_matched"] = None
        ident = tuple((k, key[k]) for k in ("gene_norm", "norm_matched", "norm_structures",
                                            "missing", "region_agg"))
        ident += (("agg_metric", key["agg_metric"] if isinstance(key["agg_metric"], str)
                   else id(key["agg_metric"])),)
        out[name] = first.setdefault(ident, name)
    return out


def _one_row_per_region(region_agg: str | None, agg_metric: Any) -> bool:
    """Whether a donor's table is reduced to one row per region (see :func:`normalize_donor`)."""
    return region_agg == "donors" and isinstance(agg_metric, str)


class _Cached(Mapping):
    """A mapping that keeps what it read from another (each value read once)."""

    def __init__(self, source: Mapping[str, Any]):
        self._source, self._values = source, {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._values:
            self._values[key] = self._source[key]
        return self._values[key]

    def __iter__(self):
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)


def _regional_rows(rows: pd.DataFrame, agg_metric: str) -> pd.DataFrame:
    """One row per region of a donor, from its :func:`_sample_rows`.

    The rows of each region (its matched samples, or its single
    interpolated row) are reduced with `agg_metric` exactly as
    :func:`combine_donors` does for ``region_agg='donors'``; reducing that
    one row again there returns it unchanged (nanmean/nanmedian of one
    value), so results are identical. Centroid candidates are added by the
    caller.
    """
    labs = rows["label"].to_numpy()
    regions, first = np.unique(labs, return_index=True)
    reduced = aggregate.aggregate_samples(_genes(rows), labs, regions, agg_metric)
    out = reduced.reset_index(drop=True)
    out.columns.name = None
    out.insert(0, "weight", 1.0)
    # a region's row is 'interpolated' when it has no sample (then one interpolated row)
    out.insert(0, "fill", rows["fill"].to_numpy()[first])
    out.insert(0, "label", regions.astype(np.int64))
    out.columns.name = "gene_symbol"
    return out


#: kinds of rows in a normalised donor table (column ``fill``)
FILL_NONE, FILL_CENTROID, FILL_INTERPOLATED = 0, 1, 2
_META_COLUMNS = ["label", "fill", "weight"]


def batch_normalize(expression: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """'batch' normalization: remove donor effects with one linear model over all donors.

    abagen 0.1.3 documents this method but refuses it (documented abagen
    bug); we implement it as its manual describes (see
    :func:`abagen_core.stages.normalize.normalize_expression`). Every gene is
    residualised on donor membership across all donors' rows at once.

    Parameters
    ----------
    expression : dict of str -> pandas.DataFrame of shape (n_samples, n_genes)
        Per donor.

    Returns
    -------
    normalized : dict of str -> pandas.DataFrame of shape (n_samples, n_genes)
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

    Parameters
    ----------
    expression : dict of str -> pandas.DataFrame of shape (n_samples, n_genes)
    annotation : dict of str -> pandas.DataFrame of shape (n_samples, 7)
    labels : dict of str -> numpy.ndarray of shape (n_samples,)
    norm_matched : bool

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
    voxels/vertices (see :meth:`abagen_core.atlas.matching.AtlasTree.fill_label`).

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
    annotation : pandas.DataFrame of shape (n_samples, 7)
    labels : numpy.ndarray of shape (n_samples,)
    atlas_tree : abagen_core.atlas.matching.AtlasTree
    missing : {'centroids', 'interpolate'}
    coords : pandas.DataFrame of shape (n_samples, 3), optional
        Coordinates to use instead of ``mni_{x,y,z}`` (native space).

    Returns
    -------
    rows : pandas.DataFrame of shape (n_filled, 3 + n_genes)
        Columns ``label``, ``fill``, ``weight``, then the genes.
    """
    annot = _with_coords(annotation, coords)
    labels = np.asarray(labels)
    present = set(labels[labels != 0].tolist())
    empty = [int(lab) for lab in atlas_tree.labels if int(lab) not in present]
    if not empty or len(annot) == 0:
        return _no_rows(expression)
    values = expression.to_numpy(dtype=np.float64)
    meta, rows = [], []
    if missing == "centroids":
        nearest, dist = atlas_tree.match_closest_samples(annot, empty, return_dist=True)
        for lab, idx, d in zip(empty, nearest, dist, strict=True):
            if idx >= 0:
                meta.append((lab, FILL_CENTROID, 1.0 / d if d > 0 else np.inf))
                rows.append(values[idx])
    elif missing == "interpolate":
        for lab in empty:
            nearest, dist = atlas_tree.fill_label(annot, lab, return_dist=True)
            if len(nearest):
                meta.append((lab, FILL_INTERPOLATED, 1.0))
                rows.append(aggregate.interpolate_region(expression, nearest, dist))
    else:
        raise ValueError(f"Invalid value for `missing`: {missing!r}")
    if not rows:
        return _no_rows(expression)
    out = pd.DataFrame(np.vstack(rows), columns=expression.columns, copy=False)
    lab, kind, weight = zip(*meta, strict=True)
    out.insert(0, "weight", np.asarray(weight, dtype=np.float64))
    out.insert(0, "fill", np.asarray(kind, dtype=np.int64))
    out.insert(0, "label", np.asarray(lab, dtype=np.int64))
    return out


def _no_rows(expression: pd.DataFrame) -> pd.DataFrame:
    """An empty :func:`fill_missing` table (meta columns, then the genes)."""
    return pd.DataFrame(columns=[*_META_COLUMNS, *expression.columns])


def _genes(frame: pd.DataFrame) -> pd.DataFrame:
    if list(frame.columns[:3]) == _META_COLUMNS:  # as made here: a slice, no column lookup
        return frame.iloc[:, 3:]
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


def unmatched_donors(normalized: Mapping[str, pd.DataFrame]) -> list[str]:
    """Donors none of whose samples matched a region of the atlas.

    Parameters
    ----------
    normalized : dict of str -> pandas.DataFrame
        Outputs of :func:`normalize_donor` (column ``fill``: matched rows
        are ``FILL_NONE``).

    Returns
    -------
    donors : list of str
        In the order of `normalized`.
    """
    return [str(d) for d, f in normalized.items()
            if not (f["fill"].to_numpy() == FILL_NONE).any()]


def warn_unmatched_donors(normalized: Mapping[str, pd.DataFrame]) -> list[str]:
    """Warn (``UserWarning``) about the donors that matched no region, and return them.

    abagen 0.1.3 logs ``No samples matched to atlas for donor <ID>`` and
    leaves such donors out of the aggregate (their donor-level matrices are
    all NaN); so do we, with one warning naming all of them. It happens, for
    example, with a right-hemisphere atlas: four of the six AHBA donors were
    sampled in the left hemisphere only, and ``lr_mirror`` gives them samples
    in the right one.

    Parameters
    ----------
    normalized : mapping of str -> pandas.DataFrame
        Per donor, :func:`normalize_donor` output.

    Returns
    -------
    donors : list of str
        The donors without any matched sample, in `normalized` order.
    """
    empty = unmatched_donors(normalized)
    if empty:
        msg = (f"No samples matched to atlas for donor(s) {', '.join(empty)}: they "
               "contribute nothing to the regional expression (their donor-level "
               "matrices are all NaN). If the atlas covers only one hemisphere, "
               "lr_mirror='bidirectional' (or 'leftright' / 'rightleft') mirrors "
               "samples across the midline and would give these donors samples.")
        if LOG.hasHandlers():  # the workflow job log (the API user sees the warning)
            LOG.warning(msg)
        warnings.warn(msg, UserWarning, stacklevel=3)
    return empty


def _rows_where(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """``frame.loc[keep]``, as a view (no copy) when `keep` is a run of leading rows."""
    n = int(keep.sum())
    if keep[:n].all():
        return frame.iloc[:n]
    return frame.loc[keep]


def combine_donors(normalized: Mapping[str, pd.DataFrame], regions: Sequence[int], *,
                   region_agg: str, agg_metric: Any
                   ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Region x gene matrix from every donor's normalised, labelled rows.

    Parameters
    ----------
    normalized : dict of str -> pandas.DataFrame of shape (n_rows, 3 + n_genes)
        Per donor, :func:`normalize_donor` output.
    regions : sequence of int
        The atlas regions (rows of the result).
    region_agg : {'donors', 'samples'}
    agg_metric : {'mean', 'median'} or callable

    Returns
    -------
    expression : pandas.DataFrame of shape (n_regions, n_genes)
        Index ``label``; columns ``gene_symbol``.
    donors : dict of str -> pandas.DataFrame of shape (n_regions, n_genes)
        Donor-level matrices (empty when ``region_agg='samples'``).
    """
    real = {d: _rows_where(f, f["fill"].to_numpy() != FILL_CENTROID)
            for d, f in normalized.items()}
    candidates = {d: _rows_where(f, f["fill"].to_numpy() == FILL_CENTROID)
                  for d, f in normalized.items()}
    return combine_rows(real, candidates, regions, region_agg=region_agg,
                        agg_metric=agg_metric)


def combine_rows(rows: Mapping[str, pd.DataFrame],
                 candidates: Mapping[str, pd.DataFrame | None], regions: Sequence[int], *,
                 region_agg: str, agg_metric: Any
                 ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """:func:`combine_donors` with each donor's centroid candidates given apart.

    Parameters
    ----------
    rows : dict of str -> pandas.DataFrame of shape (n_rows, 3 + n_genes)
        Per donor, its matched (and interpolated) rows.
    candidates : dict of str -> pandas.DataFrame of shape (n_candidates, 3 + n_genes) or None
        Per donor, its centroid candidates (``missing='centroids'``).
    regions : sequence of int
    region_agg : {'donors', 'samples'}
    agg_metric : {'mean', 'median'} or callable

    Returns
    -------
    expression, donors
        As :func:`combine_donors`.
    """
    aggregate.check_region_agg(region_agg)
    warn_unmatched_donors(rows)
    candidates = {d: c for d, c in candidates.items() if c is not None and len(c)}
    per_donor = {}
    if region_agg == "donors":
        for donor, frame in rows.items():
            per_donor[donor] = aggregate.aggregate_samples(
                _genes(frame), frame["label"].to_numpy(), regions, agg_metric)
        expression = aggregate.aggregate_donors(per_donor, agg_metric)
        for donor, frame in per_donor.items():
            # donor-level matrices take the donor's own candidate sample
            own = {donor: candidates[donor]} if donor in candidates else {}
            per_donor[donor] = _centroid_fill(frame, own)
    else:
        expression = aggregate.aggregate_pooled(
            [_genes(f) for f in rows.values()], [f["label"].to_numpy() for f in rows.values()],
            regions, agg_metric)
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
    mask_tree : abagen_core.atlas.matching.AtlasTree or None
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

    Parameters
    ----------
    annotation : pandas.DataFrame of shape (n_samples, 7)
        With ``well_id`` and ``mni_{x,y,z}``.
    well_ids : array-like of shape (n_wells,)

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

    Parameters
    ----------
    expression : dict of str -> pandas.DataFrame of shape (n_samples, n_genes)
        Per donor, :func:`samples_in_mask` output.
    coords : dict of str -> numpy.ndarray of shape (n_samples, 3)
    masked : bool, default=True
        Whether a mask selected the samples.

    Returns
    -------
    expression : pandas.DataFrame of shape (n_all_samples, n_genes)
    coords : numpy.ndarray of shape (n_all_samples, 3)

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
    """Gene symbols as a list (a single string is one gene); refuses empty or repeated ones.

    Parameters
    ----------
    genes : str or iterable of str

    Returns
    -------
    genes : list of str
    """
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
    """Number of neighbours of the k-nearest-neighbour interpolation (a positive integer).

    Parameters
    ----------
    n_neighbors : int
        The configured value (a bool is refused).

    Returns
    -------
    n_neighbors : int
        The same value, checked.
    """
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, numbers.Integral) \
            or n_neighbors < 1:
        raise ValueError(f"n_neighbors must be a positive integer; got {n_neighbors!r}.")
    return int(n_neighbors)


def select_genes(expression: pd.DataFrame, genes: Sequence[str]) -> pd.DataFrame:
    """The columns `genes` of a samples x genes matrix; unknown genes are an error naming them.

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_samples, n_all_genes)
    genes : sequence of str

    Returns
    -------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
    """
    unknown = [g for g in genes if g not in expression.columns]
    if unknown:
        raise ValueError(f"Genes not in the processed data: {unknown}. Check the symbols "
                         "(reannotated names) and the probe filtering options.")
    return expression[list(genes)]


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
    from sklearn.neighbors import KNeighborsRegressor  # lazy: slow to import

    n_neighbors = check_n_neighbors(n_neighbors)
    values = select_genes(expression, genes).to_numpy(dtype=np.float64)
    model = KNeighborsRegressor(n_neighbors=min(n_neighbors, len(coords)), weights="distance")
    model.fit(np.asarray(coords, dtype=np.float64), values)
    return model.predict(points).reshape(len(points), len(genes))


# ---------------------------------------------------------------------------
# helpers for the workflow's scripts (paths in, files out)


# ---------------------------------------------------------------------------
# workflow writers of the sample-level targets (samples_in_mask, interpolated_maps)


