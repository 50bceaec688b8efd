"""Writers of the workflow's final files: result matrices, counts, methods text, metadata.

Every file is written atomically; a result folder's ``metadata.json`` is written
last, so a folder holding it is complete.
"""

from __future__ import annotations

import json
import logging
import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abagen_core import io
from abagen_core._version import __version__
from abagen_core.atlas.images import load_gifti
from abagen_core.atlas.masks import dense_maps, mask_points, mask_tree
from abagen_core.options import describe
from abagen_core.outputs.names import region_names
from abagen_core.outputs.report import AtlasDescriptor, Report
from abagen_core.stages import aggregate, probes
from abagen_core.stages.explain import explain_genes
from abagen_core.stages.regional import (
    combine_donors,
    combine_samples,
    interpolate_samples,
    samples_in_mask,
    select_genes,
)
from abagen_core.storage.artifacts import read_pacall_summary, write_frame
from abagen_core.storage.atomic import atomic_path, write_text_atomic
from abagen_core.storage.parquet import write_frame_csv, write_frame_parquet

__all__ = ["methods_text", "explained_genes", "write_results", "region_table",
           "write_samples_in_mask", "write_map_samples", "write_interpolated_map",
           "write_map_metadata"]

LOG = logging.getLogger("abagen_core")


def _report_atlas(spec: Mapping[str, Any], n_regions: int) -> Any:

    kind = "surface" if spec["kind"] == "surface" else "volumetric"
    space = {"volume": "MNI", "native": "native"}.get(spec["kind"],
                                                      spec.get("space") or "fsaverage5")
    return AtlasDescriptor(n_regions, kind, space)

def methods_text(options: Mapping[str, Any], atlas_spec: Mapping[str, Any], *, n_regions: int,
                 counts: pd.DataFrame, n_kept_probes: int, n_genes: int,
                 synthetic: bool, return_donors: bool = False) -> str:
    """The methods report of a workflow result (same text as ``return_report``).

    Parameters
    ----------
    options : mapping
        The variant's validated options (with ``donors``).
    atlas_spec : mapping
        The atlas description (:meth:`abagen_core.workflow.targets.Targets.atlas_description`).
    n_regions : int
        Number of regions of the atlas.
    counts : pandas.DataFrame of shape (n_regions, n_donors)
        Samples per region and donor.
    n_kept_probes : int
        Probes left after the intensity filter.
    n_genes : int
        Genes in the expression matrix.
    synthetic : bool
        The data are synthetic (the report says so).
    return_donors : bool, default=False
        As ``get_expression_data``'s.

    Returns
    -------
    report : str
    """

    opts = {k: v for k, v in options.items() if k != "donors"}
    return Report(_report_atlas(atlas_spec, n_regions), atlas_spec.get("info"),
                  donors=options["donors"], return_donors=return_donors, counts=counts,
                  n_probes=n_kept_probes, n_genes=n_genes, synthetic=synthetic,
                  **opts).gen_report()


def explained_genes(*, pacall: Sequence[str], donors: Sequence[str], probe_table: str,
                    kept: pd.DataFrame, selection: pd.DataFrame | None,
                    options: Mapping[str, Any]) -> pd.DataFrame:
    """Why each gene symbol is or is not in a result (``genes.csv``).

    Made once per probe selection (the workflow's ``select_probes`` job),
    for every result made from it.

    Parameters
    ----------
    pacall : sequence of str
        Per donor, its PACall counts file.
    donors : sequence of str
    probe_table : str
        The raw ``Probes.csv``.
    kept : pandas.DataFrame
        The probes kept by the intensity filter.
    selection : pandas.DataFrame or None
        The probe selection (None for 'average').
    options : mapping
        Validated options (``reannotated``, ``ibf_threshold`` are read).

    Returns
    -------
    genes : pandas.DataFrame
        :func:`abagen_core.stages.explain.explain_genes` output.
    """
    summaries = {donor: read_pacall_summary(path)
                 for donor, path in zip(donors, pacall, strict=True)}
    table = io.read_probes(probe_table)
    annotated = probes.reannotate_probes(table) if options["reannotated"] else table
    return explain_genes(table, annotated, summaries, kept, selection,
                         ibf_threshold=options["ibf_threshold"],
                         reannotated=options["reannotated"])


