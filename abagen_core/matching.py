"""Matching tissue samples to atlas regions (``abagen.matching``).

abagen's public module path; the implementation lives in :mod:`abagen_core.atlas.matching`.
"""

from abagen_core.atlas.matching import (  # noqa: F401 - re-exported at abagen's path
    AtlasTree,
    closest_centroid,
    get_centroids,
    mesh_graph,
    native_coordinates,
)

__all__ = ["AtlasTree", "get_centroids", "closest_centroid", "mesh_graph", "native_coordinates"]
