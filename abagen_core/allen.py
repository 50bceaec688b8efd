"""Primary workflows (``abagen.allen``).

abagen's public module path; the implementation lives in :mod:`abagen_core.api`.
"""

from abagen_core.api import (  # noqa: F401 - re-exported at abagen's path
    get_expression_data,
    get_interpolated_map,
    get_samples_in_mask,
)

__all__ = ["get_expression_data", "get_samples_in_mask", "get_interpolated_map"]
