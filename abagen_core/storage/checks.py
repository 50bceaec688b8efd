"""Cheap checks of parquet files written by this package, and the error for a broken one.

Files are written with page checksums and read with verification; a file whose
bytes are certainly wrong is removed (the workflow rebuilds it) and reported by
:func:`unreadable_artifact`. :func:`parquet_problem` reads only the footer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from abagen_core.errors import CorruptArtifactError
from abagen_core.storage.parquet import MATRIX_KINDS

__all__ = ["SCHEMA_VERSION", "META_KEY", "parquet_problem", "unreadable_artifact"]

PathLike = str | os.PathLike


SCHEMA_VERSION = "1"

META_KEY = b"abagen_core"


_MAGIC = b"PAR1"

#: what pyarrow says about a file whose bytes are certainly wrong
_CORRUPT_SIGNS = ("checksum", "magic bytes", "thrift", "deserializ", "corrupt",
                  "invalid parquet", "file size", "footer", "out of bounds",
                  "unexpected end of stream", "couldn't deserialize")

def _matrix_schema_problem(meta: Any, kind: str) -> str | None:

    index_name, value_type = MATRIX_KINDS[kind]
    schema = meta.schema.to_arrow_schema()
    if not len(schema) or schema.field(0).name != index_name:
        return f"first column is not {index_name!r}"
    for j, fld in enumerate(schema, start=0):
        if j == 0:
            continue
        if fld.name != str(j) or fld.type != value_type:
            return (f"column {j} is {fld.name!r} ({fld.type}), expected {str(j)!r} "
                    f"({value_type})")
    return None

def parquet_problem(path: PathLike, matrix: str | None = None) -> str | None:
    """Why a parquet file written by this package cannot be used, or None.

    Reads the first and last bytes and the footer only (never data pages):
    parquet magic bytes, a parsable footer whose column chunks lie inside the
    file, the ``abagen_core`` metadata (schema version, kind) when present,
    and, with `matrix`, the column layout of a matrix written by
    :func:`abagen_core.io.csv_to_parquet`.

    Parameters
    ----------
    path : path-like
    matrix : {'microarray', 'pacall', 'tpm', 'counts'}, optional
        The file should be a converted matrix of this kind.

    Returns
    -------
    problem : str or None
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4)
            if size >= 8:
                fh.seek(size - 8)
            tail = fh.read(8)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if size < 12 or head != _MAGIC or tail[-4:] != _MAGIC:
        return f"not a complete parquet file ({size} bytes; truncated or overwritten)"
    footer = int.from_bytes(tail[:4], "little")
    if footer + 12 > size:
        return "footer length exceeds the file size (truncated)"
    try:
        meta = pq.read_metadata(path)
    except Exception as exc:  # noqa: BLE001 - any failure means an unusable footer
        return f"unreadable footer ({' '.join(str(exc).split())[:200]})"
    # column chunks are written in order: the first and the last must lie
    # between the leading magic bytes and the footer
    data_end = size - footer - 8
    if meta.num_row_groups and meta.num_columns:
        for group, j in ((meta.row_group(0), 0),
                         (meta.row_group(meta.num_row_groups - 1), meta.num_columns - 1)):
            col = group.column(j)
            start = col.dictionary_page_offset if col.has_dictionary_page else \
                col.data_page_offset
            if start is None or start < 4 or start + col.total_compressed_size > data_end:
                return "column data lies outside the file (truncated)"
    kv = meta.metadata or {}
    if META_KEY in kv:
        try:
            info = json.loads(kv[META_KEY])
        except ValueError:
            return "unreadable abagen_core metadata"
        if info.get("schema_version") != SCHEMA_VERSION:
            return (f"written with schema version {info.get('schema_version')!r}; this "
                    f"version reads {SCHEMA_VERSION!r}")
        if not isinstance(info.get("kind"), str):
            return "no kind in its abagen_core metadata"
    elif matrix is not None:
        problem = _matrix_schema_problem(meta, matrix)
        if problem:
            return f"not a converted matrix: {problem}"
    return None

def unreadable_artifact(path: PathLike, exc: BaseException) -> Exception:
    """The error for an intermediate file that failed to load; removes it if corrupt.

    A file whose bytes are certainly wrong (page checksum mismatch, missing
    magic bytes, unparsable footer) is deleted, so that the next run of the
    workflow rebuilds it; the message says so. Other failures (e.g. out of
    memory) leave the file alone.

    Parameters
    ----------
    path : path-like
    exc : BaseException
        What pyarrow raised.

    Returns
    -------
    error : abagen_core.storage.artifacts.CorruptArtifactError
        To be raised by the caller.
    """
    text = " ".join(str(exc).split())
    path = Path(path)
    corrupt = isinstance(exc, OSError | ValueError) and any(
        sign in text.lower() for sign in _CORRUPT_SIGNS)
    if corrupt and path.is_file():
        try:
            path.unlink()
        except OSError:
            corrupt = False
    if corrupt:
        return CorruptArtifactError(
            f"Intermediate file {path} is corrupt ({text}); it has been removed. Re-run the "
            "workflow: it rebuilds the file.")
    return CorruptArtifactError(
        f"Intermediate file {path} is unreadable ({text}). Delete it and re-run; the "
        "workflow will rebuild it.")
