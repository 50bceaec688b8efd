"""The in-memory Python API with abagen 0.1.3's names and signatures.

:func:`get_expression_data`, :func:`get_samples_in_mask` and
:func:`get_interpolated_map` chain the stage functions of
:mod:`abagen_core.stages.regional` in memory (the same functions the workflow runs
one per job).
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abagen_core import io
from abagen_core.atlas import images
from abagen_core.atlas.masks import dense_maps, mask_points, mask_tree
from abagen_core.datasets import fetch
from abagen_core.datasets.checks import check_donor_matrix, check_donor_tables, check_pacall_values
from abagen_core.datasets.raw import t1_candidates
from abagen_core.datasets.synth import is_synthetic
from abagen_core.donors import RNASEQ_DONORS
from abagen_core.options import INTERPOLATED_MAP_DEFAULTS, check_options
from abagen_core.outputs.report import AtlasDescriptor, Report
from abagen_core.stages import probes
from abagen_core.stages import regional as pipeline
from abagen_core.stages import samples as samples_mod
from abagen_core.stages.aggregate import check_metric, count_samples
from abagen_core.stages.explain import explain_genes as explain

__all__ = ["get_expression_data", "get_samples_in_mask", "get_interpolated_map",
           "explain_genes", "load_donors", "DonorData", "native_pial"]

LOG = logging.getLogger("abagen_core")


class _StderrHandler(logging.StreamHandler):
    """Progress messages of the API on the current ``sys.stderr`` (``LEVEL: message``)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:  # noqa: D102 - follows sys.stderr
        self.stream = sys.stderr
        super().emit(record)


def set_verbosity(verbose: int) -> None:
    """Print the pipeline's progress on stderr as abagen 0.1.3 does for `verbose`.

    ``verbose=1`` shows INFO messages, ``verbose>=2`` also DEBUG ones, both
    as ``LEVEL: message`` lines on stderr; ``verbose=0`` only warnings. One
    handler is added to the ``abagen_core`` logger on first use and re-used
    by later calls (never duplicated); other handlers are left alone.

    Parameters
    ----------
    verbose : int
        The ``verbose`` argument of the API functions.
    """
    handler = next((h for h in LOG.handlers if isinstance(h, _StderrHandler)), None)
    if not verbose:
        if handler is not None:
            handler.setLevel(logging.WARNING)
        return
    if handler is None:
        handler = _StderrHandler()
        LOG.addHandler(handler)
    level = logging.INFO if verbose == 1 else logging.DEBUG
    handler.setLevel(level)
    if LOG.getEffectiveLevel() > level:
        LOG.setLevel(level)


@dataclass
class DonorData:
    """One donor's raw tables (as read from the AHBA files)."""

    microarray: pd.DataFrame
    pacall: pd.DataFrame
    annotation: pd.DataFrame
    ontology: pd.DataFrame
    probes: pd.DataFrame


def load_donors(data_dir: str | None, donors: list[str], *, n_proc: int = 1,
                verbose: int = 0, probe_ids: pd.Index | None = None
                ) -> tuple[dict[str, DonorData], str]:
    """Read every donor's five files (downloading them if needed).

    Parameters
    ----------
    data_dir : str or None
        AHBA download folder (abagen layout); None = abagen's default location.
    donors : list of str
        Donor numbers.
    n_proc : int, default=1
        Parallel downloads.
    verbose : int, default=0
        Verbosity of the fetcher.
    probe_ids : pandas.Index, optional
        Keep only these rows of each donor's expression and PACall matrices
        (after checking the complete files): the probes the pipeline can use.
        Each donor's complete matrices are then freed before the next donor
        is read, so the memory held is one complete donor plus the kept rows.

    Returns
    -------
    data : dict of str -> DonorData
    data_dir : str
        The resolved data folder.
    """
    files = fetch.fetch_microarray(data_dir=data_dir, donors=donors, verbose=verbose,
                                   n_proc=n_proc)
    out = {}
    for donor in donors:
        f = files[donor]
        out[donor] = DonorData(
            microarray=io.read_microarray(f["microarray"]),
            pacall=io.read_pacall(f["pacall"]),
            annotation=io.read_annotation(f["annotation"]),
            ontology=io.read_ontology(f["ontology"]),
            probes=io.read_probes(f["probes"]),
        )
        d = out[donor]  # the five files must belong together (errors name them)
        check_donor_tables(microarray=d.microarray, pacall=d.pacall,
                           annotation=d.annotation, probes=d.probes, files=f)
        if probe_ids is not None:  # the rows the pipeline can use; the rest is freed now
            d.microarray = d.microarray.loc[probe_ids]
            d.pacall = d.pacall.loc[probe_ids]
    root = Path(files[donors[0]]["microarray"]).parent
    return out, str(root)


