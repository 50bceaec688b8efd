"""Reading and writing the workflow's intermediate artifacts (parquet).

Every intermediate is a parquet file written atomically (temporary file +
rename) with an explicit schema; readers check the schema version stored
in the file's metadata so a stale or foreign file is rebuilt, never
silently used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from abagen_core.errors import CorruptArtifactError
from abagen_core.stages.probes import PACallSummary, ProbeSummary
from abagen_core.storage.atomic import write_text_atomic
from abagen_core.storage.checks import META_KEY, SCHEMA_VERSION, unreadable_artifact
from abagen_core.storage.parquet import write_parquet_atomic, write_parquet_parts_atomic

__all__ = ["write_frame", "read_frame", "write_probe_summary", "read_probe_summary",
           "write_pacall_summary", "read_pacall_summary",
           "read_donor_genes", "count_rows", "frame_shape"]

#: frames with more columns than this are stored transposed
_WIDE = 512


def write_frame(frame: pd.DataFrame, path: str | os.PathLike, *, kind: str,
                attrs: dict[str, Any] | None = None) -> Path:
    """Write a DataFrame (index kept) to parquet with provenance metadata.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : path-like
    kind : str
        What the file holds (e.g. 'samples', 'labels'); checked on reading.
    attrs : dict, optional
        JSON-serialisable extra metadata (e.g. the probe count after
        intensity filtering), returned by :func:`read_frame`.
    """
    attrs = dict(attrs or {})
    if frame.shape[1] > _WIDE:
        # thousands of columns (genes) make parquet metadata and pyarrow's
        # per-column work dominate; wide numeric frames are stored transposed
        ints = [str(c) for c, t in frame.dtypes.items() if t.kind in "iub"]
        attrs["_transposed"] = {
            "index": [v.item() if hasattr(v, "item") else v for v in frame.index],
            "index_name": frame.index.name,
            "columns_name": frame.columns.name,
            "int_columns": ints,
        }
        meta = _meta(kind, attrs)
        values = frame.to_numpy(dtype=np.float64)
        names = [f"r{i}" for i in range(len(values))] + ["column"]
        columns = [str(c) for c in frame.columns]

        def parts():
            # stored column r<i> is the frame's row i; a row group per block of
            # the frame's columns, each from one small C-ordered copy
            for lo in range(0, len(columns), _WRITE_COLUMNS):
                block = np.ascontiguousarray(values[:, lo:lo + _WRITE_COLUMNS])
                arrays = [pa.array(row) for row in block]
                arrays.append(pa.array(columns[lo:lo + _WRITE_COLUMNS], type=pa.string()))
                yield pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(meta)

        return write_parquet_parts_atomic(parts(), path, durable=False)
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    table = pa.Table.from_pandas(frame, preserve_index=True)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           **_meta(kind, attrs)})
    return write_parquet_atomic(table, path, durable=False)


#: columns of a wide frame :func:`write_frame` stores per row group
_WRITE_COLUMNS = 2048


def _meta(kind: str, attrs: dict[str, Any]) -> dict[bytes, bytes]:
    """The provenance metadata entry of an artifact."""
    return {META_KEY: json.dumps({"schema_version": SCHEMA_VERSION, "kind": kind,
                                  "attrs": attrs}, default=str).encode()}


def read_frame(path: str | os.PathLike, *, kind: str, columns: list[str] | None = None,
               with_attrs: bool = False):
    """Read a file written by :func:`write_frame`, checking its kind and version.

    Parameters
    ----------
    path : path-like
    kind : str
        What the file must hold (as given to :func:`write_frame`).
    columns : list of str, optional
        Read only these columns.
    with_attrs : bool, default=False
        Also return the extra metadata.

    Returns
    -------
    frame : pandas.DataFrame
    attrs : dict
        Only with `with_attrs`.

    Raises
    ------
    CorruptArtifactError
        If the file is unreadable, of another kind or schema version; the
        message says to delete it so the workflow rebuilds it.
    """
    path = Path(path)
    try:
        # the footer first: a wide (transposed) table is read a few columns
        # at a time by _untranspose
        meta = json.loads((pq.read_schema(path).metadata or {})[META_KEY])
        if "_transposed" not in meta.get("attrs", {}):
            table = pq.read_table(path, columns=columns, page_checksum_verification=True)
    except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
        # a certainly corrupt file (e.g. page checksum mismatch) is removed
        raise unreadable_artifact(path, exc) from None
    if meta.get("kind") != kind or meta.get("schema_version") != SCHEMA_VERSION:
        raise CorruptArtifactError(
            f"{path} holds {meta.get('kind')!r} (schema {meta.get('schema_version')}), "
            f"expected {kind!r} (schema {SCHEMA_VERSION}). Delete it and re-run."
        )
    attrs = meta.get("attrs", {})
    wide = attrs.pop("_transposed", None)
    if wide is None:
        frame = table.to_pandas()
    else:
        frame = _untranspose(path, wide)
    return (frame, attrs) if with_attrs else frame


#: stored columns (rows of the frame) :func:`_untranspose` reads at once
_READ_COLUMNS = 128


def _untranspose(path: Path, wide: dict[str, Any]) -> pd.DataFrame:
    """The frame :func:`write_frame` stored transposed, read from its file.

    Each stored column (one row of the frame) is copied once into a
    Fortran-ordered float64 array (each original column contiguous, the
    layout the rest of the code has always received), which is faster and
    leaner than converting to pandas and transposing. The stored columns are
    read :data:`_READ_COLUMNS` at a time, so that arrow's buffers stay small
    beside the array.
    """
    names = [f"r{i}" for i in range(len(wide["index"]))]
    try:
        file = pq.ParquetFile(path, page_checksum_verification=True)
        columns = file.read(columns=["column"]).column("column").to_numpy(zero_copy_only=False)
        values = np.empty((file.metadata.num_rows, len(names)), dtype=np.float64)
        for start in range(0, len(names), _READ_COLUMNS):
            part = file.read(columns=names[start:start + _READ_COLUMNS])
            for j in range(part.num_columns):
                values[:, start + j] = part.column(j).to_numpy(zero_copy_only=False)
            del part
    except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
        raise unreadable_artifact(path, exc) from None
    # hand arrow's buffers back to the system now: jobs read one wide table after another
    pa.default_memory_pool().release_unused()
    frame = pd.DataFrame(values.T, index=pd.Index(wide["index"], name=wide["index_name"]),
                         columns=pd.Index(columns, name=wide["columns_name"]), copy=False)
    for col in wide["int_columns"]:
        frame[col] = frame[col].astype(np.int64)
    return frame


# ---------------------------------------------------------------------------
# probe-selection summaries (abagen_core.stages.probes.ProbeSummary) as parquet


def write_probe_summary(summary, folder: str | os.PathLike) -> Path:
    """Store a :class:`~abagen_core.stages.probes.ProbeSummary` as parquet files.

    ``folder/moments.parquet`` (probe_id, mean, m2), ``comoments.parquet``
    (long: gene, probe_i, probe_j, value), ``block.parquet`` (multi-probe
    rows x samples, columns positional) and ``regions.parquet`` (probe x
    structure_id), each only when the summary has it; ``folder/summary.json``
    holds the method and sample count and is written last, so a folder
    without it is incomplete.

    Parameters
    ----------
    summary : abagen_core.stages.probes.ProbeSummary
    folder : path-like
        Created if needed.

    Returns
    -------
    folder : pathlib.Path
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").unlink(missing_ok=True)
    parts = []
    if summary.mean is not None:
        frame = pd.DataFrame({"mean": summary.mean, "m2": summary.m2})
        write_frame(frame, folder / "moments.parquet", kind="probe_moments")
        parts.append("moments")
    if summary.comoments:
        rows = []
        for gene, mat in summary.comoments.items():
            ids = mat.index.to_numpy()
            values = mat.to_numpy()
            for i, pi in enumerate(ids):
                for j, pj in enumerate(ids):
                    rows.append((gene, int(pi), int(pj), float(values[i, j])))
        frame = pd.DataFrame(rows, columns=["gene", "probe_i", "probe_j", "value"])
        write_frame(frame, folder / "comoments.parquet", kind="probe_comoments")
        parts.append("comoments")
    if summary.block is not None:
        block = summary.block.copy()
        sample_ids = [int(c) for c in block.columns]
        block.columns = [f"c{i}" for i in range(block.shape[1])]
        write_frame(block, folder / "block.parquet", kind="probe_block",
                    attrs={"sample_ids": sample_ids})
        parts.append("block")
    if summary.regions is not None:
        regions = summary.regions.copy()
        regions.columns = [str(c) for c in regions.columns]
        write_frame(regions, folder / "regions.parquet", kind="probe_regions")
        parts.append("regions")
    write_text_atomic(json.dumps({"method": summary.method, "n_samples": summary.n_samples,
                                  "parts": parts}), folder / "summary.json")
    return folder


