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
import math
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
from abagen_core.storage.artifacts import count_rows, frame_shape, read_frame
from abagen_core.storage.atomic import write_figure_atomic
from abagen_core.storage.parquet import write_frame_csv
from abagen_core.utils import even_slices

__all__ = ["Branch", "read_branch", "AtlasTrees", "gene_chunks", "write_variant",
           "write_sweep_batch"]

LOG = logging.getLogger("abagen_core")


class _GenesFiles(Mapping):
    """donor -> genes table, read from its file at each access (one copy in memory).

    With `sample_norm`, the files hold genes before sample normalization and
    each table is normalised when read
    (:func:`abagen_core.stages.regional.normalize_samples`). With `spill` (a
    folder), the (normalised) table is also saved there in numpy's binary
    format at its first read, and later reads load it back (the same bits
    and layout), so that a table read once per normalization group, or once
    per chunk of genes, is read and normalised once. With `genes` (a slice of
    the columns; needs `spill`), a read returns only those genes, copied from
    the saved table (Fortran order: a chunk of genes is one contiguous
    block).
    """

    def __init__(self, files: Mapping[str, str], sample_norm: str | None = None,
                 spill: str | None = None, genes: slice | None = None,
                 spilled: dict | None = None):
        self._files = dict(files)
        self._sample_norm = sample_norm
        self._spill = spill
        self._genes = genes
        self._spilled: dict[str, tuple[Path, pd.Index, pd.Index]] = (
            {} if spilled is None else spilled)

    def __getitem__(self, donor: str) -> pd.DataFrame:
        if donor not in self._spilled:
            genes = read_frame(self._files[donor], kind="genes")
            if self._sample_norm is not None:
                genes = normalize_samples(genes, self._sample_norm)
            if self._spill is None:
                return genes
            self._save(donor, genes)
            if self._genes is None:
                return genes
            del genes
        path, index, columns = self._spilled[donor]
        if self._genes is None:
            return pd.DataFrame(np.load(path), index=index, columns=columns, copy=False)
        values = np.array(np.load(path, mmap_mode="r")[:, self._genes])  # keeps the order
        return pd.DataFrame(values, index=index, columns=columns[self._genes], copy=False)

    def _save(self, donor: str, genes: pd.DataFrame) -> None:
        for other, (_, _, columns) in self._spilled.items():
            if not genes.columns.equals(columns):
                # chunks of genes are positional: every donor must list the same genes
                raise ValueError(f"the genes files of donors {other} and {donor} hold "
                                 "different genes; delete resources/genes/ and re-run.")
        path = Path(self._spill) / f"{len(self._spilled)}.npy"
        np.save(path, genes.to_numpy(), allow_pickle=False)
        self._spilled[donor] = (path, genes.index, genes.columns)

    def normalized(self, sample_norm: str | None, spill: str | None = None) -> _GenesFiles:
        """The same files, each table normalised with `sample_norm` when read.

        Parameters
        ----------
        sample_norm : str or None
        spill : str, optional
            An existing folder for the normalised tables (see the class).
        """
        return _GenesFiles(self._files, sample_norm, spill)

    def columns(self, genes: slice) -> _GenesFiles:
        """The same tables (saved tables shared), each read as the genes `genes` only.

        Parameters
        ----------
        genes : slice
            Positions of the genes (columns).
        """
        if self._spill is None:
            raise ValueError("chunks of genes are read from saved tables: give `spill`.")
        return _GenesFiles(self._files, self._sample_norm, self._spill, genes, self._spilled)

    def n_genes(self) -> int:
        """Genes of the first donor's file (every donor has the same), from its footer."""
        return frame_shape(next(iter(self._files.values())))[1]

    def __iter__(self):
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


#: the fewest genes of a chunk (see :func:`gene_chunks`)
MIN_CHUNK_GENES = 2


