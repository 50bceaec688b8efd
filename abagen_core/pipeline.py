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
:func:`summarise_donor`     per donor           no
:func:`select_probes`       gather over donors  no
:func:`donor_genes`         per donor           no
:func:`label_donor`         per atlas, donor    yes
:func:`normalize_donor`     per atlas, donor    yes
:func:`combine_donors`      gather per atlas    yes
==========================  ==================  ===========================

Sample-level frames keep one row per sample (mirrored copies included, in
annotation order) with a plain positional index; the matching annotation
rows are kept alongside, so nothing relies on sample ids being unique.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import aggregate, normalize, probes, samples

__all__ = [
    "prepare_probes",
    "prepare_samples",
    "summarise_donor",
    "select_probes",
    "donor_genes",
    "label_donor",
    "normalize_donor",
    "fill_missing",
    "combine_donors",
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
                    probe_ids: pd.Index | None = None) -> pd.DataFrame:
    """A donor's raw SampleAnnot -> the annotation of the samples it keeps.

    Coordinates are corrected (``corrected_mni``), hemisphere mismatches are
    dropped, dissimilar samples removed (``sim_threshold``, needs
    `microarray` and the `probe_ids` to correlate over), and samples are
    mirrored (``lr_mirror``).

    Returns
    -------
    annotation : pandas.DataFrame of shape (n_kept, 7)
        Index ``sample_id`` (repeats after mirroring).
    """
    annot = samples.prepare_annotation(annotation, ontology, corrected_mni=corrected_mni)
    if sim_threshold is not None:
        if microarray is None:
            raise ValueError("sim_threshold needs the donor's microarray expression.")
        annot = samples.similarity_threshold(microarray, annot, probe_ids, sim_threshold)
    if lr_mirror is not None:
        annot = samples.mirror_samples(annot, ontology, lr_mirror)
    return annot


def summarise_donor(microarray: pd.DataFrame, pacall: pd.DataFrame,
                    annotation: pd.DataFrame, probe_info: pd.DataFrame, *,
                    probe_selection: str, rnaseq: Mapping[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Per-donor reductions the cross-donor probe steps need.

    Returns
    -------
    summary : dict
        ``'pacall'``: Series probe_id -> samples with signal (mirrored copies
        counted again), ``'n_samples'``: int, ``'selection'``: the
        method-specific summary of :func:`abagen_core.probes.probe_summaries`.
    """
    return {
        "pacall": probes.pacall_summary(pacall, annotation, probe_info),
        "n_samples": int(len(annotation)),
        "selection": probes.probe_summaries(microarray, annotation, probe_info,
                                            probe_selection, rnaseq=rnaseq),
    }
