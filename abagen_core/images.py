"""Atlas images: checks and conversions (``abagen.images``).

abagen's public module path; the implementation lives in
:mod:`abagen_core.atlas.images`. :func:`check_atlas` adds what the atlas layer
leaves to its callers: downloading a donor's surfaces for a donor-specific
surface atlas, as abagen 0.1.3's ``check_atlas`` does.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

from abagen_core.api import native_pial
from abagen_core.atlas import images as _images
from abagen_core.atlas.images import (  # noqa: F401 - re-exported at abagen's path
    BACKGROUND,
    annot_to_gifti,
    check_atlas_info,
    check_img,
    coerce_atlas_to_dict,
    leftify_atlas,
    load_gifti,
    relabel_gifti,
)
from abagen_core.atlas.matching import AtlasTree

__all__ = ["BACKGROUND", "check_img", "load_gifti", "check_atlas", "check_atlas_info",
           "coerce_atlas_to_dict", "leftify_atlas", "annot_to_gifti", "relabel_gifti"]


def check_atlas(atlas: Any, atlas_info: Any = None, geometry: Any = None,
                space: str | None = None, donor: str | None = None,
                data_dir: str | PathLike | None = None) -> AtlasTree:
    """Check that `atlas` is a valid parcellation and build its AtlasTree.

    :func:`abagen_core.atlas.images.check_atlas`, except that a surface atlas
    of a `donor` given without `geometry` gets that donor's pial surfaces
    (found in, or downloaded to, `data_dir`), as abagen 0.1.3 does.

    Parameters
    ----------
    atlas : niimg-like, (2,) tuple, or AtlasTree
        Volumetric label image, or a (lh, rh) pair of GIFTI label images,
        FreeSurfer ``.annot`` files or 1-D label arrays.
    atlas_info : path-like or pandas.DataFrame, optional
        Region table with ``id``, ``hemisphere`` and ``structure``.
    geometry : (2,) tuple of surfaces, optional
        The (lh, rh) surfaces of a surface atlas; default fsaverage5, or the
        donor's pial surfaces with `donor`.
    space : str, optional
        Space of `geometry` (e.g. ``'fsaverage5'``, ``'fsnative'``, ``'fslr'``).
    donor : str, optional
        For a donor-specific (native) atlas.
    data_dir : path-like, optional
        Where a donor's surfaces are looked for and downloaded.

    Returns
    -------
    tree : abagen_core.atlas.matching.AtlasTree
    """
    if donor is not None and geometry is None and isinstance(atlas, tuple | list):
        geometry, space = native_pial(str(donor), data_dir), "fsnative"
    return _images.check_atlas(atlas, atlas_info, geometry=geometry, space=space, donor=donor,
                               data_dir=data_dir)
