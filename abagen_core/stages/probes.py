"""Probe handling: reannotation, intensity-based filtering and probe selection.

The AHBA microarray measures expression with probes, several of which can
index the same gene. This module turns a probe x sample matrix into a
sample x gene matrix in three steps:

1. :func:`reannotate_probes` / :func:`filter_probes_without_entrez` decide
   which gene each probe indexes;
2. :func:`pacall_summary` + :func:`intensity_filter` drop probes that are not
   above background in enough samples (``ibf_threshold``);
3. :func:`probe_summaries` + :func:`choose_probes` + :func:`collapse_to_genes`
   pick (or average) the probes of each gene (``probe_selection``,
   ``donor_probes``).

Steps 2 and 3 are split into a per-donor *reduction* (small summaries that
can be computed in parallel, one job per donor) and a cheap *combination*
over the gathered summaries, so that the workflow never needs all donors'
full matrices in one process. :func:`select_probes` and
:func:`collapse_probes` chain the pieces for in-memory use.

Samples used by every summary are the rows of the sample annotation (after
hemisphere checks, similarity filtering, ...). Samples that appear more than
once (left/right mirroring keeps the sample id of the mirrored copy) are
counted once per appearance, as abagen 0.1.3 does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import NamedTuple

import numpy as np
import pandas as pd

from abagen_core.donors import RNASEQ_DONORS
from abagen_core.utils import check_choice, data_path, even_slices

__all__ = [
    "PROBE_SELECTION_METHODS",
    "DONOR_PROBES_METHODS",
    "RNASEQ_DONORS",
    "PACallSummary",
    "ProbeSummary",
    "check_probe_selection",
    "check_donor_probes",
    "reannotate_probes",
    "filter_probes_without_entrez",
    "pacall_summary",
    "intensity_filter",
    "probes_used",
    "reads_sample_columns_once",
    "rnaseq_region_expression",
    "probe_summaries",
    "choose_probes",
    "collapse_to_genes",
    "select_probes",
    "collapse_probes",
]

#: probe_selection name (incl. aliases) -> canonical method name
PROBE_SELECTION_METHODS: dict[str, str] = {
    "average": "average",
    "mean": "average",
    "max_intensity": "max_intensity",
    "max_variance": "max_variance",
    "pc_loading": "pc_loading",
    "corr_intensity": "corr_intensity",
    "corr_variance": "corr_variance",
    "diff_stability": "diff_stability",
    "rnaseq": "rnaseq",
}

#: donor_probes choices
DONOR_PROBES_METHODS: tuple[str, ...] = ("aggregate", "independent", "common")

# methods whose choice always uses all donors at once; donor_probes is reset
# to 'aggregate' for them (the manual: probe_selection takes precedence)
_AGGREGATE_ONLY = frozenset({"average", "diff_stability", "rnaseq"})

# what each canonical method needs from a donor
_NEEDS_MOMENTS = frozenset({"max_intensity", "max_variance", "corr_intensity", "corr_variance"})
_NEEDS_COMOMENTS = frozenset({"corr_intensity", "corr_variance"})
_NEEDS_BLOCK = frozenset({"pc_loading"})
_NEEDS_REGIONS = frozenset({"diff_stability", "rnaseq"})
#: probes whose deviations from their mean probe_summaries holds at once
_MOMENT_ROWS = 1024
#: probes whose ranks diff_stability holds at once (up to twice as many)
_RANK_ROWS = 4096


# --------------------------------------------------------------------------
# option checks
# --------------------------------------------------------------------------


def check_probe_selection(method: str) -> str:
    """Return the canonical name of a ``probe_selection`` method.

    Parameters
    ----------
    method : str
        One of :data:`PROBE_SELECTION_METHODS` (``'mean'`` is an alias of
        ``'average'``).

    Returns
    -------
    method : str
        Canonical method name.

    Raises
    ------
    abagen_core.utils.InvalidOptionError
        If `method` is not a known method.

    Examples
    --------
    >>> check_probe_selection('mean')
    'average'
    """
    check_choice("probe_selection", method, PROBE_SELECTION_METHODS)
    return PROBE_SELECTION_METHODS[method]


def check_donor_probes(donor_probes: str, method: str = "max_intensity") -> str:
    """Validate ``donor_probes`` and resolve it against the selection method.

    Parameters
    ----------
    donor_probes : {'aggregate', 'independent', 'common'}
        How probe selection treats donors.
    method : str, default='max_intensity'
        The ``probe_selection`` method; for ``'average'``,
        ``'diff_stability'`` and ``'rnaseq'`` the result is always
        ``'aggregate'`` (the method takes precedence).

    Returns
    -------
    donor_probes : str
        The effective value.

    Raises
    ------
    abagen_core.utils.InvalidOptionError
        If either value is not allowed.

    Examples
    --------
    >>> check_donor_probes('independent', 'diff_stability')
    'aggregate'
    >>> check_donor_probes('common', 'max_variance')
    'common'
    """
    check_choice("donor_probes", donor_probes, DONOR_PROBES_METHODS)
    if check_probe_selection(method) in _AGGREGATE_ONLY:
        return "aggregate"
    return donor_probes


# --------------------------------------------------------------------------
# probe annotation
# --------------------------------------------------------------------------


def reannotate_probes(
    probes: pd.DataFrame, reannotation: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Replace the AHBA probe-to-gene mapping by the reannotated one.

    The reannotation of Arnatkevičiūtė et al. (2019) is joined on
    ``probe_name``; probes absent from it are dropped (inner join).

    Parameters
    ----------
    probes : pandas.DataFrame of shape (n_probes, n_columns)
        AHBA probe table indexed by ``probe_id`` with a ``probe_name`` column.
    reannotation : pandas.DataFrame, optional
        Table with columns ``probe_name``, ``gene_symbol``, ``entrez_id``.
        Default: the bundled ``data/reannotated.csv.gz``.

    Returns
    -------
    probes : pandas.DataFrame of shape (n_matched, 3)
        Columns ``probe_name``, ``gene_symbol``, ``entrez_id`` (float64, may
        hold NaN; see :func:`filter_probes_without_entrez`), indexed by
        ``probe_id`` in increasing order.

    Notes
    -----
    abagen 0.1.3 uses a left merge that only works on the complete AHBA probe
    table; the inner join gives the same result there and also works on
    subsets (see the parity README, case ``reannotated_unpatched``).
    """
    if reannotation is None:
        reannotation = pd.read_csv(data_path("reannotated.csv.gz"))
    missing = {"probe_name", "gene_symbol", "entrez_id"} - set(reannotation.columns)
    if missing:
        raise ValueError(f"`reannotation` lacks columns {sorted(missing)}")
    if "probe_name" not in probes.columns:
        raise ValueError("`probes` needs a 'probe_name' column")
    table = reannotation[["probe_name", "gene_symbol", "entrez_id"]]
    # one gene per probe name: keep the first row of a repeated name
    table = table.drop_duplicates("probe_name", keep="first")
    left = pd.DataFrame(
        {"probe_id": probes.index.to_numpy(), "probe_name": probes["probe_name"].to_numpy()}
    )
    merged = left.merge(table, on="probe_name", how="inner")
    merged = merged.set_index("probe_id").sort_index()
    merged["entrez_id"] = merged["entrez_id"].astype("float64")
    return merged[["probe_name", "gene_symbol", "entrez_id"]]


