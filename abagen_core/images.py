"""Atlas images: checks and conversions (``abagen.images``).

abagen's public module path; the implementation lives in :mod:`abagen_core.atlas.images`.
"""

from abagen_core.atlas.images import (  # noqa: F401 - re-exported at abagen's path
    BACKGROUND,
    annot_to_gifti,
    check_atlas,
    check_atlas_info,
    check_img,
    coerce_atlas_to_dict,
    leftify_atlas,
    load_gifti,
    relabel_gifti,
)

__all__ = ["BACKGROUND", "check_img", "load_gifti", "check_atlas", "check_atlas_info", "coerce_atlas_to_dict", "leftify_atlas", "annot_to_gifti", "relabel_gifti"]
