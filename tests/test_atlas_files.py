"""Atlases in the forms users have them (issue 20): .annot pairs, in-memory images and
arrays, surfaces with their own geometry; in check_atlas, the API, the workflow plan and
the ``abagen`` command, with clear errors before any heavy work."""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from abagen_core.api import get_expression_data, get_samples_in_mask
from abagen_core.atlas import images
from abagen_core.errors import InputError
from abagen_core.utils import data_path
from abagen_core.workflow import checks, cli
from abagen_core.workflow.plan import build_plan

N_VERT = 10242  # fsaverage5, per hemisphere
DK_SURF = tuple(str(data_path(f"atlas-desikankilliany-{h}.label.gii.gz")) for h in ("lh", "rh"))
DK_INFO = str(data_path("atlas-desikankilliany.csv"))
DK_VOLUME = str(data_path("atlas-desikankilliany.nii.gz"))
FSAVG5 = tuple(str(data_path(f"fsaverage5-pial-{h}.surf.gii.gz")) for h in ("lh", "rh"))
DONORS = ["12876", "15496"]

NAMES = ["unknown", "frontal", "corpuscallosum", "parietal", "occipital"]
CTAB = np.array([[25, 5, 25, 0, 0], [200, 0, 0, 0, 0], [120, 70, 50, 0, 0],
                 [0, 200, 0, 0, 0], [0, 0, 200, 0, 0]], dtype=np.int32)


def _write_annot(path, labels, names=NAMES, ctab=CTAB):
    nib.freesurfer.io.write_annot(str(path), np.asarray(labels, dtype=np.int32), ctab,
                                  [n.encode() for n in names], fill_ctab=True)
    return str(path)