def read_probe_summary(folder: str | os.PathLike):
    """Inverse of :func:`write_probe_summary`.

    Parameters
    ----------
    folder : path-like
        A folder written by :func:`write_probe_summary`.

    Returns
    -------
    summary : abagen_core.stages.probes.ProbeSummary

    Raises
    ------
    CorruptArtifactError
        If the folder is incomplete (no ``summary.json``).
    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        raise CorruptArtifactError(f"{folder} is an incomplete probe summary; delete it and "
                                   "re-run.") from None
    summary = ProbeSummary(method=meta["method"], n_samples=int(meta["n_samples"]))
    if "moments" in meta["parts"]:
        frame = read_frame(folder / "moments.parquet", kind="probe_moments")
        summary.mean, summary.m2 = frame["mean"], frame["m2"]
    if "comoments" in meta["parts"]:
        frame = read_frame(folder / "comoments.parquet", kind="probe_comoments")
        for gene, sub in frame.groupby("gene", sort=False):
            mat = sub.pivot(index="probe_i", columns="probe_j", values="value")
            ids = pd.unique(sub["probe_i"])
            mat = mat.loc[ids, ids]
            mat.index.name = mat.columns.name = "probe_id"
            summary.comoments[gene] = mat
    if "block" in meta["parts"]:
        frame, attrs = read_frame(folder / "block.parquet", kind="probe_block",
                                  with_attrs=True)
        frame.columns = attrs["sample_ids"]
        summary.block = frame
    if "regions" in meta["parts"]:
        frame = read_frame(folder / "regions.parquet", kind="probe_regions")
        frame.columns = pd.Index([int(c) for c in frame.columns], name="structure_id")
        summary.regions = frame
    return summary


def write_pacall_summary(summary: PACallSummary, path: str | os.PathLike) -> Path:
    """Write one donor's PACall counts (its part of the intensity filter).

    Parameters
    ----------
    summary : PACallSummary
        :func:`abagen_core.stages.probes.pacall_summary` output.
    path : path-like
        The parquet file (written atomically).

    Returns
    -------
    path : pathlib.Path
    """
    return write_frame(summary.counts.to_frame(), path, kind="pacall_summary",
                       attrs={"n_samples": summary.n_samples})


def read_pacall_summary(path: str | os.PathLike) -> PACallSummary:
    """Read a file written by :func:`write_pacall_summary`.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    summary : PACallSummary
        ``counts`` (pandas.Series of shape (n_probes,)) and ``n_samples``.
    """
    frame, attrs = read_frame(path, kind="pacall_summary", with_attrs=True)
    return PACallSummary(frame["n_signal"], int(attrs["n_samples"]))


def read_donor_genes(donors: Sequence[str], genes: Sequence[str], samples: Sequence[str]
                     ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Every donor's ``donor_genes`` and ``prepare_samples`` tables, by donor.

    Parameters
    ----------
    donors : sequence of str
    genes, samples : sequence of path
        One file per donor, in `donors` order.
    """
    return ({d: read_frame(p, kind="genes") for d, p in zip(donors, genes, strict=True)},
            {d: read_frame(p, kind="samples") for d, p in zip(donors, samples, strict=True)})

def count_rows(path: str) -> int:
    """Number of rows of a parquet file (from its footer).

    Parameters
    ----------
    path : str

    Returns
    -------
    n_rows : int
    """
    return int(pq.ParquetFile(path).metadata.num_rows)


def frame_shape(path: str | os.PathLike) -> tuple[int, int]:
    """Shape of the frame a :func:`write_frame` file holds, from its footer only.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    shape : (int, int)
        Rows and columns of the frame (index not counted).
    """
    file = pq.ParquetFile(path)
    schema = file.schema_arrow
    try:
        meta = json.loads((schema.metadata or {})[META_KEY])
    except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
        raise unreadable_artifact(Path(path), exc) from None
    wide = meta.get("attrs", {}).get("_transposed")
    if wide is not None:  # one stored row per column of the frame
        return len(wide["index"]), int(file.metadata.num_rows)
    index = [c for c in (schema.pandas_metadata or {}).get("index_columns", [])
             if isinstance(c, str)]
    return int(file.metadata.num_rows), len(schema.names) - len(index)
