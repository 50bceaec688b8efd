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
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

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
    "write_parquet_atomic",
    "read_matrix_parquet",
    "MATRIX_KINDS",
]

PathLike = str | os.PathLike

#: headerless matrix files: kind -> (index name, value dtype)
MATRIX_KINDS: dict[str, tuple[str, pa.DataType]] = {
    "microarray": ("probe_id", pa.float64()),
    "pacall": ("probe_id", pa.int8()),
    "tpm": ("gene_symbol", pa.float64()),
    "counts": ("gene_symbol", pa.float64()),
}

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
    return path


def _read_headerless(path: Path, kind: str) -> pd.DataFrame:
    """Parse a headerless AHBA matrix CSV into a DataFrame (rows x samples)."""
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
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True,
                                           block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(column_types=types),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(
            f"Could not parse {path} as an AHBA {kind} matrix ({exc}). The file may be "
            "truncated or corrupt: delete it and re-fetch the donor."
        ) from None
    return _table_to_frame(table, index_name, kind)


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
        Sample ids (1-based) to read; all when None.
    rows : array-like, optional
        Row ids (probe ids / gene symbols) to keep, filtered in Arrow before
        any pandas object is built (saves memory on wide files); file order
        is kept.

    Returns
    -------
    matrix : pandas.DataFrame of shape (n_rows, n_samples)
    """
    index_name = MATRIX_KINDS[kind][0]
    cols = None if columns is None else [index_name] + [str(c) for c in columns]
    table = pq.read_table(path, columns=cols, use_threads=True)
    if rows is not None:
        import pyarrow.compute as pc

        wanted = pa.array(np.asarray(rows), type=table.schema.field(0).type)
        table = table.filter(pc.is_in(table.column(0), value_set=wanted))
    return _table_to_frame(table, index_name, kind)


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
        CSV or parquet file; a DataFrame is returned as is (see `copy`).
    copy : bool, default=False
        Copy a DataFrame input.
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

    Returns
    -------
    pacall : pandas.DataFrame of shape (n_probes, n_samples)
        int8 0/1 flags; index ``probe_id``, columns sample ids (from 1).
    """
    return _read_matrix(fname, "pacall", copy)


def read_tpm(fname, copy: bool = False) -> pd.DataFrame:
    """Load an RNA-seq ``RNAseqTPM.csv``.

    Returns
    -------
    tpm : pandas.DataFrame of shape (n_genes, n_samples)
        float64; index ``gene_symbol``, columns sample ids (from 1, matching
        :func:`read_rnaseq_annotation`).
    """
    return _read_matrix(fname, "tpm", copy)


def read_counts(fname, copy: bool = False) -> pd.DataFrame:
    """Load an RNA-seq ``RNAseqCounts.csv``.

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
    except pd.errors.ParserError as exc:
        raise ValueError(f"Could not parse {path} ({exc}); re-fetch the file.") from None


def read_annotation(fname, copy: bool = False) -> pd.DataFrame:
    """Load a microarray ``SampleAnnot.csv``.

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
    annot = annot.astype(_ANNOTATION_DTYPES)
    annot.index = pd.RangeIndex(1, len(annot) + 1, name="sample_id")
    return annot


def read_rnaseq_annotation(fname, copy: bool = False) -> pd.DataFrame:
    """Load an RNA-seq ``SampleAnnot.csv`` (ontology columns renamed).

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
    annot = annot.rename(columns={"ontology_structure_id": "structure_id",
                                  "ontology_structure_acronym": "structure_acronym"})
    annot.index = pd.RangeIndex(1, len(annot) + 1, name="sample_id")
    return annot


def read_ontology(fname, copy: bool = False) -> pd.DataFrame:
    """Load an ``Ontology.csv``.

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


def _atomic_target(dest: Path) -> str:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    return tmp


def write_parquet_atomic(table: pa.Table | pd.DataFrame, dest: PathLike) -> Path:
    """Write a parquet file so that readers never see a partial file.

    The table goes to a temporary file in the same folder, is fsynced, and is
    renamed over `dest` in one step.
    """
    dest = Path(dest)
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=True)
    tmp = _atomic_target(dest)
    try:
        pq.write_table(table, tmp, compression="lz4", use_dictionary=False)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


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
    from .utils import check_choice

    check_choice("kind", kind, list(MATRIX_KINDS))
    frame = _read_headerless(_check_file(src, kind), kind)
    index_name, value_type = MATRIX_KINDS[kind]
    index_type = pa.string() if index_name == "gene_symbol" else pa.int64()
    fields = [pa.field(index_name, index_type, nullable=False)]
    fields += [pa.field(str(c), value_type, nullable=False) for c in frame.columns]
    arrays = [pa.array(frame.index.to_numpy(), type=index_type)]
    values = frame.to_numpy()
    arrays += [pa.array(values[:, j], type=value_type) for j in range(values.shape[1])]
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    return write_parquet_atomic(table, dest)
