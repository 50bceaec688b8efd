"""Parquet and CSV writers for matrices, and the layout of converted AHBA matrices."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from abagen_core.storage.atomic import atomic_path

__all__ = ["MATRIX_KINDS", "write_parquet_atomic", "write_parquet_parts_atomic",
           "write_frame_parquet", "write_frame_csv", "read_frame_parquet"]

PathLike = str | os.PathLike


#: headerless matrix files: kind -> (index name, value dtype)
MATRIX_KINDS: dict[str, tuple[str, pa.DataType]] = {
    "microarray": ("probe_id", pa.float64()),
    "pacall": ("probe_id", pa.int8()),
    "tpm": ("gene_symbol", pa.float64()),
    "counts": ("gene_symbol", pa.float64()),
}

def write_parquet_atomic(table: pa.Table | pd.DataFrame, dest: PathLike, *,
                         durable: bool = True) -> Path:
    """Write a parquet file so that readers never see a partial file.

    The table goes to a temporary file in the same folder, is fsynced (when
    `durable`), and is renamed over `dest` in one step. The rename alone makes
    the write atomic for readers and against killed processes; the fsync also
    guards against power loss, and is skipped for cached intermediates, which
    the workflow checks (footer, page checksums) and rebuilds when damaged.

    Parameters
    ----------
    table : pyarrow.Table or pandas.DataFrame
        A DataFrame is written with its index.
    dest : path-like
    durable : bool, default=True
        fsync before the rename.

    Returns
    -------
    dest : pathlib.Path
    """
    dest = Path(dest)
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=True)
    with atomic_path(dest, durable=durable) as tmp:
        pq.write_table(table, tmp, **_WRITE_OPTIONS)
    return dest


#: how every parquet file is written: page checksums (corruption on disk is
#: detected when the file is read); no column statistics (nothing filters on
#: them, and they cost ~1/3 of the write time of wide tables)
_WRITE_OPTIONS = {"compression": "lz4", "use_dictionary": False, "write_page_checksum": True,
                  "write_statistics": False}


def write_parquet_parts_atomic(parts: Iterable[pa.Table], dest: PathLike, *,
                               durable: bool = True) -> Path:
    """:func:`write_parquet_atomic` of tables given one after another, a row group each.

    Only one part needs to be in memory at a time; the file's schema (and
    its metadata) is the first part's.

    Parameters
    ----------
    parts : iterable of pyarrow.Table
        At least one; all with the first one's columns and types.
    dest : path-like
    durable : bool, default=True

    Returns
    -------
    dest : pathlib.Path
    """
    dest = Path(dest)
    with atomic_path(dest, durable=durable) as tmp:
        writer = None
        try:
            for part in parts:
                if writer is None:
                    writer = pq.ParquetWriter(tmp, part.schema, **_WRITE_OPTIONS)
                writer.write_table(part, row_group_size=max(len(part), 1))
            if writer is None:
                raise ValueError(f"{dest}: no table to write.")
        finally:
            if writer is not None:
                writer.close()
    return dest

def _frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """A numeric DataFrame (named index + value columns) as an Arrow table, fast.

    ``pa.Table.from_pandas`` converts column by column through pandas and
    takes seconds on the ~16,000 gene columns of a result; here the columns
    come straight from the 2-D array. The pandas metadata (so that
    ``pandas.read_parquet`` restores the index and column name) is pyarrow's
    own, generated for a one-column frame of the same dtype and repeated for
    every column: all value columns share one dtype.
    """
    if len(set(frame.dtypes.to_numpy())) != 1:  # (str() of 16k dtypes costs ~0.2 s)
        return pa.Table.from_pandas(frame, preserve_index=True)
    values = frame.to_numpy()
    index_name = frame.index.name or "index"
    names = [str(c) for c in frame.columns]
    proto = pa.Schema.from_pandas(frame.iloc[:0, :1], preserve_index=True)
    meta = json.loads(proto.metadata[b"pandas"])
    entry = next(c for c in meta["columns"] if c["field_name"] == str(frame.columns[0]))
    index_entries = [c for c in meta["columns"] if c["field_name"] != str(frame.columns[0])]
    meta["columns"] = [{**entry, "name": n, "field_name": n} for n in names] + index_entries
    arrays = [pa.array(values[:, j]) for j in range(values.shape[1])]
    arrays.append(pa.array(frame.index.to_numpy()))
    schema = pa.schema(
        [pa.field(n, arrays[0].type if arrays else pa.float64()) for n in names]
        + [pa.field(index_name, arrays[-1].type)],
        metadata={b"pandas": json.dumps(meta).encode()},
    )
    return pa.Table.from_arrays(arrays, schema=schema)

def write_frame_parquet(frame: pd.DataFrame, dest: PathLike) -> Path:
    """Write a result matrix (regions x genes, samples x genes) to parquet atomically.

    ``pandas.read_parquet(dest)`` returns `frame` (index, columns, values).

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_rows, n_columns)
    dest : path-like

    Returns
    -------
    dest : pathlib.Path
    """
    return write_parquet_atomic(_frame_to_table(frame), dest)

def write_frame_csv(frame: pd.DataFrame, dest: PathLike) -> Path:
    """Write a numeric matrix to CSV atomically, ~20x faster than ``DataFrame.to_csv``.

    The header is pandas' own (index name, then the column names); the rows
    are written by pyarrow's CSV writer: every float with the shortest
    representation that reads back to the same double (the same digits as
    pandas), NaN as an empty field. Integral floats print as ``1`` rather than
    ``1.0`` and small numbers as ``0.0000261...`` rather than ``2.61...e-05``:
    ``pandas.read_csv`` returns identical values either way.

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_rows, n_columns)
        Numeric values; index and column names are written as by pandas.
    dest : path-like

    Returns
    -------
    dest : pathlib.Path
    """
    dest = Path(dest)
    header = frame.iloc[:0].to_csv()
    values = frame.to_numpy()
    arrays = [pa.array(frame.index.to_numpy())]
    arrays += [pa.array(values[:, j], from_pandas=True) for j in range(values.shape[1])]
    table = pa.Table.from_arrays(arrays, names=[f"c{j}" for j in range(len(arrays))])
    with atomic_path(dest, durable=True) as tmp, open(tmp, "wb") as fh:
        fh.write(header.encode())
        pacsv.write_csv(table, fh, write_options=pacsv.WriteOptions(
            include_header=False, quoting_style="needed"))
    return dest

def read_frame_parquet(path: PathLike) -> pd.DataFrame:
    """Read a result matrix written by :func:`write_frame_parquet` (or pandas).

    Single-threaded on purpose: on files with thousands of columns Arrow's
    threaded reader holds per-column buffers that cost up to ~1 GB of memory
    (with ``OMP_NUM_THREADS=1``, as in Snakemake jobs) to read a few MB.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    frame : pandas.DataFrame of shape (n_rows, n_columns)
    """
    return pq.read_table(path, use_threads=False).to_pandas()