def filter_probes_without_entrez(probes: pd.DataFrame) -> pd.DataFrame:
    """Drop probes that are not matched to a valid Entrez ID.

    Parameters
    ----------
    probes : pandas.DataFrame of shape (n_probes, n_columns)
        Probe table indexed by ``probe_id`` with ``gene_symbol`` and
        ``entrez_id`` columns.

    Returns
    -------
    probes : pandas.DataFrame of shape (n_kept, n_columns)
        Same columns and row order; ``entrez_id`` as int64.

    Examples
    --------
    >>> p = pd.DataFrame({'probe_name': ['a', 'b'], 'gene_symbol': ['A', 'B'],
    ...                   'entrez_id': [1.0, np.nan]},
    ...                  index=pd.Index([10, 11], name='probe_id'))
    >>> filter_probes_without_entrez(p).index.tolist()
    [10]
    """
    keep = probes["entrez_id"].notna() & probes["gene_symbol"].notna()
    out = probes.loc[keep].copy()
    out["entrez_id"] = out["entrez_id"].astype("int64")
    return out


# --------------------------------------------------------------------------
# intensity-based filtering
# --------------------------------------------------------------------------


class PACallSummary(NamedTuple):
    """Per-donor reduction of a PACall matrix (see :func:`pacall_summary`)."""

    counts: pd.Series
    n_samples: int


def _annotated_columns(frame: pd.DataFrame, annotation: pd.DataFrame) -> pd.DataFrame:
    """Columns of a probe x sample frame for the annotation rows (repeats kept)."""
    if annotation.index.equals(frame.columns):  # already in annotation order: no copy
        return frame
    _check_annotated(frame, annotation)
    return frame.loc[:, annotation.index]


def _annotated_positions(frame: pd.DataFrame, annotation: pd.DataFrame) -> np.ndarray:
    """Position in `frame`'s (unique) columns of each annotation row's sample."""
    _check_annotated(frame, annotation)
    return frame.columns.get_indexer(annotation.index)


def _check_annotated(frame: pd.DataFrame, annotation: pd.DataFrame) -> None:
    absent = annotation.index.difference(frame.columns)
    if len(absent):
        raise KeyError(
            f"{len(absent)} annotated sample id(s) are not microarray columns, "
            f"e.g. {list(absent[:5])}"
        )


def pacall_summary(pacall: pd.DataFrame, annotation: pd.DataFrame) -> PACallSummary:
    """Count, per probe, the samples of one donor with signal above background.

    Parameters
    ----------
    pacall : pandas.DataFrame of shape (n_probes, n_all_samples)
        PACall matrix of one donor (0/1), index ``probe_id``, columns
        ``sample_id``.
    annotation : pandas.DataFrame of shape (n_samples, n_columns)
        Processed sample annotation, indexed by ``sample_id``; a sample id
        that appears k times (left/right mirroring) is counted k times.

    Returns
    -------
    summary : PACallSummary
        ``counts`` (pandas.Series of shape (n_probes,), int64, number of
        samples with signal) and ``n_samples`` (number of annotation rows).
    """
    sub = _annotated_columns(pacall, annotation)
    counts = sub.to_numpy().astype(bool).sum(axis=1).astype("int64")
    return PACallSummary(
        pd.Series(counts, index=pacall.index, name="n_signal"), int(len(annotation))
    )


