"""Guards against bad input, interrupted runs and concurrent runs.

Three groups of checks, so that bad input fails early with a message naming
the config key or the file, and no run ever uses or leaves broken files:

- **Before any job runs** (called from ``workflow/rules/common.smk`` when
  the Snakefile is parsed): the config against its schema, with one short
  line per problem (:func:`check_config`); the data folder
  (:func:`check_data_dir`); every atlas (:func:`check_atlases`).
- **While the data are read**: a donor's expression and PACall matrices must
  agree with its ``Probes.csv`` and ``SampleAnnot.csv``
  (:func:`check_converted_matrix` after the CSV -> parquet conversion,
  :func:`check_donor_tables` in the Python API).
- **When a run starts in a working folder** (:func:`prepare_workdir`): a
  run lock (``.snakemake/abagen/run.lock``, an OS file lock released when the
  process ends, even on SIGKILL) tells whether another run of the workflow is
  alive in the folder. Holding it proves none is, so what an interrupted run
  left behind is cleaned up: Snakemake's stale directory locks, temporary
  files of interrupted atomic writes, results of interrupted jobs, and cached
  files that fail a cheap check of their parquet footer and of the
  ``abagen_core`` kind / schema metadata (:func:`parquet_problem`; data pages
  are not read). Files that passed are remembered by size and modification
  time, so a warm re-run checks only new files.

Corruption inside data pages is caught when a file is read: parquet files are
written with page checksums (``write_page_checksum=True``) and read with
``page_checksum_verification=True``; :func:`unreadable_artifact` turns the
failure into an error naming the file, and removes the file when it is
certainly corrupt. Snakemake rebuilds a removed file as soon as a job needs
it (as it does for ``temp()`` files): results that are up to date stay as
they are.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "InputError",
    "RunLock",
    "check_config",
    "check_data_dir",
    "check_atlas_spec",
    "check_atlases",
    "check_donor_tables",
    "check_converted_matrix",
    "parquet_problem",
    "unreadable_artifact",
    "acquire_run_lock",
    "repair_workdir",
    "prepare_workdir",
]

PathLike = str | os.PathLike
Log = Callable[[str], None]

#: state of these checks inside a working folder
STATE_DIR = Path(".snakemake") / "abagen"
#: folders of a working folder whose files the start-up check looks at
CHECKED_FOLDERS = ("resources", "results")
#: directory outputs: a broken file inside invalidates the whole folder, and
#: the folder is complete only with its marker file
_DIRECTORY_ARTIFACTS = {"resources/probes/summary/*/summary_*": "summary.json"}
#: where the workflow keeps matrices written by abagen_core.io.csv_to_parquet
#: (no abagen_core metadata: their column layout is checked instead)
_MATRIX_FILES = {"resources/parquet/*/microarray.parquet": "microarray",
                 "resources/parquet/*/pacall.parquet": "pacall",
                 "resources/parquet/rnaseq_*/tpm.parquet": "tpm"}
#: checksum files of the conversion ('<sha256>  <name>')
_CHECKSUM_FILES = "resources/parquet/*/*.sha256"
_MAGIC = b"PAR1"
#: what pyarrow says about a file whose bytes are certainly wrong
_CORRUPT_SIGNS = ("checksum", "magic bytes", "thrift", "deserializ", "corrupt",
                  "invalid parquet", "file size", "footer", "out of bounds",
                  "unexpected end of stream", "couldn't deserialize")


class InputError(ValueError):
    """Invalid input to the workflow: config, data folder, atlas or data file.

    The message names the config key or the file, what was wrong and how to
    fix it.
    """


# --------------------------------------------------------------------------- config


def _where(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _config_message(error: Any) -> str:
    """One line for a jsonschema ValidationError: key, allowed values, received value."""
    where = _where(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = sorted(schema.get("properties", {}))
        unknown = sorted(str(k) for k in error.instance if k not in allowed)
        return (f"config key `{where}`: unknown key(s) {unknown}; allowed keys: {allowed}.")
    if kind == "enum":
        return (f"config key `{where}`: {error.instance!r} is not allowed; allowed values: "
                f"{list(error.validator_value)}.")
    if kind == "type":
        return (f"config key `{where}`: expected {error.validator_value}, got "
                f"{error.instance!r} ({type(error.instance).__name__}).")
    if kind in ("minimum", "maximum"):
        relation = ">=" if kind == "minimum" else "<="
        return (f"config key `{where}`: must be {relation} {error.validator_value}; got "
                f"{error.instance!r}.")
    if kind in ("minItems", "minProperties"):
        what = "item(s)" if kind == "minItems" else "entry(ies)"
        return (f"config key `{where}`: needs at least {error.validator_value} {what}; got "
                f"{error.instance!r}.")
    if kind == "maxItems":
        return (f"config key `{where}`: takes at most {error.validator_value} item(s); got "
                f"{error.instance!r}.")
    if kind == "pattern":
        name = "the name " if "propertyNames" in list(error.relative_schema_path) else ""
        return (f"config key `{where}`: {name}{error.instance!r} is not allowed; it must "
                f"match {error.validator_value} (letters, digits, '_', '-', '.').")
    hint = f" ({schema['description']})" if schema.get("description") else ""
    return f"config key `{where}`: {error.message}{hint}"


def check_config(config: Mapping[str, Any], schema: PathLike | Mapping[str, Any]) -> None:
    """Validate a workflow config against its JSON schema, with short messages.

    Parameters
    ----------
    config : mapping
        The config as Snakemake loaded it.
    schema : path-like or mapping
        ``config/schema/config.schema.yaml`` or its content.

    Raises
    ------
    InputError
        One line per problem, each naming the key (dotted path), the allowed
        keys or values and what was received.
    """
    import jsonschema
    import yaml

    if not isinstance(schema, Mapping):
        schema = yaml.safe_load(Path(schema).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(config)),
                    key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [_config_message(e) for e in errors]
        raise InputError("Invalid config:\n  " + "\n  ".join(dict.fromkeys(lines)))


# --------------------------------------------------------------------------- data folder


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
    from . import fetch

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


# --------------------------------------------------------------------------- atlases


def _file_stamp(path: PathLike) -> list[Any]:
    try:
        st = os.stat(path)
    except OSError:
        return [str(path), None]
    return [str(path), st.st_size, st.st_mtime_ns]


def _atlas_key(spec: Any) -> str:
    files = list(spec.files.values()) + [spec.info] + list(spec.geometry or [])
    blob = json.dumps([spec.kind, spec.space, [_file_stamp(f) if f else None for f in files]])
    return hashlib.sha1(blob.encode()).hexdigest()


def _labels_of(img: Any) -> np.ndarray:
    data = np.asarray(img.dataobj)
    return np.unique(data[data != 0])


def check_atlas_spec(spec: Any) -> list[str]:
    """Load and check one configured atlas as the labelling step will use it.

    Parameters
    ----------
    spec : abagen_core.plan.AtlasSpec

    Returns
    -------
    warnings : list of str
        Problems abagen accepts (e.g. a volume far from MNI152 space), each
        prefixed with ``atlases.<name>``.

    Raises
    ------
    InputError
        Naming ``atlases.<name>``, the file and the problem (non-integer or
        negative labels, a 4-D or empty image, GIFTI vertex counts that do
        not match the geometry, labels in both hemispheres, an info table
        without the required columns or without rows for the atlas' labels,
        ...).
    """
    from . import images

    where = f"atlases.{spec.name}"
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if spec.kind == "surface":
            pair = (spec.files["lh"], spec.files["rh"])
            try:
                images.check_atlas(pair, spec.info, geometry=spec.geometry, space=spec.space)
            except Exception as exc:  # noqa: BLE001 - nibabel raises various errors
                raise InputError(f"{where}: cannot use {pair[0]}, {pair[1]}"
                                 f"{' with info ' + spec.info if spec.info else ''}: "
                                 f"{exc}") from None
        else:
            if spec.geometry:
                raise InputError(f"{where}.geometry: only GIFTI (lh/rh) atlases take a "
                                 "surface geometry; remove it for a NIfTI atlas.")
            for path in dict.fromkeys(spec.files.values()):
                try:
                    img = images.check_img(path)
                except Exception as exc:  # noqa: BLE001 - nibabel raises various errors
                    raise InputError(f"{where}: cannot use {path}: {exc}") from None
                if spec.info:
                    try:
                        images.check_atlas_info(spec.info, _labels_of(img))
                    except (ValueError, TypeError, OSError) as exc:
                        raise InputError(f"{where}.info: cannot use {spec.info} with {path}: "
                                         f"{exc}") from None
                if spec.kind == "volume":
                    # group atlas: the samples' MNI152 coordinates must fall in it
                    images._warn_if_not_mni(img)
    for item in caught:
        found.append(f"{where}: {' '.join(str(item.message).split())}")
    return found


def check_atlases(atlases: Mapping[str, Any], *, state_dir: PathLike | None = None,
                  log: Log | None = None) -> list[str]:
    """Check every configured atlas (see :func:`check_atlas_spec`) before any job.

    Parameters
    ----------
    atlases : mapping of str -> AtlasSpec
        ``Plan.atlases``.
    state_dir : path-like, optional
        Folder remembering atlases that passed (by file size and
        modification time), so unchanged atlases are not loaded again.
    log : callable, optional
        Receives each warning.

    Returns
    -------
    warnings : list of str
    """
    state = Path(state_dir) / "checked-atlases.json" if state_dir is not None else None
    known = _read_json(state) if state is not None else {}
    seen: dict[str, list[str]] = {}
    found: list[str] = []
    for spec in atlases.values():
        key = _atlas_key(spec)
        if key in known and isinstance(known[key], list):
            msgs = [str(m) for m in known[key]]
        else:
            msgs = check_atlas_spec(spec)
        seen[key] = msgs
        found += msgs
    if state is not None and seen != known:
        with contextlib.suppress(OSError):
            _write_json(state, seen)
    for msg in found:
        if log is not None:
            log(msg)
    return found


# --------------------------------------------------------------------------- data files


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
    files = dict(files or {})
    names = {k: _named(files.get(k), default) for k, default in (
        ("microarray", "MicroarrayExpression.csv"), ("pacall", "PACall.csv"),
        ("annotation", "SampleAnnot.csv"), ("probes", "Probes.csv"))}
    for kind, frame in (("microarray", microarray), ("pacall", pacall)):
        _compare(frame.index.to_numpy(), frame.shape[1], probe_ids=probes.index,
                 n_samples=len(annotation), matrix_file=names[kind],
                 probes_file=names["probes"], annotation_file=names["annotation"])
    values = pacall.to_numpy()
    if values.size and (values.min() < 0 or values.max() > 1):
        bad = values[(values < 0) | (values > 1)]
        raise InputError(f"{names['pacall']}: present/absent calls must be 0 or 1; found "
                         f"{_sample(np.unique(bad))}. The file is corrupt: re-fetch the donor.")


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
    import pyarrow.parquet as pq

    from . import io

    if kind not in ("microarray", "pacall"):
        return
    csv = Path(csv)
    probes_csv, annot_csv = csv.parent / "Probes.csv", csv.parent / "SampleAnnot.csv"
    pfile = pq.ParquetFile(parquet)
    index_name = io.MATRIX_KINDS[kind][0]
    ids = pfile.read(columns=[index_name]).column(0).to_numpy()
    n_columns = pfile.metadata.num_columns - 1
    probe_ids = io.read_probes(probes_csv).index if probes_csv.is_file() else None
    n_samples = len(io.read_annotation(annot_csv)) if annot_csv.is_file() else None
    _compare(ids, n_columns, probe_ids=probe_ids, n_samples=n_samples,
             matrix_file=_named(csv, csv.name), probes_file=_named(probes_csv, "Probes.csv"),
             annotation_file=_named(annot_csv, "SampleAnnot.csv"))
    # PACall values (0 or 1) are checked while converting (io.csv_to_parquet)


# --------------------------------------------------------------------------- parquet files


def _matrix_schema_problem(meta: Any, kind: str) -> str | None:
    from . import io

    index_name, value_type = io.MATRIX_KINDS[kind]
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
    import pyarrow.parquet as pq

    from .artifacts import _META_KEY, SCHEMA_VERSION

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
    if _META_KEY in kv:
        try:
            info = json.loads(kv[_META_KEY])
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
    error : abagen_core.artifacts.CorruptArtifactError
        To be raised by the caller.
    """
    from .artifacts import CorruptArtifactError

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


