"""Logging of workflow jobs: every message and traceback of a job goes to its log file.

A workflow script runs its work inside :func:`job_log`::

    def main(snakemake):
        with job_log(snakemake.log[0]) as log:
            log.info("...")

While the block runs, the package's log messages, warnings (as log
messages) and anything else written to ``sys.stderr`` (download progress,
for instance) go both to the console and to the job's log file; an exception leaving the block is
written to the log file with its traceback and re-raised, so that a failed
job's log says why it failed.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

__all__ = ["job_log"]

#: the logger of the package; its children (``abagen_core.x``) propagate to it
LOGGER_NAME = "abagen_core"
_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def _configure(streams: list[TextIO], level: int) -> logging.Logger:
    """Make `streams` the only destinations of the package's logger."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    formatter = logging.Formatter(_FORMAT)
    for stream in streams:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return logger


class _Tee:
    """A text stream writing to the console and to the log file.

    ``isatty`` is False: progress bars (redrawn lines) are not drawn in jobs.
    """

    def __init__(self, console: TextIO, log: TextIO) -> None:
        self._console = console
        self._log = log

    def write(self, text: str) -> int:
        self._console.write(text)
        self._log.write(text)
        return len(text)

    def flush(self) -> None:
        self._console.flush()
        self._log.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str):  # encoding, fileno, ...: the console's
        return getattr(self._console, name)


@contextlib.contextmanager
def job_log(log_file: str | Path, level: int = logging.INFO) -> Iterator[logging.Logger]:
    """Run a workflow job with everything it reports written to `log_file`.

    Parameters
    ----------
    log_file : str or pathlib.Path
        The job's log file (``snakemake.log[0]``); replaced, its folder created.
    level : int, default=logging.INFO
        Level of the package's logger.

    Yields
    ------
    logger : logging.Logger
        The ``abagen_core`` logger, writing to the console and `log_file`.

    Notes
    -----
    An exception leaving the block is written to `log_file` (not again to
    the console, where Python prints it) with its traceback, then re-raised.
    The logger's handlers and ``sys.stderr`` are restored when the block ends.
    """
    path = Path(log_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    console, showwarning = sys.stderr, warnings.showwarning
    with open(path, "w", buffering=1, encoding="utf-8") as log:
        logger = _configure([console, log], level)

        def _warning(message, category, filename, lineno, file=None, line=None):
            text = warnings.formatwarning(message, category, filename, lineno, line)
            logger.warning("%s", text.rstrip())

        sys.stderr = _Tee(console, log)
        warnings.showwarning = _warning
        try:
            yield logger
        except BaseException as exc:
            if not (isinstance(exc, SystemExit) and exc.code in (0, None)):
                record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0,
                                           "job failed: %s", (type(exc).__name__,), None)
                log.write(logging.Formatter(_FORMAT).format(record) + "\n")
                log.write("".join(traceback.format_exception(exc)))
            raise
        finally:
            sys.stderr, warnings.showwarning = console, showwarning
            _configure([], level)