def _annot_pair(tmp_path, n_vert=N_VERT, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for hemi in ("lh", "rh"):
        labels = rng.integers(0, len(NAMES), n_vert)
        out.append(_write_annot(tmp_path / f"{hemi}.test.annot", labels))
    return tuple(out)


def _dk_annot_pair(tmp_path):
    """The bundled DK surface atlas written as a FreeSurfer .annot pair."""
    out = []
    for hemi, path in zip(("lh", "rh"), DK_SURF, strict=True):
        img = images.load_gifti(path)
        labels = images.gifti_labels(img)
        table = img.labeltable.get_labels_as_dict()
        keys = sorted(table)  # colour-table order = id order
        index = np.searchsorted(keys, labels)
        ctab = np.column_stack([np.arange(len(keys)) % 255, np.arange(len(keys)) // 255,
                                np.full(len(keys), 7), np.zeros(len(keys)),
                                np.zeros(len(keys))]).astype(np.int32)
        out.append(_write_annot(tmp_path / f"{hemi}.dk.annot", index,
                                [table[k] for k in keys], ctab))
    return tuple(out)


def _dk_arrays():
    return tuple(images.gifti_labels(images.load_gifti(p)) for p in DK_SURF)


# --------------------------------------------------------------------------- .annot pairs


def test_annot_pair_is_an_atlas(tmp_path):
    pair = _annot_pair(tmp_path)
    tree = images.check_atlas(pair)
    # background names dropped, left ids 1..3, right 4..6 in colour-table order
    assert tree.labels.tolist() == [1, 2, 3, 4, 5, 6]
    info = tree.atlas_info
    assert info["label"].tolist() == ["frontal", "parietal", "occipital"] * 2
    assert info["hemisphere"].tolist() == ["L"] * 3 + ["R"] * 3
    assert set(info["structure"]) == {"cortex"}
    raw = nib.freesurfer.read_annot(pair[0])[0]
    lh = np.asarray(tree.atlas)[:N_VERT]
    assert (lh[np.isin(raw, [0, 2])] == 0).all()  # unknown, corpuscallosum
    assert (lh[raw == 4] == 3).all()


def test_annot_to_gifti_output_is_accepted(tmp_path):
    pair = _annot_pair(tmp_path)
    converted = tuple(images.annot_to_gifti(p) for p in pair)
    with pytest.warns(UserWarning, match="renumbered with relabel_gifti"):
        tree = images.check_atlas(converted)
    direct = images.check_atlas(pair)
    assert np.array_equal(tree.labels, direct.labels)
    assert np.array_equal(np.asarray(tree.atlas), np.asarray(direct.atlas))
    pd.testing.assert_frame_equal(tree.atlas_info, direct.atlas_info)
    # with atlas_info the ids are the user's: repeated ids stay an error
    info = pd.DataFrame({"id": range(5), "hemisphere": "L", "structure": "cortex"})
    with pytest.raises(ValueError, match="appear in both hemispheres"):
        images.check_atlas(converted, info)


def test_annot_pair_with_info_uses_the_new_ids(tmp_path):
    pair = _annot_pair(tmp_path)
    info = pd.DataFrame({"id": range(1, 7), "hemisphere": list("LLLRRR"),
                         "structure": "cortex"})
    tree = images.check_atlas(pair, info)
    assert tree.atlas_info.index.tolist() == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("bad", ["single", "tuple1", "swapped", "mixed"])
def test_annot_misuse_is_refused_with_the_fix(tmp_path, bad):
    lh, rh = _annot_pair(tmp_path)
    atlas, message = {
        "single": (lh, "holds one hemisphere"),
        "tuple1": ((lh,), r"\(lh, rh\) pair"),
        "swapped": ((rh, lh), "looks swapped"),
        "mixed": ((lh, DK_SURF[1]), "mixes a FreeSurfer .annot"),
    }[bad]
    with pytest.raises(ValueError, match=message):
        images.check_atlas(atlas)


def test_annot_vertex_count_mismatch_names_the_file(tmp_path):
    pair = _annot_pair(tmp_path, n_vert=2562)  # fsaverage4
    with pytest.raises(ValueError, match=r"lh\.test\.annot\) has 2562 vertices") as info:
        images.check_atlas(pair)
    assert "geometry=(lh, rh)" in str(info.value)


def test_annot_whose_first_entry_is_a_region_warns(tmp_path):
    names = ["frontal", "parietal", "occipital"]
    labels = np.arange(N_VERT) % 3
    pair = tuple(_write_annot(tmp_path / f"{h}.nobg.annot", labels, names, CTAB[1:4])
                 for h in ("lh", "rh"))
    with pytest.warns(UserWarning, match=r"entry 0 \('frontal'\) are read as background"):
        tree = images.check_atlas(pair)
    assert tree.labels.tolist() == [1, 2, 3, 4]


def test_facade_and_coerce_accept_annot(tmp_path):
    from abagen_core import images as facade

    pair = _annot_pair(tmp_path)
    assert facade.check_atlas(pair).labels.tolist() == [1, 2, 3, 4, 5, 6]
    trees, group = images.coerce_atlas_to_dict(pair, DONORS)
    assert group and trees[DONORS[0]].labels.tolist() == [1, 2, 3, 4, 5, 6]


# --------------------------------------------------------------------------- in memory


def test_in_memory_images_work():
    vol = nib.load(DK_VOLUME)
    tree = images.check_atlas(nib.Nifti1Image(np.asarray(vol.dataobj), vol.affine), DK_INFO)
    assert np.array_equal(tree.labels, images.check_atlas(DK_VOLUME, DK_INFO).labels)
    giftis = tuple(nib.load(p) for p in DK_SURF)
    tree = images.check_atlas(giftis, DK_INFO)
    ref = images.check_atlas(DK_SURF, DK_INFO)
    assert np.array_equal(np.asarray(tree.atlas), np.asarray(ref.atlas))


def test_label_arrays_match_the_gifti_pair():
    lh, rh = _dk_arrays()
    tree = images.check_atlas((lh, rh), DK_INFO)
    ref = images.check_atlas(DK_SURF, DK_INFO)
    assert np.array_equal(tree.labels, ref.labels)
    assert np.array_equal(np.asarray(tree.atlas), np.asarray(ref.atlas))
    assert np.allclose(tree.coords, ref.coords)
    assert images.check_atlas((lh.astype(float), rh.astype(np.uint16))).atlas_info is None


@pytest.mark.parametrize(("atlas", "error", "message"), [
    (np.zeros((4, 4, 4), dtype=int), TypeError, r"nibabel\.Nifti1Image\(array, affine\)"),
    (np.zeros(N_VERT, dtype=int), ValueError, r"atlas=\(lh_labels, rh_labels\)"),
    ((np.zeros((4, 4, 4)), np.zeros((4, 4, 4))), ValueError, "1-D array of vertex labels"),
    ((np.ones(N_VERT), np.full(N_VERT, 0.5)), ValueError, "non-integer values"),
    ((np.ones(N_VERT, dtype=int), np.ones(N_VERT, dtype=int)), ValueError,
     "largest left label"),
    ((np.ones(100, dtype=int), np.full(100, 2)), ValueError,
     r"lh atlas \(the lh label array\) has 100 vertices"),
])
def test_bad_arrays_are_refused_with_the_fix(atlas, error, message):
    with pytest.raises(error, match=message):
        images.check_atlas(atlas)


# --------------------------------------------------------------------------- own geometry


def _mesh(n_side=12, x0=20.0):
    """A flat n x n vertex sheet at x = +-x0 (mm), triangulated."""
    grid = np.stack(np.meshgrid(np.linspace(-60, 60, n_side), np.linspace(-40, 60, n_side),
                                indexing="ij"), -1).reshape(-1, 2)
    quads = [(i * n_side + j, i * n_side + j + 1, (i + 1) * n_side + j)
             for i in range(n_side - 1) for j in range(n_side - 1)]
    faces = np.array(quads, dtype=np.int64)
    return [(np.column_stack([np.full(len(grid), sign * x0), grid]), faces)
            for sign in (-1, 1)]


def _surf_gii(path, vertices, faces):
    img = nib.gifti.GiftiImage(darrays=[
        nib.gifti.GiftiDataArray(vertices.astype(np.float32), intent="NIFTI_INTENT_POINTSET"),
        nib.gifti.GiftiDataArray(faces.astype(np.int32), intent="NIFTI_INTENT_TRIANGLE")])
    nib.save(img, str(path))
    return str(path)


@pytest.mark.parametrize("space", ["fslr", "civet", "fsnative"])
def test_own_geometry_keeps_its_coordinates(tmp_path, space):
    (lv, lf), (rv, rf) = _mesh()
    geometry = (_surf_gii(tmp_path / "lh.surf.gii", lv, lf),
                _surf_gii(tmp_path / "rh.surf.gii", rv, rf))
    n = len(lv)
    atlas = (np.where(np.arange(n) % 2, 1, 2), np.where(np.arange(n) % 2, 3, 4))
    tree = images.check_atlas(atlas, geometry=geometry, space=space)
    assert tree.labels.tolist() == [1, 2, 3, 4]
    assert np.allclose(tree.coords, np.vstack([lv, rv]))  # no MNI305 -> MNI152 step
    with pytest.raises(ValueError, match="`space` is required"):
        images.check_atlas(atlas, geometry=geometry)


def test_fsaverage5_geometry_given_explicitly_changes_nothing():
    lh, rh = _dk_arrays()
    tree = images.check_atlas((lh, rh), geometry=FSAVG5, space="fsaverage5")
    ref = images.check_atlas(DK_SURF)
    assert np.allclose(tree.coords, ref.coords)


def test_geometry_with_donor_atlases_is_refused():
    with pytest.raises(ValueError, match="group surface atlas"):
        images.coerce_atlas_to_dict({d: DK_SURF for d in DONORS}, DONORS,
                                    geometry=FSAVG5, space="fsaverage5")


# --------------------------------------------------------------------------- API


@pytest.fixture(scope="module")
def data_dir(bundled_parity):
    return str(bundled_parity / "data")


def test_api_accepts_annot_arrays_and_geometry(data_dir, tmp_path):
    opts = dict(data_dir=data_dir, donors=DONORS, probe_selection="max_intensity")
    ref = get_expression_data(DK_SURF, DK_INFO, **opts)
    arrays = get_expression_data(_dk_arrays(), DK_INFO, **opts)
    pd.testing.assert_frame_equal(arrays, ref)
    own, report = get_expression_data(_dk_arrays(), DK_INFO, geometry=FSAVG5,
                                      space="fsaverage5", return_report=True, **opts)
    pd.testing.assert_frame_equal(own, ref)
    assert "surface-based atlas" in report

    relabelled = images.relabel_gifti(DK_SURF)
    expected = get_expression_data(relabelled, **opts)
    annot, report = get_expression_data(_dk_annot_pair(tmp_path), return_report=True, **opts)
    pd.testing.assert_frame_equal(annot, expected)
    assert "68-region surface-based atlas in MNI space" in report
    giftis = tuple(images.annot_to_gifti(p) for p in _dk_annot_pair(tmp_path))
    with pytest.warns(UserWarning, match="renumbered"):
        again, report = get_expression_data(giftis, return_report=True, **opts)
    pd.testing.assert_frame_equal(again, expected)
    assert "68-region surface-based atlas in MNI space" in report


def test_api_bad_atlas_fails_before_reading_data(tmp_path):
    lh, _ = _annot_pair(tmp_path)
    with pytest.raises(ValueError, match="holds one hemisphere"):
        get_expression_data(lh, data_dir=str(tmp_path / "nothing-here"))
    with pytest.raises(TypeError, match="Nifti1Image"):
        get_expression_data(np.zeros((3, 3, 3), dtype=int), data_dir=str(tmp_path / "none"))


def test_samples_in_mask_with_arrays_and_geometry(data_dir):
    lh, rh = _dk_arrays()
    opts = dict(data_dir=data_dir, donors=DONORS, probe_selection="max_intensity")
    # the same labels as GIFTIs without label tables (no hemisphere constraint)
    ref, ref_coords = get_samples_in_mask(images.surface_pair((lh, rh)), **opts)
    for kwargs in ({}, {"geometry": FSAVG5, "space": "fsaverage5"}):
        expression, coords = get_samples_in_mask((lh, rh), **kwargs, **opts)
        pd.testing.assert_frame_equal(expression, ref)
        assert np.allclose(coords, ref_coords)
    with pytest.raises(ValueError, match="`geometry` only applies"):
        get_samples_in_mask(DK_VOLUME, geometry=FSAVG5, space="fsaverage5", **opts)


# --------------------------------------------------------------------------- workflow


def _config(atlas_entry):
    return {"donors": DONORS, "atlases": {"mine": atlas_entry}, "variants": {"default": {}}}


def test_plan_takes_annot_pairs_and_geometry(tmp_path):
    lh, rh = _annot_pair(tmp_path)
    plan = build_plan(_config({"lh": lh, "rh": rh}), base=tmp_path)
    spec = plan.atlases["mine"]
    assert spec.kind == "surface" and spec.files == {"lh": lh, "rh": rh}
    assert checks.check_atlas_spec(spec) == []

    (lv, lf), (rv, rf) = _mesh()
    _surf_gii(tmp_path / "lh.mid.surf.gii", lv, lf)
    _surf_gii(tmp_path / "rh.mid.surf.gii", rv, rf)
    n = len(lv)
    for hemi, ids in (("lh", (1, 2)), ("rh", (3, 4))):
        labels = np.where(np.arange(n) % 2, *ids).astype(np.int32)
        nib.save(nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(
            labels, intent="NIFTI_INTENT_LABEL", datatype="NIFTI_TYPE_INT32")]),
            str(tmp_path / f"{hemi}.own.label.gii"))
    entry = {"lh": "lh.own.label.gii", "rh": "rh.own.label.gii",
             "geometry": ["lh.mid.surf.gii", "rh.mid.surf.gii"], "space": "fsLR"}
    spec = build_plan(_config(entry), base=tmp_path).atlases["mine"]
    assert spec.geometry == (str(tmp_path / "lh.mid.surf.gii"),
                             str(tmp_path / "rh.mid.surf.gii"))
    assert spec.space == "fsLR"
    assert checks.check_atlas_spec(spec) == []


