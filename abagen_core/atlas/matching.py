"""Matching tissue samples to the regions of an atlas.

The central object is :class:`AtlasTree`: a parcellation (volumetric image or
surface labels plus vertex coordinates) with a k-d tree of its labelled
points, the centroid of every region and, optionally, an ``atlas_info`` table
giving each region's hemisphere and broad structural class. It answers the
geometric questions of the pipeline:

- :meth:`AtlasTree.label_samples`: the region of every sample (0 = none);
- :meth:`AtlasTree.match_closest_samples`: for ``missing='centroids'``, the
  sample closest to each region's centroid;
- :meth:`AtlasTree.fill_label`: for ``missing='interpolate'``, the sample
  closest to every voxel/vertex of a region;
- :meth:`AtlasTree.match_closest_centroids`: the region whose centroid is
  closest to every sample.

Matching rules (those of abagen 0.1.3; the exact details below were derived
from abagen's own outputs in the parity set and reproduce its sample counts):

Volumetric atlases
    1. The sample's coordinate is snapped to the atlas grid: on every axis it
       goes to the previous grid point in world space (the largest grid value
       below the coordinate). For a group (MNI) atlas the inequality is strict,
       so a coordinate lying exactly on a grid value goes one voxel down; for a
       donor-specific (native) atlas a coordinate on a grid value stays there
       (native coordinates are voxel centres of the donor's T1w image).
    2. If that voxel carries a label the sample may take, it takes it.
    3. Otherwise labelled voxels are searched within 1, 2, ...,
       ``floor(|tolerance|)`` mm of the snapped grid point; the first radius
       that finds usable voxels decides. With ``atlas_info`` (and sample
       classes), the label whose centroid is closest to the snapped point
       wins; without, the most frequent label among the voxels found wins,
       ties going to the closest centroid.
    4. Otherwise the sample is unmatched (label 0).

Surface atlases
    Every sample goes to the nearest labelled vertex (of either hemisphere).
    When the samples have structural classes only cortical samples are
    labelled (with or without ``atlas_info``); with ``atlas_info`` the match
    is kept only if that vertex's region is compatible with the sample. The
    nearest-vertex distances are then thresholded: a non-negative
    `tolerance` drops samples farther than ``mean + tolerance * std`` over
    the distances of all cortical samples (sample std, ddof=1), a negative
    one drops samples farther than ``|tolerance|`` mm.

Compatibility (only when the tree has ``atlas_info`` and the annotation has
``hemisphere`` and ``structure`` columns): a sample may only take a region of
its own structural class (a sample without a class takes none); a left or
right sample takes regions of its hemisphere and bilateral ('B') ones (e.g.
the brainstem), a bilateral sample only bilateral ones. Filling a region
(``missing``) needs the region's own hemisphere: a bilateral region is only
filled from bilateral samples. These hemisphere and surface rules come from
black-box probes of abagen 0.1.3's ``AtlasTree`` and ``get_expression_data``
on constructed atlases and samples (#18).

Filling empty regions (see the methods for details): ``missing='centroids'``
uses, per donor, the compatible sample closest to the region's centroid
(:meth:`AtlasTree.match_closest_samples`); ``missing='interpolate'`` gives
every voxel/vertex of the region its nearest compatible sample, after moving
the samples onto their nearest labelled voxel/vertex
(:meth:`AtlasTree.fill_label`). On a mesh, "nearest" is the shortest path
along the surface graph of :func:`mesh_graph` (triangle sides plus edges
across pairs of adjacent triangles), as abagen 0.1.3 measures it.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from abagen_core.atlas.labels import as_labels, check_atlas_info

if TYPE_CHECKING:  # scipy is imported where it is used: it is slow to import (~0.4 s)
    from scipy.spatial import cKDTree

def cdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of `a` and `b` (scipy's cdist, imported lazily).

    Parameters
    ----------
    a : numpy.ndarray of shape (n_a, n_dims)
    b : numpy.ndarray of shape (n_b, n_dims)

    Returns
    -------
    distances : numpy.ndarray of shape (n_a, n_b)
    """
    from scipy.spatial.distance import cdist as _cdist  # lazy: slow to import

    return _cdist(a, b)


__all__ = [
    "AtlasTree",
    "get_centroids",
    "closest_centroid",
    "mesh_graph",
    "native_coordinates",
]

#: coordinate column names accepted in annotations, in order of preference
_COORD_COLUMNS = (("mni_x", "mni_y", "mni_z"), ("x", "y", "z"))
#: relative tolerance deciding that a voxel coordinate lies exactly on the grid
_ON_GRID_ATOL = 1e-8
#: shortest-path searches an AtlasTree keeps for mesh fills (oldest dropped first)
_MESH_SEARCHES_KEPT = 8


# --------------------------------------------------------------------------- helpers


def _sample_coords(annotation: Any) -> np.ndarray:
    """(S, 3) float64 coordinates from an annotation frame or an array."""
    if isinstance(annotation, pd.DataFrame):
        for cols in _COORD_COLUMNS:
            if all(c in annotation.columns for c in cols):
                return annotation[list(cols)].to_numpy(dtype=np.float64)
        raise ValueError(
            "annotation has no coordinate columns: expected 'mni_x', 'mni_y', 'mni_z' "
            f"(or 'x', 'y', 'z'); found {list(annotation.columns)}."
        )
    coords = np.asarray(annotation, dtype=np.float64)
    if coords.ndim == 1 and coords.size == 3:
        coords = coords[None]
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ValueError(
            f"Sample coordinates must have shape (n_samples, 3); got {coords.shape}. "
            "Pass an annotation DataFrame with mni_x/mni_y/mni_z columns or an (S, 3) array."
        )
    return coords