def _load_rnaseq(data_dir: str | None, donors: list[str]) -> dict[str, pd.DataFrame]:
    wanted = [d for d in RNASEQ_DONORS if d in donors]
    files = fetch.fetch_rnaseq(data_dir=data_dir, donors=wanted, verbose=0)
    out = {}
    for donor in wanted:
        tpm = io.read_tpm(files[donor]["tpm"])
        annot = io.read_rnaseq_annotation(files[donor]["annotation"])
        out[donor] = probes.rnaseq_region_expression(tpm, annot)
    return out


def native_pial(donor: str, data_dir: str | None = None) -> tuple[Any, Any]:
    """A donor's FreeSurfer pial surfaces, downloaded when missing.

    The geometry of a donor-specific surface atlas (the `native_geometry`
    of :func:`abagen_core.atlas.images.coerce_atlas_to_dict`).

    Parameters
    ----------
    donor : str
        Donor number or UID.
    data_dir : str, optional
        Data folder (as in :func:`abagen_core.datasets.fetch_fsnative`).

    Returns
    -------
    lh, rh : abagen_core.datasets.fetch.Surface
        The left and right pial surfaces (vertices of shape (n_vertices, 3),
        faces of shape (n_faces, 3)).
    """
    surf = fetch.fetch_fsnative(donor, surf="pial", data_dir=data_dir, verbose=0)
    return surf.lh, surf.rh


def _t1_affine(donor: str, data_dir: str | None) -> np.ndarray:
    """The donor's T1w affine (native voxel -> mm), from data_dir or downloaded."""
    import nibabel as nib  # lazy: slow to import

    found = [p for p in t1_candidates(data_dir, donor) if p.is_file()]
    if found:
        t1 = found[0]
    else:
        t1 = fetch.fetch_raw_mri(data_dir=data_dir, donors=[donor], verbose=0)[donor]["t1w"]
    return nib.load(t1).affine


@dataclass
class _Selected:
    """The atlas-independent front half up to probe selection (see :func:`_select`)."""

    data: dict[str, DonorData]
    annotation: dict[str, pd.DataFrame]
    pacall: dict[str, probes.PACallSummary]
    kept: pd.DataFrame
    selection: pd.DataFrame | None


def _select(options: dict[str, Any], data_dir: str | None, n_proc: int, verbose: int,
            native: bool = False) -> _Selected:
    """Samples, probe annotation, intensity filter and probe selection.

    With `native` (donor-specific atlases) sample coordinates are native.
    """
    donors = options["donors"]
    LOG.info("%s atlas provided; using %s coords for tissue samples",
             "Donor-specific" if native else "Group-level", "native" if native else "MNI")
    files = fetch.fetch_microarray(data_dir=data_dir, donors=donors, verbose=verbose,
                                   n_proc=n_proc)
    # the probe annotation first (one small table): the expression matrices
    # are then read for the probes and samples the pipeline uses only
    probe_info = pipeline.prepare_probes(io.read_probes(files[donors[0]]["probes"]),
                                         reannotated=options["reannotated"])
    similar = options["sim_threshold"] is not None
    data, annotation, pacall = {}, {}, {}
    for donor in donors:
        d = data[donor] = _read_tables(files[donor], probe_info.index if similar else None)
        annotation[donor] = pipeline.prepare_samples(
            d.annotation, d.ontology, corrected_mni=options["corrected_mni"],
            lr_mirror=options["lr_mirror"], sim_threshold=options["sim_threshold"],
            microarray=d.microarray, probe_ids=probe_info.index,
            native_affine=_t1_affine(donor, data_dir) if native else None)
        pacall[donor] = probes.pacall_summary(d.pacall, annotation[donor])
        d.pacall = d.pacall.iloc[:0].copy()  # only its summary is needed (a view would keep it)
    # the probes above background, in the samples kept: the only rows of the
    # expression matrices probe selection and the genes need
    passed = probes.intensity_filter(pacall, probe_info, options["ibf_threshold"]).index
    for donor in donors:
        d = data[donor]
        used = sorted(set(annotation[donor].index))
        if similar:  # read already (for the similarity of samples)
            d.microarray = d.microarray.loc[passed, used]
        else:
            d.microarray = _read_expression(files[donor], d, passed, used)
    rnaseq = _load_rnaseq(data_dir, donors) if options["probe_selection"] == "rnaseq" else None
    kept, selection = pipeline.select_probes(
        pacall, None, probe_info, ibf_threshold=options["ibf_threshold"],
        probe_selection=options["probe_selection"], donor_probes=options["donor_probes"],
        rnaseq=rnaseq, microarray={d: data[d].microarray for d in donors},
        annotation=annotation)
    return _Selected(data, annotation, pacall, kept, selection)