def test_plan_refuses_annot_misuse(tmp_path):
    lh, rh = _annot_pair(tmp_path)
    with pytest.raises(ValueError, match=r"atlases\.mine\.image: .*give both as `lh"):
        build_plan(_config({"image": lh}), base=tmp_path)
    short = _annot_pair(tmp_path / "..", n_vert=2562)
    spec = build_plan(_config({"lh": short[0], "rh": short[1]}), base=tmp_path).atlases["mine"]
    with pytest.raises(InputError, match=r"atlases\.mine: .*lh\.test\.annot\) has 2562"):
        checks.check_atlas_spec(spec)


def test_cli_accepts_an_annot_pair(tmp_path, capsys):
    lh, rh = _annot_pair(tmp_path)
    parser = cli.build_parser()
    args = parser.parse_args([lh, rh])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, atlas, _ = cli._validate(parser, args)
    assert [str(p) for p in atlas] == [lh, rh]
    for argv, message in (([lh], "needs two FreeSurfer .annot files"),
                          ([lh, DK_SURF[1]], "or FreeSurfer .annot files")):
        with pytest.raises(SystemExit):
            cli._validate(parser, parser.parse_args(argv))
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_cli_annot_pair_end_to_end_matches_api(data_dir, tmp_path):
    annot = _dk_annot_pair(tmp_path)
    out = tmp_path / "out" / "aparc.csv"
    argv = ["--cache-dir", str(tmp_path / "cache"), "--data_dir", data_dir, "--donors",
            *DONORS, "--probe_selection", "max_intensity", "--output-file", str(out), *annot]
    assert cli.main(argv) == 0
    expected = get_expression_data(annot, data_dir=data_dir, donors=DONORS,
                                   probe_selection="max_intensity")
    got = pd.read_csv(out, index_col=0)
    assert list(got.index) == list(expected.index)
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)