def intensity_filter(
    summaries: Mapping[str, PACallSummary] | Iterable[PACallSummary],
    probes: pd.DataFrame,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Keep probes above background in at least `threshold` of all samples.

    Parameters
    ----------
    summaries : mapping or iterable of PACallSummary
        One :func:`pacall_summary` per donor.
    probes : pandas.DataFrame of shape (n_probes, n_columns)
        Candidate probes, indexed by ``probe_id``.
    threshold : float in [0, 1], default=0.5
        ``ibf_threshold``: a probe is kept when (samples with signal, summed
        over donors) / (samples, summed over donors) >= threshold.

    Returns
    -------
    probes : pandas.DataFrame of shape (n_kept, n_columns)
        Rows of `probes` that pass, in their original order.

    Raises
    ------
    ValueError
        If `threshold` is outside [0, 1], no summary is given, or a probe has
        no PACall data.
    """
    if isinstance(threshold, bool) or not (isinstance(threshold, Real) and 0 <= threshold <= 1):
        raise ValueError(f"Invalid value for `ibf_threshold`: {threshold!r}. Must be in [0, 1].")
    if isinstance(summaries, Mapping):
        summaries = list(summaries.values())
    summaries = list(summaries)
    if not summaries:
        raise ValueError("intensity_filter needs at least one donor summary")
    total = None
    n_total = 0
    for summary in summaries:
        counts = summary.counts.reindex(probes.index)
        if counts.isna().any():
            raise ValueError(f"{int(counts.isna().sum())} probe(s) have no PACall data")
        values = counts.to_numpy(dtype="int64")
        total = values if total is None else total + values
        n_total += int(summary.n_samples)
    if n_total == 0:
        raise ValueError("intensity_filter: the donors have no samples")
    # threshold 0.5 with 3474 samples: 1737 samples with signal pass
    keep = total / n_total >= threshold
    return probes.loc[keep]


# --------------------------------------------------------------------------
# per-donor summaries for probe selection
# --------------------------------------------------------------------------


@dataclass
class ProbeSummary:
    """Per-donor reduction used by :func:`choose_probes`.

    Only the fields the method needs are filled.

    Attributes
    ----------
    method : str
        Canonical probe-selection method.
    n_samples : int
        Number of samples (annotation rows) summarised.
    mean : pandas.Series of shape (n_probes,) or None
        Mean expression of each probe over the samples.
    m2 : pandas.Series of shape (n_probes,) or None
        Sum of squared deviations from `mean` of each probe.
    comoments : dict of str -> pandas.DataFrame of shape (k, k)
        For genes with more than two probes: the probe x probe matrix of
        summed cross-products of deviations from `mean`.
    block : pandas.DataFrame of shape (n_multi_probes, n_samples) or None
        Expression of the probes of multi-probe genes (``pc_loading``).
    regions : pandas.DataFrame of shape (n_probes, n_regions) or None
        Mean expression of each probe within each ``structure_id``
        (``diff_stability``, ``rnaseq``).
    """

    method: str
    n_samples: int
    mean: pd.Series | None = None
    m2: pd.Series | None = None
    comoments: dict[str, pd.DataFrame] = field(default_factory=dict)
    block: pd.DataFrame | None = None
    regions: pd.DataFrame | None = None


class _Groups(NamedTuple):
    """Probes ordered by gene then probe_id, with each gene's segment."""

    genes: np.ndarray
    ids: pd.Index
    starts: np.ndarray
    sizes: np.ndarray


def _ordered_groups(probes: pd.DataFrame) -> _Groups:
    """Group probes by gene symbol (sorted), probe_id increasing within a gene."""
    frame = pd.DataFrame(
        {"gene": probes["gene_symbol"].to_numpy(), "id": probes.index.to_numpy(dtype="int64")}
    ).sort_values(["gene", "id"], kind="stable")
    gene = frame["gene"].to_numpy()
    new = np.ones(len(gene), dtype=bool)
    new[1:] = gene[1:] != gene[:-1]
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(gene)))
    return _Groups(gene[starts], pd.Index(frame["id"].to_numpy(), name="probe_id"), starts, sizes)


def rnaseq_region_expression(tpm: pd.DataFrame, annotation: pd.DataFrame) -> pd.DataFrame:
    """Average RNA-seq expression of each gene within each structure.

    Parameters
    ----------
    tpm : pandas.DataFrame of shape (n_genes, n_rnaseq_samples)
        RNA-seq TPM of one donor, indexed by gene symbol; column j is the
        sample in row j of `annotation`.
    annotation : pandas.DataFrame of shape (n_rnaseq_samples, n_columns)
        RNA-seq sample annotation with a ``structure_id`` (or
        ``ontology_structure_id``) column.

    Returns
    -------
    regions : pandas.DataFrame of shape (n_genes, n_structures)
        Mean TPM per gene (first row of a repeated symbol) and structure id.
    """
    if tpm.shape[1] != len(annotation):
        raise ValueError(
            f"RNA-seq TPM has {tpm.shape[1]} samples but the annotation has {len(annotation)} rows"
        )
    for col in ("structure_id", "ontology_structure_id"):
        if col in annotation.columns:
            structure = annotation[col].to_numpy()
            break
    else:
        raise ValueError(
            "RNA-seq annotation needs a 'structure_id' or 'ontology_structure_id' column"
        )
    tpm = tpm.loc[~tpm.index.duplicated(keep="first")]
    values = pd.DataFrame(tpm.to_numpy(dtype="float64").T, columns=tpm.index)
    out = values.groupby(structure, sort=True).mean().T
    out.columns.name = "structure_id"
    return out


def _region_means(expr: pd.DataFrame, annotation: pd.DataFrame) -> pd.DataFrame:
    """Probe x structure_id mean expression (expr already has annotation columns).

    One matrix product with the (samples x structures) membership matrix
    scaled by 1 / group size: no transposed copy of the probe x sample
    matrix, as a pandas groupby would need.
    """
    values = expr.to_numpy(dtype="float64")
    structures, codes = np.unique(annotation["structure_id"].to_numpy(), return_inverse=True)
    weights = np.zeros((values.shape[1], len(structures)))
    weights[np.arange(values.shape[1]), codes] = 1.0
    weights /= weights.sum(axis=0)
    out = pd.DataFrame(values @ weights, index=expr.index,
                       columns=pd.Index(structures, name="structure_id"))
    return out


def reads_sample_columns_once(method: str) -> bool:
    """Whether :func:`probe_summaries` of `method` wants each sample's column once.

    The moment methods take the annotated (possibly repeated, mirrored)
    columns block by block from a matrix with each sample once; the others
    use the whole annotated matrix, best read with the repeats in place
    (:func:`abagen_core.io.read_matrix_parquet`).

    Parameters
    ----------
    method : str
        ``probe_selection`` method.

    Returns
    -------
    once : bool
    """
    return check_probe_selection(method) in _NEEDS_MOMENTS