def _read_tables(files: Mapping[str, Any], probe_ids: pd.Index | None) -> DonorData:
    """A donor's tables and PACall, checked; its expression for `probe_ids` only, if given.

    Without `probe_ids` the expression is left for :func:`_read_expression`
    (an empty frame here).
    """
    d = DonorData(microarray=pd.DataFrame(), pacall=io.read_pacall(files["pacall"]),
                  annotation=io.read_annotation(files["annotation"]),
                  ontology=io.read_ontology(files["ontology"]),
                  probes=io.read_probes(files["probes"]))
    if probe_ids is not None:
        d.microarray = _read_expression(files, d, probe_ids, None)
    check_donor_matrix("pacall", d.pacall.index.to_numpy(), d.pacall.shape[1],
                       annotation=d.annotation, probes=d.probes, files=files)
    check_pacall_values(d.pacall, files=files)
    return d


def _read_expression(files: Mapping[str, Any], d: DonorData, probe_ids: pd.Index,
                     samples: list[int] | None) -> pd.DataFrame:
    """Rows `probe_ids` and columns `samples` of a donor's expression, the file checked."""
    part = io.read_matrix_rows(files["microarray"], "microarray", rows=probe_ids,
                               columns=samples)
    check_donor_matrix("microarray", part.ids, part.n_columns, annotation=d.annotation,
                       probes=d.probes, files=files)
    if len(part.frame) != len(probe_ids):  # Probes.csv differs between donors
        absent = pd.Index(probe_ids).difference(part.frame.index)
        raise KeyError(f"{files['microarray']} has no row for {len(absent)} probe(s) of the "
                       f"first donor's Probes.csv, e.g. {list(absent[:5])}")
    return part.frame


def _prepare(options: dict[str, Any], data_dir: str | None, n_proc: int, verbose: int,
             native: bool = False):
    """Shared front half: samples, probes, collapse, sample normalization.

    With `native` (donor-specific atlases) sample coordinates are native.
    """
    donors = options["donors"]
    chosen = _select(options, data_dir, n_proc, verbose, native)
    data, annotation = chosen.data, chosen.annotation
    kept, selection = chosen.kept, chosen.selection
    batch_samples = options["sample_norm"] == "batch"
    for donor in donors:
        # from here on only the probes that make the genes are needed: the
        # rest of every donor's expression is freed before any gene is made
        d = data[donor]
        d.microarray = d.microarray.loc[probes.probes_used(kept, selection, donor)]
    genes = {}
    for donor in donors:
        d = data[donor]
        genes[donor] = pipeline.donor_genes(
            d.microarray, annotation[donor], kept, selection,
            probe_selection=options["probe_selection"],
            sample_norm=None if batch_samples else options["sample_norm"], donor=donor)
        d.microarray = d.microarray.iloc[:0].copy()  # the genes hold all that is needed
    if batch_samples:
        genes = pipeline.batch_normalize(genes)
    LOG.info("%d genes remain after probe filtering + selection",
             genes[donors[0]].shape[1] if donors else 0)
    return data, annotation, kept, genes


