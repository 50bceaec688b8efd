"""Tests for abagen_core.atlas.matching: unit checks on tiny images and sample-count parity."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from abagen_core.atlas import images, matching
from abagen_core.atlas.matching import AtlasTree, closest_centroid, get_centroids
from abagen_core.utils import data_path

DONORS = ["9861", "10021", "12876", "14380", "15496", "15697"]


# --------------------------------------------------------------------------- helpers


def _img(data, affine=None):
    return nib.Nifti1Image(np.asarray(data, dtype=np.int32),
                           np.eye(4) if affine is None else affine)


def _annot(coords, hemi=None, struct=None):
    coords = np.atleast_2d(np.asarray(coords, dtype=float))
    out = pd.DataFrame(coords, columns=["mni_x", "mni_y", "mni_z"])
    if hemi is not None:
        out["hemisphere"] = hemi
        out["structure"] = struct
    return out


def _info(rows):
    return pd.DataFrame(rows, columns=["id", "hemisphere", "structure"])


# --------------------------------------------------------------------------- snapping


def test_inside_voxel_takes_label():
    data = np.zeros((5, 5, 5))
    data[2, 2, 2] = 7
    tree = AtlasTree(_img(data))
    labels = tree.label_samples(_annot([[2.2, 2.7, 2.01], [3.5, 3.5, 3.5]]), tolerance=0)
    assert isinstance(labels, pd.DataFrame)  # abagen 0.1.3: a frame with one column
    assert list(labels.columns) == ["label"] and labels["label"].dtype == np.int64
    labels = labels["label"]
    assert labels.tolist() == [7, 0]


def test_group_atlas_on_grid_goes_one_voxel_down():
    # a coordinate exactly on a grid value snaps to the previous grid point
    data = np.zeros((5, 5, 5))
    data[2, 2, 2] = 1
    group = AtlasTree(_img(data))
    native = AtlasTree(_img(data), group_atlas=False)
    on_grid = _annot([[3.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    assert group.label_samples(on_grid, tolerance=0)["label"].tolist() == [1, 0]
    assert native.label_samples(on_grid, tolerance=0)["label"].tolist() == [0, 1]


def test_snapping_follows_world_axes_with_flipped_affine():
    # x = 4 - i: the previous grid point in world x is the next voxel index
    affine = np.diag([-1.0, 1.0, 1.0, 1.0])
    affine[0, 3] = 4.0
    data = np.zeros((5, 5, 5))
    data[2, 1, 1] = 3  # world x = 2
    tree = AtlasTree(_img(data, affine))
    assert tree.label_samples(_annot([[2.4, 1.5, 1.5]]), tolerance=0)["label"].tolist() == [3]
    assert tree.label_samples(_annot([[1.6, 1.5, 1.5]]), tolerance=0)["label"].tolist() == [0]


# --------------------------------------------------------------------------- tolerance


@pytest.mark.parametrize(("tolerance", "expected"),
                         [(0, 0), (1, 0), (1.9, 0), (2, 5), (2.9, 5), (-2, 5), (-1, 0)])
def test_tolerance_is_searched_in_whole_mm(tolerance, expected):
    data = np.zeros((9, 9, 9))
    data[6, 4, 4] = 5
    tree = AtlasTree(_img(data))
    # snaps to (4, 4, 4): 2 mm from the labelled voxel
    labels = tree.label_samples(_annot([[4.5, 4.5, 4.5]]), tolerance=tolerance)
    assert labels["label"].tolist() == [expected]


def test_search_starts_at_snapped_point_not_sample():
    data = np.zeros((9, 9, 9))
    data[5, 4, 4] = 2
    tree = AtlasTree(_img(data))
    # sample 1.05 mm from the voxel, but its grid point (3, 4, 4) is 2 mm away
    labels = tree.label_samples(_annot([[3.95, 4.2, 4.2]]), tolerance=1)
    assert labels["label"].tolist() == [0]


def test_first_radius_with_voxels_decides():
    data = np.zeros((9, 9, 9))
    data[5, 4, 4] = 1          # 1 mm from the grid point (4, 4, 4)
    data[4:7, 6:9, 0:9] = 2    # large region 2 mm away (closer centroid irrelevant)
    tree = AtlasTree(_img(data))
    assert tree.label_samples(_annot([[4.5, 4.5, 4.5]]), tolerance=3)["label"].tolist() == [1]


# --------------------------------------------------------------------------- tie-breaks


def _tie_atlas():
    # grid point (5, 5, 5) is unlabelled; at 1 mm: two voxels of label 1 on the
    # -x side, one voxel of label 2 on the +x side. Label 1 extends far away
    # (its centroid is distant); label 2 is compact (centroid close).
    data = np.zeros((12, 12, 12))
    data[4, 5, 5] = 1
    data[5, 4, 5] = 1
    data[0:3, 0:3, 0:3] = 1
    data[6, 5, 5] = 2
    data[7, 5, 5] = 2
    return _img(data)


def test_tie_break_without_info_is_most_frequent_label():
    tree = AtlasTree(_tie_atlas())
    assert tree.label_samples(_annot([[5.5, 5.5, 5.5]]), tolerance=2)["label"].tolist() == [1]


def test_tie_break_with_info_is_closest_centroid():
    info = _info([(1, "L", "cortex"), (2, "L", "cortex")])
    tree = AtlasTree(_tie_atlas(), atlas_info=info)
    ann = _annot([[5.5, 5.5, 5.5]], hemi=["L"], struct=["cortex"])
    assert tree.label_samples(ann, tolerance=2)["label"].tolist() == [2]
    # coordinates only: no constraint, so the unconstrained rule applies
    assert tree.label_samples(ann[["mni_x", "mni_y", "mni_z"]], tolerance=2)["label"].tolist() == [1]


def test_mode_ties_go_to_closest_centroid():
    data = np.zeros((12, 12, 12))
    data[4, 5, 5] = 1
    data[0:3, 0:3, 0:3] = 1
    data[6, 5, 5] = 2
    tree = AtlasTree(_img(data))
    assert tree.label_samples(_annot([[5.5, 5.5, 5.5]]), tolerance=1)["label"].tolist() == [2]


# --------------------------------------------------------------------------- constraints


def _two_region_atlas():
    data = np.zeros((10, 10, 10))
    data[1:4, 1:4, 1:4] = 1    # left cortex
    data[6:9, 1:4, 1:4] = 2    # right cortex
    data[1:4, 6:9, 1:4] = 3    # bilateral subcortex (brainstem)
    return _img(data)


def test_constraints_on_hemisphere_and_structure():
    info = _info([(1, "L", "cortex"), (2, "R", "cortex"), (3, "B", "subcortex/brainstem")])
    tree = AtlasTree(_two_region_atlas(), atlas_info=info)
    ann = _annot([[2.5, 2.5, 2.5]] * 4 + [[2.5, 7.5, 2.5]] * 3,
                 hemi=["L", "R", "L", "B", "R", "L", "L"],
                 struct=["cortex", "cortex", "white matter", "cortex",
                         "subcortex/brainstem", "subcortex/brainstem", "cortex"])
    labels = tree.label_samples(ann, tolerance=0)["label"].tolist()
    # L cortex in L cortex; R cortex sample cannot take a left region; white
    # matter has no region; a bilateral sample takes only bilateral regions
    # (abagen 0.1.3, black-box probes); the bilateral brainstem accepts L and
    # R samples; cortex cannot take subcortex
    assert labels == [1, 0, 0, 0, 3, 3, 0]


def test_without_atlas_info_anything_goes():
    tree = AtlasTree(_two_region_atlas())
    ann = _annot([[2.5, 2.5, 2.5]], hemi=["R"], struct=["white matter"])
    assert tree.label_samples(ann, tolerance=0)["label"].tolist() == [1]


# --------------------------------------------------------------------------- surfaces


def _surface_tree(with_info=True):
    coords = np.array([[-10, 0, 0], [-10, 10, 0], [10, 0, 0], [10, 10, 0], [0, 50, 0]],
                      dtype=float)
    labels = np.array([1, 1, 2, 2, 0])
    info = _info([(1, "L", "cortex"), (2, "R", "cortex")]) if with_info else None
    return AtlasTree(labels, coords, atlas_info=info)


def test_surface_tolerance_is_sd_or_mm():
    tree = _surface_tree()
    # distances to the nearest vertex: 1, 2, 3, 10 (all left cortex)
    ann = _annot([[-10, 0, 1], [-10, 0, -2], [-10, 10, 3], [-10, 10, 10]],
                 hemi=["L"] * 4, struct=["cortex"] * 4)
    dist = np.array([1.0, 2.0, 3.0, 10.0])
    for tol in (0, 0.5, 2):
        # the sample standard deviation (ddof=1), as abagen 0.1.3
        keep = dist <= dist.mean() + tol * dist.std(ddof=1)
        expected = np.where(keep, 1, 0).tolist()
        assert tree.label_samples(ann, tolerance=tol)["label"].tolist() == expected
    assert tree.label_samples(ann, tolerance=-3)["label"].tolist() == [1, 1, 1, 0]
    assert tree.label_samples(ann, tolerance=-2.5)["label"].tolist() == [1, 1, 0, 0]


def test_surface_nearest_vertex_in_wrong_hemisphere_is_dropped():
    tree = _surface_tree()
    ann = _annot([[9, 0, 0], [9, 0, 0], [-1, 49, 0]], hemi=["L", "R", "L"],
                 struct=["cortex", "cortex", "cortex"])
    labels = tree.label_samples(ann, tolerance=-100)["label"].tolist()
    # background vertices are never matched: the third goes to a labelled one
    assert labels == [0, 2, 1]
    assert _surface_tree(False).label_samples(ann, tolerance=-100)["label"].tolist() == [2, 2, 1]


def _two_vertex_tree(with_info=True):
    coords = np.array([[-50.0, 0, 0], [50.0, 0, 0]])
    info = _info([(1, "L", "cortex"), (2, "R", "cortex")]) if with_info else None
    return AtlasTree(np.array([1, 2]), coords, atlas_info=info)


@pytest.mark.parametrize("with_info", [True, False])
def test_surface_threshold_sample_sd_over_cortical_samples_only(with_info):
    # abagen 0.1.3's surface rule (black-box probes of its AtlasTree, #18):
    # the threshold is mean + tolerance * SD over the nearest-vertex distances
    # of the *cortical* samples, SD with ddof=1; only cortical samples are
    # labelled, with or without atlas_info
    tree = _two_vertex_tree(with_info)
    cortical = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 8.0])
    rows = [[-50, d, 0] for d in cortical] + [[-50, 2, 0], [-50, 20, 0]]
    ann = _annot(rows, hemi=["L"] * 12, struct=["cortex"] * 10 + ["subcortex/brainstem"] * 2)
    threshold = cortical.mean() + cortical.std(ddof=1)      # 8.06...
    # the sample at 8 mm lies between the population-SD threshold (the old
    # rule, 7.89 mm) and the sample-SD one; a pool with the subcortical
    # samples (mean + SD over all 12 distances) would keep the one at 9 mm
    assert cortical.mean() + cortical.std() < 8.0 < threshold < 9.0
    expected = np.where(cortical <= threshold, 1, 0).tolist() + [0, 0]
    assert tree.label_samples(ann, tolerance=1)["label"].tolist() == expected
    assert expected[-3] == 1
    # in mm the pool does not matter, and non-cortical samples stay unlabelled
    assert tree.label_samples(ann, tolerance=-50)["label"].tolist() == [1] * 10 + [0, 0]


def test_surface_threshold_pool_keeps_incompatible_cortical_samples():
    # a right cortical sample nearest a left vertex is not labelled but its
    # distance still counts in the threshold: it lets the 12 mm sample in
    tree = _two_vertex_tree()
    rows = [[-50, d, 0] for d in (1, 2, 3, 4, 5, 6, 7, 8, 9, 12)] + [[-50, 20, 0]]
    ann = _annot(rows, hemi=["L"] * 10 + ["R"], struct=["cortex"] * 11)
    assert tree.label_samples(ann, tolerance=1)["label"].tolist() == [1] * 10 + [0]
    alone = tree.label_samples(ann.iloc[:10], tolerance=1)["label"].tolist()
    assert alone[-1] == 0


def test_surface_single_cortical_sample_is_kept():
    # one cortical sample: the sample SD is undefined and the sample is kept
    ann = _annot([[-50, 30, 0]], hemi=["L"], struct=["cortex"])
    assert _two_vertex_tree().label_samples(ann, tolerance=0)["label"].tolist() == [1]


def test_surface_centroid_is_nearest_labelled_vertex():
    # abagen 0.1.3: a surface region's centroid is the labelled vertex (any
    # label, not background) nearest the mean of its vertices; volumes: mean
    coords = np.array([[0.0, 0, 0], [10, 0, 0], [0, 10, 0], [3, 3, 0], [8, 8, 8]])
    tree = AtlasTree(np.array([1, 1, 1, 2, 0]), coords)
    np.testing.assert_array_equal(tree.centroids[1], [3, 3, 0])
    tree = AtlasTree(np.array([1, 1, 1, 0, 2]), coords)
    np.testing.assert_array_equal(tree.centroids[1], [0, 0, 0])
    np.testing.assert_allclose(get_centroids(np.array([1, 1, 1, 0, 2]), coords)[1],
                               [10 / 3, 10 / 3, 0])


def test_bilateral_regions_are_filled_from_bilateral_samples_only():
    # label_samples: an L sample may take a bilateral region, a bilateral
    # sample only a bilateral one; filling (fill_label, centroids) needs the
    # region's own hemisphere (abagen 0.1.3: a bilateral region without
    # bilateral samples stays empty under missing='centroids')
    info = _info([(1, "L", "cortex"), (2, "R", "cortex"), (3, "B", "cortex")])
    coords = np.array([[-50.0, 0, 0], [-50, 5, 0], [50, 0, 0], [50, 5, 0], [0, 0, 0], [0, 5, 0]])
    tree = AtlasTree(np.array([1, 1, 2, 2, 3, 3]), coords, atlas_info=info)
    ann = _annot([[1, 1, 0], [-1, 1, 0], [-49, 1, 0]], hemi=["L", "B", "B"],
                 struct=["cortex"] * 3)
    assert tree.label_samples(ann, tolerance=-5)["label"].tolist() == [3, 3, 0]
    assert tree.fill_label(ann.iloc[:1], 3).size == 0
    assert tree.fill_label(ann, 3).tolist() == [1, 1]
    # the L sample sits on a bilateral vertex and still fills the left region
    assert tree.fill_label(ann, 1).tolist() == [0, 0]
    assert tree.match_closest_samples(ann, [1, 2, 3]).tolist() == [0, -1, 1]
    assert tree.match_closest_centroids(ann).tolist() == [1, 3, 3]


# --------------------------------------------------------------------------- missing


def test_match_closest_samples_is_constrained():
    info = _info([(1, "L", "cortex"), (2, "R", "cortex"), (3, "B", "subcortex/brainstem")])
    tree = AtlasTree(_two_region_atlas(), atlas_info=info)
    ann = _annot([[2, 2, 2], [7, 2, 2], [6, 2, 2]], hemi=["L", "R", "L"],
                 struct=["cortex", "cortex", "cortex"])
    idx, dist = tree.match_closest_samples(ann, [1, 2, 3], return_dist=True)
    assert idx.tolist() == [0, 1, -1]
    np.testing.assert_allclose(dist[:2], [0.0, 0.0])
    assert np.isinf(dist[2])
    # unconstrained: plain coordinates, nearest sample whatever its classes
    plain = ann[["mni_x", "mni_y", "mni_z"]]
    assert tree.match_closest_samples(plain, [2]).tolist() == [1]


def test_match_closest_centroids():
    info = _info([(1, "L", "cortex"), (2, "R", "cortex"), (3, "B", "subcortex/brainstem")])
    tree = AtlasTree(_two_region_atlas(), atlas_info=info)
    ann = _annot([[6, 2, 2], [6, 2, 2]], hemi=["L", "R"], struct=["cortex", "cortex"])
    labels, dist = tree.match_closest_centroids(ann, return_dist=True)
    assert labels.tolist() == [1, 2]
    np.testing.assert_allclose(dist, [4.0, 1.0])


def test_match_closest_centroids_without_candidate_is_minus_one():
    # abagen 0.1.3 (black box): label -1 and distance inf when no region is compatible
    info = _info([(1, "L", "cortex"), (2, "R", "cortex"), (3, "B", "subcortex/brainstem")])
    tree = AtlasTree(_two_region_atlas(), atlas_info=info)
    ann = _annot([[6, 2, 2], [6, 2, 2]], hemi=["R", "L"], struct=["cortex", "cerebellum"])
    labels, dist = tree.match_closest_centroids(ann, return_dist=True)
    assert labels.tolist() == [2, -1]
    assert np.isfinite(dist[0]) and np.isinf(dist[1])


def test_coords_can_be_set():
    # abagen 0.1.3 (black box): the setter moves the tree's points (tree, centroids
    # follow) and refuses a different number of points
    tree = AtlasTree(_two_region_atlas())
    ann = _annot([[2, 2, 2]])
    assert tree.label_samples(ann, tolerance=0)["label"].tolist() == [1]
    before = tree.centroids[1]
    tree.coords = tree.coords + 100
    np.testing.assert_allclose(tree.centroids[1], before + 100)
    np.testing.assert_allclose(tree.tree.data, tree.coords)
    assert tree.match_closest_centroids(_annot([[102, 102, 102]])).tolist() == [1]
    with pytest.raises(ValueError, match="Expected 81. Received 3"):
        tree.coords = tree.coords[:3]
    surf = _surface_tree(False)
    surf.coords = surf.coords * 2  # labelled vertices only
    assert surf.coords.shape == (4, 3)
    np.testing.assert_allclose(surf.centroids[2], [20, 10, 0])
    assert surf.label_samples(_annot([[19, 1, 0]]), tolerance=-3)["label"].tolist() == [2]


def test_triangles_can_be_set():
    surf = _surface_tree(False)
    assert surf.triangles is None and surf.graph is None
    surf.triangles = [[0, 1, 2], [1, 2, 3]]
    assert surf.triangles.shape == (2, 3) and surf.graph.shape == (4, 4)
    surf.triangles = None
    assert surf.graph is None
    with pytest.raises(ValueError, match="greater than tree coordinate"):
        surf.triangles = [[0, 1, 5]]
    with pytest.raises(ValueError, match=r"\(F, 3\)"):
        surf.triangles = [[0, 1]]
    volume = AtlasTree(_two_region_atlas())
    volume.triangles = [[0, 1, 2]]  # as in abagen: a volume has no mesh
    assert volume.triangles is None


def test_fill_label_projects_samples_and_keeps_their_voxels():
    data = np.zeros((10, 3, 3))
    data[0:4, 1, 1] = 1     # region to fill: x = 0..3
    data[6:10, 1, 1] = 2    # samples live here
    tree = AtlasTree(_img(data))
    # samples at x=6.2 and x=8.9: moved onto their nearest labelled voxels 6 and 9
    ann = _annot([[8.9, 1.1, 1.0], [6.2, 1.0, 0.9]])
    idx, dist = tree.fill_label(ann, 1, return_dist=True)
    assert idx.tolist() == [1, 1, 1, 1]
    np.testing.assert_allclose(dist, [6.0, 5.0, 4.0, 3.0])
    # a sample that projects onto a voxel of the region: that voxel keeps distance 0
    ann2 = _annot([[2.2, 1.0, 1.0], [6.0, 1.0, 1.0]])
    idx, dist = tree.fill_label(ann2, 1, return_dist=True)
    assert idx.tolist() == [0, 0, 0, 0]
    np.testing.assert_allclose(dist, [2.0, 1.0, 0.0, 1.0])


def test_fill_label_drops_samples_next_to_an_incompatible_region():
    data = np.zeros((10, 3, 3))
    data[0:3, 1, 1] = 1     # L cortex: region to fill
    data[5, 1, 1] = 2       # L cortex
    data[8, 1, 1] = 3       # L subcortex
    info = _info([(1, "L", "cortex"), (2, "L", "cortex"), (3, "L", "subcortex/brainstem")])
    tree = AtlasTree(_img(data), atlas_info=info)
    # both are cortical samples; the first lies closest to the subcortical voxel
    ann = _annot([[7.8, 1.0, 1.0], [5.4, 1.0, 1.0]], hemi=["L", "L"],
                 struct=["cortex", "cortex"])
    idx, dist = tree.fill_label(ann, 1, return_dist=True)
    assert idx.tolist() == [1, 1, 1]
    np.testing.assert_allclose(dist, [5.0, 4.0, 3.0])


def test_fill_label_ties_take_first_sample():
    data = np.zeros((7, 3, 3))
    data[3, 1, 1] = 1
    data[[1, 5], 1, 1] = 2
    tree = AtlasTree(_img(data))
    ann = _annot([[5.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    assert tree.fill_label(ann, 1).tolist() == [0]


def test_fill_label_surface_uses_mesh_distance():
    # a strip of vertices 0-1-2-3-4 along x, plus vertex 5 near vertex 4 in
    # space but connected only through vertex 0 (a fold)
    coords = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0], [4, 0, 0],
                       [4, 0.5, 0], [0, 1, 0]], dtype=float)
    tri = np.array([[0, 1, 6], [1, 2, 6], [2, 3, 6], [3, 4, 6], [0, 5, 6]])
    labels = np.array([2, 2, 1, 1, 1, 3, 2])
    tree = AtlasTree(labels, coords, triangles=tri)
    ann = _annot([[0, 0, 0.1], [4, 0.6, 0.1]])   # projected onto vertices 0 and 5
    idx, dist = tree.fill_label(ann, 1, return_dist=True)
    # vertex 4 is 0.5 mm from sample 2 in space but far from it along the mesh
    assert idx.tolist() == [0, 0, 0]
    assert dist[-1] > 3


def test_fill_label_without_compatible_samples_is_empty():
    info = _info([(1, "L", "cortex"), (2, "R", "cortex"), (3, "B", "subcortex/brainstem")])
    tree = AtlasTree(_two_region_atlas(), atlas_info=info)
    ann = _annot([[2, 2, 2]], hemi=["L"], struct=["cortex"])
    idx, dist = tree.fill_label(ann, 2, return_dist=True)
    assert idx.size == 0 and dist.size == 0


# --------------------------------------------------------------------------- functions


def test_get_centroids_and_closest_centroid():
    cents = get_centroids([1, 1, 2, 0], [[0, 0, 0], [2, 0, 0], [5, 5, 5], [9, 9, 9]])
    assert list(cents) == [1, 2]
    np.testing.assert_allclose(cents[1], [1, 0, 0])
    data = np.zeros((4, 4, 4))
    data[0:2, 0, 0] = 3
    vol = get_centroids(_img(data))
    np.testing.assert_allclose(vol[3], [0.5, 0, 0])
    with pytest.raises(ValueError, match="do not occur"):
        get_centroids(_img(data), labels=[4])
    idx, dist = closest_centroid([[0, 0, 1], [0, 0, 2.9]], [[0, 0, 0], [0, 0, 3]],
                                 return_dist=True)
    assert idx.tolist() == [0, 1]
    np.testing.assert_allclose(dist, [1.0, 0.1])


def test_tree_properties():
    tree = AtlasTree(_two_region_atlas())
    assert tree.volumetric and tree.group_atlas and tree.atlas_info is None
    assert tree.labels.tolist() == [1, 2, 3]
    np.testing.assert_allclose(tree.centroids[2], [7, 2, 2])
    assert tree.coords.shape == (81, 3)
    assert tree.atlas.shape == (10, 10, 10)
    assert "volumetric" in repr(tree)
    surf = _surface_tree()
    assert not surf.volumetric and surf.graph is None
    assert surf.coords.shape == (4, 3)


def test_native_coordinates():
    raw = pd.DataFrame({"mri_voxel_x": [0, 10], "mri_voxel_y": [0, 20],
                        "mri_voxel_z": [0, 30]}, index=pd.Index([1, 2], name="sample_id"))
    affine = np.array([[-1, 0, 0, 90], [0, 0, -1, 100], [0, -1, 0, 110], [0, 0, 0, 1.0]])
    out = matching.native_coordinates(raw, affine)
    assert out.index.tolist() == [1, 2]
    np.testing.assert_allclose(out.to_numpy(), [[90, 100, 110], [80, 70, 90]])
    with pytest.raises(ValueError, match="mri_voxel"):
        matching.native_coordinates(raw.drop(columns="mri_voxel_z"), affine)


def test_bad_tree_inputs():
    with pytest.raises(ValueError, match="needs `coords`"):
        AtlasTree(np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="shape"):
        AtlasTree(np.array([1, 2, 3]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="no non-zero label"):
        AtlasTree(np.zeros(3), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="non-integer"):
        AtlasTree(np.array([1.5, 2, 3]), np.zeros((3, 3)))
    tree = _surface_tree()
    with pytest.raises(ValueError, match="coordinate columns"):
        tree.label_samples(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match="not in the atlas"):
        tree.fill_label(np.zeros((1, 3)), 9)


# --------------------------------------------------------------------------- parity


def _parity_root(parity_dir):
    if not (parity_dir / "expected" / "pi_average" / "samples_kept.csv.gz").exists():
        pytest.skip("parity set lacks the sample fixtures")
    return parity_dir


def _samples(root, case):
    return pd.read_csv(root / "expected" / case / "samples_kept.csv.gz", index_col=0)


def _mirror(samples, which):
    parts = [samples]
    pairs = {"leftright": [("L", "R")], "rightleft": [("R", "L")]}[which]
    for src, dst in pairs:
        copy = samples[samples["hemisphere"] == src].copy()
        copy["mni_x"] = -copy["mni_x"]
        copy["hemisphere"] = dst
        parts.append(copy)
    return pd.concat(parts)


_VOL = str(data_path("atlas-desikankilliany.nii.gz"))
_INFO = str(data_path("atlas-desikankilliany.csv"))
_SURF = tuple(str(data_path(f"atlas-desikankilliany-{h}.label.gii.gz")) for h in ("lh", "rh"))

#: case -> (atlas, atlas_info, tolerance, samples fixture or mirroring)
_CASES = {
    "default": (_VOL, _INFO, 2, "pi_average"),
    "no_atlas_info": (_VOL, None, 2, "pi_average"),
    "tolerance_0": (_VOL, _INFO, 0, "pi_average"),
    "tolerance_5": (_VOL, _INFO, 5, "pi_average"),
    "tolerance_neg2": (_VOL, _INFO, -2, "pi_average"),
    "tolerance_0_no_info": (_VOL, None, 0, "pi_average"),
    "surface": (_SURF, None, 2, "pi_average"),
    "surface_tolerance_0": (_SURF, None, 0, "pi_average"),
    "surface_tolerance_neg3": (_SURF, None, -3, "pi_average"),
    "surface_lr_mirror": (_SURF, None, 2, "pi_lr_mirror_bidirectional"),
    "lr_mirror_bidirectional": (_VOL, _INFO, 2, "pi_lr_mirror_bidirectional"),
    "lr_mirror_bidirectional_no_info": (_VOL, None, 2, "pi_lr_mirror_bidirectional"),
    "lr_mirror_true": (_VOL, _INFO, 2, "pi_lr_mirror_bidirectional"),
    "lr_mirror_leftright": (_VOL, _INFO, 2, "leftright"),
    "lr_mirror_rightleft": (_VOL, _INFO, 2, "rightleft"),
}
_FAST = {"default", "no_atlas_info", "tolerance_0", "surface", "surface_tolerance_neg3"}


@pytest.fixture(scope="module")
def dk_trees():
    return {"vol": images.check_atlas(_VOL), "vol_info": images.check_atlas(_VOL, _INFO),
            "surf": images.check_atlas(_SURF)}


def _counts(tree, samples, tolerance, regions):
    out = {}
    for donor in DONORS:
        ann = samples[samples["donor"] == int(donor)]
        lab = tree.label_samples(ann, tolerance=tolerance)["label"]
        out[donor] = lab[lab > 0].value_counts().reindex(regions, fill_value=0).to_numpy()
    return pd.DataFrame(out, index=regions)


@pytest.mark.parametrize("case", [pytest.param(c, marks=() if c in _FAST else pytest.mark.slow)
                                  for c in _CASES])
def test_counts_parity(case, parity_dir, dk_trees):
    root = _parity_root(parity_dir)
    expected_file = root / "expected" / case / "counts.csv"
    if not expected_file.exists():
        pytest.skip(f"{case} not in this parity set")
    atlas, info, tolerance, source = _CASES[case]
    if source in ("leftright", "rightleft"):
        samples = _mirror(_samples(root, "pi_average"), source)
    else:
        samples = _samples(root, source)
    key = "surf" if atlas is _SURF else ("vol_info" if info else "vol")
    expected = pd.read_csv(expected_file, index_col=0)
    expected.columns = expected.columns.astype(str)
    got = _counts(dk_trees[key], samples, tolerance, expected.index)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_names=False)


@pytest.mark.slow
def test_native_volume_counts_parity(parity_dir):
    from abagen_core.stages import samples as sample_prep

    root = _parity_root(parity_dir)
    expected_file = root / "expected" / "native_volume" / "counts.csv"
    if not expected_file.exists() or not (root / "data" / "mri").exists():
        pytest.skip("native_volume not in this parity set")
    expected = pd.read_csv(expected_file, index_col=0)
    atlases = {d: str(data_path("native_dk", d, "atlas-desikankilliany.nii.gz")) for d in DONORS}
    trees, group = images.coerce_atlas_to_dict(atlases, DONORS, _INFO)
    assert group is False
    for donor in DONORS:
        folder = root / "data" / "microarray" / f"normalized_microarray_donor{donor}"
        raw = pd.read_csv(folder / "SampleAnnot.csv")
        raw.index = pd.RangeIndex(1, len(raw) + 1, name="sample_id")
        ontology = pd.read_csv(folder / "Ontology.csv")
        affine = nib.load(root / "data" / "mri" / f"mri_donor{donor}" / "T1.nii.gz").affine
        native = matching.native_coordinates(raw, affine)
        raw[["mni_x", "mni_y", "mni_z"]] = native.to_numpy()
        # abagen checks hemispheres on the native coordinates
        ann = sample_prep.drop_mismatch_samples(sample_prep.annotate_samples(raw, ontology))
        lab = trees[donor].label_samples(ann, tolerance=2)["label"]
        got = lab[lab > 0].value_counts().reindex(expected.index, fill_value=0)
        np.testing.assert_array_equal(got.to_numpy(), expected[donor].to_numpy(), err_msg=donor)


# --------------------------------------------------------------------------- mesh graph

_QUAD_TRI = np.array([[0, 1, 2], [3, 2, 1]])   # u=0, a=1, b=2, v=3 (side a-b shared)


def _edge(graph, i, j):
    return max(graph[i, j], graph[j, i])


def test_mesh_graph_symmetric_fold_is_the_unfolded_distance():
    # u and v both project onto the middle of side ab: the indirect edge is
    # the straight line across the unfolded pair of triangles
    xyz = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 1]], dtype=float)
    g = matching.mesh_graph(xyz, _QUAD_TRI)
    assert g.shape == (4, 4)
    assert _edge(g, 0, 3) == pytest.approx(np.sqrt(0.5) + np.sqrt(1.5), abs=1e-12)
    for i, j in [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]:
        assert _edge(g, i, j) == pytest.approx(np.linalg.norm(xyz[i] - xyz[j]), abs=1e-12)
    # one entry per pair
    assert g.nnz == 6 and (g.multiply(g.T)).nnz == 0


def test_mesh_graph_indirect_edge_crosses_between_the_feet():
    # flat, asymmetric: u's foot on line ab is (0.5, 0.5), v's is
    # (-0.25, 1.25); the path crosses ab half-way between them, at (0.125, 0.875)
    xyz = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1.5, 0]], dtype=float)
    g = matching.mesh_graph(xyz, _QUAD_TRI)
    expected = np.hypot(0.125, 0.875) + np.hypot(0.125, 0.625)
    assert _edge(g, 0, 3) == pytest.approx(expected, abs=1e-12)
    assert _edge(g, 0, 3) > 1.5   # longer than the straight line in the plane


def test_mesh_graph_mask_keeps_edges_across_a_removed_side():
    xyz = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 1]], dtype=float)
    g = matching.mesh_graph(xyz, _QUAD_TRI, mask=[True, False, True, True])
    # kept vertices 0, 2, 3 -> positions 0, 1, 2; the u-v edge survives
    assert g.shape == (3, 3)
    assert _edge(g, 0, 2) == pytest.approx(np.sqrt(0.5) + np.sqrt(1.5), abs=1e-12)
    assert _edge(g, 0, 1) == pytest.approx(1.0) and _edge(g, 1, 2) > 0
    with pytest.raises(ValueError, match="one value per vertex"):
        matching.mesh_graph(xyz, _QUAD_TRI, mask=[True, False])


def test_mesh_graph_repeated_pairs_keep_the_shortest_length():
    # a tetrahedron: every pair is a side and also opposite across two sides;
    # the side (the straight line) is the shortest and is what is kept
    xyz = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    tri = np.array([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]])
    g = matching.mesh_graph(xyz, tri)
    for i in range(4):
        for j in range(i + 1, 4):
            assert _edge(g, i, j) == pytest.approx(np.linalg.norm(xyz[i] - xyz[j]), abs=1e-12)


def test_surface_tree_graph_covers_labelled_vertices_and_fill_is_float32():
    xyz = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 1]], dtype=float)
    tree = AtlasTree(np.array([1, 0, 1, 2]), xyz, triangles=_QUAD_TRI)
    assert tree.graph.shape == (3, 3)      # vertex 1 is background
    idx, dist = tree.fill_label(_annot([[0, 0, 0.1]]), 2, return_dist=True)
    assert idx.tolist() == [0]
    assert dist.dtype == np.float32
    assert dist[0] == np.float32(np.sqrt(0.5) + np.sqrt(1.5))
    # volumes keep float64 distances
    vol = AtlasTree(_two_region_atlas())
    _, vdist = vol.fill_label(_annot([[2, 2, 2]]), 1, return_dist=True)
    assert vdist.dtype == np.float64


def test_fill_label_mesh_same_vertex_first_sample_and_unreachable_nodes_dropped():
    # two quads, not connected to each other: vertices 0-3 and 4-7
    xyz = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0],
                    [10, 0, 0], [11, 0, 0], [10, 1, 0], [11, 1, 0]], dtype=float)
    tri = np.array([[0, 1, 2], [3, 2, 1], [4, 5, 6], [7, 6, 5]])
    labels = np.array([1, 2, 2, 2, 2, 2, 2, 2])
    tree = AtlasTree(labels, xyz, triangles=tri)
    # samples 0 and 1 both sit on vertex 0; nothing reaches the second quad
    ann = _annot([[0, 0, 0.2], [0, 0, -0.1]])
    idx, dist = tree.fill_label(ann, 2, return_dist=True)
    assert idx.tolist() == [0, 0, 0]          # vertices 1, 2, 3 only; the first sample
    np.testing.assert_allclose(dist, [1.0, 1.0, np.sqrt(2)], rtol=1e-6)
