"""Tests for abagen_core.atlas.images: atlas checks, atlas_info, conversions, clear errors."""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from abagen_core.atlas import images
from abagen_core.atlas.matching import AtlasTree
from abagen_core.errors import InvalidOptionError
from abagen_core.utils import data_path

VOL = str(data_path("atlas-desikankilliany.nii.gz"))
INFO = str(data_path("atlas-desikankilliany.csv"))
SURF = tuple(str(data_path(f"atlas-desikankilliany-{h}.label.gii.gz")) for h in ("lh", "rh"))
DONORS = ["9861", "10021", "12876", "14380", "15496", "15697"]


def _small(data, affine=None, dtype=np.int32):
    aff = np.eye(4) if affine is None else affine
    return nib.Nifti1Image(np.asarray(data, dtype=dtype), aff)


def _mni_block(dtype=np.int32):
    """A 10 mm block of labels 1/2 around the MNI origin."""
    data = np.zeros((10, 10, 10), dtype=dtype)
    data[:5] = 1
    data[5:] = 2
    affine = np.eye(4)
    affine[:3, 3] = -5
    return data, affine


def _gifti(labels, table=None):
    darr = nib.gifti.GiftiDataArray(np.asarray(labels, dtype=np.int32),
                                    intent="NIFTI_INTENT_LABEL", datatype="NIFTI_TYPE_INT32")
    lt = nib.gifti.GiftiLabelTable()
    for key, name in (table or {}).items():
        lab = nib.gifti.GiftiLabel(key=key)
        lab.label = name
        lt.labels.append(lab)
    return nib.gifti.GiftiImage(labeltable=lt, darrays=[darr])


# --------------------------------------------------------------------------- check_img


def test_check_img_accepts_whole_floats_and_single_volume_4d():
    data, affine = _mni_block(np.float32)
    img = images.check_img(_small(data, affine, np.float32))
    assert img.get_data_dtype() == np.int32
    assert set(np.unique(np.asarray(img.dataobj))) == {1, 2}
    img4 = images.check_img(_small(data[..., None], affine))
    assert img4.shape == (10, 10, 10)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.astype(float) + 0.5, "non-integer values"),
    (lambda d: d - 3, "negative labels"),
    (lambda d: np.zeros_like(d), "empty"),
    (lambda d: np.stack([d, d], axis=-1), "4-D"),
    (lambda d: d[:, :, 0], "2-D"),
])
def test_check_img_errors(mutate, message):
    data, affine = _mni_block()
    bad = mutate(data)
    with pytest.raises(ValueError, match=message):
        images.check_img(_small(bad, affine, bad.dtype))


def test_check_img_path_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        images.check_img(tmp_path / "nope.nii.gz")
    with pytest.raises(TypeError, match="NIfTI"):
        images.check_img(np.zeros((3, 3, 3)))


# --------------------------------------------------------------------------- check_atlas


def test_check_atlas_volumetric_dk():
    tree = images.check_atlas(VOL, INFO)
    assert isinstance(tree, AtlasTree) and tree.volumetric and tree.group_atlas
    assert tree.labels.tolist() == list(range(1, 84))
    assert tree.atlas_info.loc[83, "hemisphere"] == "B"
    assert images.check_atlas(tree) is tree
    native = images.check_atlas(tree, donor="9861")
    assert native is not tree and not native.group_atlas and tree.group_atlas


def test_check_atlas_warns_far_from_mni():
    data, affine = _mni_block()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        images.check_atlas(_small(data, affine))
    far = affine.copy()
    far[:3, 3] = 400
    with pytest.warns(UserWarning, match="MNI152"):
        images.check_atlas(_small(data, far))
    with warnings.catch_warnings():  # donor (native) atlases are not checked
        warnings.simplefilter("error")
        images.check_atlas(_small(data, far), donor="9861")


def test_check_atlas_surface_dk_intuits_info():
    tree = images.check_atlas(SURF)
    assert not tree.volumetric
    assert tree.labels.tolist() == list(range(1, 35)) + list(range(42, 76))
    info = tree.atlas_info
    assert (info.loc[1:34, "hemisphere"] == "L").all()
    assert (info.loc[42:75, "hemisphere"] == "R").all()
    assert (info["structure"] == "cortex").all()
    assert info.loc[1, "label"] == "bankssts"
    assert tree.triangles.shape == (40960, 3)
    # fsaverage vertices are moved from MNI305 to MNI152
    lh = nib.load(str(data_path("fsaverage5-pial-lh.surf.gii.gz"))).darrays[0].data
    to_mni = np.linalg.inv(images.MNI152_TO_FSAVERAGE)
    np.testing.assert_allclose(tree._all_coords[:3], lh[:3] @ to_mni[:3, :3].T + to_mni[:3, 3])


