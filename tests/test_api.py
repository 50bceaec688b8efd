"""The in-memory API beyond parity: argument checking and output structure."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from abagen_core.api import get_expression_data, get_interpolated_map, get_samples_in_mask
from abagen_core.utils import data_path

DONORS = ["12876", "15496"]


@pytest.fixture(scope="module")
def data_dir(bundled_parity):
    return str(bundled_parity / "data")


def _mask(tmp_path, value_fn):
    atlas = nib.load(data_path("atlas-desikankilliany.nii.gz"))
    data = np.asarray(atlas.dataobj)
    img = nib.Nifti1Image(value_fn(data).astype(np.uint8), atlas.affine)
    path = tmp_path / "mask.nii.gz"
    nib.save(img, path)
    return str(path)


def test_samples_in_mask_structure(data_dir, tmp_path):
    mask = _mask(tmp_path, lambda d: d == 12)
    expression, coords = get_samples_in_mask(mask, data_dir=data_dir, donors=DONORS,
                                             probe_selection="max_intensity")
    assert expression.index.name == "well_id"
    assert expression.columns.name == "gene_symbol"
    assert coords.shape == (len(expression), 3)
    everything, _ = get_samples_in_mask(None, data_dir=data_dir, donors=DONORS,
                                        probe_selection="max_intensity")
    assert set(expression.index) < set(everything.index)
    # the mask selects samples after normalization: their values are unchanged
    np.testing.assert_allclose(everything.loc[expression.index].to_numpy(),
                               expression.to_numpy(), rtol=0, atol=1e-12)


def test_samples_in_empty_mask_is_an_error(data_dir, tmp_path):
    mask = _mask(tmp_path, lambda d: np.zeros_like(d))
    with pytest.raises(ValueError, match="(?i)empty|no .*sample|no non-zero"):
        get_samples_in_mask(mask, data_dir=data_dir, donors=DONORS)


def test_samples_in_mask_far_from_samples_is_an_error(data_dir, tmp_path):
    def corner(d):
        out = np.zeros_like(d)
        out[:2, :2, :2] = 1
        return out

    with pytest.raises(ValueError, match="No tissue sample"):
        get_samples_in_mask(_mask(tmp_path, corner), data_dir=data_dir, donors=DONORS)


def test_interpolated_map_shape_and_support(data_dir, tmp_path):
    def box(d):
        out = np.zeros_like(d)
        out[60:70, 100:110, 70:80] = 1
        return out

    mask = _mask(tmp_path, box)
    expression, _ = get_samples_in_mask(None, data_dir=data_dir, donors=DONORS,
                                        probe_selection="max_intensity")
    gene = expression.columns[0]
    dense = get_interpolated_map([gene], mask, n_neighbors=3, data_dir=data_dir,
                                 donors=DONORS, probe_selection="max_intensity")
    img = dense[gene]
    values = np.asarray(img.dataobj)
    assert values.shape == nib.load(mask).shape
    inside = box(np.zeros(values.shape)) != 0
    assert np.all(values[~inside] == 0)
    lo, hi = expression[gene].min(), expression[gene].max()
    assert np.all((values[inside] >= lo - 1e-12) & (values[inside] <= hi + 1e-12))


def test_interpolated_map_bad_input(data_dir, tmp_path):
    mask = _mask(tmp_path, lambda d: d == 12)
    with pytest.raises(ValueError, match="NOT_A_GENE"):
        get_interpolated_map(["NOT_A_GENE"], mask, data_dir=data_dir, donors=DONORS,
                             probe_selection="max_intensity")
    with pytest.raises(ValueError, match="n_neighbors"):
        get_interpolated_map(["A"], mask, n_neighbors=0, data_dir=data_dir, donors=DONORS)


def test_return_donors_and_counts(data_dir):
    atlas = str(data_path("atlas-desikankilliany.nii.gz"))
    info = str(data_path("atlas-desikankilliany.csv"))
    donors, counts = get_expression_data(atlas, info, data_dir=data_dir, donors=DONORS,
                                         probe_selection="max_intensity", return_donors=True,
                                         return_counts=True)
    assert list(donors) == DONORS
    assert list(counts.columns) == DONORS
    for donor, frame in donors.items():
        has = counts[donor].to_numpy() > 0
        assert (~frame.isna().all(axis=1).to_numpy() == has).all()


def test_donor_without_samples_is_left_out_with_a_warning(data_dir, tmp_path):
    # abagen 0.1.3 (black box): logs "No samples matched to atlas for donor X",
    # leaves the donor out of the aggregate and returns it all NaN; an atlas of
    # right-hemisphere regions is the usual case (donors sampled on the left)
    atlas = nib.load(data_path("atlas-desikankilliany.nii.gz"))
    data = np.asarray(atlas.dataobj)
    keep = (data == 32) | ((data >= 42) & (data <= 82))  # 12876 has one sample in 32
    path = tmp_path / "right.nii.gz"
    nib.save(nib.Nifti1Image(np.where(keep, data, 0).astype(np.uint8), atlas.affine), path)
    info = str(data_path("atlas-desikankilliany.csv"))
    with pytest.warns(UserWarning, match=r"donor\(s\) 15496:.*lr_mirror") as record:
        donors, counts = get_expression_data(str(path), info, data_dir=data_dir, donors=DONORS,
                                             probe_selection="max_intensity",
                                             return_donors=True, return_counts=True)
    assert not any("12876" in str(w.message) for w in record)
    assert counts["15496"].sum() == 0 and counts.loc[32, "12876"] == 1
    assert donors["15496"].isna().all().all()
    assert donors["12876"].drop(index=32).isna().all().all()
    # values: one matched sample has no gene-normalised value, so without gene_norm
    opts = dict(data_dir=data_dir, donors=DONORS, probe_selection="max_intensity",
                gene_norm=None)
    with pytest.warns(UserWarning, match="15496"):
        expression = get_expression_data(str(path), info, **opts)
    assert expression.notna().all(axis=1).tolist() == (expression.index == 32).tolist()
    for missing in ("centroids", "interpolate"):  # abagen: 'centroids' crashes here
        with pytest.warns(UserWarning, match="15496"):
            filled = get_expression_data(str(path), info, missing=missing, **opts)
        # the one matched sample (left) is no candidate for the right regions
        assert filled.notna().all(axis=1).tolist() == (filled.index == 32).tolist()
        np.testing.assert_allclose(filled.loc[32], expression.loc[32])


def test_verbose_prints_progress_once(data_dir, capsys):
    # abagen 0.1.3 (black box): verbose=1 prints "INFO: ..." lines on stderr
    import logging

    from abagen_core import api

    logger = logging.getLogger("abagen_core")
    handlers, level = list(logger.handlers), logger.level
    atlas = str(data_path("atlas-desikankilliany.nii.gz"))
    opts = dict(data_dir=data_dir, donors=DONORS, probe_selection="max_intensity")
    try:
        get_expression_data(atlas, verbose=1, **opts)
        err = capsys.readouterr().err
        assert err.count("samples matched to regions for donor #12876") == 1, err
        assert "INFO: " in err and "genes remain after probe filtering" in err
        api.set_verbosity(1)  # a second call adds no second handler
        assert sum(isinstance(h, api._StderrHandler) for h in logger.handlers) == 1
        logger.info("once")
        assert capsys.readouterr().err == "INFO: once\n"
        api.set_verbosity(0)
        logger.info("quiet")
        assert capsys.readouterr().err == ""
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)
