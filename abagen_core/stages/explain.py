"""Why a gene is (or is not) in the result: the step where each gene symbol left.

abagen users often ask why a gene they expected is missing ("only 15,633
genes"). :func:`explain_genes` replays the probe steps of the pipeline for
every gene symbol of the probe annotation and names the step where the gene
left, with the figures that decided it:

=========================  ====================================================
``status``                 meaning
=========================  ====================================================
``not_in_reannotation``    with ``reannotated=True``: none of the gene's probes
                           is in the reannotation table (or they were assigned
                           to other genes)
``no_entrez_id``           every probe of the gene lacks a valid Entrez id
``below_intensity``        no probe is above background in at least
                           ``ibf_threshold`` of all samples
``not_selected``           probe selection dropped the gene (``rnaseq``: no
                           RNA-seq data for it)
``kept``                   the gene is a column of the result
=========================  ====================================================

The figures come from the same stage outputs the pipeline uses (the PACall
summaries, the kept probes, the probe selection), so the ``kept`` genes are
exactly the result's columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from abagen_core.stages.probes import PACallSummary, filter_probes_without_entrez

__all__ = ["GENE_STATUSES", "explain_genes"]

#: the statuses of :func:`explain_genes`, in pipeline order
GENE_STATUSES = ("not_in_reannotation", "no_entrez_id", "below_intensity", "not_selected",
                 "kept")


def _symbols(frame: pd.DataFrame) -> pd.Series:
    """probe_id -> gene symbol, probes without a symbol left out."""
    symbols = frame["gene_symbol"]
    return symbols[symbols.notna()].astype(str)


def _signal_fractions(summaries: Mapping[str, PACallSummary], ids: pd.Index
                      ) -> tuple[pd.Series, pd.DataFrame]:
    """Per probe: the pooled fraction of samples above background, and each donor's."""
    counts = pd.DataFrame({donor: s.counts.reindex(ids).to_numpy(dtype=np.float64)
                           for donor, s in summaries.items()}, index=ids)
    sizes = pd.Series({donor: float(s.n_samples) for donor, s in summaries.items()})
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = counts.sum(axis=1) / sizes.sum()
        per_donor = counts / sizes
    return pooled, per_donor


def _chosen(selection: pd.DataFrame | None, kept: pd.DataFrame) -> pd.Series:
    """Gene symbol -> the probe(s) the result uses, as text."""
    if selection is None:  # 'average': every kept probe of the gene
        groups = _symbols(kept).groupby(_symbols(kept)).groups
        return pd.Series({gene: "average of " + ", ".join(str(i) for i in sorted(ids))
                          for gene, ids in groups.items()}, dtype=object)
    if "probe_id" in selection.columns:
        return selection["probe_id"].astype("int64").astype(str)
    cols = list(selection.columns)
    return pd.Series({gene: ", ".join(f"{c.removeprefix('probe_id_')}: {int(row[c])}"
                                      for c in cols)
                      for gene, row in selection.iterrows()}, dtype=object)


def _best_probes(symbols: pd.Series, pooled: pd.Series) -> pd.Series:
    """Gene symbol -> its probe with the largest pooled signal fraction.

    Ties go to the first probe in table order; a gene whose probes all lack
    a fraction gets its first probe.
    """
    key = pooled.reindex(symbols.index).to_numpy(dtype=np.float64)
    key = np.where(np.isnan(key), -np.inf, key)
    genes = symbols.to_numpy(dtype=object)
    order = np.lexsort((np.arange(len(genes)), -key, genes))
    first = np.ones(len(order), dtype=bool)
    first[1:] = genes[order][1:] != genes[order][:-1]
    picked = order[first]
    return pd.Series(symbols.index[picked], index=pd.Index(genes[picked]))