def gene_chunks(n_genes: int, n_samples: int, chunk_mb: float | None) -> list[slice]:
    """Consecutive chunks of genes whose sample x gene values fit in `chunk_mb`.

    Chunks are as equal as can be, and at least :data:`MIN_CHUNK_GENES`
    wide (unless there are fewer genes).

    Parameters
    ----------
    n_genes : int
    n_samples : int
        Samples of all donors together.
    chunk_mb : float or None
        MiB of float64 values per chunk; None: one chunk.

    Returns
    -------
    chunks : list of slice
    """
    if chunk_mb is None:
        return even_slices(n_genes, 1)
    if chunk_mb <= 0:
        raise ValueError(f"chunk_mb must be positive, got {chunk_mb}.")
    # at least MIN_CHUNK_GENES genes a chunk: numpy sums the columns of a
    # one-column C-ordered block pairwise, of wider ones row by row (the
    # order of the whole table), which changes the last bits
    return even_slices(n_genes, min(n_genes // MIN_CHUNK_GENES,
                                    math.ceil(n_samples * n_genes * 8 / (chunk_mb * 2**20))))


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

    def variants(self, trees: Mapping[str, Any], options: Mapping[str, Mapping[str, Any]],
                 *, chunk_mb: float | None = None
                 ) -> Iterator[tuple[str, dict[str, pd.DataFrame], dict[str, Any]]]:
        """:func:`abagen_core.stages.regional.branch_variants` of this branch.

        Parameters
        ----------
        trees : mapping of str -> AtlasTree
            Per donor (:class:`AtlasTrees`; read only for ``missing``).
        options : mapping of str -> mapping
            Variant name -> validated options.
        chunk_mb : float, optional
            Only with unnormalized genes: compute the variants a chunk of
            genes at a time, each chunk's sample x gene values (all donors)
            at most this many MiB (:func:`gene_chunks`). Every step after
            sample normalization is per gene, so the chunks side by side
            are the variant's result, bit for bit.

        Yields
        ------
        name, rows, candidates
            Grouped by ``sample_norm`` when the genes are unnormalized (each
            donor's genes normalised once per group), then by chunk of genes
            (a name comes once per chunk, its genes those of the chunk).
        """
        if not self.unnormalized:
            if chunk_mb is not None:
                raise ValueError("chunks of genes need unnormalized genes (a sweep batch).")
            return branch_variants(self.genes, self.annotation, self.labels, trees, options)
        return self._by_sample_norm(trees, options, chunk_mb)

    def _by_sample_norm(self, trees: Mapping[str, Any],
                        options: Mapping[str, Mapping[str, Any]], chunk_mb: float | None
                        ) -> Iterator[tuple[str, dict[str, pd.DataFrame], dict[str, Any]]]:
        groups: dict[str | None, dict[str, Mapping[str, Any]]] = {}
        for name, opts in options.items():
            groups.setdefault(opts["sample_norm"], {})[name] = opts
        n_samples = sum(len(a) for a in self.annotation.values())
        chunks = gene_chunks(self.genes.n_genes(), n_samples, chunk_mb)
        for sample_norm, group in groups.items():
            if len(chunks) == 1 and (sample_norm is None or not genes_read_per_group(group)):
                yield from branch_variants(self.genes.normalized(sample_norm),
                                           self.annotation, self.labels, trees, group)
                continue
            # the genes are read more than once (per chunk of genes, or per
            # gene normalization): normalise the samples once and keep the
            # tables on disk (the job's temporary folder, $TMPDIR; deleted
            # when the group is done) rather than in memory
            with tempfile.TemporaryDirectory(prefix="abagen-genes-") as spill:
                genes = self.genes.normalized(sample_norm, spill)
                if len(chunks) == 1:
                    yield from branch_variants(genes, self.annotation, self.labels, trees,
                                               group)
                    continue
                for i, chunk in enumerate(chunks, 1):
                    LOG.info("sample_norm=%s: genes %d-%d of %d (chunk %d/%d)", sample_norm,
                             chunk.start + 1, chunk.stop, chunks[-1].stop, i, len(chunks))
                    yield from branch_variants(genes.columns(chunk), self.annotation,
                                               self.labels, trees, group)


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
                      extra: Mapping[str, Any] | None = None,
                      chunk_mb: float | None = None) -> list[str]:
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
    chunk_mb : float, optional
        Compute a chunk of genes at a time (see :meth:`Branch.variants`;
        unnormalized branches only): the memory a batch holds scales with
        this, not with the number of genes. Each chunk is a row group of
        its own in the file.

    Returns
    -------
    names : list of str
        Variants written.
    """
    def _matrices():
        seen: set[str] = set()
        for name, rows, candidates in branch.variants(trees, options, chunk_mb=chunk_mb):
            opts = options[name]
            expression, _ = combine_rows(rows, candidates, branch.regions,
                                         region_agg=opts["region_agg"],
                                         agg_metric=opts["agg_metric"])
            del rows, candidates  # not held while the next normalization group is made
            if name not in seen:  # progress: each variant once (not once per chunk)
                seen.add(name)
                LOG.info("variant %d/%d %s", len(seen), len(options), name)
            yield name, expression

    names = write_batch(_matrices(), dest, options=options, counts=branch.counts(), extra=extra)
    LOG.info("%d variants of %d regions written", len(names), len(branch.regions))
    return names