def get_expression_data(atlas: Any, atlas_info: Any = None, *, ibf_threshold: float = 0.5,
                        probe_selection: str = "diff_stability",
                        donor_probes: str = "aggregate", sim_threshold: float | None = None,
                        lr_mirror: str | None = None, exact: bool | None = None,
                        missing: str | None = None, tolerance: float = 2,
                        sample_norm: str | None = "srs", gene_norm: str | None = "srs",
                        norm_matched: bool = True, norm_structures: bool = False,
                        region_agg: str = "donors", agg_metric: str | Callable = "mean",
                        corrected_mni: bool = True, reannotated: bool = True,
                        return_counts: bool = False, return_donors: bool = False,
                        return_report: bool = False, donors: Any = "all",
                        data_dir: str | None = None, verbose: int = 0, n_proc: int = 1,
                        geometry: Any = None, space: str | None = None):
    """Assign AHBA microarray expression data to the regions of `atlas`.

    Same parameters, defaults and outputs as abagen 0.1.3's
    ``abagen.get_expression_data`` (see its manual, section 7.7.1).

    Parameters
    ----------
    atlas : niimg-like, (lh, rh) tuple, or dict of donor -> image
        Parcellation: a NIfTI in MNI152 space (path or nibabel image), a
        (lh, rh) pair of GIFTI label images, FreeSurfer ``.annot`` files or
        1-D integer label arrays on fsaverage5 (or on `geometry`), or
        donor-specific (native) images.
    atlas_info : path-like or pandas.DataFrame, optional
        Table with columns ``id``, ``hemisphere``, ``structure``; constrains
        matching to the sample's hemisphere and structural class.
    ibf_threshold, probe_selection, donor_probes, sim_threshold, lr_mirror,
    exact, missing, tolerance, sample_norm, gene_norm, norm_matched,
    norm_structures, region_agg, agg_metric, corrected_mni, reannotated
        Processing options (validated by :func:`abagen_core.options.check_options`).
    return_counts : bool, default=False
        Also return the number of samples per region and donor.
    return_donors : bool, default=False
        Return one matrix per donor instead of the donor aggregate.
    return_report : bool, default=False
        Also return the methods text.
    donors : 'all' or list, default='all'
    data_dir : str, optional
    verbose : int, default=0
    n_proc : int, default=1
        Parallel downloads.
    geometry : (2,) tuple of surfaces, optional
        Beyond abagen 0.1.3: the (lh, rh) surfaces of a group surface atlas
        on another mesh (fsLR, CIVET, fsaverage6, ...), as in
        :func:`abagen_core.atlas.images.check_atlas`.
    space : str, optional
        Space of `geometry` (e.g. ``'fslr'``, ``'fsaverage6'``); required
        with it.

    Returns
    -------
    expression : pandas.DataFrame of shape (n_regions, n_genes) or dict
        Index ``label``; columns ``gene_symbol``. A dict donor -> frame when
        `return_donors`.
    counts : pandas.DataFrame of shape (n_regions, n_donors)
        Only when `return_counts`.
    report : str
        Only when `return_report`.
    """
    start = time.perf_counter()
    set_verbosity(verbose)
    options = check_options(
        ibf_threshold=ibf_threshold, probe_selection=probe_selection,
        donor_probes=donor_probes, sim_threshold=sim_threshold, lr_mirror=lr_mirror,
        exact=exact, missing=missing, tolerance=tolerance, sample_norm=sample_norm,
        gene_norm=gene_norm, norm_matched=norm_matched, norm_structures=norm_structures,
        region_agg=region_agg, agg_metric=agg_metric, corrected_mni=corrected_mni,
        reannotated=reannotated, donors=donors)
    if return_donors and options["region_agg"] == "samples":
        raise ValueError("return_donors=True needs region_agg='donors': donor-level matrices "
                         "do not exist when samples are pooled across donors.")
    check_metric(options["agg_metric"])
    donor_list = options["donors"]
    trees, group_atlas = images.coerce_atlas_to_dict(
        atlas, donor_list, atlas_info, native_geometry=partial(native_pial, data_dir=data_dir),
        geometry=geometry, space=space)

    data, annotation, kept, genes = _prepare(options, data_dir, n_proc, verbose,
                                             native=not group_atlas)
    regions = sorted({int(x) for tree in trees.values() for x in tree.labels})
    labels, normalized = {}, {}
    for donor in donor_list:
        labels[donor] = pipeline.label_donor(annotation[donor], trees[donor],
                                             tolerance=options["tolerance"])
        LOG.info("%d / %d samples matched to regions for donor #%s",
                 int(np.count_nonzero(labels[donor])), len(labels[donor]), donor)
    gene_norm = options["gene_norm"]
    annots = {d: annotation[d].reset_index() for d in donor_list}
    if gene_norm == "batch":
        # 'batch' fits all donors together: done here across donors, then the
        # per-donor step runs without a gene normalization of its own
        genes, annots, labels_kept = pipeline.batch_normalize_matched(
            genes, annots, labels, norm_matched=options["norm_matched"])
        gene_norm = None
    else:
        labels_kept = labels
    for donor in donor_list:
        normalized[donor] = pipeline.normalize_donor(
            genes[donor], annots[donor], labels_kept[donor], trees[donor],
            gene_norm=gene_norm, norm_matched=options["norm_matched"],
            norm_structures=options["norm_structures"], missing=options["missing"],
            region_agg=options["region_agg"], agg_metric=options["agg_metric"])
    expression, per_donor = pipeline.combine_donors(
        normalized, regions, region_agg=options["region_agg"],
        agg_metric=options["agg_metric"])
    counts = count_samples(labels, regions)
    LOG.info("Finished in %.1f s: %d regions x %d genes", time.perf_counter() - start,
             *expression.shape)
    result: list[Any] = [per_donor if return_donors else expression]
    if return_counts:
        result.append(counts)
    if return_report:
        if atlas_info is None and geometry is not None:  # label tables stand in for it
            atlas_info = next(iter(trees.values())).atlas_info
        result.append(Report(_report_atlas(atlas, trees, geometry, space), atlas_info,
                             **_report_options(options, data_dir),
                             return_donors=return_donors, counts=counts,
                             n_probes=len(kept), n_genes=expression.shape[1],
                             synthetic=is_synthetic(data_dir) if data_dir else False
                             ).gen_report())
    return result[0] if len(result) == 1 else tuple(result)


