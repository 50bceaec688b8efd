"""Post-processing corrections of expression data (``abagen.correct``).

abagen's public module path; the implementation lives in :mod:`abagen_core.stages.correct`.
"""

from abagen_core.stages.correct import (  # noqa: F401 - re-exported at abagen's path
    keep_stable_genes,
    normalize_expression,
    remove_distance,
)

__all__ = ["keep_stable_genes", "normalize_expression", "remove_distance"]