def write_results(normalized: Mapping[str, pd.DataFrame], labels: Mapping[str, np.ndarray], *,
                  regions: Sequence[int],
                  options: Mapping[str, Any], atlas: Mapping[str, Any], n_kept_probes: int,
                  checksums: Sequence[str], synthetic: bool,
                  outputs: Mapping[str, str], genes: pd.DataFrame | None = None,
                  expression: pd.DataFrame | None = None) -> pd.DataFrame:
    """Write a variant's final files atomically (expression, counts, report, metadata).

    The metadata sidecar is written last: a result folder whose
    ``metadata.json`` exists is complete.

    Parameters
    ----------
    normalized : dict of str -> pandas.DataFrame of shape (n_rows, 3 + n_genes)
        Per donor, :func:`abagen_core.stages.regional.normalize_donor` output
        (columns ``label``, ``fill``, ``weight``, then the genes).
    labels : dict of str -> numpy.ndarray of shape (n_samples,)
        Per donor, the region of each sample (0: none).
    regions : sequence of int
        Region ids of the atlas (the rows, in order).
    options : mapping
        The variant's validated options.
    atlas : mapping
        The atlas description (:meth:`abagen_core.workflow.targets.Targets.atlas_description`).
    n_kept_probes : int
        Probes left after the intensity filter.
    checksums : sequence of str
        Paths of the donors' matrix checksum files (recorded as provenance).
    synthetic : bool
        The data are synthetic.
    outputs : mapping
        Paths ``expression`` (CSV), ``parquet``, ``counts`` (CSV), ``methods``
        (text) and ``metadata`` (JSON); ``genes`` (CSV) with `genes`;
        optionally ``regions`` (CSV, :func:`region_table`).
    genes : pandas.DataFrame of shape (n_symbols, n_columns), optional
        :func:`abagen_core.stages.explain.explain_genes` output: written to
        ``outputs['genes']``, its status counts recorded in the metadata. Its
        ``kept`` genes are the matrix's columns (a warning says so if not).
    expression : pandas.DataFrame of shape (n_regions, n_genes), optional
        The matrix, when the caller has combined `normalized` already
        (:func:`abagen_core.stages.regional.combine_donors` with the
        variant's options); computed here otherwise.

    Returns
    -------
    expression : pandas.DataFrame of shape (n_regions, n_genes)
        Index ``label``, columns ``gene_symbol``; as ``get_expression_data``.
    """
    regions = [int(r) for r in regions]
    if expression is None:
        expression, _ = combine_donors(normalized, regions, region_agg=options["region_agg"],
                                       agg_metric=options["agg_metric"])
    counts = aggregate.count_samples(labels, regions)
    Path(outputs["metadata"]).unlink(missing_ok=True)
    write_frame_csv(expression, outputs["expression"])
    write_frame_parquet(expression, outputs["parquet"])
    write_text_atomic(counts.to_csv(), outputs["counts"])
    if "regions" in outputs:
        write_text_atomic(region_table(counts, atlas.get("info")).to_csv(), outputs["regions"])
    if genes is not None:
        kept = set(genes.index[genes["status"] == "kept"])
        if kept != set(expression.columns):  # never seen; said loudly if it happens
            LOG.warning("genes.csv disagrees with the result: %d genes explained as kept, "
                        "%d in the matrix. Please report this.", len(kept),
                        expression.shape[1])
        write_text_atomic(genes.to_csv(), outputs["genes"])
    text = methods_text(options, atlas, n_regions=len(regions), counts=counts,
                        n_kept_probes=n_kept_probes, n_genes=expression.shape[1],
                        synthetic=synthetic)
    write_text_atomic(text, outputs["methods"])
    source = _provenance(synthetic, checksums)
    meta = {
        "data_source": source["data_source"],
        "synthetic": source["synthetic"],
        "atlas": dict(atlas),
        "options": describe(dict(options)),
        "shape": list(expression.shape),
        "n_probes_after_intensity_filter": n_kept_probes,
        "input_checksums_sha256": source["input_checksums_sha256"],
        "software": _versions(__version__, platform.python_version()),
    }
    if genes is not None:
        meta["genes_by_status"] = {str(k): int(v) for k, v in
                                   genes["status"].value_counts(dropna=False).items()}
    write_text_atomic(json.dumps(meta, indent=2, default=str), outputs["metadata"])
    return expression