def _sample_index(annotation: Any, n: int) -> pd.Index:
    if isinstance(annotation, pd.DataFrame):
        return annotation.index
    return pd.RangeIndex(n)


def _sample_classes(annotation: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Hemisphere and structure of every sample, if the annotation has them."""
    if isinstance(annotation, pd.DataFrame) and {"hemisphere", "structure"} <= set(
            annotation.columns):
        hemi = annotation["hemisphere"].astype(object).to_numpy()
        struct = annotation["structure"].astype(object).to_numpy()
        return hemi, struct
    return None


def get_centroids(data: Any, coordinates: Any = None, labels: Iterable[int] | None = None
                  ) -> dict[int, np.ndarray]:
    """Centroid (mean coordinate) of every label.

    Parameters
    ----------
    data : niimg-like or array_like of shape (N,)
        A volumetric label image (path or nibabel image; then `coordinates`
        must be None and the world coordinates of its voxels are used), or
        the label of each of N points.
    coordinates : array_like of shape (N, D), optional
        Coordinates of the N points of `data` (required for an array).
    labels : iterable of int, optional
        Labels whose centroids are wanted; default every non-zero label of
        `data`. A label absent from `data` raises ``ValueError``.

    Returns
    -------
    centroids : dict of int -> numpy.ndarray of shape (D,)
        Label -> mean coordinate of its points, in increasing label order.

    Examples
    --------
    >>> get_centroids([1, 1, 2], [[0, 0, 0], [2, 0, 0], [5, 5, 5]])[1]
    array([1., 0., 0.])
    """
    if coordinates is None:
        values, coordinates = _image_points(data)
    else:
        values = np.asarray(data).reshape(-1)
        coordinates = np.asarray(coordinates, dtype=np.float64)
        if coordinates.ndim != 2 or len(coordinates) != len(values):
            raise ValueError(
                f"coordinates must have shape ({len(values)}, D) to match data; "
                f"got {coordinates.shape}."
            )
    present = np.unique(values[values != 0])
    wanted = present if labels is None else np.asarray(list(labels))
    missing = np.setdiff1d(wanted, present)
    if missing.size:
        raise ValueError(f"Labels {missing.tolist()} do not occur in data; cannot find "
                         "their centroids.")
    sums, counts = _label_sums(values, coordinates, wanted)
    return {int(lab): sums[i] / counts[i] for i, lab in enumerate(wanted)}


def _label_sums(values: np.ndarray, coordinates: np.ndarray, labels: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    pos = np.searchsorted(labels, values)
    pos = np.clip(pos, 0, len(labels) - 1)
    hit = labels[pos] == values
    pos = pos[hit]
    sums = np.zeros((len(labels), coordinates.shape[1]))
    for d in range(coordinates.shape[1]):
        sums[:, d] = np.bincount(pos, weights=coordinates[hit, d], minlength=len(labels))
    counts = np.bincount(pos, minlength=len(labels)).astype(np.float64)
    return sums, counts


def closest_centroid(coords: Any, centroids: Any, return_dist: bool = False):
    """Index of the centroid closest (Euclidean) to each coordinate.

    Parameters
    ----------
    coords : array_like of shape (S, 3)
        Coordinates of samples.
    centroids : array_like of shape (N, 3)
        Centroids of parcels.
    return_dist : bool, default=False
        Also return the distances.

    Returns
    -------
    closest : numpy.ndarray of shape (S,)
        Row of `centroids` closest to each coordinate (the first on ties).
    distance : numpy.ndarray of shape (S,)
        Distance to that centroid; only when `return_dist`.

    Examples
    --------
    >>> closest_centroid([[0, 0, 1]], [[0, 0, 0], [0, 0, 3]])
    array([0])
    """
    coords = _sample_coords(coords)
    centroids = np.atleast_2d(np.asarray(centroids, dtype=np.float64))
    dist = cdist(coords, centroids)
    closest = dist.argmin(axis=1)
    if return_dist:
        return closest, dist[np.arange(len(coords)), closest]
    return closest


def mesh_graph(vertices: Any, triangles: Any, mask: Any = None):
    """Distance graph of a triangle mesh, for shortest paths along the surface.

    Two kinds of edges join the vertices:

    - *direct* edges, the sides of the triangles, weighted by their Euclidean
      length;
    - *indirect* edges between the two vertices opposite a side shared by two
      triangles (u and v in triangles (u, a, b) and (v, b, a)). Its length is
      that of the path from u to v through the point midway between the feet
      of the perpendiculars dropped from u and from v onto the line ab:
      ``|u - p| + |p - v|`` with ``p = (foot(u) + foot(v)) / 2``. This is
      abagen 0.1.3's graph (its surface fills use it); we derived the rule
      from its ``AtlasTree.graph`` on test meshes, and it reproduces all
      109,800 edges of the fsaverage5 Desikan-Killiany graph to 1e-14.

    Edges are kept when both ends are in `mask` (the side shared by an
    indirect edge may leave it). Where one vertex pair gets several lengths
    (a direct edge that is also indirect, or two vertices opposite each other
    across two sides, both only around vertices of degree 3) the shortest is
    kept. abagen 0.1.3 adds them up instead, which lengthens those edges
    beyond any path on the surface; we do not reproduce that. Such vertices
    do not occur in fsaverage meshes.

    Parameters
    ----------
    vertices : array_like of shape (N, 3)
        Vertex coordinates (mm).
    triangles : array_like of shape (F, 3)
        Vertex indices of the triangles.
    mask : array_like of shape (N,), optional
        Vertices to keep (boolean); default all.

    Returns
    -------
    graph : scipy.sparse.csr_matrix of shape (K, K)
        Edge lengths between the K kept vertices (in vertex order), one entry
        per vertex pair (row < column): use it as an undirected graph, e.g.
        ``scipy.sparse.csgraph.dijkstra(graph, directed=False)``.
    """
    from scipy import sparse  # lazy: slow to import

    xyz = np.asarray(vertices, dtype=np.float64)
    tri = np.asarray(triangles, dtype=np.int64)
    n = len(xyz)
    keep = np.ones(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if keep.shape != (n,):
        raise ValueError(f"mask must have one value per vertex ({n}); got shape {keep.shape}.")
    # every side of every triangle with the vertex opposite it
    side_a = tri.ravel()
    side_b = np.roll(tri, -1, axis=1).ravel()
    opposite = np.roll(tri, -2, axis=1).ravel()
    lo, hi = np.minimum(side_a, side_b), np.maximum(side_a, side_b)
    order = np.lexsort((hi, lo))
    lo, hi, opposite = lo[order], hi[order], opposite[order]
    starts = np.flatnonzero(_pair_run_starts(lo, hi))
    sizes = np.diff(np.r_[starts, len(lo)])
    # direct edges: each distinct side once
    d_i, d_j = lo[starts], hi[starts]
    d_w = np.linalg.norm(xyz[d_i] - xyz[d_j], axis=1)
    # indirect edges: sides shared by exactly two triangles
    shared = starts[sizes == 2]
    a, b = lo[shared], hi[shared]
    u, v = opposite[shared], opposite[shared + 1]
    axis = xyz[b] - xyz[a]
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    t_u = np.einsum("ij,ij->i", xyz[u] - xyz[a], axis)
    t_v = np.einsum("ij,ij->i", xyz[v] - xyz[a], axis)
    mid = xyz[a] + ((t_u + t_v) / 2)[:, None] * axis
    i_w = np.linalg.norm(xyz[u] - mid, axis=1) + np.linalg.norm(xyz[v] - mid, axis=1)
    rows = np.r_[d_i, np.minimum(u, v)]
    cols = np.r_[d_j, np.maximum(u, v)]
    weights = np.r_[d_w, i_w]
    use = keep[rows] & keep[cols] & (rows != cols)
    rows, cols, weights = rows[use], cols[use], weights[use]
    # one entry per pair: the shortest length
    order = np.lexsort((weights, cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    first = _pair_run_starts(rows, cols)
    position = np.cumsum(keep) - 1
    k = int(keep.sum())
    return sparse.csr_matrix((weights[first], (position[rows[first]], position[cols[first]])),
                             shape=(k, k))


def _pair_run_starts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True where the pair (a[i], b[i]) differs from the one before (arrays sorted by pair)."""
    return np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]