def test_check_atlas_surface_with_geometry_and_space():
    lh_geo = str(data_path("fsaverage5-pial-lh.surf.gii.gz"))
    rh_geo = str(data_path("fsaverage5-pial-rh.surf.gii.gz"))
    a = images.check_atlas(SURF, geometry=(lh_geo, rh_geo), space="fsaverage")
    b = images.check_atlas(SURF)
    np.testing.assert_allclose(a.coords, b.coords)
    c = images.check_atlas(SURF, geometry=(lh_geo, rh_geo), space="fsLR")
    raw = nib.load(lh_geo).darrays[0].data
    np.testing.assert_allclose(c._all_coords[:10], raw[:10])
    with pytest.raises(ValueError, match="`space` is required"):
        images.check_atlas(SURF, geometry=(lh_geo, rh_geo))
    with pytest.raises(InvalidOptionError, match="space"):
        images.check_atlas(SURF, geometry=(lh_geo, rh_geo), space="mni")


def test_check_atlas_surface_errors():
    lh, rh = (nib.load(p) for p in SURF)
    lh_lab = lh.darrays[0].data
    rh_lab = rh.darrays[0].data
    with pytest.raises(ValueError, match="10240 vertices but its geometry"):
        images.check_atlas((_gifti(lh_lab[:10240]), rh))
    with pytest.raises(ValueError, match="both hemispheres"):
        images.check_atlas((lh, _gifti(lh_lab)))
    with pytest.raises(ValueError, match=r"\(lh, rh\) pair"):
        images.check_atlas((lh,))
    bad = rh_lab.astype(np.float32) + 0.25
    darr = nib.gifti.GiftiDataArray(bad, intent="NIFTI_INTENT_LABEL",
                                    datatype="NIFTI_TYPE_FLOAT32")
    with pytest.raises(ValueError, match="non-integer"):
        images.check_atlas((lh, nib.gifti.GiftiImage(darrays=[darr])))
    with pytest.raises(TypeError, match="coerce_atlas_to_dict"):
        images.check_atlas({"9861": VOL})


def test_surface_without_label_tables_is_unconstrained():
    lh, rh = (nib.load(p) for p in SURF)
    tree = images.check_atlas((_gifti(lh.darrays[0].data), _gifti(rh.darrays[0].data)))
    assert tree.atlas_info is None


# --------------------------------------------------------------------------- atlas_info


def test_check_atlas_info_normalises_names():
    info = pd.DataFrame({"id": [1, 2, 3, 4, 5], "hemisphere": ["left", "RH", "b", "L", "r"],
                         "structure": ["cortical", "subcortex", "Brainstem", "WM", "cerebellar"],
                         "label": list("abcde")})
    out = images.check_atlas_info(info, [1, 2, 3, 4, 5])
    assert out.index.name == "id" and out.index.tolist() == [1, 2, 3, 4, 5]
    assert out["hemisphere"].tolist() == ["L", "R", "B", "L", "R"]
    assert out["structure"].tolist() == ["cortex", "subcortex/brainstem", "subcortex/brainstem",
                                         "white matter", "cerebellum"]
    assert out["label"].tolist() == list("abcde")
    # id as the index is accepted too
    again = images.check_atlas_info(info.set_index("id"), [1, 2])
    assert again.index.tolist() == [1, 2]


def test_check_atlas_info_from_csv_drops_ids_absent_from_atlas():
    out = images.check_atlas_info(INFO, np.arange(1, 83))
    assert len(out) == 82 and 83 not in out.index


@pytest.mark.parametrize(("info", "message"), [
    (pd.DataFrame({"id": [1], "hemisphere": ["L"]}), r"missing required column\(s\) \['structure'\]"),
    (pd.DataFrame({"id": [1], "hemisphere": ["X"], "structure": ["cortex"]}),
     "'hemisphere' has invalid value"),
    (pd.DataFrame({"id": [1], "hemisphere": ["L"], "structure": ["brain"]}),
     "'structure' has invalid value"),
    (pd.DataFrame({"id": [1, 1], "hemisphere": ["L", "L"], "structure": ["cortex"] * 2}),
     "duplicate ids"),
    (pd.DataFrame({"id": [1.5], "hemisphere": ["L"], "structure": ["cortex"]}),
     "integer labels"),
    (pd.DataFrame({"id": [1], "hemisphere": ["L"], "structure": ["cortex"]}),
     r"no row for atlas label\(s\) \[2\]"),
])
def test_check_atlas_info_errors(info, message):
    with pytest.raises(ValueError, match=message):
        images.check_atlas_info(info, [1, 2] if "no row" in message else [1])