# --------------------------------------------------------------------------- working folder


@dataclass
class RunLock:
    """The per-folder run lock of :func:`acquire_run_lock`.

    Attributes
    ----------
    path : pathlib.Path
        The lock file.
    acquired : bool
        True when this process holds the lock: no other run of the workflow
        is alive in the folder.
    holder : str
        What the lock file says about the run holding it (when not
        acquired) or the previous run (when acquired).
    """

    path: Path
    acquired: bool
    holder: str = ""
    _handle: Any = field(default=None, repr=False)

    def release(self) -> None:
        """Give the lock up (it is also released when the process ends)."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
            self.acquired = False


def acquire_run_lock(root: PathLike) -> RunLock:
    """Take the run lock of working folder `root` without waiting.

    The lock is an exclusive ``flock`` on ``.snakemake/abagen/run.lock``:
    the operating system releases it when the process ends, however it
    ends, so a lock that can be taken proves that no run is alive. Keep the
    returned object referenced for as long as the run lasts.

    Parameters
    ----------
    root : path-like
        The working folder.

    Returns
    -------
    lock : RunLock
    """
    path = Path(root) / STATE_DIR / "run.lock"
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return RunLock(path, False, "file locks are not available on this system")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - kept open while the run lasts
    handle.seek(0)
    text = handle.read().strip()
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        if text.startswith(f"pid {os.getpid()} "):  # this process, parsing again
            return RunLock(path, True, text)
        reason = text or "another process"
        if not isinstance(exc, BlockingIOError):
            reason = f"file locks do not work here ({exc.strerror or exc})"
        return RunLock(path, False, reason)
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} on {socket.gethostname()}, started "
                 f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    handle.flush()
    return RunLock(path, True, text, handle)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: Any) -> None:
    from .artifacts import write_text_atomic

    write_text_atomic(json.dumps(data, sort_keys=True), path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _is_temporary(name: str) -> bool:
    """Names of the temporary files of this package's atomic writes.

    ``.<name>.<pid>.tmp`` (artifacts, raw), ``.<name>.<random>.tmp`` (io) and
    ``.<name>.tmp<pid>`` (cli).
    """
    return name.startswith(".") and re.search(r"\.tmp\d*$", name) is not None


def _incomplete_outputs(root: Path) -> list[Path]:
    """Files Snakemake marked incomplete (jobs started, never finished)."""
    base = root / ".snakemake" / "incomplete"
    out = []
    for dirpath, _, names in os.walk(base):
        rel = Path(dirpath).relative_to(base)
        prefix = "".join(part.lstrip("@") for part in rel.parts)
        for name in names:
            try:
                target = base64.urlsafe_b64decode(prefix + name).decode()
            except (ValueError, UnicodeDecodeError):
                continue
            out.append(Path(target))
    return out


def _directory_artifact(rel: str) -> tuple[str, str] | None:
    """(folder, marker) when `rel` lies in a directory output."""
    parts = rel.split("/")
    for pattern, marker in _DIRECTORY_ARTIFACTS.items():
        depth = pattern.count("/") + 1
        if len(parts) > depth and fnmatch("/".join(parts[:depth]), pattern):
            return "/".join(parts[:depth]), marker
    return None


def _checksum_problem(path: Path) -> str | None:
    try:
        words = path.read_text().split()
    except (OSError, UnicodeDecodeError) as exc:
        return f"unreadable ({exc})"
    if len(words) != 2 or len(words[0]) != 64 or not all(
            c in "0123456789abcdef" for c in words[0]):
        return "not a '<sha256>  <file name>' line"
    return None


def _file_problem(path: Path, rel: str) -> str | None:
    """Problem of a cached file, or None (also None for files not checked)."""
    if rel.endswith(".parquet"):
        kinds = [kind for pattern, kind in _MATRIX_FILES.items() if fnmatch(rel, pattern)]
        return parquet_problem(path, matrix=kinds[0] if kinds else None)
    if fnmatch(rel, _CHECKSUM_FILES):
        return _checksum_problem(path)
    return None


def repair_workdir(root: PathLike, *, log: Log | None = None) -> list[str]:
    """Clean up what interrupted runs left in working folder `root`.

    Call only while holding the run lock (:func:`acquire_run_lock`): it
    removes Snakemake's directory locks, temporary files of interrupted
    atomic writes under ``resources/`` and ``results/``, result files of
    interrupted jobs, and cached files that fail :func:`parquet_problem` (a
    broken file inside a directory output removes the whole folder), so
    that Snakemake rebuilds them. Files that passed are remembered by size
    and modification time in ``.snakemake/abagen/checked-files.json``.

    Parameters
    ----------
    root : path-like
    log : callable, optional
        Receives one line per action.

    Returns
    -------
    actions : list of str
    """
    root = Path(root)
    actions: list[str] = []

    def act(msg: str) -> None:
        actions.append(msg)
        if log is not None:
            log(msg)

    locks = sorted((root / ".snakemake" / "locks").glob("*.lock"))
    if locks:
        for lock in locks:
            lock.unlink(missing_ok=True)
        act(f"removed Snakemake's lock of {root}, left by an interrupted run (no run is "
            "alive there)")
    for target in _incomplete_outputs(root):
        # results of interrupted jobs go at once (intermediate files are left to
        # Snakemake's --rerun-incomplete)
        if target.is_absolute() or target.parts[:1] != ("results",):
            continue
        full = root / target
        if full.exists() or full.is_symlink():
            _remove(full)
            act(f"removed {target}: its job was interrupted; it will be rebuilt")

    state = root / STATE_DIR / "checked-files.json"
    known = _read_json(state)
    checked: dict[str, list[int]] = {}
    broken_dirs: dict[str, str] = {}
    for top in CHECKED_FOLDERS:
        base = root / top
        for dirpath, dirnames, names in os.walk(base):
            dirnames.sort()
            for name in sorted(names):
                path = Path(dirpath) / name
                rel = path.relative_to(root).as_posix()
                if _is_temporary(name):
                    _remove(path)
                    act(f"removed {rel}: temporary file of an interrupted write")
                    continue
                if not (name.endswith(".parquet") or name.endswith(".sha256")):
                    continue
                try:
                    st = path.stat()
                except OSError:
                    continue
                stamp = [st.st_size, st.st_mtime_ns]
                if known.get(rel) == stamp:
                    checked[rel] = stamp
                    continue
                problem = _file_problem(path, rel)
                if problem is None:
                    checked[rel] = stamp
                    continue
                inside = _directory_artifact(rel)
                if inside is not None:
                    broken_dirs.setdefault(inside[0], f"{rel}: {problem}")
                    continue
                _remove(path)
                act(f"removed {rel}: {problem}; it will be rebuilt")
    # directory outputs: complete only with their marker, broken with a broken part
    for pattern, marker in _DIRECTORY_ARTIFACTS.items():
        for folder in sorted(root.glob(pattern)):
            rel = folder.relative_to(root).as_posix()
            if folder.is_dir() and not (folder / marker).is_file():
                broken_dirs.setdefault(rel, f"no {marker} (incomplete)")
    for rel, why in sorted(broken_dirs.items()):
        _remove(root / rel)
        for key in [k for k in checked if k.startswith(rel + "/")]:
            del checked[key]
        act(f"removed {rel}/ ({why}); it will be rebuilt")
    if checked != known:
        with contextlib.suppress(OSError):
            _write_json(state, checked)
    return actions


def prepare_workdir(root: PathLike, *, log: Log | None = None) -> RunLock:
    """Start a run in `root`: take the run lock, then repair what interrupted runs left.

    When another run holds the lock nothing is touched; the returned lock
    says so and `log` gets a line naming that run (Snakemake itself then
    refuses to run jobs whose files that run is writing).

    Parameters
    ----------
    root : path-like
        The working folder.
    log : callable, optional
        Receives one line per action or warning.

    Returns
    -------
    lock : RunLock
        Keep it referenced while the run lasts.
    """
    lock = acquire_run_lock(root)
    if lock.acquired:
        repair_workdir(root, log=log)
    elif log is not None:
        log(f"Another run of this workflow is using {Path(root).resolve()} ({lock.holder}). "
            "This run does not check or repair its files, and Snakemake refuses to start "
            "jobs whose files that run is writing: wait until it has finished (do not use "
            "--unlock while it runs).")
    return lock
