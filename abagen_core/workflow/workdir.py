"""Repairing a working folder at the start of a run, and the per-folder run lock.

Nothing here runs when the Snakefile is parsed, for ``snakemake -n`` or for
``snakemake --lint``: ``workflow/rules/common.smk`` calls a :class:`RunStart`
from its input functions, and it acts only in the main process of a real
run (:func:`is_real_run`), once, before Snakemake looks at any file.

- A run lock (``.snakemake/abagen/run.lock``, an OS file lock released when
  the process ends, even on SIGKILL) tells whether another run of the
  workflow is alive in the folder (:func:`acquire_run_lock`).
- Holding it proves none is, so what an interrupted run left behind is
  cleaned up (:func:`repair_workdir`): Snakemake's stale directory locks
  (without them a killed run would need ``--unlock``), temporary files of
  interrupted atomic writes, and cached files that fail a cheap check of
  their parquet footer and of the ``abagen_core`` kind / schema metadata
  (:func:`parquet_problem`; data pages are not read). Files that passed are
  remembered by size and modification time, so a warm re-run checks only
  new files. Outputs of interrupted jobs are Snakemake's business
  (``rerun-incomplete: true`` in the workflow profiles).

Corruption inside data pages is caught when a file is read: parquet files are
written with page checksums (``write_page_checksum=True``) and read with
``page_checksum_verification=True``; :func:`unreadable_artifact` turns the
failure into an error naming the file, and removes the file when it is
certainly corrupt. Snakemake rebuilds a removed file as soon as a job needs
it (as it does for ``temp()`` files): results that are up to date stay as
they are.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from abagen_core.storage.atomic import is_temporary, write_text_atomic
from abagen_core.storage.checks import parquet_problem
from abagen_core.workflow import paths

__all__ = ["STATE_DIR", "RunLock", "RunStart", "acquire_run_lock", "repair_workdir",
           "prepare_workdir", "is_real_run", "read_state", "write_state"]

PathLike = str | os.PathLike
Log = Callable[[str], None]

#: state of these checks inside a working folder
STATE_DIR = Path(paths.STATE_DIR)
#: folders of a working folder whose files the start-up check looks at
CHECKED_FOLDERS = (paths.RESOURCES, paths.RESULTS)
#: directory outputs: a broken file inside invalidates the whole folder, and
#: the folder is complete only with its marker file
_DIRECTORY_ARTIFACTS = {paths.glob_pattern(paths.SUMMARY): paths.SUMMARY_MARKER}
#: matrices written by abagen_core.io.csv_to_parquet (no abagen_core metadata:
#: their column layout is checked instead)
_MATRIX_FILES = {paths.glob_pattern(paths.MICROARRAY): "microarray",
                 paths.glob_pattern(paths.PACALL): "pacall",
                 paths.glob_pattern(paths.RNASEQ_TPM): "tpm"}
#: checksum files of the conversion ('<sha256>  <name>')
_CHECKSUM_FILES = paths.glob_pattern(paths.CHECKSUM)


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
        import fcntl  # lazy: POSIX only; other systems take the except below
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


def read_state(path: Path) -> dict[str, Any]:
    """A JSON state file of :data:`STATE_DIR` (empty when absent or unreadable).

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    state : dict
    """
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(path: Path, data: Any) -> None:
    """Write a JSON state file atomically.

    Parameters
    ----------
    path : pathlib.Path
    data : JSON-serialisable
    """
    write_text_atomic(json.dumps(data, sort_keys=True), path)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


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


def repair_workdir(root: PathLike, *, log: Log | None = None,
                   snakemake_locks: bool = True) -> list[str]:
    """Clean up what interrupted runs left in working folder `root`.

    Call only while holding the run lock (:func:`acquire_run_lock`): it
    removes Snakemake's directory locks, temporary files of interrupted
    atomic writes under ``resources/`` and ``results/``, and cached files that fail :func:`parquet_problem` (a
    broken file inside a directory output removes the whole folder), so
    that Snakemake rebuilds them. Files that passed are remembered by size
    and modification time in ``.snakemake/abagen/checked-files.json``.

    Parameters
    ----------
    root : path-like
    log : callable, optional
        Receives one line per action.
    snakemake_locks : bool, default=True
        Remove Snakemake's directory locks. False once Snakemake has taken
        its own locks for this run (from an ``onstart:`` handler).

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

    locks = sorted((root / ".snakemake" / "locks").glob("*.lock")) if snakemake_locks else []
    if locks:
        for lock in locks:
            lock.unlink(missing_ok=True)
        act(f"removed Snakemake's lock of {root}, left by an interrupted run (no run is "
            "alive there)")

    state = root / STATE_DIR / "checked-files.json"
    known = read_state(state)
    checked: dict[str, list[int]] = {}
    broken_dirs: dict[str, str] = {}
    for top in CHECKED_FOLDERS:
        base = root / top
        for dirpath, dirnames, names in os.walk(base):
            dirnames.sort()
            for name in sorted(names):
                path = Path(dirpath) / name
                rel = path.relative_to(root).as_posix()
                if is_temporary(name):
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
            write_state(state, checked)
    return actions