def _report_atlas(atlas: Any, trees: Mapping[str, Any], geometry: Any, space: str | None
                  ) -> Any:
    """The atlas as the report describes it: other surface forms as GIFTIs or a descriptor."""
    if geometry is not None:  # its own mesh: the space is the one given, not the vertex count
        n_regions = len({int(x) for tree in trees.values() for x in tree.labels})
        named = "native" if str(space).lower() == "fsnative" else str(space)
        return AtlasDescriptor(n_regions, "surface", named)
    if isinstance(atlas, tuple | list) and len(atlas) == 2:
        pair = images.surface_pair(atlas)
        lh, rh = (images.gifti_labels(img) for img in pair)
        if np.intersect1d(lh[lh != 0], rh[rh != 0]).size:  # renumbered by check_atlas
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # check_atlas has warned already
                return images.relabel_gifti(pair)
        if any(images.is_annot(a) or isinstance(a, np.ndarray) for a in atlas):
            return pair
    return atlas


def _report_options(options: Mapping[str, Any], data_dir: str | None) -> dict[str, Any]:
    keep = dict(options)
    keep["data_dir"] = data_dir
    return keep


_IGNORED_FOR_SAMPLES = ("atlas_info", "region_agg", "agg_metric", "return_counts",
                        "return_report", "missing", "exact")


