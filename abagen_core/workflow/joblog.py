"""Logging of workflow jobs: every message and traceback of a job goes to its log file.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

__all__ = ["setup_logging"]


def setup_logging(log_file: str | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send the package's log messages to `log_file` (and stderr)."""
    logger = logging.getLogger("abagen_core")
    logger.setLevel(level)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    return logger