def native_coordinates(annotation_raw: pd.DataFrame, t1_affine: Any) -> pd.DataFrame:
    """Native-space (donor T1w, mm) coordinates of microarray samples.

    Parameters
    ----------
    annotation_raw : pandas.DataFrame of shape (n_samples, >=3)
        Raw ``SampleAnnot.csv`` rows with columns ``mri_voxel_x``,
        ``mri_voxel_y`` and ``mri_voxel_z`` (voxel indices in the donor's
        T1w image).
    t1_affine : array_like of shape (4, 4)
        Voxel-to-world affine of the donor's T1w image.

    Returns
    -------
    coords : pandas.DataFrame of shape (n_samples, 3)
        Index as `annotation_raw`; columns ``x``, ``y``, ``z`` (float64).

    Notes
    -----
    abagen 0.1.3 writes these coordinates over ``mni_x/y/z`` *before* its
    hemisphere check, so with donor-specific atlases the samples kept are
    those whose native x agrees with their ontology hemisphere (L: x < 0,
    R: x > 0, B: x == 0).
    """
    cols = ["mri_voxel_x", "mri_voxel_y", "mri_voxel_z"]
    missing = [c for c in cols if c not in annotation_raw.columns]
    if missing:
        raise ValueError(f"annotation_raw lacks {missing}; pass the raw SampleAnnot.csv "
                         "table (abagen_core.io.read_annotation).")
    affine = np.asarray(t1_affine, dtype=np.float64)
    if affine.shape != (4, 4):
        raise ValueError(f"t1_affine must be a 4 x 4 matrix; got shape {affine.shape}.")
    vox = annotation_raw[cols].to_numpy(dtype=np.float64)
    xyz = vox @ affine[:3, :3].T + affine[:3, 3]
    return pd.DataFrame(xyz, index=annotation_raw.index, columns=["x", "y", "z"])


def _image_points(img: Any) -> tuple[np.ndarray, np.ndarray]:
    """Labels and world coordinates of every voxel of a label image."""
    img = _load_volume(img)
    data = np.asarray(img.dataobj)
    ijk = np.indices(data.shape).reshape(3, -1).T
    xyz = ijk @ img.affine[:3, :3].T + img.affine[:3, 3]
    return data.reshape(-1), xyz


def _load_volume(img: Any):
    import nibabel as nib  # lazy: slow to import

    if isinstance(img, str | PathLike):
        img = nib.load(str(img))
    if not hasattr(img, "affine") or not hasattr(img, "dataobj"):
        raise TypeError(f"Expected a NIfTI image or a path to one; got {type(img).__name__}.")
    return img


# --------------------------------------------------------------------------- AtlasTree