def test_check_atlas_info_type_errors(tmp_path):
    with pytest.raises(TypeError, match="CSV file or a pandas.DataFrame"):
        images.check_atlas_info([1, 2], [1])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        images.check_atlas_info(tmp_path / "x.csv", [1])


def test_atlas_info_must_cover_the_image():
    info = pd.read_csv(INFO).query("id != 5")
    with pytest.raises(ValueError, match=r"no row for atlas label\(s\) \[5\]"):
        images.check_atlas(VOL, info)


# --------------------------------------------------------------------------- coerce


def test_coerce_group_atlas():
    trees, group = images.coerce_atlas_to_dict(VOL, ["9861", 10021], INFO)
    assert group is True and list(trees) == ["9861", "10021"]
    assert trees["9861"] is trees["10021"]


def test_coerce_donor_atlases():
    data, affine = _mni_block()
    atlas = {"H0351.2001": _small(data, affine), "10021": _small(data, affine)}
    trees, group = images.coerce_atlas_to_dict(atlas, ["9861", "10021"])
    assert group is False
    assert not trees["9861"].group_atlas and trees["9861"] is not trees["10021"]
    with pytest.raises(ValueError, match=r"no atlas for donor\(s\) \['12876'\]"):
        images.coerce_atlas_to_dict(atlas, ["9861", "12876"])
    with pytest.raises(ValueError, match="Invalid donor"):
        images.coerce_atlas_to_dict({"123": VOL}, "all")


# --------------------------------------------------------------------------- conversions


def test_leftify_atlas():
    img = images.leftify_atlas(VOL)
    data = np.asarray(img.dataobj)
    ijk = np.column_stack(np.nonzero(data))
    x = ijk @ img.affine[0, :3] + img.affine[0, 3]
    assert (x < 0).all()  # abagen 0.1.3 zeroes the x = 0 plane as well
    assert len(np.unique(data)) == 44  # abagen 0.1.3 (black box): 43 regions + background
    orig = np.asarray(nib.load(VOL).dataobj)
    x_all = np.indices(orig.shape).reshape(3, -1).T @ img.affine[0, :3] + img.affine[0, 3]
    np.testing.assert_array_equal(data, np.where(x_all.reshape(orig.shape) >= 0, 0, orig))
    for lab in (1, 41):  # left regions are untouched
        assert (data == lab).sum() == (orig == lab).sum()
    for lab in (42, 76):  # right regions lose (almost) everything
        assert (data == lab).sum() < 0.01 * (orig == lab).sum()


def test_annot_to_gifti(tmp_path):
    labels = np.array([0, 1, 1, 2, -1], dtype=np.int32)
    ctab = np.array([[25, 5, 25, 0, 0], [220, 20, 10, 0, 0], [20, 220, 10, 0, 0]],
                    dtype=np.int32)
    names = [b"unknown", b"frontal", b"occipital"]
    path = tmp_path / "lh.test.annot"
    nib.freesurfer.write_annot(str(path), labels, ctab, names, fill_ctab=True)
    gii = images.annot_to_gifti(path)
    assert gii.darrays[0].data.tolist() == [0, 1, 1, 2, 0]
    assert gii.labeltable.get_labels_as_dict() == {0: "unknown", 1: "frontal", 2: "occipital"}
    with pytest.raises(FileNotFoundError):
        images.annot_to_gifti(tmp_path / "missing.annot")


def test_relabel_gifti():
    lh, rh = images.relabel_gifti(SURF)
    lh_lab, rh_lab = lh.darrays[0].data, rh.darrays[0].data
    assert sorted(set(lh_lab.tolist()) - {0}) == list(range(1, 35))
    assert sorted(set(rh_lab.tolist()) - {0}) == list(range(35, 69))
    assert rh.labeltable.get_labels_as_dict()[35] == "bankssts"
    _, rh100 = images.relabel_gifti(SURF, offset=100)
    assert min(set(rh100.darrays[0].data.tolist()) - {0}) == 100
    # a named background label is zeroed
    g = _gifti([0, 3, 5, 5], {0: "unknown", 3: "corpuscallosum", 5: "insula"})
    a, b = images.relabel_gifti((g, _gifti([7, 7, 0, 9], {7: "x", 9: "y"})))
    assert a.darrays[0].data.tolist() == [0, 0, 1, 1]
    assert b.darrays[0].data.tolist() == [2, 2, 0, 3]
    # relabelled images make a valid atlas
    tree = images.check_atlas(images.relabel_gifti(SURF))
    assert tree.labels.tolist() == list(range(1, 69))


def test_load_gifti_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        images.load_gifti(tmp_path / "x.gii")
    with pytest.raises(TypeError, match="not a GIFTI"):
        images.load_gifti(VOL)
    with pytest.raises(TypeError, match="GIFTI image"):
        images.load_gifti(3)
