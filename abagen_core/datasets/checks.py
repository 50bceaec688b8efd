"""Checks of the AHBA data: the data folder, and each donor's tables against each other.

Run before any heavy work, so that bad input fails with a message naming the
file and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from abagen_core import io
from abagen_core.datasets import fetch
from abagen_core.datasets.layout import MICROARRAY_FILES
from abagen_core.errors import InputError
from abagen_core.storage.parquet import MATRIX_KINDS

__all__ = ["check_data_dir", "check_donor_tables", "check_donor_matrix", "check_pacall_values",
           "check_converted_matrix"]

PathLike = str | os.PathLike


def check_data_dir(data_dir: PathLike, donors: Sequence[str], *, download: bool = False) -> None:
    """Check, before any job, that `data_dir` holds every donor's five files.

    Parameters
    ----------
    data_dir : path-like
        The resolved ``data_dir``.
    donors : list of str
        Donor numbers.
    download : bool, default=False
        Missing donors will be downloaded: only a `data_dir` that exists
        but is not a readable folder is an error.

    Raises
    ------
    InputError
        Naming `data_dir` or the missing / unreadable file.
    """

    path = Path(data_dir)
    if path.exists() and not path.is_dir():
        raise InputError(f"data_dir: {path} is not a folder. Point `data_dir` (or "
                         "$ABAGEN_DATA) at the folder holding your AHBA download.")
    if path.is_dir() and not os.access(path, os.R_OK | os.X_OK):
        raise InputError(f"data_dir: the folder {path} cannot be read (permission denied); "
                         "fix its permissions or copy the data somewhere readable.")
    if download:
        return
    if not path.exists():
        raise InputError(f"data_dir: {path} does not exist. Point `data_dir` (or $ABAGEN_DATA) "
                         "at your AHBA download, or set `download: true` to fetch the donors.")
    for donor in donors:
        try:
            files = fetch.find_donor_files(path, [donor], download=False, verbose=0)[donor]
        except FileNotFoundError as exc:
            raise InputError(f"data_dir: {exc} Or set `download: true`.") from None
        for name in files.values():
            if not os.access(name, os.R_OK):
                raise InputError(f"data_dir: {name} cannot be read (permission denied).")

def _named(path: PathLike | None, default: str) -> str:
    """A file's name for messages: the path, plus its target when it is a link."""
    if path is None:
        return default
    path = Path(path)
    try:
        real = path.resolve()
    except OSError:
        return str(path)
    return str(path) if real == path.absolute() else f"{path} (-> {real})"

def _sample(values: Iterable[Any], n: int = 5) -> list[Any]:
    out = []
    for v in values:
        out.append(v.item() if hasattr(v, "item") else v)
        if len(out) == n:
            break
    return out

def _compare(matrix_ids: np.ndarray, n_columns: int, *, probe_ids: Any,
             n_samples: int | None, matrix_file: str, probes_file: str,
             annotation_file: str) -> None:
    """Refuse repeated probe ids, a sample count or probe ids that do not match."""
    fix = ("The donor's files do not belong together, or one is truncated: re-fetch the "
           "donor (or restore the original files).")
    ids = pd.Index(matrix_ids)
    if ids.has_duplicates:
        dup = _sample(ids[ids.duplicated()].unique())
        raise InputError(f"{matrix_file}: probe ids repeated on several rows (e.g. {dup}); "
                         f"each row must be a distinct probe. {fix}")
    if n_samples is not None and n_columns != n_samples:
        raise InputError(f"{matrix_file} has {n_columns} sample columns but {annotation_file} "
                         f"lists {n_samples} samples; the j-th column must be the j-th sample. "
                         f"{fix}")
    if probe_ids is not None:
        table = pd.Index(probe_ids)
        extra = ids.difference(table)
        absent = table.difference(ids)
        if len(extra) or len(absent):
            parts = []
            if len(extra):
                parts.append(f"{len(extra)} row(s) whose probe id is not in {probes_file} "
                             f"(e.g. {_sample(extra)})")
            if len(absent):
                parts.append(f"no row for {len(absent)} probe(s) of {probes_file} "
                             f"(e.g. {_sample(absent)})")
            raise InputError(f"{matrix_file} ({len(ids)} rows) does not match {probes_file} "
                             f"({len(table)} probes): {' and '.join(parts)}. {fix}")

