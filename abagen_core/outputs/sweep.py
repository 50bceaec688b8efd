"""Compact files of a sweep: one file per batch, an index, and their readers.

A sweep of thousands of variants gets no folder per variant. Each batch
(:mod:`abagen_core.workflow.batches`: the variants of one atlas sharing a gene
set and a label set) writes one parquet file holding every variant's
region x gene matrix, exact float64:

- one row group per variant, or per variant and chunk of genes when the
  batch was computed a chunk of genes at a time (to bound its memory); rows
  are genes (column ``gene_symbol``), one column per region (its label id
  as text), so the file has as many columns as the atlas has regions
  whatever the number of genes or variants;
- the file's key-value metadata (:data:`BATCH_META_KEY`) lists the
  variants (in order of first appearance) with their options, each
  variant's row groups (its genes in order), the region ids and the samples
  per region.

``results/<atlas>/sweeps/index.csv`` maps each swept variant of the current
plan to its batch file and options (:func:`write_index`);
:func:`read_variant` loads any variant's matrix by its name or its options,
for swept and named variants alike.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from abagen_core.options import describe
from abagen_core.storage.atomic import atomic_path, write_text_atomic

__all__ = ["BATCH_META_KEY", "write_batch", "batch_metadata", "iter_batch", "read_batch_variant",
           "option_text", "write_index", "read_index", "find_variant"]

#: parquet key-value metadata key of a batch file
BATCH_META_KEY = b"abagen_core.sweep_batch"

PathLike = str | os.PathLike


def _variant_table(matrix: pd.DataFrame) -> pa.Table:
    """One variant's matrix as genes x regions (one column per region)."""
    values = np.ascontiguousarray(matrix.to_numpy(dtype=np.float64))  # regions x genes
    columns = {"gene_symbol": pa.array(matrix.columns.astype(str).to_numpy(dtype=object),
                                       type=pa.string())}
    for row, region in zip(values, matrix.index, strict=True):
        columns[str(int(region))] = pa.array(row, type=pa.float64())
    return pa.table(columns)


def write_batch(matrices: Iterable[tuple[str, pd.DataFrame]], dest: PathLike, *,
                options: Mapping[str, Mapping[str, Any]], counts: pd.DataFrame | None = None,
                extra: Mapping[str, Any] | None = None) -> list[str]:
    """Write the matrices of a batch's variants into one parquet file, atomically.

    Parameters
    ----------
    matrices : iterable of (str, pandas.DataFrame of shape (n_regions, n_genes))
        Variant name and its region x gene matrix (index: region ids); all
        with the same regions. Consumed one at a time (one in memory). A
        name given again continues that variant with more genes (the next
        chunk of genes; a variant's matrix is its parts side by side, in
        the order given).
    dest : path-like
        The batch file.
    options : mapping of str -> mapping
        Variant name -> its validated options (recorded, described as text).
    counts : pandas.DataFrame of shape (n_regions, n_donors), optional
        Samples per region and donor (the same for the whole batch).
    extra : mapping, optional
        More metadata entries (JSON-serialisable).

    Returns
    -------
    names : list of str
        The variants written, in order of first appearance.
    """
    parts: dict[str, list[int]] = {}  # variant -> its row groups
    n_groups = 0
    regions: list[int] | None = None
    writer = None
    with atomic_path(dest) as tmp:
        try:
            for name, matrix in matrices:
                table = _variant_table(matrix)
                if writer is None:
                    regions = [int(r) for r in matrix.index]
                    writer = pq.ParquetWriter(tmp, table.schema, compression="lz4",
                                              use_dictionary=False, write_statistics=False,
                                              write_page_checksum=True)
                elif [int(r) for r in matrix.index] != regions:
                    raise ValueError(f"variant {name}: its regions differ from the batch's.")
                writer.write_table(table, row_group_size=max(len(table), 1))
                parts.setdefault(name, []).append(n_groups)
                n_groups += 1
            if writer is None:
                raise ValueError("a sweep batch needs at least one variant.")
            names = list(parts)
            if len({len(p) for p in parts.values()}) > 1:
                raise ValueError("the variants of a batch have different numbers of gene "
                                 f"chunks: {({n: len(p) for n, p in parts.items()})}.")
            meta = {"variants": names,
                    "options": {n: describe(dict(options[n])) for n in names},
                    "row_groups": parts,
                    "regions": regions,
                    "counts": None if counts is None else json.loads(counts.to_json(
                        orient="split")),
                    **(extra or {})}
            writer.add_key_value_metadata({BATCH_META_KEY: json.dumps(meta, default=str)})
        finally:
            if writer is not None:
                writer.close()
    return names


def batch_metadata(path: PathLike) -> dict[str, Any]:
    """The metadata of a batch file (variants, options, regions, counts).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    meta : dict
    """
    meta = pq.ParquetFile(path).metadata.metadata or {}
    if BATCH_META_KEY not in meta:
        raise ValueError(f"{path} is not a sweep batch file of abagen-core.")
    return json.loads(meta[BATCH_META_KEY])