def explain_genes(probe_table: pd.DataFrame, annotated: pd.DataFrame,
                  pacall_summaries: Mapping[str, PACallSummary], kept: pd.DataFrame,
                  selection: pd.DataFrame | None, *, ibf_threshold: float,
                  reannotated: bool, genes: Iterable[str] | None = None) -> pd.DataFrame:
    """The step where each gene symbol left the pipeline, and why.

    Parameters
    ----------
    probe_table : pandas.DataFrame of shape (n_probes, n_columns)
        The donors' ``Probes.csv`` (index ``probe_id``, columns
        ``probe_name``, ``gene_symbol``, ``entrez_id``...).
    annotated : pandas.DataFrame of shape (n_annotated, 3)
        The probe annotation the pipeline used before the Entrez filter:
        :func:`abagen_core.stages.probes.reannotate_probes` output with
        ``reannotated=True``, else `probe_table` itself.
    pacall_summaries : mapping of str -> PACallSummary
        Per donor, :func:`abagen_core.stages.probes.pacall_summary` (in donor
        order).
    kept : pandas.DataFrame of shape (n_kept, n_columns)
        Probes that passed the intensity filter.
    selection : pandas.DataFrame or None
        :func:`abagen_core.stages.probes.choose_probes` output (None for
        ``probe_selection='average'``).
    ibf_threshold : float
        The intensity-filter threshold used (quoted in the explanations).
    reannotated : bool
        Whether the reannotation was used.
    genes : iterable of str, optional
        Gene symbols to explain; default every symbol of `probe_table` and
        `annotated`. Symbols found in neither get ``status`` NaN and a
        ``detail`` saying so.

    Returns
    -------
    table : pandas.DataFrame of shape (n_genes, 6 + n_donors)
        Index ``gene_symbol`` (sorted unless `genes` gives an order); columns
        ``status`` (one of :data:`GENE_STATUSES`), ``detail`` (a sentence),
        ``n_probes`` (probes of the gene in the annotation used),
        ``n_probes_above_threshold``, ``signal_fraction`` (the best probe's
        fraction of all samples above background, pooled over donors: what
        is compared with `ibf_threshold`), ``fraction_<donor>`` (that probe's
        fraction in each donor) and ``probe`` (the probe(s) used, for kept
        genes).
    """
    original = _symbols(probe_table)
    original_names = set(original.tolist())  # once: a membership test per gene below
    used = _symbols(annotated)
    with_entrez = _symbols(filter_probes_without_entrez(annotated))
    kept_symbols = _symbols(kept)
    if genes is None:
        names = sorted(original_names | set(used.tolist()))
    else:
        names = list(dict.fromkeys(str(g) for g in genes))
    pooled, per_donor = _signal_fractions(pacall_summaries, with_entrez.index)
    chosen = _chosen(selection, kept)
    donors = list(pacall_summaries)
    index = pd.Index(names, name="gene_symbol")
    n_probes = used.value_counts().reindex(index, fill_value=0).to_numpy()
    n_above = kept_symbols.value_counts().reindex(index, fill_value=0).to_numpy()
    best = _best_probes(with_entrez, pooled).reindex(index)  # NaN: no probe with an Entrez id
    has_best = best.notna().to_numpy()
    best_ids = best[has_best].to_numpy().astype(with_entrez.index.dtype)
    signal = np.full(len(index), np.nan)
    signal[has_best] = pooled.loc[best_ids].to_numpy(dtype=np.float64)
    fractions = {}
    for d in donors:
        values = np.full(len(index), np.nan)
        values[has_best] = per_donor.loc[best_ids, d].to_numpy(dtype=np.float64)
        fractions[f"fraction_{d}"] = values
    in_used = index.isin(used.to_numpy())
    in_kept = index.isin(kept_symbols.to_numpy())
    in_chosen = index.isin(chosen.index)
    in_original = index.isin(list(original_names))
    chosen_text = chosen.reindex(index[in_chosen & in_kept & has_best & in_used])
    statuses, details, probes_used = [], [], []
    for i, gene in enumerate(names):
        status, probe = np.nan, ""
        if not in_used[i]:
            if in_original[i]:
                status = "not_in_reannotation" if reannotated else "no_entrez_id"
                detail = ("no probe of this gene is in the reannotation table (its "
                          "probes are absent or assigned to other genes)"
                          if reannotated else "no probe has a gene symbol")
            else:
                detail = "not a gene symbol of the probe annotation"
        elif not has_best[i]:
            status = "no_entrez_id"
            detail = f"none of its {n_probes[i]} probe(s) has a valid Entrez id"
        elif not in_kept[i]:
            status = "below_intensity"
            detail = (f"its best probe is above background in {signal[i]:.1%} of all "
                      f"samples, below ibf_threshold={ibf_threshold}")
        elif not in_chosen[i]:
            status = "not_selected"
            detail = "probe selection dropped it (e.g. no RNA-seq data for 'rnaseq')"
        else:
            status = "kept"
            probe = chosen_text.loc[gene]
            detail = f"kept; probe(s) used: {probe}"
        statuses.append(status)
        details.append(detail)
        probes_used.append(probe)
    table = pd.DataFrame({"status": statuses,
                          "detail": details, "n_probes": n_probes,
                          "n_probes_above_threshold": n_above, "signal_fraction": signal,
                          **fractions, "probe": probes_used}, index=index)
    return table.astype({"n_probes": "int64", "n_probes_above_threshold": "int64"})
