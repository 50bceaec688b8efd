"""Readers for the AHBA download files and their parquet conversion.

The AHBA microarray download holds five files per donor:

- ``MicroarrayExpression.csv`` and ``PACall.csv``: headerless matrices of
  shape (n_probes, 1 + n_samples); column 0 is the probe id, column ``j``
  (1-based) belongs to the ``j``-th row of ``SampleAnnot.csv``.
- ``Probes.csv``, ``SampleAnnot.csv``, ``Ontology.csv``: headered tables.

The RNA-seq download adds ``RNAseqTPM.csv`` and ``RNAseqCounts.csv``
(headerless, column 0 = gene symbol) and ``Genes.csv``.

Every ``read_*`` function accepts a path (CSV or parquet) or an already
loaded DataFrame (returned as is, or copied with ``copy=True``), like
abagen's readers. Matrices are parsed with pyarrow's multi-threaded,
correctly rounding CSV reader, so values are the exact float64 nearest to
the text in the file; the parquet files written by :func:`csv_to_parquet`
hold those same float64 values (exact round trip).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from abagen_core.storage.atomic import atomic_path
from abagen_core.storage.checks import unreadable_artifact
from abagen_core.storage.parquet import MATRIX_KINDS
from abagen_core.utils import check_choice

__all__ = [
    "read_microarray",
    "read_pacall",
    "read_annotation",
    "read_ontology",
    "read_probes",
    "read_genes",
    "read_tpm",
    "read_counts",
    "read_rnaseq_annotation",
    "csv_to_parquet",
    "read_matrix_parquet",
    "read_matrix_rows",
    "MatrixRows",
]

PathLike = str | os.PathLike


# pandas < 3 needs the round-trip parser for correctly rounded floats; pandas 3
# parses correctly by default and deprecates the option.
_FLOAT_KW = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}

_ANNOTATION_DTYPES = {
    "structure_id": "int64",
    "slab_num": "int64",
    "well_id": "int64",
    "polygon_id": "int64",
    "mri_voxel_x": "int64",
    "mri_voxel_y": "int64",
    "mri_voxel_z": "int64",
    "mni_x": "float64",
    "mni_y": "float64",
    "mni_z": "float64",
}


def _is_parquet(path: Path) -> bool:
    return path.suffix in {".parquet", ".pq"}


def _check_file(fname: PathLike, what: str) -> Path:
    path = Path(fname)
    if not path.is_file():
        raise FileNotFoundError(
            f"{what} file not found: {path}. Check `data_dir` (or $ABAGEN_DATA) points "
            "at a folder in the AHBA download layout "
            "(microarray/normalized_microarray_donor<ID>/...)."
        )
    # the workflow links the user's files: name the real file in messages
    real = path.resolve() if path.is_symlink() else path
    return real if real.suffix == path.suffix else path


def _csv_options(path: Path, kind: str, *, threads: bool = True
                 ) -> tuple[pacsv.ReadOptions, pacsv.ConvertOptions]:
    """The pyarrow CSV options for a headerless matrix file (column count from line 1).

    `threads` lets pyarrow parse blocks in parallel; the streamed conversion
    turns it off (its CPU time is ~25% higher with threads, and the workflow
    converts donors in parallel, one core each).
    """
    index_name, value_type = MATRIX_KINDS[kind]
    with open(path, "rb") as fh:
        first = fh.readline()
    if not first.strip():
        raise ValueError(f"{path} is empty; re-download or regenerate it.")
    n_cols = first.count(b",") + 1
    if n_cols < 2:
        raise ValueError(
            f"{path} has a single column; expected an id column followed by one "
            "column per sample."
        )
    names = ["_id"] + [str(i) for i in range(1, n_cols)]
    index_type = pa.string() if index_name == "gene_symbol" else pa.int64()
    types = {"_id": index_type, **{n: value_type for n in names[1:]}}
    # 8 MiB blocks: with ~950 sample columns, per-block and per-column costs
    # make 4 MiB blocks ~25% dearer in CPU; 16 MiB saves nothing more and
    # raises the streamed conversion's peak from ~0.55 to ~0.85 GB (0.95 GB CSV).
    # No null markers: an empty field is a conversion error (reported by
    # _parse_error), so the converted columns need no null check.
    return (pacsv.ReadOptions(column_names=names, use_threads=threads, block_size=1 << 23),
            pacsv.ConvertOptions(column_types=types, null_values=[],
                                 quoted_strings_can_be_null=False))


def _parse_error(path: Path, kind: str, exc: Exception) -> ValueError:
    if "invalid value ''" in str(exc):  # an empty field (no null markers are accepted)
        return ValueError(
            f"{path}: {kind} matrix has missing values (an empty field: {exc}); the file "
            "is truncated or corrupt: delete it and re-fetch the donor."
        )
    return ValueError(
        f"Could not parse {path} as an AHBA {kind} matrix ({exc}). The file may be "
        "truncated or corrupt: delete it and re-fetch the donor."
    )


def _read_headerless(path: Path, kind: str) -> pd.DataFrame:
    """Parse a headerless AHBA matrix CSV into a DataFrame (rows x samples)."""
    index_name = MATRIX_KINDS[kind][0]
    read_opts, convert_opts = _csv_options(path, kind)
    try:
        table = pacsv.read_csv(path, read_options=read_opts, convert_options=convert_opts)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _parse_error(path, kind, exc) from None
    try:
        return _table_to_frame(table, index_name, kind)
    except ValueError as exc:  # empty fields: name the file
        raise ValueError(f"{path}: {exc}") from None
    finally:
        del table
        _release_arrow_memory()


def _release_arrow_memory() -> None:
    """Give the memory Arrow's pool keeps after a read back to the system.

    Its allocator (mimalloc or jemalloc) holds on to freed pages, which
    NumPy cannot re-use: after parsing a file that is up to ~150 MB of
    resident memory for nothing.
    """
    pa.default_memory_pool().release_unused()


def _table_to_frame(table: pa.Table, index_name: str, kind: str) -> pd.DataFrame:
    index = table.column(0).to_numpy()
    names = table.column_names[1:]
    values = np.empty((table.num_rows, len(names)),
                      dtype=np.int8 if kind == "pacall" else np.float64)
    for j, name in enumerate(names):
        col = table.column(name)
        if col.null_count:
            raise ValueError(
                f"{kind} matrix has missing values in sample column {name}; the file "
                "is truncated or corrupt: re-fetch the donor."
            )
        values[:, j] = col.to_numpy()
    columns = pd.Index([int(n) for n in names], name="sample_id")
    return pd.DataFrame(values, index=pd.Index(index, name=index_name), columns=columns)


def read_matrix_parquet(path: PathLike, kind: str, columns: list[int] | None = None,
                        rows: Any = None) -> pd.DataFrame:
    """Read a matrix written by :func:`csv_to_parquet`, optionally a block of it.

    Parameters
    ----------
    path : path-like
        Parquet file.
    kind : {'microarray', 'pacall', 'tpm', 'counts'}
        File type.
    columns : list of int, optional
        Sample ids (1-based) to read; all when None. An id given more than
        once (mirrored samples) is read once and its column repeated.
    rows : array-like, optional
        Row ids (probe ids / gene symbols) to keep, filtered in Arrow before
        any pandas object is built (saves memory on wide files); file order
        is kept.

    Returns
    -------
    matrix : pandas.DataFrame of shape (n_rows, n_samples)
    """
    try:
        return _read_matrix_blocks(path, kind, columns, rows)
    except (OSError, pa.ArrowException) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise unreadable_artifact(path, exc) from None


def _read_matrix_blocks(path: PathLike, kind: str, columns: list[int] | None,
                        rows: Any) -> pd.DataFrame:
    """Fill one preallocated array from the file's batches (rows filtered per batch).

    Peak memory is the result plus one batch, instead of the whole table in
    Arrow, its filtered copy and the pandas copy.
    """
    index_name = MATRIX_KINDS[kind][0]
    # row group by row group, without pre-buffering: a few MB in flight (iter_batches
    # with pre-buffering holds ~10x the data it returns)
    pf = pq.ParquetFile(path, page_checksum_verification=True, pre_buffer=False)
    names = pf.schema_arrow.names
    if names[0] != index_name:
        raise ValueError(f"{path} is not a {kind} matrix (first column {names[0]!r}).")
    samples = names[1:] if columns is None else [str(c) for c in columns]
    absent = sorted(set(samples) - set(names[1:]), key=len)
    if absent:
        raise ValueError(f"{path} has no sample column(s) {absent[:5]}.")
    # each sample read once, written at every position it is asked for
    unique = list(dict.fromkeys(samples))
    positions: dict[str, list[int]] = {}
    for j, name in enumerate(samples):
        positions.setdefault(name, []).append(j)
    ids = pf.read(columns=[index_name]).column(0).to_numpy()
    keep = np.ones(len(ids), dtype=bool) if rows is None else np.isin(
        ids, np.asarray(rows, dtype=ids.dtype))
    # column-major: each sample column is filled contiguously, and pandas
    # keeps the array as its (samples x rows) block without a copy
    values = np.empty((int(keep.sum()), len(samples)),
                      dtype=np.int8 if kind == "pacall" else np.float64, order="F")
    start = out = 0
    for group in range(pf.metadata.num_row_groups):
        batch = pf.read_row_group(group, columns=unique, use_threads=True)
        stop = start + batch.num_rows
        sel = keep[start:stop]
        n = int(sel.sum())
        if n:
            whole = n == batch.num_rows
            for name, col in zip(unique, batch.columns, strict=True):
                if col.null_count:
                    raise ValueError(
                        f"{path}: {kind} matrix has missing values in sample column "
                        f"{name}; delete the file and re-run to rebuild it."
                    )
                block = col.to_numpy()
                block = block if whole else block[sel]
                for j in positions[name]:
                    values[out:out + n, j] = block
        del batch
        out += n
        start = stop
    index = pd.Index(ids[keep], name=index_name)
    cols = pd.Index([int(c) for c in samples], name="sample_id")
    return pd.DataFrame(values, index=index, columns=cols, copy=False)


class MatrixRows(NamedTuple):
    """Some rows and columns of a matrix file, and what is needed to check the whole file.

    Attributes
    ----------
    frame : pandas.DataFrame of shape (n_found, n_columns_read)
        The requested rows found in the file, in the requested order, and
        the requested sample columns found in the file, in the requested order.
    ids : numpy.ndarray of shape (n_rows,)
        Every row id of the file, in file order.
    n_columns : int
        Number of sample columns of the file.
    """

    frame: pd.DataFrame
    ids: np.ndarray
    n_columns: int


#: bytes of CSV text parsed at a time by :func:`read_matrix_rows`
_TEXT_BLOCK = 1 << 25


def read_matrix_rows(fname, kind: str, rows: Any = None,
                     columns: list[int] | None = None) -> MatrixRows:
    """Read only some rows and columns of a matrix, block by block.

    A CSV is parsed about 32 MiB of text at a time (pyarrow's reader, so the
    values are exactly those of :func:`read_microarray`); each block's wanted
    rows are copied into the result, which is allocated once. Peak memory is
    the result plus one block, not the complete matrix. Rows or columns that
    the file lacks are left out, not reported: compare ``ids`` and
    ``n_columns`` with the donor's other tables
    (:func:`abagen_core.datasets.checks.check_donor_matrix`).

    Parameters
    ----------
    fname : path-like or pandas.DataFrame
        A headerless matrix CSV, its parquet conversion, or a loaded matrix.
    kind : {'microarray', 'pacall', 'tpm', 'counts'}
        File type.
    rows : array-like, optional
        Row ids (probe ids / gene symbols) to keep; all rows in file order
        when None.
    columns : list of int, optional
        Sample ids (1-based column numbers) to keep; all when None.

    Returns
    -------
    rows : MatrixRows
        The frame (float64, int8 for PACall), every row id of the file and
        its number of sample columns.
    """
    check_choice("kind", kind, list(MATRIX_KINDS))
    wanted = None if rows is None else pd.Index(rows).unique()
    if isinstance(fname, pd.DataFrame):
        ids, n_columns = fname.index.to_numpy(), fname.shape[1]
        frame = fname
    else:
        path = _check_file(fname, kind)
        if not _is_parquet(path):
            return _read_csv_rows(path, kind, wanted, columns)
        pf = pq.ParquetFile(path)
        ids = pf.read(columns=[MATRIX_KINDS[kind][0]]).column(0).to_numpy()
        n_columns = pf.metadata.num_columns - 1
        names = set(pf.schema_arrow.names[1:])
        present = None if columns is None else [c for c in columns if str(c) in names]
        frame = read_matrix_parquet(path, kind, present, wanted)
    if wanted is not None:
        frame = frame.loc[wanted.intersection(frame.index, sort=False)]
    if columns is not None:
        frame = frame.loc[:, [c for c in columns if c in frame.columns]]
    return MatrixRows(frame, ids, int(n_columns))


def _text_blocks(path: Path, size: int):
    """Successive views of whole lines of `path`, about `size` bytes each.

    One buffer is re-used: a view is valid until the next one is asked for.
    A line longer than the buffer makes it grow.
    """
    buf = bytearray(size)
    filled = 0
    with open(path, "rb", buffering=0) as fh:
        while True:
            end = filled
            while end < len(buf):
                got = fh.readinto(memoryview(buf)[end:])
                if not got:
                    break
                end += got
            if end < len(buf):  # end of file: what is left is the last block
                if end:
                    yield memoryview(buf)[:end]
                return
            cut = buf.rfind(b"\n", 0, end) + 1
            if cut == 0:  # not a whole line yet
                grown = bytearray(2 * len(buf))
                grown[:end] = buf
                buf, filled = grown, end
                continue
            yield memoryview(buf)[:cut]
            tail = bytes(buf[cut:end])
            buf[:len(tail)] = tail
            filled = len(tail)


def _read_csv_rows(path: Path, kind: str, wanted: pd.Index | None,
                   columns: list[int] | None) -> MatrixRows:
    """:func:`read_matrix_rows` for a headerless CSV."""
    index_name = MATRIX_KINDS[kind][0]
    read_opts, convert_opts = _csv_options(path, kind)
    names = read_opts.column_names[1:]
    n_columns = len(names)
    if columns is not None:
        names = [str(c) for c in columns if 1 <= int(c) <= n_columns]
    convert_opts.include_columns = ["_id", *names]
    dtype = np.int8 if kind == "pacall" else np.float64
    blocks: list[np.ndarray] = []
    if wanted is None:  # every row: blocks are stacked at the end
        parts: list[np.ndarray] = []
    else:
        values = np.empty((len(wanted), len(names)), dtype=dtype, order="F")
        found = np.zeros(len(wanted), dtype=bool)
    try:
        for text in _text_blocks(path, _TEXT_BLOCK):
            table = pacsv.read_csv(pa.BufferReader(pa.py_buffer(text)),
                                   read_options=read_opts, convert_options=convert_opts)
            del text
            ids = table.column(0).to_numpy()
            blocks.append(ids)
            if wanted is None:
                part = np.empty((table.num_rows, len(names)), dtype=dtype, order="F")
                _fill(part, table, None, None, names)
                parts.append(part)
            else:
                pos = wanted.get_indexer(ids)
                sel = pos >= 0
                if sel.any():
                    _fill(values, table, pos[sel], sel, names)
                    found[pos[sel]] = True
            del table
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _parse_error(path, kind, exc) from None
    except ValueError as exc:  # empty fields: name the file
        raise ValueError(f"{path}: {exc}") from None
    finally:
        _release_arrow_memory()
    ids = np.concatenate(blocks) if blocks else np.empty(0, dtype=np.int64)
    if wanted is None:
        values = (np.asfortranarray(np.concatenate(parts)) if parts
                  else np.empty((0, len(names)), dtype=dtype))
        parts.clear()
        index = pd.Index(ids, name=index_name)
    else:
        if not found.all():  # absent from the file: left out
            values = values[found]
        index = pd.Index(wanted[found], name=index_name)
    cols = pd.Index([int(n) for n in names], name="sample_id")
    frame = pd.DataFrame(values, index=index, columns=cols, copy=False)
    return MatrixRows(frame, ids, n_columns)


def _fill(values: np.ndarray, table: pa.Table, pos: np.ndarray | None,
          sel: np.ndarray | None, names: list[str]) -> None:
    """Copy the sample columns of a parsed block into `values` (rows `pos` of it)."""
    for j, name in enumerate(names):
        col = table.column(j + 1)
        if col.null_count:
            raise ValueError(f"matrix has missing values in sample column {name}; the file "
                             "is truncated or corrupt: re-fetch the donor.")
        block = col.to_numpy()
        if pos is None:
            values[:, j] = block
        else:
            values[pos, j] = block[sel]


def _read_matrix(fname, kind: str, copy: bool) -> pd.DataFrame:
    if isinstance(fname, pd.DataFrame):
        return fname.copy() if copy else fname
    path = _check_file(fname, kind)
    if _is_parquet(path):
        return read_matrix_parquet(path, kind)
    return _read_headerless(path, kind)


def read_microarray(fname, copy: bool = False, parquet: bool = True) -> pd.DataFrame:
    """Load a ``MicroarrayExpression.csv`` (or its parquet conversion).

    Parameters
    ----------
    fname : path-like or pandas.DataFrame
        The CSV, its parquet conversion, or a table already loaded.
    copy : bool, default=False
        Return a copy of a loaded table rather than the table itself.
    parquet : bool, default=True
        Accepted for abagen compatibility. Parsing is already fast here; the
        workflow converts to parquet in a separate, cached step.

    Returns
    -------
    microarray : pandas.DataFrame of shape (n_probes, n_samples)
        float64 log2 intensities; index ``probe_id``, columns sample ids
        (int, starting at 1, matching :func:`read_annotation`).
    """
    return _read_matrix(fname, "microarray", copy)


def read_pacall(fname, copy: bool = False, parquet: bool = True) -> pd.DataFrame:
    """Load a ``PACall.csv`` (present/absent calls).

    Parameters
    ----------
    fname : path-like or pandas.DataFrame
        ``PACall.csv`` or parquet file, or a DataFrame.
    copy : bool, default=False
        Copy a DataFrame `fname`.
    parquet : bool, default=True
        Accepted for abagen compatibility (see :func:`read_microarray`).

    Returns
    -------
    pacall : pandas.DataFrame of shape (n_probes, n_samples)
        int8 0/1 flags; index ``probe_id``, columns sample ids (from 1).
    """
    return _read_matrix(fname, "pacall", copy)


def read_tpm(fname, copy: bool = False) -> pd.DataFrame:
    """Load an RNA-seq ``RNAseqTPM.csv``.

    Parameters
    ----------
    fname : path-like or pandas.DataFrame
        File (CSV or parquet) or loaded DataFrame.
    copy : bool, default=False
        Whether a DataFrame is copied.

    Returns
    -------
    tpm : pandas.DataFrame of shape (n_genes, n_samples)
        float64; index ``gene_symbol``, columns sample ids (from 1, matching
        :func:`read_rnaseq_annotation`).
    """
    return _read_matrix(fname, "tpm", copy)


def read_counts(fname, copy: bool = False) -> pd.DataFrame:
    """Load an RNA-seq ``RNAseqCounts.csv``.

    Parameters
    ----------
    fname : path-like or pandas.DataFrame
        The counts as a file or as a DataFrame (returned as is unless `copy`).
    copy : bool, default=False
        See `fname`.

    Returns
    -------
    counts : pandas.DataFrame of shape (n_genes, n_samples)
        float64; index ``gene_symbol``, columns sample ids (from 1).
    """
    return _read_matrix(fname, "counts", copy)


def _read_table(fname, copy: bool, what: str, **kwargs) -> pd.DataFrame:
    if isinstance(fname, pd.DataFrame):
        return fname.copy() if copy else fname
    path = _check_file(fname, what)
    if _is_parquet(path):
        return pd.read_parquet(path)
    try:
        return pd.read_csv(path, **_FLOAT_KW, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"Could not parse {path} ({exc}); re-fetch the file.") from None


def _with_sample_ids(annot: pd.DataFrame) -> pd.DataFrame:
    """Index the rows of a SampleAnnot table ``sample_id`` 1, 2, ... (in place)."""
    annot.index = pd.RangeIndex(1, len(annot) + 1, name="sample_id")
    return annot


def read_annotation(fname, copy: bool = False) -> pd.DataFrame:
    """Load a microarray ``SampleAnnot.csv``.

    Parameters
    ----------
    fname : path-like or pandas.DataFrame
        CSV or parquet file. A DataFrame is returned unchecked (copied when
        `copy` is true).
    copy : bool, default=False
        Copy a DataFrame input.

    Returns
    -------
    annotation : pandas.DataFrame of shape (n_samples, 13)
        Index ``sample_id`` (1-based row number); columns ``structure_id``,
        ``slab_num``, ``well_id``, ``slab_type``, ``structure_acronym``,
        ``structure_name``, ``polygon_id``, ``mri_voxel_{x,y,z}``,
        ``mni_{x,y,z}``.
    """
    if isinstance(fname, pd.DataFrame):
        return fname.copy() if copy else fname
    annot = _read_table(fname, copy, "SampleAnnot")
    missing = [c for c in _ANNOTATION_DTYPES if c not in annot.columns]
    if missing:
        raise ValueError(f"{fname} lacks columns {missing}; is it a microarray SampleAnnot.csv?")
    try:
        annot = annot.astype(_ANNOTATION_DTYPES)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{fname}: a column has a value of the wrong type ({exc}); "
                         "re-fetch the file.") from None
    return _with_sample_ids(annot)


def read_rnaseq_annotation(fname, copy: bool = False) -> pd.DataFrame:
    """Load an RNA-seq ``SampleAnnot.csv`` (ontology columns renamed).

    Parameters
    ----------
    fname : path-like or pandas.DataFrame
        Path (CSV or parquet), or a DataFrame returned as it is.
    copy : bool, default=False
        Return a copy of that DataFrame.

    Returns
    -------
    annotation : pandas.DataFrame of shape (n_samples, 21)
        Index ``sample_id`` (from 1); ``ontology_structure_id`` and
        ``ontology_structure_acronym`` are renamed ``structure_id`` and
        ``structure_acronym``.
    """
    if isinstance(fname, pd.DataFrame):
        return fname.copy() if copy else fname
    annot = _read_table(fname, copy, "RNA-seq SampleAnnot")
    return _with_sample_ids(annot.rename(columns={
        "ontology_structure_id": "structure_id",
        "ontology_structure_acronym": "structure_acronym"}))


def read_ontology(fname, copy: bool = False) -> pd.DataFrame:
    """Load an ``Ontology.csv``.

    Parameters
    ----------
    fname : path-like or pandas.DataFrame
        Ontology file (CSV or parquet); a DataFrame is passed through
        unchanged.
    copy : bool, default=False
        Pass a copy of it instead.

    Returns
    -------
    ontology : pandas.DataFrame of shape (n_structures, 8)
        Columns ``id``, ``acronym``, ``name``, ``parent_structure_id``,
        ``hemisphere``, ``graph_order``, ``structure_id_path``,
        ``color_hex_triplet``.
    """
    return _read_table(fname, copy, "Ontology")


def read_probes(fname, copy: bool = False) -> pd.DataFrame:
    """Load a ``Probes.csv``.

    Parameters
    ----------
    fname : path-like or pandas.DataFrame
        A file, read and indexed by ``probe_id``; or a DataFrame, returned
        as it is.
    copy : bool, default=False
        Copy such a DataFrame.

    Returns
    -------
    probes : pandas.DataFrame of shape (n_probes, 6)
        Index ``probe_id``; columns ``probe_name``, ``gene_id``,
        ``gene_symbol``, ``gene_name``, ``entrez_id`` (float, NaN when
        absent), ``chromosome``.
    """
    if isinstance(fname, pd.DataFrame):
        return fname.copy() if copy else fname
    probes = _read_table(fname, copy, "Probes", dtype={"chromosome": "string"})
    if "probe_id" not in probes.columns:
        raise ValueError(f"{fname} has no probe_id column; is it a Probes.csv?")
    probes = probes.set_index("probe_id")
    probes["entrez_id"] = probes["entrez_id"].astype("float64")
    return probes


def read_genes(fname, copy: bool = False) -> pd.DataFrame:
    """Load an RNA-seq ``Genes.csv``.

    Parameters
    ----------
    fname : path-like or pandas.DataFrame
        Genes table: a CSV or parquet path, or a DataFrame (used as is).
    copy : bool, default=False
        If true, a DataFrame is copied first.

    Returns
    -------
    genes : pandas.DataFrame of shape (n_genes, 10)
        Index ``gene_symbol``.
    """
    if isinstance(fname, pd.DataFrame):
        return fname.copy() if copy else fname
    return _read_table(fname, copy, "Genes").set_index("gene_symbol")


# ---------------------------------------------------------------------------
# parquet conversion


def csv_to_parquet(src: PathLike, dest: PathLike, kind: str) -> Path:
    """Convert a headerless AHBA matrix CSV to parquet with an explicit schema.

    The schema is ``<index>: int64 | string`` followed by one column per
    sample named ``"1"``, ``"2"``, ... of type float64 (int8 for PACall).
    Values are exactly those parsed from the CSV.

    Parameters
    ----------
    src : path-like
        ``MicroarrayExpression.csv``, ``PACall.csv``, ``RNAseqTPM.csv`` or
        ``RNAseqCounts.csv``.
    dest : path-like
        Output parquet path (written atomically).
    kind : {'microarray', 'pacall', 'tpm', 'counts'}

    Returns
    -------
    dest : pathlib.Path
    """
    check_choice("kind", kind, list(MATRIX_KINDS))
    path = _check_file(src, kind)
    read_opts, convert_opts = _csv_options(path, kind, threads=False)
    index_name, value_type = MATRIX_KINDS[kind]
    names = read_opts.column_names
    fields = [pa.field(index_name, convert_opts.column_types["_id"], nullable=False)]
    fields += [pa.field(n, value_type, nullable=False) for n in names[1:]]
    schema = pa.schema(fields)
    # Streamed: blocks of rows are parsed (one thread) and written as row
    # groups of ~_ROW_GROUP rows, so memory stays at a few blocks whatever the
    # file size; the values are exactly those pyarrow parses from the CSV.
    dest = Path(dest)
    # a cached intermediate: renamed into place without fsync (see write_parquet_atomic)
    with atomic_path(dest, durable=False) as tmp, pq.ParquetWriter(
            tmp, schema, compression="lz4", use_dictionary=False,
            write_page_checksum=True, write_statistics=False) as writer:
        pending: list[pa.RecordBatch] = []
        n_pending = 0
        try:
            reader = pacsv.open_csv(path, read_options=read_opts, convert_options=convert_opts)
            for batch in reader:
                pending.append(pa.RecordBatch.from_arrays(batch.columns, schema=schema))
                n_pending += batch.num_rows
                if n_pending >= _ROW_GROUP:
                    _write_row_group(writer, pending, schema, n_pending, path, kind)
                    pending, n_pending = [], 0
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise _parse_error(path, kind, exc) from None
        if pending:
            _write_row_group(writer, pending, schema, n_pending, path, kind)
    return dest


def _write_row_group(writer: pq.ParquetWriter, batches: list[pa.RecordBatch], schema: pa.Schema,
                     n_rows: int, path: Path, kind: str) -> None:
    """Write parsed batches as one row group; PACall values must be 0 or 1."""
    table = pa.Table.from_batches(batches, schema=schema)
    if kind == "pacall":  # all sample columns at once: one int8 min/max
        values = pa.chunked_array([c for col in table.columns[1:] for c in col.chunks],
                                  type=pa.int8())
        lo, hi = (x.as_py() for x in pc.min_max(values).values())
        if lo is not None and (lo < 0 or hi > 1):
            bad = next(name for name, col in zip(schema.names[1:], table.columns[1:], strict=True)
                       if not pc.all(pc.is_in(col, value_set=pa.array([0, 1], pa.int8()))).as_py())
            raise ValueError(
                f"{path}: present/absent calls must be 0 or 1; sample column {bad} holds "
                f"values from {lo} to {hi} in this block. The file is corrupt: re-fetch the donor."
            )
    writer.write_table(table, row_group_size=max(n_rows, 1))


#: rows per parquet row group of converted matrices
_ROW_GROUP = 8192