def _matrix(table: pa.Table, regions: Sequence[int]) -> pd.DataFrame:
    genes = table.column("gene_symbol").to_pylist()
    values = np.empty((len(regions), len(genes)), dtype=np.float64)
    for i, region in enumerate(regions):
        values[i] = table.column(str(region)).to_numpy()
    return pd.DataFrame(values, index=pd.Index(np.asarray(regions, dtype=np.int64), name="label"),
                        columns=pd.Index(genes, name="gene_symbol"))


def iter_batch(path: PathLike) -> Iterator[tuple[str, pd.DataFrame]]:
    """Every (variant, matrix) of a batch file, one at a time.

    Parameters
    ----------
    path : path-like

    Yields
    ------
    name : str
    matrix : pandas.DataFrame of shape (n_regions, n_genes)
        Index ``label``, columns ``gene_symbol``; as ``expression.parquet``.
    """
    file = pq.ParquetFile(path)
    meta = batch_metadata(path)
    for name in meta["variants"]:
        yield name, _matrix(_read_variant(file, meta, name), meta["regions"])


def read_batch_variant(path: PathLike, name: str) -> pd.DataFrame:
    """One variant's matrix from a batch file.

    Parameters
    ----------
    path : path-like
        The batch file.
    name : str
        The variant.

    Returns
    -------
    matrix : pandas.DataFrame of shape (n_regions, n_genes)
    """
    meta = batch_metadata(path)
    if name not in meta["variants"]:
        raise KeyError(f"variant {name!r} is not in {path}.")
    return _matrix(_read_variant(pq.ParquetFile(path), meta, name), meta["regions"])


def _read_variant(file: pq.ParquetFile, meta: Mapping[str, Any], name: str) -> pa.Table:
    """A variant's row groups (genes x regions), its chunks of genes in order."""
    groups = meta.get("row_groups", {}).get(name, [meta["variants"].index(name)])
    return file.read_row_groups(groups)


def option_text(value: Any) -> str:
    """An option value as the sweep index writes it (numbers as floats, lists as JSON).

    Parameters
    ----------
    value : object
        A :func:`abagen_core.options.describe` value.

    Returns
    -------
    text : str
    """
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return repr(float(value))
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def write_index(batches: Sequence[PathLike], dest: PathLike) -> pd.DataFrame:
    """The index of an atlas' swept variants: name, batch file, options.

    Parameters
    ----------
    batches : sequence of path-like
        The batch files of the current plan (for one atlas).
    dest : path-like
        ``index.csv`` (batch files are named relative to its folder).

    Returns
    -------
    index : pandas.DataFrame of shape (n_variants, 1 + n_options)
        Index ``variant``; column ``batch`` then one column per option.
    """
    rows = []
    folder = Path(dest).parent
    for path in batches:
        meta = batch_metadata(path)
        rel = os.path.relpath(path, folder)
        for name in meta["variants"]:
            rows.append({"variant": name, "batch": rel,
                         **{k: option_text(v) for k, v in meta["options"][name].items()}})
    index = pd.DataFrame(rows).set_index("variant").sort_index()
    write_text_atomic(index.to_csv(), dest)
    return index


def read_index(path: PathLike) -> pd.DataFrame:
    """A sweep index written by :func:`write_index` (every value as text).

    Parameters
    ----------
    path : path-like
        The ``index.csv``.

    Returns
    -------
    index : pandas.DataFrame
        Index ``variant``; ``batch`` then the options.
    """
    return pd.read_csv(path, index_col="variant", dtype=str, keep_default_na=False)


def find_variant(index: pd.DataFrame, options: Mapping[str, Any]) -> str:
    """The swept variant whose options are `options` (those given; the rest free).

    Parameters
    ----------
    index : pandas.DataFrame
        :func:`read_index` output.
    options : mapping
        Option name -> value, compared as the index writes them
        (:func:`abagen_core.options.describe`).

    Returns
    -------
    name : str

    Raises
    ------
    KeyError
        Unknown option, or not exactly one variant matches (the candidates
        are named).
    """
    unknown = sorted(set(options) - set(index.columns))
    if unknown:
        raise KeyError(f"option(s) {unknown} are not options of this sweep; it has "
                       f"{sorted(c for c in index.columns if c != 'batch')}.")
    given = {k: option_text(v) for k, v in describe(dict(options)).items()}
    mask = np.ones(len(index), dtype=bool)
    for key, value in given.items():
        mask &= index[key].to_numpy() == value
    found = list(index.index[mask])
    if len(found) != 1:
        what = "no variant has" if not found else f"{len(found)} variants ({found[:5]}) have"
        raise KeyError(f"{what} the options {given}; give more options or the variant name.")
    return found[0]