class AtlasTree:
    """A parcellation with a k-d tree of its labelled points, for matching.

    Parameters
    ----------
    atlas : niimg-like or array_like of shape (N,)
        A volumetric label image (path or nibabel image), or the label of
        each of N surface vertices (then `coords` is required). Labels are
        non-negative integers; 0 is background.
    coords : array_like of shape (N, 3), optional
        Vertex coordinates, in the space of the sample coordinates that will
        be matched (MNI152 mm for group atlases, native mm for donor ones).
        Giving `coords` makes the atlas a surface atlas.
    triangles : array_like of shape (F, 3), optional
        Vertex indices of the mesh triangles (surface atlases).
    atlas_info : path-like or pandas.DataFrame, optional
        Table with columns ``id``, ``hemisphere`` and ``structure`` (see
        :func:`abagen_core.atlas.images.check_atlas_info`); constrains matching.
    group_atlas : bool, default=True
        Whether the atlas is a group (MNI152 / fsaverage) atlas or a
        donor-specific (native) one. Changes only the grid snapping of
        coordinates that lie exactly on a grid value (see module docstring).

    Attributes
    ----------
    atlas : numpy.ndarray
        Label volume (3-D) or vertex labels (1-D), int64.
    labels : numpy.ndarray of shape (n_labels,)
        Sorted non-zero labels.
    centroids : dict of int -> numpy.ndarray of shape (3,)
        Mean coordinate of every label (volumes); on surfaces the labelled
        vertex nearest that mean.
    coords : numpy.ndarray of shape (n_points, 3)
        Coordinates of the tree's points (labelled voxels / labelled vertices).
    volumetric : bool
    atlas_info : pandas.DataFrame or None
    """

    def __init__(self, atlas: Any, coords: Any = None, *, triangles: Any = None,
                 atlas_info: Any = None, group_atlas: bool = True) -> None:
        self._group_atlas = bool(group_atlas)
        self._triangles = None
        if coords is None:
            if isinstance(atlas, np.ndarray | list | tuple):
                raise ValueError(
                    "An array atlas needs `coords` (one coordinate per vertex); for a "
                    "volumetric atlas pass a NIfTI image or its path instead."
                )
            img = _load_volume(atlas)
            data = np.asarray(img.dataobj)
            if data.ndim != 3:
                raise ValueError(f"A volumetric atlas must be 3-D; got shape {data.shape}. "
                                 "Check it with abagen_core.atlas.images.check_img first.")
            self._volumetric = True
            self._image = img
            self._affine = np.asarray(img.affine, dtype=np.float64)
            self._atlas = as_labels(data)
            ijk = np.column_stack(np.nonzero(self._atlas))
            self._point_labels = self._atlas[tuple(ijk.T)]
            self._coords = ijk @ self._affine[:3, :3].T + self._affine[:3, 3]
            self._all_coords = None
        else:
            labels = as_labels(np.asarray(atlas).reshape(-1))
            coords = np.asarray(coords, dtype=np.float64)
            if coords.ndim != 2 or coords.shape != (len(labels), 3):
                raise ValueError(
                    f"coords must have shape ({len(labels)}, 3), one row per atlas value; "
                    f"got {coords.shape}."
                )
            self._volumetric = False
            self._image = None
            self._affine = None
            self._atlas = labels
            self._all_coords = coords
            keep = labels != 0
            self._point_labels = labels[keep]
            self._coords = coords[keep]
            if triangles is not None:
                tri = np.asarray(triangles, dtype=np.int64)
                if tri.ndim != 2 or tri.shape[1] != 3 or (tri.size and (
                        tri.min() < 0 or tri.max() >= len(labels))):
                    raise ValueError("triangles must be an (F, 3) array of vertex indices "
                                     f"in [0, {len(labels)}).")
                self._triangles = tri
        if self._point_labels.size == 0:
            raise ValueError("The atlas has no non-zero label; it would match no sample. "
                             "Check that the right image was given.")
        self._labels = np.unique(self._point_labels)
        sums, counts = _label_sums(self._point_labels, self._coords, self._labels)
        self._centroid_array = sums / counts[:, None]
        self._kdtree = None  # built on first use (exact voxel matches need none)
        if not self._volumetric:
            # on a surface a region's centroid is the labelled vertex (of any
            # label; the first on ties) nearest the mean of its vertices, as
            # abagen 0.1.3's AtlasTree.centroids gives it (volumes: the mean)
            self._centroid_array = self._coords[self._tree.query(self._centroid_array)[1]]
        self._graph_cache = None
        # source vertices -> (distance, nearest source) of every labelled vertex
        self._mesh_searches: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self._atlas_info = None
        self._region_hemi = None
        self._region_struct = None
        self.atlas_info = atlas_info

    # ---------------------------------------------------------------- properties
    @property
    def _tree(self) -> cKDTree:
        if self._kdtree is None:
            from scipy.spatial import cKDTree  # lazy: slow to import

            self._kdtree = cKDTree(self._coords)
        return self._kdtree

    def __repr__(self) -> str:
        kind = "volumetric" if self._volumetric else "surface"
        info = "with" if self._atlas_info is not None else "without"
        return (f"AtlasTree({kind}, n_labels={len(self._labels)}, "
                f"n_points={len(self._coords)}, {info} atlas_info, "
                f"group_atlas={self._group_atlas})")

    @property
    def atlas(self) -> np.ndarray:
        """Label values of the atlas (3-D volume or 1-D vertex labels)."""
        return self._atlas

    @property
    def image(self):
        """The nibabel image of a volumetric atlas (None for surfaces)."""
        return self._image

    @property
    def affine(self) -> np.ndarray | None:
        """Voxel-to-world affine of a volumetric atlas (None for surfaces)."""
        return self._affine

    @property
    def volumetric(self) -> bool:
        """Whether the atlas is a volumetric image."""
        return self._volumetric

    @property
    def group_atlas(self) -> bool:
        """Whether the atlas is a group (MNI152/fsaverage) atlas."""
        return self._group_atlas

    @property
    def labels(self) -> np.ndarray:
        """Sorted unique non-zero labels of the atlas."""
        return self._labels

    @property
    def centroids(self) -> dict[int, np.ndarray]:
        """Label -> centroid (volumes: the mean voxel coordinate).

        On surfaces the centroid is the labelled vertex nearest the mean of the
        region's vertices, as abagen 0.1.3 gives it.
        """
        return {int(lab): self._centroid_array[i].copy() for i, lab in enumerate(self._labels)}

    @property
    def coords(self) -> np.ndarray:
        """Coordinates of the tree's points (labelled voxels or vertices)."""
        return self._coords

    @coords.setter
    def coords(self, coords: Any) -> None:
        """Move the tree's points (abagen 0.1.3 allows it): same number of points.

        The k-d tree, the centroids and the mesh graph follow the new
        coordinates; labels and triangles are kept.
        """
        coords = np.asarray(coords, dtype=np.float64)
        if coords.ndim != 2 or coords.shape[1] != 3 or len(coords) != len(self._coords):
            raise ValueError("Provided coordinates do not match length of current atlas. "
                             f"Expected {len(self._coords)}. Received {len(coords)}")
        self._coords = coords.copy()
        if self._all_coords is not None:  # surfaces: also the all-vertex array
            self._all_coords = self._all_coords.copy()
            self._all_coords[self._atlas != 0] = self._coords
        sums, counts = _label_sums(self._point_labels, self._coords, self._labels)
        self._centroid_array = sums / counts[:, None]
        self._reset_geometry()

    def _reset_geometry(self) -> None:
        """Forget everything computed from the coordinates or triangles."""
        self._kdtree = None
        self._graph_cache = None
        self._mesh_searches = {}

    @property
    def tree(self) -> cKDTree:
        """k-d tree of :attr:`coords`."""
        return self._tree

    @property
    def triangles(self) -> np.ndarray | None:
        """Mesh triangles of a surface atlas (None if not given)."""
        return self._triangles

    @triangles.setter
    def triangles(self, triangles: Any) -> None:
        """Set (or clear, with None) the mesh of a surface atlas.

        Indices refer to the atlas' vertices. As in abagen 0.1.3, a
        volumetric atlas has no mesh: the value is ignored there.
        """
        if self._volumetric:
            return
        if triangles is None:
            self._triangles = None
        else:
            tri = np.asarray(triangles, dtype=np.int64)
            n = len(self._atlas)
            if tri.ndim != 2 or tri.shape[1] != 3:
                raise ValueError(f"triangles must be an (F, 3) array of vertex indices; "
                                 f"got shape {tri.shape}.")
            if tri.size and (tri.min() < 0 or tri.max() >= n):
                raise ValueError("Cannot provide triangles with indices greater than tree "
                                 f"coordinate array (vertex indices must be in [0, {n})).")
            self._triangles = tri
        self._graph_cache = None
        self._mesh_searches = {}

    @property
    def graph(self):
        """Sparse (n_points, n_points) distance graph of a surface mesh's labelled vertices.

        Rows and columns follow :attr:`coords` (the labelled vertices); see
        :func:`mesh_graph` for the edges and their lengths. None for volumes
        and for surfaces given without triangles.
        """
        if self._triangles is None:
            return None
        if self._graph_cache is None:
            self._graph_cache = mesh_graph(self._all_coords, self._triangles,
                                           mask=self._atlas != 0)
        return self._graph_cache

    @property
    def atlas_info(self) -> pd.DataFrame | None:
        """Validated atlas_info (index ``id``), or None."""
        return self._atlas_info

    @atlas_info.setter
    def atlas_info(self, atlas_info: Any) -> None:
        if atlas_info is None:
            self._atlas_info = None
            self._region_hemi = self._region_struct = None
            return
        info = check_atlas_info(atlas_info, self._labels)
        self._atlas_info = info
        self._region_hemi = info.loc[self._labels, "hemisphere"].astype(object).to_numpy()
        self._region_struct = info.loc[self._labels, "structure"].astype(object).to_numpy()

    # ---------------------------------------------------------------- constraints
    def _compatibility(self, annotation: Any, strict: bool = False) -> np.ndarray | None:
        """(S, n_labels) bool: may sample s take label l? None = unconstrained.

        Structures must be equal (a sample without a class takes no region).
        Hemispheres (abagen 0.1.3's rules, from black-box probes of its
        AtlasTree and get_expression_data): a bilateral ('B') sample only
        takes bilateral regions; a left/right sample takes regions of its
        hemisphere and, unless `strict`, bilateral ones. `strict` (hemisphere
        equality) is the rule when filling regions: the region filled by
        :meth:`fill_label`, :meth:`match_closest_samples` and
        :meth:`match_closest_centroids` (so a bilateral region is only filled
        from bilateral samples).
        """
        if self._atlas_info is None:
            return None
        classes = _sample_classes(annotation)
        if classes is None:
            return None
        hemi, struct = classes
        out = np.zeros((len(hemi), len(self._labels)), dtype=bool)
        keys = pd.MultiIndex.from_arrays([pd.Index(hemi, dtype=object),
                                          pd.Index(struct, dtype=object)])
        codes, uniq = pd.factorize(keys)
        for code, (h, s) in enumerate(uniq):
            same_struct = self._region_struct == s
            ok_hemi = self._region_hemi == h
            if h != "B" and not strict:
                ok_hemi |= self._region_hemi == "B"
            out[codes == code] = same_struct & ok_hemi
        return out

    def _label_pos(self, labels: np.ndarray) -> np.ndarray:
        return np.searchsorted(self._labels, labels)

    # ---------------------------------------------------------------- matching
    def label_samples(self, annotation: Any, tolerance: float = 2) -> pd.DataFrame:
        """Region label of every sample (0 = unmatched).

        Parameters
        ----------
        annotation : pandas.DataFrame of shape (S, >=3) or array_like of shape (S, 3)
            Sample coordinates (columns ``mni_x``, ``mni_y``, ``mni_z``, in the
            atlas' space). With columns ``hemisphere`` and ``structure`` and a
            tree that has ``atlas_info``, matching is constrained.
        tolerance : float, default=2
            Volumetric atlases: search radius in mm, in 1 mm steps up to
            ``floor(|tolerance|)`` (0 = only samples inside a labelled voxel).
            Surface atlases: a non-negative value is a standard-deviation
            threshold (samples farther from their vertex than ``mean +
            tolerance * std`` of the cortical samples' distances, ddof=1, are
            dropped); a negative value is a distance in mm (samples farther
            than ``|tolerance|`` dropped). Only cortical samples are labelled
            on surfaces when the annotation has a ``structure`` column.

        Returns
        -------
        labels : pandas.DataFrame of shape (S, 1)
            One int64 column ``label``, indexed like `annotation` (a
            RangeIndex for arrays), as abagen 0.1.3 returns it.
        """
        coords = _sample_coords(annotation)
        tolerance = float(tolerance)
        if not np.isfinite(tolerance):
            raise ValueError(f"tolerance must be a finite number; got {tolerance}.")
        comp = self._compatibility(annotation)
        if self._volumetric:
            out = self._label_volume(coords, tolerance, comp)
        else:
            classes = _sample_classes(annotation)
            cortex = None if classes is None else classes[1] == "cortex"
            out = self._label_surface(coords, tolerance, comp, cortex)
        return pd.DataFrame({"label": out.astype(np.int64, copy=False)},
                            index=_sample_index(annotation, len(coords)))

    def _snap(self, coords: np.ndarray) -> np.ndarray:
        """Voxel index of the previous grid point of every coordinate."""
        inv = np.linalg.inv(self._affine)
        vox = coords @ inv[:3, :3].T + inv[:3, 3]
        nearest = np.rint(vox)
        on_grid = np.abs(vox - nearest) <= _ON_GRID_ATOL * np.maximum(1.0, np.abs(vox))
        # world direction of each voxel axis: +1 if moving up the axis increases
        # the world coordinate it mostly maps to, -1 otherwise
        cols = self._affine[:3, :3]
        main = np.abs(cols).argmax(axis=0)
        sign = np.sign(cols[main, np.arange(3)])
        snapped = np.where(sign > 0, np.floor(vox), np.ceil(vox))
        exact = np.where(on_grid, nearest, snapped)
        if self._group_atlas:
            # strict: a coordinate on a grid value goes one grid point down (in world)
            exact = np.where(on_grid, nearest - sign, exact)
        return exact.astype(np.int64)

    def _label_volume(self, coords: np.ndarray, tolerance: float,
                      comp: np.ndarray | None) -> np.ndarray:
        n = len(coords)
        out = np.zeros(n, dtype=np.int64)
        ijk = self._snap(coords)
        shape = np.array(self._atlas.shape)
        inside = np.all((ijk >= 0) & (ijk < shape), axis=1)
        direct = np.zeros(n, dtype=np.int64)
        direct[inside] = self._atlas[tuple(ijk[inside].T)]
        ok = direct != 0
        if comp is not None and ok.any():
            idx = np.flatnonzero(ok)
            ok[idx] = comp[idx, self._label_pos(direct[idx])]
        out[ok] = direct[ok]
        grid = ijk @ self._affine[:3, :3].T + self._affine[:3, 3]
        pending = np.flatnonzero(~ok)
        for radius in range(1, int(np.floor(abs(tolerance))) + 1):
            if pending.size == 0:
                break
            balls = self._tree.query_ball_point(grid[pending], r=radius)
            still = []
            for s, ball in zip(pending, balls, strict=True):
                found = self._point_labels[np.asarray(ball, dtype=np.int64)]
                if comp is not None and found.size:
                    found = found[comp[s, self._label_pos(found)]]
                if found.size == 0:
                    still.append(s)
                    continue
                out[s] = self._pick_label(found, grid[s], constrained=comp is not None)
            pending = np.asarray(still, dtype=np.int64)
        return out

    def _pick_label(self, found: np.ndarray, point: np.ndarray, constrained: bool) -> int:
        """Label for a sample whose search ball holds voxels with labels `found`."""
        cands, counts = np.unique(found, return_counts=True)
        if len(cands) == 1:
            return int(cands[0])
        if not constrained:
            # abagen 0.1.3 without atlas_info: most frequent label, ties by centroid
            cands = cands[counts == counts.max()]
            if len(cands) == 1:
                return int(cands[0])
        cents = self._centroid_array[self._label_pos(cands)]
        return int(cands[np.argmin(np.linalg.norm(cents - point, axis=1))])

    def _label_surface(self, coords: np.ndarray, tolerance: float,
                       comp: np.ndarray | None, cortex: np.ndarray | None) -> np.ndarray:
        # abagen 0.1.3's surface rule (black-box probes of its AtlasTree on
        # two-vertex atlases): when the samples have structural classes, only
        # cortical samples are ever labelled (with or without atlas_info), and
        # the threshold is taken over the nearest-vertex distances of all
        # cortical samples (any hemisphere, compatible or not) with the
        # *sample* standard deviation (ddof=1); a sample is dropped only when
        # its distance exceeds it (one cortical sample: NaN threshold, kept)
        dist, idx = self._tree.query(coords)
        lab = self._point_labels[idx]
        pool = np.ones(len(coords), dtype=bool) if cortex is None else cortex
        ok = pool.copy()
        if comp is not None:
            ok &= comp[np.arange(len(coords)), self._label_pos(lab)]
        if not ok.any():
            return np.zeros(len(coords), dtype=np.int64)
        if tolerance < 0:
            # a negative tolerance acts as a distance in mm
            threshold = abs(tolerance)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                spread = dist[pool].std(ddof=1) if pool.sum() > 1 else np.nan
            threshold = dist[pool].mean() + tolerance * spread
        keep = ok & ~(dist > threshold)
        return np.where(keep, lab, 0).astype(np.int64)

    def match_closest_centroids(self, annotation: Any, return_dist: bool = False):
        """Label of the region whose centroid is closest to every sample.

        Parameters
        ----------
        annotation : pandas.DataFrame of shape (S, >=3) or array_like of shape (S, 3)
            Sample coordinates; hemisphere/structure columns constrain the
            candidate regions when the tree has ``atlas_info``.
        return_dist : bool, default=False
            Also return the distances.

        Returns
        -------
        labels : numpy.ndarray of shape (S,)
            Label of the closest compatible centroid (-1 if no region is
            compatible with the sample, as in abagen 0.1.3).
        distance : numpy.ndarray of shape (S,)
            Distance to that centroid (inf where the label is -1); only when
            `return_dist`.
        """
        coords = _sample_coords(annotation)
        dist = cdist(coords, self._centroid_array)
        comp = self._compatibility(annotation, strict=True)
        if comp is not None:
            dist[~comp] = np.inf
        best = dist.argmin(axis=1)
        bestd = dist[np.arange(len(coords)), best]
        labels = np.where(np.isfinite(bestd), self._labels[best], -1).astype(np.int64)
        if return_dist:
            return labels, bestd
        return labels

    def match_closest_samples(self, annotation: Any, labels: Iterable[int] | None = None,
                              return_dist: bool = False):
        """Sample closest to the centroid of each region (for ``missing='centroids'``).

        abagen 0.1.3 fills a region this way only when *no* donor has a sample
        in it; the region's value is then the average over donors of each
        donor's closest sample, weighted by 1 / its centroid distance. The
        candidates are the donor's matched samples (``norm_matched=True``),
        constrained by hemisphere/structure when the tree has ``atlas_info``
        (this reproduces abagen's parity values).

        Parameters
        ----------
        annotation : pandas.DataFrame of shape (S, >=3) or array_like of shape (S, 3)
            Samples of one donor. With hemisphere/structure columns and
            ``atlas_info``, only samples compatible with a region are
            candidates for it.
        labels : iterable of int, optional
            Regions to match; default :attr:`labels`.
        return_dist : bool, default=False
            Also return the distances.

        Returns
        -------
        samples : numpy.ndarray of shape (n_regions,)
            Row position (0-based, in `annotation`) of the sample closest to
            each region's centroid (the first on ties); -1 if no sample is
            compatible.
        distance : numpy.ndarray of shape (n_regions,)
            Centroid-to-sample distance (inf where the position is -1); only
            when `return_dist`.
        """
        coords = _sample_coords(annotation)
        labels = self._labels if labels is None else self._check_labels(labels)
        pos = self._label_pos(labels)
        out = np.full(len(labels), -1, dtype=np.int64)
        dists = np.full(len(labels), np.inf)
        if len(coords):
            dist = cdist(self._centroid_array[pos], coords)
            # strict hemispheres: abagen 0.1.3 leaves a bilateral region
            # without bilateral samples empty (missing='centroids' probe)
            comp = self._compatibility(annotation, strict=True)
            if comp is not None:
                dist[~comp[:, pos].T] = np.inf
            best = dist.argmin(axis=1)
            bestd = dist[np.arange(len(labels)), best]
            found = np.isfinite(bestd)
            out[found] = best[found]
            dists[found] = bestd[found]
        if return_dist:
            return out, dists
        return out

    def fill_label(self, annotation: Any, label: int, return_dist: bool = False):
        """Nearest sample of every voxel/vertex of `label` (for ``missing='interpolate'``).

        Rules (abagen 0.1.3's, derived from its parity outputs):

        1. Every sample of `annotation` (the caller passes the donor's
           matched samples when ``norm_matched=True``, all samples otherwise)
           is first moved onto the atlas: to its nearest labelled voxel
           centre (volumes) or labelled vertex (surfaces), of any label.
        2. When constrained, candidates are the samples compatible both with
           `label` (same hemisphere: a bilateral region takes only bilateral
           samples) and with the region of the voxel/vertex they were moved
           onto (so an unmatched cortical sample lying next to a subcortical
           region is not used).
        3. Every voxel/vertex of `label` takes the nearest moved candidate:
           Euclidean distance for volumes (and surfaces without triangles);
           for meshes, the shortest path along :attr:`graph` (labelled
           vertices only; see :func:`mesh_graph`). Exact ties go to the first
           candidate in annotation order (on a mesh: among the samples moved
           onto the same vertex; equal path lengths from different vertices
           are left to the shortest-path search).
        4. Unreachable vertices are left out; a voxel/vertex on which a
           candidate sits keeps distance 0.

        The caller's region value is then the average of the returned
        samples' expression weighted by 1 / distance, 1 for distance 0
        (:func:`abagen_core.stages.aggregate.interpolate_region`). This reproduces
        abagen's results for volumes and surfaces (the parity set, and
        abagen's own ``AtlasTree.fill_label`` called on the fsaverage5
        Desikan-Killiany atlas: same samples, same distances).

        Parameters
        ----------
        annotation : pandas.DataFrame of shape (S, >=3) or array_like of shape (S, 3)
            Samples of one donor. With hemisphere/structure columns and
            ``atlas_info``, only samples compatible with `label` are used.
        label : int
            Region to fill.
        return_dist : bool, default=False
            Also return the distances.

        Returns
        -------
        samples : numpy.ndarray of shape (L,)
            Row position (0-based, in `annotation`) of the sample nearest to
            each of the L kept voxels/vertices of the region. Empty when no
            sample is compatible with the region.
        distance : numpy.ndarray of shape (L,)
            Distance (>= 0) from each kept voxel/vertex to that sample; only
            when `return_dist`. float32 for meshes (surfaces with triangles),
            as abagen 0.1.3 gives them; float64 otherwise.
        """
        label = int(self._check_labels([label])[0])
        coords = _sample_coords(annotation)
        cand = np.arange(len(coords))
        # samples are first moved onto the atlas: to their nearest labelled
        # voxel centre / vertex (any label), as abagen 0.1.3 does
        _, nearest = self._tree.query(coords) if len(coords) else (None, cand)
        comp = self._compatibility(annotation)
        if comp is not None:
            # a candidate must be compatible with the region being filled and
            # with the region of the voxel/vertex it was moved onto (abagen
            # 0.1.3's numbers: e.g. a cortical sample sitting next to the
            # hippocampus is not used, even with norm_matched=False); the
            # region filled needs the sample's own hemisphere (strict), the
            # one it was moved onto may also be bilateral (abagen's fill_label
            # on probe atlases with a bilateral region)
            target = self._compatibility(annotation, strict=True)
            ok = (target[:, self._label_pos(np.array([label]))[0]]
                  & comp[cand, self._label_pos(self._point_labels[nearest])])
            cand, nearest = cand[ok], nearest[ok]
        if cand.size == 0:
            empty = np.zeros(0, dtype=np.int64)
            return (empty, np.zeros(0)) if return_dist else empty
        if not self._volumetric and self._triangles is not None:
            pick, best = self._nearest_on_mesh(np.flatnonzero(self._point_labels == label),
                                               nearest)
        else:
            points = self._coords[self._point_labels == label]
            dist = _chunked_cdist(points, self._coords[nearest])
            pick = dist.argmin(axis=1)  # ties: first sample in annotation order
            best = dist[np.arange(len(dist)), pick]
        # unreachable nodes are left out; a node a sample sits on keeps
        # distance 0 (weighted 1 by aggregate.interpolate_region)
        keep = np.isfinite(best)
        samples = cand[pick[keep]].astype(np.int64)
        if return_dist:
            return samples, best[keep]
        return samples

    def _nearest_on_mesh(self, nodes: np.ndarray, sources: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest source of every node along :attr:`graph`, and its distance.

        `nodes` and `sources` are positions in :attr:`coords` (labelled
        vertices). One multi-source Dijkstra run: each node gets the source
        vertex it is closest to; of several sources on that vertex, the first
        (in `sources` order) is returned. Returns the position in `sources`
        (0 where unreachable) and the distance (inf where unreachable), in
        float32: abagen 0.1.3 gives mesh distances in single precision (its
        AtlasTree.fill_label: float32 on meshes, float64 otherwise) and its
        inverse-distance weights follow them (aggregate.interpolate_region);
        filled values agree to 1e-15 with float32, to only ~1e-7 with float64.
        """
        from scipy.sparse.csgraph import dijkstra  # lazy: slow to import

        vertices, first = np.unique(sources, return_index=True)
        key = vertices.tobytes()
        if key not in self._mesh_searches:
            # the regions of one donor mostly share their candidates (e.g. all
            # left cortical samples): one search serves all of them
            if len(self._mesh_searches) >= _MESH_SEARCHES_KEPT:
                self._mesh_searches.pop(next(iter(self._mesh_searches)))
            self._mesh_searches[key] = dijkstra(self.graph, directed=False, indices=vertices,
                                                return_predecessors=True, min_only=True)[::2]
        dist, owner = self._mesh_searches[key]
        dist, owner = dist[nodes], owner[nodes]
        pick = np.zeros(len(nodes), dtype=np.int64)
        reached = owner >= 0
        pick[reached] = first[np.searchsorted(vertices, owner[reached])]
        return pick, dist.astype(np.float32)

    def _check_labels(self, labels: Iterable[int]) -> np.ndarray:
        labels = np.asarray(list(labels), dtype=np.int64)
        unknown = np.setdiff1d(labels, self._labels)
        if unknown.size:
            raise ValueError(f"Labels {unknown.tolist()} are not in the atlas "
                             f"(its labels: {self._labels.tolist()[:10]}...).")
        return labels


def _chunked_cdist(a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """cdist(a, b) computed in row blocks (bounded temporary memory)."""
    out = np.empty((len(a), len(b)))
    for start in range(0, len(a), chunk):
        out[start:start + chunk] = cdist(a[start:start + chunk], b)
    return out