def _moment_summary(microarray: pd.DataFrame, annotation: pd.DataFrame, method: str,
                    groups: _Groups, rows_of: np.ndarray) -> ProbeSummary:
    """:func:`probe_summaries` of the moment methods, a block of probes at a time.

    Each block holds its probes' values over the annotated samples (repeated
    ones included), laid out as the whole annotated matrix would be, so
    every probe's mean and sum of squares are summed in that matrix's order:
    the numbers are the same without ever building it (mirrored samples
    would double it).
    """
    if microarray.columns.equals(annotation.index) or not microarray.columns.is_unique:
        source = _annotated_columns(microarray, annotation).to_numpy(dtype="float64")
        cols = None
    else:  # each annotated sample's column (repeats included), taken per block
        source = microarray.to_numpy(dtype="float64")
        cols = _annotated_positions(microarray, annotation)
    # the layout the whole annotated matrix has (a column selection is Fortran-ordered)
    layout = np.ascontiguousarray if cols is None and not source.flags.f_contiguous \
        else np.asfortranarray

    def take(rows: slice | np.ndarray) -> np.ndarray:
        return source[rows] if cols is None else source[rows][:, cols]

    n = len(source)
    summary = ProbeSummary(method=method, n_samples=len(annotation))
    mean, m2 = np.empty(n), np.empty(n)
    for lo in range(0, n, _MOMENT_ROWS):
        block = layout(take(slice(lo, lo + _MOMENT_ROWS)))
        mean[lo:lo + _MOMENT_ROWS] = block.mean(axis=1)
        dev = block - mean[lo:lo + _MOMENT_ROWS, None]
        m2[lo:lo + _MOMENT_ROWS] = np.einsum("ij,ij->i", dev, dev)
    summary.mean = pd.Series(mean, index=microarray.index, name="mean")
    summary.m2 = pd.Series(m2, index=microarray.index, name="m2")
    if method in _NEEDS_COMOMENTS:
        for gene, start, size in zip(groups.genes, groups.starts, groups.sizes, strict=True):
            if size > 2:
                ids = groups.ids[start : start + size]
                picked = rows_of[start : start + size]
                # C-ordered, as rows picked from the whole matrix are
                rows = np.ascontiguousarray(take(picked)) - mean[picked, None]
                summary.comoments[gene] = pd.DataFrame(rows @ rows.T, index=ids, columns=ids)
    return summary


def probe_summaries(
    microarray: pd.DataFrame,
    annotation: pd.DataFrame,
    probes: pd.DataFrame,
    method: str = "diff_stability",
) -> ProbeSummary:
    """Summarise one donor's expression for the chosen probe-selection method.

    Parameters
    ----------
    microarray : pandas.DataFrame of shape (n_all_probes, n_all_samples)
        Expression of one donor, index ``probe_id``, columns ``sample_id``.
    annotation : pandas.DataFrame of shape (n_samples, n_columns)
        Processed sample annotation (index ``sample_id``, repeats allowed,
        ``structure_id`` column for region-based methods).
    probes : pandas.DataFrame of shape (n_probes, n_columns)
        Probes that survived filtering, with ``gene_symbol``.
    method : str, default='diff_stability'
        ``probe_selection`` method (see :data:`PROBE_SELECTION_METHODS`).

    Returns
    -------
    summary : ProbeSummary
        What :func:`choose_probes` needs: per-probe moments
        (``max_intensity``, ``max_variance``, ``corr_*``), co-moment matrices
        of genes with more than two probes (``corr_*``), the expression of
        multi-probe genes (``pc_loading``), or probe x structure means
        (``diff_stability``, ``rnaseq``). Nothing but the sample count for
        ``average``.
    """
    method = check_probe_selection(method)
    if not microarray.index.equals(probes.index):
        # the rows of `probes`, kept in the matrix's order: every summary is
        # indexed by probe id, so reordering (a copy of the matrix) is not needed
        wanted = microarray.index.isin(probes.index)
        if not wanted.all():
            microarray = microarray.loc[wanted]
    groups = _ordered_groups(probes)
    # row of the matrix holding each probe of groups.ids
    rows_of = pd.Series(np.arange(len(microarray.index)),
                        index=microarray.index).loc[groups.ids].to_numpy()
    if method in _NEEDS_MOMENTS:
        return _moment_summary(microarray, annotation, method, groups, rows_of)
    expr = _annotated_columns(microarray, annotation)
    del microarray  # a caller holding no other reference lets it go (expr may be a copy)
    values = expr.to_numpy(dtype="float64")
    summary = ProbeSummary(method=method, n_samples=int(values.shape[1]))
    if method in _NEEDS_BLOCK:
        multi = np.repeat(groups.sizes > 1, groups.sizes)
        ids = groups.ids[multi]
        summary.block = pd.DataFrame(
            values[rows_of[multi]],
            index=pd.Index(ids, name="probe_id"),
            columns=expr.columns,
        )
    if method in _NEEDS_REGIONS:
        summary.regions = _region_means(expr, annotation)
    return summary


# --------------------------------------------------------------------------
# combination: choosing the probe of each gene
# --------------------------------------------------------------------------


def _combine_moments(
    summaries: list[ProbeSummary], ids: pd.Index
) -> tuple[np.ndarray, np.ndarray, int]:
    """Pooled mean, sum of squared deviations and count over donors (Chan et al.)."""
    n = 0
    mean = np.zeros(len(ids))
    m2 = np.zeros(len(ids))
    for s in summaries:
        nb = s.n_samples
        if nb == 0:
            continue
        mb = s.mean.reindex(ids).to_numpy(dtype="float64")
        m2b = s.m2.reindex(ids).to_numpy(dtype="float64")
        if n == 0:
            n, mean, m2 = nb, mb.copy(), m2b.copy()
            continue
        delta = mb - mean
        tot = n + nb
        m2 = m2 + m2b + delta**2 * n * nb / tot
        mean = mean + delta * nb / tot
        n = tot
    return mean, m2, n