def check_donor_tables(*, microarray: pd.DataFrame, pacall: pd.DataFrame,
                       annotation: pd.DataFrame, probes: pd.DataFrame,
                       files: Mapping[str, PathLike] | None = None) -> None:
    """Check that one donor's five tables belong together.

    Parameters
    ----------
    microarray, pacall : pandas.DataFrame of shape (n_probes, n_samples)
        As read by :func:`abagen_core.io.read_microarray` / ``read_pacall``.
    annotation : pandas.DataFrame of shape (n_samples, n_columns)
    probes : pandas.DataFrame of shape (n_probes, n_columns)
        Indexed by ``probe_id``.
    files : mapping, optional
        File of each table (keys ``microarray``, ``pacall``, ``annotation``,
        ``probes``), named in the messages.

    Raises
    ------
    InputError
        Repeated probe ids, a column count that differs from the number of
        samples in ``SampleAnnot.csv``, probe ids that differ from those of
        ``Probes.csv``, or PACall values other than 0 and 1.
    """
    for kind, frame in (("microarray", microarray), ("pacall", pacall)):
        check_donor_matrix(kind, frame.index.to_numpy(), frame.shape[1], annotation=annotation,
                           probes=probes, files=files)
    check_pacall_values(pacall, files=files)


def _file_names(files: Mapping[str, PathLike] | None) -> dict[str, str]:
    files = dict(files or {})
    return {k: _named(files.get(k), MICROARRAY_FILES[k])
            for k in ("microarray", "pacall", "annotation", "probes")}


def check_donor_matrix(kind: str, ids: np.ndarray, n_columns: int, *,
                       annotation: pd.DataFrame, probes: pd.DataFrame,
                       files: Mapping[str, PathLike] | None = None) -> None:
    """Check one donor's matrix (its row ids and column count) against its tables.

    Parameters
    ----------
    kind : {'microarray', 'pacall'}
        Which matrix.
    ids : numpy.ndarray of shape (n_rows,)
        Every row id of the matrix file.
    n_columns : int
        Its number of sample columns.
    annotation : pandas.DataFrame of shape (n_samples, n_columns)
        The donor's ``SampleAnnot.csv``.
    probes : pandas.DataFrame of shape (n_probes, n_columns)
        The donor's ``Probes.csv``, indexed by ``probe_id``.
    files : mapping, optional
        File of each table, named in the messages (as in
        :func:`check_donor_tables`).

    Raises
    ------
    InputError
        Repeated probe ids, a column count that differs from the number of
        samples, or probe ids that differ from those of ``Probes.csv``.
    """
    names = _file_names(files)
    _compare(ids, n_columns, probe_ids=probes.index, n_samples=len(annotation),
             matrix_file=names[kind], probes_file=names["probes"],
             annotation_file=names["annotation"])


def check_pacall_values(pacall: pd.DataFrame, *,
                        files: Mapping[str, PathLike] | None = None) -> None:
    """Refuse present/absent calls other than 0 and 1.

    Parameters
    ----------
    pacall : pandas.DataFrame of shape (n_probes, n_samples)
        A donor's PACall matrix.
    files : mapping, optional
        File of each table, named in the message.

    Raises
    ------
    InputError
    """
    values = pacall.to_numpy()
    if values.size and (values.min() < 0 or values.max() > 1):
        bad = values[(values < 0) | (values > 1)]
        raise InputError(f"{_file_names(files)['pacall']}: present/absent calls must be 0 or "
                         f"1; found {_sample(np.unique(bad))}. The file is corrupt: re-fetch "
                         "the donor.")

def check_converted_matrix(parquet: PathLike, kind: str, csv: PathLike) -> None:
    """Check a matrix converted by :func:`abagen_core.io.csv_to_parquet` against its donor.

    Compares the parquet file's probe ids and sample count with the
    ``Probes.csv`` and ``SampleAnnot.csv`` beside `csv` (skipped when they
    are not there). Reads only the id column of `parquet`; PACall values
    (0 or 1) are checked by the conversion itself.

    Parameters
    ----------
    parquet : path-like
        The converted matrix.
    kind : {'microarray', 'pacall'}
    csv : path-like
        The CSV it was converted from (named in messages).

    Raises
    ------
    InputError
    """


    if kind not in ("microarray", "pacall"):
        return
    csv = Path(csv)
    probes_name, annot_name = MICROARRAY_FILES["probes"], MICROARRAY_FILES["annotation"]
    probes_csv, annot_csv = csv.parent / probes_name, csv.parent / annot_name
    pfile = pq.ParquetFile(parquet)
    index_name = MATRIX_KINDS[kind][0]
    ids = pfile.read(columns=[index_name]).column(0).to_numpy()
    n_columns = pfile.metadata.num_columns - 1
    probe_ids = io.read_probes(probes_csv).index if probes_csv.is_file() else None
    n_samples = len(io.read_annotation(annot_csv)) if annot_csv.is_file() else None
    _compare(ids, n_columns, probe_ids=probe_ids, n_samples=n_samples,
             matrix_file=_named(csv, csv.name), probes_file=_named(probes_csv, probes_name),
             annotation_file=_named(annot_csv, annot_name))
