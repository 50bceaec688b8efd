"""Methods reports (``abagen.reporting``).

abagen's public module path; the implementation lives in
:mod:`abagen_core.outputs.report`.
"""

from abagen_core.outputs.report import Report  # noqa: F401 - re-exported at abagen's path

__all__ = ["Report"]
