"""The regional stage of the workflow: every variant of a branch in one process.

A branch is what a set of variants of one atlas shares upstream: every
donor's genes (the ``genes`` stage), samples and labels. Its job reads these
once and computes each variant with
:func:`abagen_core.stages.regional.branch_variants` (one gene normalization
per distinct normalization, shared by the variants that use it), then:

- :func:`write_variant` writes a named variant's result folder (matrix,
  counts, regions, genes, methods text, metadata; donor matrices and QC
  figures when asked for);
- :func:`write_sweep_batch` writes a sweep batch's compact file
  (:mod:`abagen_core.outputs.sweep`).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from abagen_core.atlas.spec import load_atlas
from abagen_core.outputs import qc
from abagen_core.outputs.results import write_results
from abagen_core.outputs.sweep import write_batch
from abagen_core.stages import aggregate
from abagen_core.stages.regional import (
    branch_variants,
    combine_rows,
    genes_read_per_group,
    normalize_samples,
)
from abagen_core.storage.artifacts import count_rows, read_frame
from abagen_core.storage.atomic import write_figure_atomic
from abagen_core.storage.parquet import write_frame_csv

__all__ = ["Branch", "read_branch", "AtlasTrees", "write_variant",
           "write_sweep_batch"]

LOG = logging.getLogger("abagen_core")


class _GenesFiles(Mapping):
    """donor -> genes table, read from its file at each access (one copy in memory).

    With `sample_norm`, the files hold genes before sample normalization and
    each table is normalised when read
    (:func:`abagen_core.stages.regional.normalize_samples`). With `spill` (a
    folder), the normalised table is also saved there in numpy's binary
    format at its first read, and later reads load it back (the same bits
    and layout), so that a table read once per normalization group is
    normalised once.
    """

    def __init__(self, files: Mapping[str, str], sample_norm: str | None = None,
                 spill: str | None = None):
        self._files = dict(files)
        self._sample_norm = sample_norm
        self._spill = spill
        self._spilled: dict[str, tuple[Path, pd.Index, pd.Index]] = {}

    def __getitem__(self, donor: str) -> pd.DataFrame:
        if donor in self._spilled:
            path, index, columns = self._spilled[donor]
            return pd.DataFrame(np.load(path), index=index, columns=columns, copy=False)
        genes = read_frame(self._files[donor], kind="genes")
        if self._sample_norm is None:
            return genes
        genes = normalize_samples(genes, self._sample_norm)
        if self._spill is not None:
            path = Path(self._spill) / f"{len(self._spilled)}.npy"
            np.save(path, genes.to_numpy(), allow_pickle=False)
            self._spilled[donor] = (path, genes.index, genes.columns)
        return genes

    def normalized(self, sample_norm: str | None, spill: str | None = None) -> _GenesFiles:
        """The same files, each table normalised with `sample_norm` when read.

        Parameters
        ----------
        sample_norm : str or None
        spill : str, optional
            An existing folder for the normalised tables (see the class).
        """
        return _GenesFiles(self._files, sample_norm, spill)

    def __iter__(self):
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


class AtlasTrees(Mapping):
    """donor -> AtlasTree of a workflow atlas, loaded at first access.

    Donors with the same image (every donor of a group atlas) share one tree.

    Parameters
    ----------
    spec : mapping
        The atlas description (``kind``, ``files``, ``info``, ``geometry``, ``space``).
    donors : sequence of str
    """

    def __init__(self, spec: Mapping[str, Any], donors: Sequence[str]):
        self._spec = spec
        self._donors = list(donors)
        self._trees: dict[Any, Any] = {}

    def _image_key(self, donor: str) -> Any:
        return donor if self._spec["kind"] == "native" else None

    def __getitem__(self, donor: str) -> Any:
        key = self._image_key(donor)
        if key not in self._trees:
            self._trees[key] = load_atlas(self._spec, donor)
        return self._trees[key]

    def __iter__(self):
        return iter(self._donors)

    def __len__(self) -> int:
        return len(self._donors)


@dataclass
class Branch:
    """What the variants of a branch share: per donor genes, samples, labels.

    Attributes
    ----------
    genes : mapping of str -> pandas.DataFrame of shape (n_samples, n_genes)
        Read from disk at each access.
    annotation : dict of str -> pandas.DataFrame of shape (n_samples, 7)
    labels : dict of str -> numpy.ndarray of shape (n_samples,)
    regions : list of int
        The atlas' region ids (rows of every matrix).
    unnormalized : bool
        `genes` are before sample normalization (a sweep batch): each
        variant's ``sample_norm`` is applied here.
    """

    genes: Mapping[str, pd.DataFrame]
    annotation: dict[str, pd.DataFrame]
    labels: dict[str, np.ndarray]
    regions: list[int]
    unnormalized: bool = False

    def counts(self) -> pd.DataFrame:
        """Samples per region and donor (the same for every variant of the branch)."""
        return aggregate.count_samples(self.labels, self.regions)

    def variants(self, trees: Mapping[str, Any], options: Mapping[str, Mapping[str, Any]]
                 ) -> Iterator[tuple[str, dict[str, pd.DataFrame], dict[str, Any]]]:
        """:func:`abagen_core.stages.regional.branch_variants` of this branch.

        Parameters
        ----------
        trees : mapping of str -> AtlasTree
            Per donor (:class:`AtlasTrees`; read only for ``missing``).
        options : mapping of str -> mapping
            Variant name -> validated options.

        Yields
        ------
        name, rows, candidates
            Grouped by ``sample_norm`` when the genes are unnormalized (each
            donor's genes normalised once per group).
        """
        if not self.unnormalized:
            return branch_variants(self.genes, self.annotation, self.labels, trees, options)
        return self._by_sample_norm(trees, options)

    def _by_sample_norm(self, trees: Mapping[str, Any],
                        options: Mapping[str, Mapping[str, Any]]
                        ) -> Iterator[tuple[str, dict[str, pd.DataFrame], dict[str, Any]]]:
        groups: dict[str | None, dict[str, Mapping[str, Any]]] = {}
        for name, opts in options.items():
            groups.setdefault(opts["sample_norm"], {})[name] = opts
        for sample_norm, group in groups.items():
            if sample_norm is None or not genes_read_per_group(group):
                yield from branch_variants(self.genes.normalized(sample_norm),
                                           self.annotation, self.labels, trees, group)
                continue
            # the genes are read once per gene normalization: normalise the
            # samples once and keep the tables on disk (the job's temporary
            # folder, $TMPDIR; deleted when the group is done) rather than in memory
            with tempfile.TemporaryDirectory(prefix="abagen-genes-") as spill:
                yield from branch_variants(self.genes.normalized(sample_norm, spill),
                                           self.annotation, self.labels, trees, group)


def read_branch(donors: Sequence[str], *, genes: Sequence[str], samples: Sequence[str],
                labels: Sequence[str], unnormalized: bool = False) -> Branch:
    """Open a branch's per-donor files.

    Parameters
    ----------
    donors : sequence of str
    genes, samples, labels : sequence of str
        One file per donor, in the order of `donors`.
    unnormalized : bool, default=False
        The genes files are before sample normalization (``sample_norm=None``;
        a sweep batch normalises them for each of its variants' ``sample_norm``).

    Returns
    -------
    branch : Branch
    """
    annotation, labs, regions = {}, {}, set()
    for donor, spath, lpath in zip(donors, samples, labels, strict=True):
        annotation[donor] = read_frame(spath, kind="samples").reset_index()
        frame, attrs = read_frame(lpath, kind="labels", with_attrs=True)
        labs[donor] = frame["label"].to_numpy()
        regions.update(int(r) for r in attrs["regions"])
    return Branch(_GenesFiles(dict(zip(donors, genes, strict=True))), annotation, labs,
                  sorted(regions), unnormalized)


def write_variant(branch: Branch, trees: Mapping[str, Any], name: str,
                  options: Mapping[str, Any], *, outputs: Mapping[str, str],
                  atlas: Mapping[str, Any], kept: str, checksums: Sequence[str],
                  synthetic: bool, genes: pd.DataFrame | None = None,
                  donor_outputs: Mapping[str, str] | None = None,
                  qc_outputs: Mapping[str, str] | None = None, qc_gene: str | None = None,
                  dpi: int = 100) -> pd.DataFrame:
    """Compute a named variant from its branch and write its result folder.

    Parameters
    ----------
    branch : Branch
    trees : mapping of str -> AtlasTree
        Per donor (:class:`AtlasTrees`).
    name : str
        The variant.
    options : mapping
        Its validated options.
    outputs : mapping
        Paths of the result files, as
        :func:`abagen_core.outputs.results.write_results` takes them.
    atlas : mapping
        The atlas description (recorded in the metadata and methods text).
    kept : str
        The intensity filter's file (its probe count is reported).
    checksums : sequence of str
        The donors' matrix checksum files (provenance).
    synthetic : bool
        The data are synthetic.
    genes : pandas.DataFrame, optional
        :func:`abagen_core.outputs.results.explained_genes` output (``genes.csv``).
    donor_outputs : mapping of str -> str, optional
        donor -> CSV path of its region x gene matrix (``save_donors``).
    qc_outputs : mapping of str -> str, optional
        figure name -> PNG path (:data:`abagen_core.outputs.qc` figures).
    qc_gene : str, optional
        The gene of the QC gene map.
    dpi : int, default=100
        Resolution of the QC figures.

    Returns
    -------
    expression : pandas.DataFrame of shape (n_regions, n_genes)
    """
    ((_, rows, candidates),) = branch.variants(trees, {name: options})
    expression, per_donor = combine_rows(rows, candidates, branch.regions,
                                         region_agg=options["region_agg"],
                                         agg_metric=options["agg_metric"])
    write_results(rows, branch.labels, regions=branch.regions, options=options,
                  atlas=atlas, n_kept_probes=count_rows(kept), checksums=checksums,
                  synthetic=synthetic, outputs=outputs, genes=genes, expression=expression)
    LOG.info("%s: %d regions x %d genes", name, *expression.shape)
    if donor_outputs:
        for donor, dest in donor_outputs.items():
            write_frame_csv(per_donor[donor], dest)
    if qc_outputs:
        if options["region_agg"] != "donors":  # donor-level matrices for the agreement figure
            _, per_donor = combine_rows(rows, candidates, branch.regions, region_agg="donors",
                                        agg_metric=options["agg_metric"])
        # donor-specific atlases are drawn in the first donor's space
        first = next(iter(branch.annotation))
        figures = qc.qc_figures(expression, branch.counts(), per_donor, trees[first],
                                gene=qc_gene, name=f"{atlas['name']} / {name}")
        for figure, fig in figures.items():
            write_figure_atomic(fig, qc_outputs[figure], dpi=dpi)
        LOG.info("%s: QC figures written", name)
    return expression


def write_sweep_batch(branch: Branch, trees: Mapping[str, Any],
                      options: Mapping[str, Mapping[str, Any]], dest: str, *,
                      extra: Mapping[str, Any] | None = None) -> list[str]:
    """Compute every variant of a sweep batch and write its compact file.

    Parameters
    ----------
    branch : Branch
    trees : mapping of str -> AtlasTree
    options : mapping of str -> mapping
        Variant name -> validated options (all of one branch).
    dest : str
        The batch file (:func:`abagen_core.outputs.sweep.write_batch`).
    extra : mapping, optional
        More metadata (atlas, provenance).

    Returns
    -------
    names : list of str
        Variants written.
    """
    def _matrices():
        for i, (name, rows, candidates) in enumerate(branch.variants(trees, options), 1):
            opts = options[name]
            expression, _ = combine_rows(rows, candidates, branch.regions,
                                         region_agg=opts["region_agg"],
                                         agg_metric=opts["agg_metric"])
            del rows, candidates  # not held while the next normalization group is made
            LOG.info("variant %d/%d %s: %d regions x %d genes", i, len(options), name,
                     *expression.shape)
            yield name, expression

    return write_batch(_matrices(), dest, options=options, counts=branch.counts(), extra=extra)