def region_table(counts: pd.DataFrame, info: str | os.PathLike | None) -> pd.DataFrame:
    """The regions of a result with their names and sample counts (``regions.csv``).

    Parameters
    ----------
    counts : pandas.DataFrame of shape (n_regions, n_donors)
        Samples per region (rows, in the matrix's order) and donor.
    info : path-like, optional
        The atlas's region table (``id``, ``label`` or ``name``,
        ``hemisphere``...); without one the names are empty.

    Returns
    -------
    table : pandas.DataFrame of shape (n_regions, 3)
        Index ``label`` (region id, as the matrix's rows); columns ``name``
        (e.g. ``'right temporalpole'``; empty when unknown), ``n_samples``
        (all donors) and ``n_donors`` (donors with at least one sample).
    """
    names = region_names(pd.read_csv(info)) if info else region_names(None)
    table = pd.DataFrame({"name": names.reindex(counts.index).fillna("").to_numpy(),
                          "n_samples": counts.sum(axis=1).to_numpy(dtype="int64"),
                          "n_donors": (counts > 0).sum(axis=1).to_numpy(dtype="int64")},
                         index=counts.index.rename("label"))
    return table


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

#: coordinate columns stored beside the genes in a map's sample table
_MAP_COORDS = ("_mni_x", "_mni_y", "_mni_z")

def _provenance(synthetic: bool, checksums: Sequence[str]) -> dict[str, Any]:
    """Data source, synthetic flag and SHA-256 of the input matrices (metadata fields).

    The one place these fields are made, for every metadata file; warns in
    the job's log when the data are synthetic.
    """
    sums = {}
    for path in checksums:
        digest, name = Path(path).read_text().split()
        sums[f"{Path(path).parent.name}/{name}"] = digest
    if synthetic:
        LOG.warning("These results come from SYNTHETIC data, not from the AHBA.")
    return {
        "data_source": "SYNTHETIC (generated by abagen_core.datasets.synth; not AHBA data)"
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
    Written with :func:`abagen_core.storage.artifacts.write_frame` (kind
    ``map_samples``); the provenance goes into the file's attributes.

    Parameters
    ----------
    genes, samples : dict of str -> pandas.DataFrame
        Per donor (in donor order), :func:`donor_genes` and :func:`prepare_samples` outputs.
    wanted : sequence of str
        Gene symbols to keep.
    options : mapping
        The validated options that apply to sample-level outputs.
    n_kept_probes : int
        Probes left after the intensity filter (recorded).
    checksums : sequence of str
        Paths of the donors' matrix checksum files (recorded as provenance).
    synthetic : bool
        The data are synthetic (recorded).
    dest : str
        Destination parquet file.

    Returns
    -------
    table : pandas.DataFrame of shape (n_samples, n_genes + 3)
        Index ``well_id``; the genes, then ``_mni_x``, ``_mni_y``, ``_mni_z``.
    """

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
    import nibabel as nib  # lazy: slow to import (only the map-writing jobs need it)

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
    import nibabel as nib  # lazy: slow to import (only the map-writing jobs need it)

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
