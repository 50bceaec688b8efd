"""A local HTTP file server with fault injection, for download tests.

Serves byte strings from a dict ``path -> bytes`` on 127.0.0.1 (an
ephemeral port), honours ``Range: bytes=N-`` / ``bytes=N-M`` requests with
206 + ``Content-Range`` (416 past the end), and records every request (path,
Range header, status, body bytes sent). Faults can be queued per path:

- ``'cut'``: send the headers and ``after`` body bytes, then drop the connection;
- ``'notfound'``: answer 404;
- ``'error'``: answer ``status`` (default 500);
- ``'hang'``: accept the request and send nothing until the server stops
  (or ``hang_s`` seconds pass), so the client times out;
- ``'corrupt'``: send the file with 64 bytes flipped at ``after`` (default:
  the middle);
- ``'short'``: send only the first ``after`` bytes, with a matching
  Content-Length (a complete HTTP answer whose content is truncated).

A fault queued for ``'*'`` applies to any path; one queued for a path without
its query string applies to every query of that path. Besides the fixed
``files``, an ``app`` callable can answer requests dynamically (e.g. a mock
JSON API): it gets the request path (query string included) and returns the
body, ``(status, body)`` or None (404).

Examples
--------
>>> with FileServer({'/a': b'hello'}) as srv:  # doctest: +SKIP
...     srv.add_fault('/a', 'cut', after=2)
...     url = srv.url + '/a'
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Fault", "FileServer", "RequestRecord"]

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")
_CHUNK = 8192


@dataclass
class Fault:
    """A fault applied to the next `times` requests of one path (None: all)."""

    kind: str
    after: int | None = None
    times: int | None = 1
    status: int = 500
    hang_s: float = 30.0


@dataclass
class RequestRecord:
    """What one request asked for and what it got."""

    path: str
    range: str | None
    status: int = 0
    bytes_sent: int = 0
    fault: str | None = None


def _corrupt(data: bytes, at: int | None) -> bytes:
    buf = bytearray(data)
    start = len(buf) // 2 if at is None else at
    for i in range(start, min(start + 64, len(buf))):
        buf[i] ^= 0xFF
    return bytes(buf)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - silence the default logging
        pass

    def do_GET(self):  # noqa: N802 - http.server naming
        owner: FileServer = self.server.owner
        record = RequestRecord(path=self.path, range=self.headers.get("Range"))
        owner._add_record(record)
        fault = owner._take_fault(self.path)
        record.fault = fault.kind if fault else None
        self.close_connection = True
        if fault is not None and fault.kind == "hang":
            owner._release.wait(fault.hang_s)
            return
        data = owner.files.get(self.path)
        status = 200
        if data is None and owner.app is not None:
            answer = owner.app(self.path)
            status, data = answer if isinstance(answer, tuple) else (200, answer)
        if data is None or (fault is not None and fault.kind == "notfound"):
            self._reply_empty(record, 404)
            return
        if fault is not None and fault.kind == "error":
            self._reply_empty(record, fault.status)
            return
        if fault is not None and fault.kind == "corrupt":
            data = _corrupt(data, fault.after)
        if fault is not None and fault.kind == "short":
            data = data[:fault.after or 0]
        start, end = 0, len(data) - 1
        match = _RANGE.match(self.headers.get("Range") or "")
        if match and owner.support_range and status == 200:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(data) - 1
            if start >= len(data):
                record.status = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status, end = 206, min(end, len(data) - 1)
        body = data[start:end + 1]
        record.status = status
        self.send_response(status)
        self.send_header("Content-Type", owner.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes" if owner.support_range else "none")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        limit = len(body)
        if fault is not None and fault.kind == "cut":
            limit = min(limit, fault.after or 0)
        try:
            for pos in range(0, limit, _CHUNK):
                piece = body[pos:min(pos + _CHUNK, limit)]
                self.wfile.write(piece)
                record.bytes_sent += len(piece)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _reply_empty(self, record: RequestRecord, status: int) -> None:
        record.status = status
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class FileServer:
    """Threaded HTTP server for tests; use as a context manager.

    Parameters
    ----------
    files : dict of str -> bytes, optional
        URL path (e.g. ``'/api/v2/well_known_file_download/1'``) -> content.
    support_range : bool, default=True
        Honour Range requests (else always answer 200 with the whole file).
    app : callable, optional
        ``app(path) -> bytes | (status, bytes) | None`` answers paths not in
        `files` (None: 404).
    content_type : str, default='application/octet-stream'
        Content-Type header of the answers.
    """

    def __init__(self, files: dict[str, bytes] | None = None, *, support_range: bool = True,
                 app: Callable[[str], bytes | tuple[int, bytes] | None] | None = None,
                 content_type: str = "application/octet-stream"):
        self.files: dict[str, bytes] = dict(files or {})
        self.support_range = support_range
        self.app = app
        self.content_type = content_type
        self.requests: list[RequestRecord] = []
        self._faults: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> FileServer:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # faults
    def add_fault(self, path: str, kind: str, *, after: int | None = None, times: int | None = 1,
                  status: int = 500, hang_s: float = 30.0) -> None:
        """Queue a fault for `path` (see the module docstring for kinds)."""
        if kind not in {"cut", "notfound", "error", "hang", "corrupt", "short"}:
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self._faults.setdefault(path, []).append(
                Fault(kind, after=after, times=times, status=status, hang_s=hang_s))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = []
            for key in (path, path.split("?", 1)[0], "*"):
                queue = self._faults.get(key, [])
                if queue:
                    break
            if not queue:
                return None
            fault = queue[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
            return fault

    # counters
    def _add_record(self, record: RequestRecord) -> None:
        with self._lock:
            self.requests.append(record)

    @property
    def request_count(self) -> int:
        return len(self.requests)

    @property
    def bytes_served(self) -> int:
        return sum(r.bytes_sent for r in self.requests)

    def reset_counters(self) -> None:
        with self._lock:
            self.requests.clear()