def _combine_comoments(parts: list[tuple[int, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Pooled co-moment matrix from per-donor (count, means, co-moments)."""
    n = 0
    mean = com = None
    for nb, mb, cb in parts:
        if nb == 0:
            continue
        if n == 0:
            n, mean, com = nb, mb.copy(), cb.copy()
            continue
        delta = mb - mean
        tot = n + nb
        com = com + cb + np.outer(delta, delta) * n * nb / tot
        mean = mean + delta * nb / tot
        n = tot
    if com is None:
        raise ValueError("no samples to correlate probes over")
    return com


def _aligned(frame: pd.DataFrame, ids: np.ndarray) -> np.ndarray:
    """frame.loc[ids, ids] as an array, skipping the lookup when already aligned."""
    if np.array_equal(frame.index.to_numpy(), ids) and np.array_equal(
        frame.columns.to_numpy(), ids
    ):
        return frame.to_numpy(dtype="float64")
    return frame.loc[ids, ids].to_numpy(dtype="float64")


def _mean_offdiag_corr(com: np.ndarray) -> np.ndarray:
    """Mean Pearson correlation of each probe with the gene's other probes."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.diag(com))
        corr = com / np.outer(sd, sd)
    k = corr.shape[0]
    off = corr[~np.eye(k, dtype=bool)].reshape(k, k - 1)
    with np.errstate(invalid="ignore"):
        return off.mean(axis=1)


def _pc_scores(block: np.ndarray) -> np.ndarray:
    """Scores of a gene's probes on the first principal component.

    The probes are the observations and the samples the features (each
    sample is centred across the gene's probes). The component's sign makes
    its largest-magnitude *sample* loading positive. This orientation was
    fitted to abagen 0.1.3's choices on the parity set (pi_pc_loading,
    exact; dp_independent_pc_loading and dp_common_pc_loading end to end,
    where making the largest probe score positive instead fails).
    """
    centred = block - block.mean(axis=0, keepdims=True)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    scores = u[:, 0] * s[0]
    loading = vt[0]
    sign = np.sign(loading[np.argmax(np.abs(loading))])
    return scores * (sign if sign != 0 else 1.0)


def _rank_rows(x: np.ndarray) -> np.ndarray:
    """Ranks within each row (1-based, ties get their average rank)."""
    return _subset_ranks(_row_order(x), np.arange(x.shape[1]))


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Spearman correlation (average ranks for ties); NaN if constant."""
    if a.shape[1] < 2:
        return np.full(a.shape[0], np.nan)
    return _pearson_rows(_rank_rows(a), _rank_rows(b))


def _nanmean_rows(stacked: np.ndarray) -> np.ndarray:
    """Column means over the finite entries; NaN where there are none."""
    finite = np.isfinite(stacked)
    count = finite.sum(axis=0)
    total = np.where(finite, stacked, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


class _RowOrder(NamedTuple):
    """One donor's probe x structure means, sorted once within each row.

    Only the order is kept (int16 when it fits), and the values of the rows
    with ties or NaN, the only rows whose ranks need the values.
    """

    order: np.ndarray  # argsort of each row, shape (n_probes, n_structures)
    tied: np.ndarray  # rows with a tie or a NaN (over all their structures)
    tied_values: np.ndarray  # the values of those rows


def _row_order(values: np.ndarray) -> _RowOrder:
    order = np.argsort(values, axis=1)
    ordered = np.take_along_axis(values, order, axis=1)
    # a tie among some structures of a row is a tie among all of them
    tied = (np.diff(ordered, axis=1) == 0).any(axis=1) | np.isnan(ordered).any(axis=1)
    del ordered
    if values.shape[1] <= np.iinfo(np.int16).max:  # a quarter of the memory traffic
        order = order.astype(np.int16)
    return _RowOrder(order, tied, values[tied])


def _subset_ranks(rows: _RowOrder, cols: np.ndarray) -> np.ndarray:
    """Ranks within each row over the columns `cols` only (as :func:`_rank_rows`).

    The subset's order is read off the full row order (no new sort): every
    row keeps the same k positions, in sorted order. Rows with ties (or NaN)
    among all their columns are ranked from their values (average ranks);
    without ties among `cols` these are the same ranks.
    """
    n, m = rows.order.shape
    k = len(cols)
    member = np.zeros(m, dtype=bool)
    member[cols] = True
    keep = member[rows.order]
    sub_order = rows.order[keep].reshape(n, k)
    del keep
    position = np.full(m, -1, dtype=rows.order.dtype)
    position[cols] = np.arange(k)
    ranks = np.empty((n, k), dtype="float64")
    np.put_along_axis(ranks, position[sub_order], np.arange(1, k + 1, dtype="float64")[None, :],
                      axis=1)
    if rows.tied.any():
        from scipy.stats import rankdata  # lazy: scipy.stats is slow to import

        ranks[rows.tied] = rankdata(rows.tied_values[:, cols], axis=1)
    return ranks


def _pearson_rows(ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation; `ra` and `rb` are centred in place."""
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("ij,ij->i", ra, rb) / np.sqrt(
            np.einsum("ij,ij->i", ra, ra) * np.einsum("ij,ij->i", rb, rb)
        )


def _diff_stability_scores(summaries: Mapping[str, ProbeSummary], ids: pd.Index) -> pd.Series:
    """Mean over donor pairs of the Spearman correlation across shared structures.

    Each donor's rows are sorted once; the ranks over the structures a pair
    shares come from that order (same ranks as :func:`_spearman_rows`).
    """
    if len(summaries) < 2:
        raise ValueError(
            f"probe_selection='diff_stability' needs at least two donors; got {len(summaries)}"
        )
    pairs = []
    for a, b in itertools.combinations(list(summaries), 2):
        shared, ia, ib = np.intersect1d(summaries[a].regions.columns.to_numpy(),
                                        summaries[b].regions.columns.to_numpy(),
                                        assume_unique=True, return_indices=True)
        pairs.append((a, b, ia, ib) if len(shared) >= 2 else (a, b, None, None))
    # a block of probes at a time (every score is its probe's own): the ranks
    # of a block, not of every probe; blocks of two probes or more, so that
    # the mean over pairs sums each probe's column in the same order
    scores = np.empty(len(ids))
    for block in even_slices(len(ids), len(ids) // _RANK_ROWS):
        rows = {d: _row_order(s.regions.loc[ids[block]].to_numpy(dtype="float64"))
                for d, s in summaries.items()}
        corrs = [np.full(block.stop - block.start, np.nan) if ia is None else
                 _pearson_rows(_subset_ranks(rows[a], ia), _subset_ranks(rows[b], ib))
                 for a, b, ia, ib in pairs]
        # a pair without a defined correlation (constant probe) is skipped
        scores[block] = _nanmean_rows(np.vstack(corrs))
        del rows, corrs
    return pd.Series(scores, index=ids)


def _rnaseq_scores(
    summaries: Mapping[str, ProbeSummary],
    probes: pd.DataFrame,
    ids: pd.Index,
    rnaseq: Mapping[str, pd.DataFrame],
) -> pd.Series:
    """Mean over RNA-seq donors of the Spearman correlation with RNA-seq."""
    donors = [d for d in summaries if d in rnaseq and d in RNASEQ_DONORS]
    if not donors:
        raise ValueError(
            "probe_selection='rnaseq' needs microarray and RNA-seq data for at least "
            f"one of the donors {list(RNASEQ_DONORS)}"
        )
    genes = probes.loc[ids, "gene_symbol"]
    corrs = []
    for donor in donors:
        micro = summaries[donor].regions
        rna = rnaseq[donor]
        shared = micro.columns.intersection(rna.columns)
        present = genes.isin(rna.index).to_numpy()
        corr = np.full(len(ids), np.nan)
        if present.any():
            corr[present] = _spearman_rows(
                micro.loc[ids[present], shared].to_numpy(dtype="float64"),
                rna.loc[genes[present].to_numpy(), shared].to_numpy(dtype="float64"),
            )
        corrs.append(corr)
    return pd.Series(_nanmean_rows(np.vstack(corrs)), index=ids)


def _first_max_per_gene(scores: np.ndarray, groups: _Groups) -> np.ndarray:
    """Position (in groups.ids) of each gene's best score; -1 if none is finite.

    Ties go to the first probe in probe_id order.
    """
    if len(scores) == 0:
        return np.array([], dtype="int64")
    vals = np.where(np.isfinite(scores), scores, -np.inf)
    best = np.maximum.reduceat(vals, groups.starts)
    hit = vals == np.repeat(best, groups.sizes)
    pos = np.arange(len(vals))
    first = np.minimum.reduceat(np.where(hit, pos, len(vals)), groups.starts)
    return np.where(np.isfinite(best), first, -1)


def _choose_one(
    summaries: Mapping[str, ProbeSummary],
    probes: pd.DataFrame,
    method: str,
    groups: _Groups,
    rnaseq: Mapping[str, pd.DataFrame] | None,
) -> pd.Series:
    """Gene -> probe_id using all the given donors' summaries together."""
    donor_list = list(summaries.values())
    ids = groups.ids
    multi = np.repeat(groups.sizes > 1, groups.sizes)
    scores = np.full(len(ids), np.nan)

    if method == "diff_stability":
        scores[multi] = _diff_stability_scores(summaries, ids[multi]).to_numpy()
    elif method == "rnaseq":
        if rnaseq is None:
            raise ValueError("probe_selection='rnaseq' needs the `rnaseq` data")
        scores = _rnaseq_scores(summaries, probes, ids, rnaseq).to_numpy()
    elif method == "pc_loading":
        # per donor, the multi-probe rows in groups order, then gene slices
        multi_ids = ids[multi]
        blocks = [s.block.loc[multi_ids].to_numpy(dtype="float64") for s in donor_list]
        offset = 0
        for start, size in zip(groups.starts, groups.sizes, strict=True):
            if size > 1:
                mat = np.hstack([b[offset : offset + size] for b in blocks])
                scores[start : start + size] = _pc_scores(mat)
                offset += size
    else:
        mean, m2, n = _combine_moments(donor_list, ids)
        if method in ("max_intensity", "corr_intensity"):
            scores = mean
        else:
            scores = m2 / (n - 1) if n > 1 else np.full(len(ids), np.nan)
        if method in ("corr_intensity", "corr_variance"):
            # more than two probes: mean correlation with the gene's other
            # probes; two probes fall back to intensity / variance
            means = [s.mean.reindex(ids).to_numpy(dtype="float64") for s in donor_list]
            id_array = ids.to_numpy()
            for gene, start, size in zip(groups.genes, groups.starts, groups.sizes, strict=True):
                if size > 2:
                    sl = slice(start, start + size)
                    parts = [
                        (s.n_samples, m[sl], _aligned(s.comoments[gene], id_array[sl]))
                        for s, m in zip(donor_list, means, strict=True)
                    ]
                    scores[sl] = _mean_offdiag_corr(_combine_comoments(parts))

    best = _first_max_per_gene(scores, groups)
    if method == "rnaseq":
        # genes absent from (or constant in) the RNA-seq data are dropped, as
        # in abagen 0.1.3; single-probe genes are no exception
        keep = best >= 0
        return pd.Series(
            ids.to_numpy()[best[keep]], index=groups.genes[keep], name="probe_id", dtype="int64"
        )
    # single-probe genes keep their probe; a gene without any finite score
    # (e.g. constant probes) keeps its first probe
    best = np.where(best >= 0, best, groups.starts)
    return pd.Series(ids.to_numpy()[best], index=groups.genes, name="probe_id", dtype="int64")


def _most_common(row: np.ndarray) -> int:
    """Most frequent probe id; ties go to the smallest probe id."""
    values, counts = np.unique(row, return_counts=True)
    return int(values[np.argmax(counts)])


def choose_probes(
    summaries_by_donor: Mapping[str, ProbeSummary],
    probes: pd.DataFrame,
    method: str = "diff_stability",
    donor_probes: str = "aggregate",
    rnaseq: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame | None:
    """Decide which probe represents each gene.

    Parameters
    ----------
    summaries_by_donor : mapping of str -> ProbeSummary
        Output of :func:`probe_summaries` for each donor (donor order is kept
        in the output columns).
    probes : pandas.DataFrame of shape (n_probes, n_columns)
        Probes that survived filtering, with ``gene_symbol``.
    method : str, default='diff_stability'
        ``probe_selection`` method.
    donor_probes : {'aggregate', 'independent', 'common'}, default='aggregate'
        ``'aggregate'``: one choice from all donors' samples together;
        ``'independent'``: one choice per donor; ``'common'``: per-donor
        choices, then the most frequent one for every donor (ties: smallest
        probe id). Reset to ``'aggregate'`` for ``average``,
        ``diff_stability`` and ``rnaseq``.
    rnaseq : mapping of str -> pandas.DataFrame of shape (n_genes, n_structures), optional
        RNA-seq expression per structure (:func:`rnaseq_region_expression`)
        for donors 9861 and/or 10021; required for ``method='rnaseq'``.

    Returns
    -------
    selection : pandas.DataFrame or None
        Indexed by ``gene_symbol`` (sorted). A single ``probe_id`` column for
        ``'aggregate'``; columns ``probe_id_<donor>`` for ``'independent'``
        and ``'common'`` (for ``'common'`` all equal). None for
        ``'average'``, which uses every probe.

    Notes
    -----
    Ties in a score go to the first probe in ``probe_id`` order. Genes with a
    single probe keep it. ``corr_intensity``/``corr_variance`` use the mean
    Pearson correlation with the gene's other probes when a gene has more
    than two probes and fall back to ``max_intensity``/``max_variance`` for
    two. ``diff_stability`` averages, over all pairs of donors, the Spearman
    correlation of each probe's mean expression per ``structure_id`` across
    the structures sampled in both donors. ``rnaseq`` averages, over the RNA-
    seq donors, the Spearman correlation between each probe's and its gene's
    RNA-seq mean expression per ``structure_id``; genes without RNA-seq data
    are dropped.
    """
    method = check_probe_selection(method)
    donor_probes = check_donor_probes(donor_probes, method)
    if not summaries_by_donor:
        raise ValueError("choose_probes needs at least one donor summary")
    for donor, summary in summaries_by_donor.items():
        if summary.method != method:
            raise ValueError(
                f"summary of donor {donor} was made for probe_selection={summary.method!r}, "
                f"not {method!r}"
            )
    if method == "average":
        return None
    groups = _ordered_groups(probes)
    if donor_probes == "aggregate":
        chosen = _choose_one(summaries_by_donor, probes, method, groups, rnaseq)
        out = chosen.sort_index().to_frame()
        out.index.name = "gene_symbol"
        return out
    per_donor = {
        f"probe_id_{donor}": _choose_one({donor: s}, probes, method, groups, rnaseq)
        for donor, s in summaries_by_donor.items()
    }
    out = pd.DataFrame(per_donor).sort_index().astype("int64")
    out.index.name = "gene_symbol"
    if donor_probes == "common":
        common = np.array([_most_common(row) for row in out.to_numpy()], dtype="int64")
        for col in out.columns:
            out[col] = common
    return out


# --------------------------------------------------------------------------
# collapsing to genes
# --------------------------------------------------------------------------


def _chosen_probes(selection: pd.DataFrame, donor: str | None) -> pd.Series:
    """gene_symbol -> chosen probe id (of `donor` when the choice is per donor), sorted."""
    if "probe_id" in selection.columns:
        chosen = selection["probe_id"]
    else:
        col = f"probe_id_{donor}"
        if donor is None or col not in selection.columns:
            raise ValueError(
                f"`selection` has per-donor columns; pass `donor` (one of "
                f"{[c.removeprefix('probe_id_') for c in selection.columns]})"
            )
        chosen = selection[col]
    return chosen.sort_index()


def probes_used(probes: pd.DataFrame, selection: pd.DataFrame | None,
                donor: str | None = None) -> pd.Index:
    """Probe ids :func:`collapse_to_genes` reads for one donor.

    Parameters
    ----------
    probes : pandas.DataFrame of shape (n_probes, n_columns)
        Probes that survived filtering.
    selection : pandas.DataFrame or None
        :func:`choose_probes` output; None for ``'average'`` (every probe
        is used).
    donor : str, optional
        Needed when `selection` has per-donor columns.

    Returns
    -------
    ids : pandas.Index of shape (n_used,)
        Sorted unique probe ids.
    """
    if selection is None:
        return pd.Index(np.unique(probes.index.to_numpy()), name="probe_id")
    ids = _chosen_probes(selection, donor).to_numpy(dtype="int64")
    return pd.Index(np.unique(ids), name="probe_id")


def collapse_to_genes(
    microarray: pd.DataFrame,
    annotation: pd.DataFrame,
    probes: pd.DataFrame,
    selection: pd.DataFrame | None,
    method: str = "diff_stability",
    donor: str | None = None,
) -> pd.DataFrame:
    """Sample x gene expression of one donor from the selected probes.

    Parameters
    ----------
    microarray : pandas.DataFrame of shape (n_all_probes, n_all_samples)
        Expression of one donor, index ``probe_id``, columns ``sample_id``.
    annotation : pandas.DataFrame of shape (n_samples, n_columns)
        Processed sample annotation (index ``sample_id``, repeats allowed).
    probes : pandas.DataFrame of shape (n_probes, n_columns)
        Probes that survived filtering, with ``gene_symbol``.
    selection : pandas.DataFrame or None
        Output of :func:`choose_probes` (ignored for ``'average'``).
    method : str, default='diff_stability'
        ``probe_selection`` method; ``'average'``/``'mean'`` average all the
        probes of a gene.
    donor : str, optional
        Donor of `microarray`; needed when `selection` has per-donor columns.

    Returns
    -------
    expression : pandas.DataFrame of shape (n_samples, n_genes)
        float64, index ``sample_id`` in annotation order (repeats included),
        columns ``gene_symbol`` sorted.
    """
    method = check_probe_selection(method)
    if method == "average":
        expr = _annotated_columns(microarray.loc[probes.index], annotation)
        values = pd.DataFrame(expr.to_numpy(dtype="float64").T, columns=expr.index)
        genes = probes.loc[expr.index, "gene_symbol"].to_numpy()
        out = values.T.groupby(genes, sort=True).mean().T
    else:
        if selection is None:
            raise ValueError(f"probe_selection={method!r} needs a probe `selection`")
        chosen = _chosen_probes(selection, donor)
        ids = chosen.to_numpy(dtype="int64")
        if microarray.index.is_unique and microarray.columns.is_unique:
            # one copy: the chosen probes' rows and the annotated (repeated)
            # columns at once, not a copy of the rows and another of the columns
            rows = microarray.index.get_indexer(ids)
            if (rows < 0).any():
                raise KeyError(f"{int((rows < 0).sum())} selected probe id(s) are not rows "
                               f"of the microarray, e.g. {list(ids[rows < 0][:5])}")
            cols = _annotated_positions(microarray, annotation)
            values = microarray.to_numpy(dtype="float64")[np.ix_(rows, cols)]
        else:
            values = _annotated_columns(microarray.loc[ids], annotation).to_numpy(
                dtype="float64")
        out = pd.DataFrame(values.T, columns=chosen.index, copy=False)
    out.index = annotation.index.copy()
    out.index.name = "sample_id"
    out.columns = pd.Index(list(out.columns), name="gene_symbol")
    return out


# --------------------------------------------------------------------------
# in-memory chains
# --------------------------------------------------------------------------


def _rnaseq_tables(
    rnaseq: Mapping[str, pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]] | None,
) -> dict[str, pd.DataFrame] | None:
    """Accept region-level tables or (tpm, annotation) pairs."""
    if rnaseq is None:
        return None
    out = {}
    for donor, value in rnaseq.items():
        if isinstance(value, tuple):
            value = rnaseq_region_expression(*value)
        out[str(donor)] = value
    return out


def select_probes(
    microarray: Mapping[str, pd.DataFrame],
    annotation: Mapping[str, pd.DataFrame],
    probes: pd.DataFrame,
    method: str = "diff_stability",
    donor_probes: str = "aggregate",
    rnaseq: Mapping[str, pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]] | None = None,
) -> pd.DataFrame | None:
    """Summaries of every donor, then :func:`choose_probes`.

    Parameters
    ----------
    microarray, annotation : mapping of str -> pandas.DataFrame
        Per-donor expression (probes x samples) and processed annotation.
    probes : pandas.DataFrame of shape (n_probes, n_columns)
        Probes that survived filtering.
    method, donor_probes : str
        See :func:`choose_probes`.
    rnaseq : mapping of str -> DataFrame or (tpm, annotation) tuple, optional
        RNA-seq data of donors 9861/10021 (see
        :func:`rnaseq_region_expression`).

    Returns
    -------
    selection : pandas.DataFrame or None
        See :func:`choose_probes`.
    """
    method = check_probe_selection(method)
    check_donor_probes(donor_probes, method)
    summaries = {
        donor: probe_summaries(microarray[donor], annotation[donor], probes, method)
        for donor in annotation
    }
    return choose_probes(summaries, probes, method, donor_probes, _rnaseq_tables(rnaseq))


def collapse_probes(
    microarray: Mapping[str, pd.DataFrame], annotation: Mapping[str, pd.DataFrame],
    probes: pd.DataFrame, method: str = "diff_stability", donor_probes: str = "aggregate",
    rnaseq: Mapping[str, pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Sample x gene expression of every donor (one-call convenience).

    Parameters
    ----------
    microarray, annotation : mapping of str -> pandas.DataFrame
        Per-donor expression (probes x samples) and processed annotation.
    probes : pandas.DataFrame of shape (n_probes, n_columns)
        Probes that survived intensity-based filtering.
    method : str, default='diff_stability'
        ``probe_selection``.
    donor_probes : {'aggregate', 'independent', 'common'}, default='aggregate'
        See :func:`choose_probes`.
    rnaseq : mapping, optional
        RNA-seq data for ``method='rnaseq'``.

    Returns
    -------
    expression : dict of str -> pandas.DataFrame of shape (n_samples, n_genes)
        Per donor, see :func:`collapse_to_genes`.
    """
    method = check_probe_selection(method)
    selection = select_probes(microarray, annotation, probes, method, donor_probes, rnaseq)
    return {
        donor: collapse_to_genes(
            microarray[donor], annotation[donor], probes, selection, method, donor
        )
        for donor in annotation
    }