def prepare_workdir(root: PathLike, *, log: Log | None = None,
                    snakemake_locks: bool = True) -> RunLock:
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
    snakemake_locks : bool, default=True
        See :func:`repair_workdir`.

    Returns
    -------
    lock : RunLock
        Keep it referenced while the run lasts.
    """
    lock = acquire_run_lock(root)
    if lock.acquired:
        repair_workdir(root, log=log, snakemake_locks=snakemake_locks)
    elif log is not None:
        log(f"Another run of this workflow is using {Path(root).resolve()} ({lock.holder}). "
            "This run does not check or repair its files, and Snakemake refuses to start "
            "jobs whose files that run is writing: wait until it has finished (do not use "
            "--unlock while it runs).")
    return lock


def is_real_run(workflow: Any) -> bool:
    """True in the main process of a Snakemake run that executes jobs.

    False while the Snakefile is parsed (no executor is chosen yet), for
    ``--dry-run``, ``--touch``, ``--lint``, ``--report``, ``--summary`` and
    the other commands that do not execute (no executor), and in the
    processes Snakemake starts for single jobs (cluster jobs, groups).

    Parameters
    ----------
    workflow : snakemake.workflow.Workflow
        The ``workflow`` object of a Snakefile.

    Returns
    -------
    real : bool
    """
    return (getattr(workflow, "executor_plugin", None) is not None
            and not workflow.dryrun and not workflow.touch and workflow.is_main_process)


@dataclass
class RunStart:
    """The start of a real run: run lock, repair of the folder, then `also`.

    Call it from the input functions of the workflow: Snakemake evaluates
    the first of them when it starts planning (building its DAG), before it
    looks at any file or at its own directory lock, and only then is it
    known whether this is a real run. A Snakemake ``onstart:`` handler would
    come too late: it runs once the plan is made, with removed files
    counted as present, and after Snakemake has refused a folder with a
    stale lock. The call does nothing unless :func:`is_real_run`, and acts
    once per process.

    Parameters
    ----------
    workflow : snakemake.workflow.Workflow
    root : path-like
        The working folder.
    log : callable, optional
        Receives one line per action or warning.
    also : sequence of callables, optional
        Called (without arguments) after the repair, while the lock is held:
        e.g. saving the atlas check results.

    Attributes
    ----------
    lock : RunLock or None
        The run lock, held until the process ends (None before the start).
    """

    workflow: Any
    root: PathLike
    log: Log | None = None
    also: tuple[Callable[[], Any], ...] = ()
    lock: RunLock | None = None

    def __call__(self, *, late: bool = False) -> None:
        """Start the run if this is a real run and it has not started yet.

        Parameters
        ----------
        late : bool, default=False
            Called from an ``onstart:`` handler: Snakemake holds its own
            directory locks by then, so they are left alone.
        """
        if self.lock is not None or not is_real_run(self.workflow):
            return
        self.lock = prepare_workdir(self.root, log=self.log, snakemake_locks=not late)
        if self.lock.acquired:
            for step in self.also:
                step()