def _split_kwargs(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Processing options vs. call options (data_dir, verbose, ...)."""
    call = {k: kwargs.pop(k) for k in ("data_dir", "verbose", "n_proc", "return_donors")
            if k in kwargs}
    for key in _IGNORED_FOR_SAMPLES:
        kwargs.pop(key, None)
    return kwargs, call


def _surface_mask_tree(mask: Any, geometry: Any, space: str | None) -> Any:
    """The tree of a surface mask given as .annot files, arrays or on its own mesh."""
    values = [images.gifti_labels(img) for img in images.surface_pair(mask)]
    if np.intersect1d(values[0][values[0] != 0], values[1][values[1] != 0]).size:
        # only non-zero matters in a mask: 1 inside on the left, 2 on the right
        # (as abagen_core.atlas.masks.mask_tree does for GIFTI pairs)
        values = [np.where(v != 0, value, 0) for v, value in zip(values, (1, 2), strict=True)]
    return images.check_atlas(tuple(values), geometry=geometry, space=space)


def _samples_in_mask(mask: Any, options: dict[str, Any], data_dir: str | None, n_proc: int,
                     verbose: int, geometry: Any = None, space: str | None = None
                     ) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    """Per donor: normalised expression (index well_id) and MNI coords of samples in mask."""
    donors = options["donors"]
    if mask is None:
        trees, group_atlas = {}, True
    elif isinstance(mask, Mapping):  # donor-specific (native) masks
        trees, group_atlas = images.coerce_atlas_to_dict(
            mask, donors, None, native_geometry=partial(native_pial, data_dir=data_dir),
            geometry=geometry)
    else:
        if isinstance(mask, tuple | list) and (geometry is not None or any(
                images.is_annot(m) or isinstance(m, np.ndarray) for m in mask)):
            tree = _surface_mask_tree(mask, geometry, space)
        elif geometry is not None:
            tree = images.check_atlas(mask, geometry=geometry, space=space)  # raises
        else:
            tree = mask_tree(mask)
        trees, group_atlas = {d: tree for d in donors}, True
    data, annotation, _, genes = _prepare(options, data_dir, n_proc, verbose,
                                          native=not group_atlas)
    expression, coords = {}, {}
    for donor in donors:
        positions = None
        if not group_atlas:  # native masks: still report MNI coordinates
            positions = data[donor].annotation
            if options["corrected_mni"]:
                positions = samples_mod.update_mni_coords(positions)
        expression[donor], coords[donor] = pipeline.samples_in_mask(
            genes[donor], annotation[donor], None if mask is None else trees[donor],
            tolerance=options["tolerance"], gene_norm=options["gene_norm"],
            norm_structures=options["norm_structures"], positions=positions)
    return expression, coords


def get_samples_in_mask(mask: Any = None, *, geometry: Any = None, space: str | None = None,
                        **kwargs: Any):
    """Preprocessed expression of the samples inside `mask` (abagen's API).

    Same processing as :func:`get_expression_data`, but samples are returned
    individually instead of being aggregated into regions.

    Parameters
    ----------
    mask : niimg-like, (lh, rh) tuple, dict of donor -> image, or None
        Binary mask (non-zero = inside) in MNI152 / fsaverage5 space (a
        surface mask as GIFTIs, ``.annot`` files or 1-D arrays), or
        donor-specific masks; None returns every sample.
    geometry : (2,) tuple of surfaces, optional
        Beyond abagen 0.1.3: the (lh, rh) surfaces of a surface mask on
        another mesh (see :func:`get_expression_data`).
    space : str, optional
        Space of `geometry`; required with it.
    **kwargs
        Options of :func:`get_expression_data`. ``atlas`` replaces a missing
        mask; ``atlas_info``, ``region_agg`` and ``agg_metric`` are ignored.

    Returns
    -------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
        Index ``well_id``; columns ``gene_symbol``; donors concatenated in
        donor order. A dict donor -> frame when ``return_donors=True``.
    coords : numpy.ndarray of shape (n_samples, 3)
        MNI coordinates of the samples (also for donor-specific masks); a
        dict when ``return_donors=True``.
    """
    atlas = kwargs.pop("atlas", None)
    if mask is None and atlas is not None:
        mask = atlas
    options, call = _split_kwargs(dict(kwargs))
    set_verbosity(call.get("verbose", 0))
    options = check_options(options)
    expression, coords = _samples_in_mask(mask, options, call.get("data_dir"),
                                          call.get("n_proc", 1), call.get("verbose", 0),
                                          geometry=geometry, space=space)
    combined = pipeline.combine_samples(expression, coords, masked=mask is not None)
    if call.get("return_donors"):
        return expression, coords
    return combined


def get_interpolated_map(genes: Any, mask: Any, n_neighbors: int = 10, **kwargs: Any):
    """Dense expression maps of `genes` by k-nearest-neighbour regression.

    Every sample (``get_samples_in_mask(mask=None, ...)``) is a training
    point at its MNI coordinate; each non-zero voxel (or vertex) of `mask`
    gets the distance-weighted mean expression of its `n_neighbors` nearest
    samples (scikit-learn's ``KNeighborsRegressor``). Unless given,
    ``lr_mirror='bidirectional'`` and ``norm_matched=False``.

    Parameters
    ----------
    genes : str or list of str
        Gene symbols.
    mask : niimg-like or tuple of GIFTIs
        Where to interpolate (non-zero points).
    n_neighbors : int, default=10
    **kwargs
        Options of :func:`get_expression_data`.

    Returns
    -------
    dense : dict of str -> nibabel image or numpy.ndarray
        Per gene, a map in the mask's space (NIfTI for volumes; an array of
        all vertices for surfaces), zero outside the mask.
    """
    genes = pipeline.check_genes(genes)
    n_neighbors = pipeline.check_n_neighbors(n_neighbors)
    for key, value in INTERPOLATED_MAP_DEFAULTS.items():
        kwargs.setdefault(key, value)
    kwargs.pop("return_donors", None)
    space, index, points = mask_points(mask)
    expression, coords = get_samples_in_mask(None, **kwargs)
    values = pipeline.interpolate_samples(expression, coords, genes, points,
                                          n_neighbors=n_neighbors)
    return dense_maps(values, space, index, genes)


def explain_genes(genes: Any = None, **kwargs: Any) -> pd.DataFrame:
    """Why each gene symbol is, or is not, a column of the expression matrix.

    Replays the atlas-independent steps of :func:`get_expression_data`
    (reannotation, Entrez filter, intensity-based filter, probe selection)
    with the same options and names, for every gene symbol, the step where
    it left and the figures that decided it (see
    :func:`abagen_core.stages.explain.explain_genes`). The genes with status
    ``'kept'`` are exactly the columns :func:`get_expression_data` returns
    with these options, for any atlas.

    Parameters
    ----------
    genes : str or list of str, optional
        Gene symbols to explain (e.g. ``['ESR2', 'PGR']``); default every
        symbol of the probe annotation.
    **kwargs
        Options of :func:`get_expression_data` (``ibf_threshold``,
        ``probe_selection``, ``donor_probes``, ``sim_threshold``,
        ``lr_mirror``, ``corrected_mni``, ``reannotated``, ``donors``,
        ``data_dir``, ``verbose``, ``n_proc``); options of later steps are
        accepted and ignored (they do not remove genes).

    Returns
    -------
    table : pandas.DataFrame of shape (n_genes, 6 + n_donors)
        Index ``gene_symbol``; columns ``status``, ``detail``, ``n_probes``,
        ``n_probes_above_threshold``, ``signal_fraction``,
        ``fraction_<donor>`` per donor and ``probe``.

    Examples
    --------
    >>> explain_genes(['ESR2', 'PGR'], data_dir='~/abagen-data')  # doctest: +SKIP
    """
    if isinstance(genes, str):
        genes = [genes]
    kwargs.pop("atlas", None)
    kwargs.pop("atlas_info", None)
    data_dir = kwargs.pop("data_dir", None)
    verbose = kwargs.pop("verbose", 0)
    n_proc = kwargs.pop("n_proc", 1)
    for key in ("return_counts", "return_donors", "return_report"):
        kwargs.pop(key, None)
    set_verbosity(verbose)
    options = check_options(kwargs)
    chosen = _select(options, data_dir, n_proc, verbose)
    table = chosen.data[options["donors"][0]].probes
    annotated = probes.reannotate_probes(table) if options["reannotated"] else table
    return explain(table, annotated, chosen.pacall, chosen.kept, chosen.selection,
                   ibf_threshold=options["ibf_threshold"],
                   reannotated=options["reannotated"], genes=genes)
