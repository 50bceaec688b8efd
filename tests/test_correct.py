"""Tests of abagen_core.stages.correct: distance regression and differential stability."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from abagen_core.stages.correct import keep_stable_genes, region_centroids, remove_distance
from abagen_core.utils import data_path


@pytest.fixture
def toy_atlas() -> nib.Nifti1Image:
    data = np.zeros((6, 4, 3), dtype=np.int16)
    data[0:2, 0, 0] = 1           # voxels (0,0,0), (1,0,0)
    data[4, 2:4, 1] = 2           # voxels (4,2,1), (4,3,1)
    data[5, 3, 2] = 7
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-10, 0, 5]
    return nib.Nifti1Image(data, affine)


def test_region_centroids_hand(toy_atlas):
    cents = region_centroids(toy_atlas)
    assert list(cents) == [1, 2, 7]
    np.testing.assert_allclose(cents[1], [-10 + 1.0, 0, 5])        # mean of x=-10,-8
    np.testing.assert_allclose(cents[2], [-2.0, 5.0, 7.0])
    np.testing.assert_allclose(cents[7], [0.0, 6.0, 9.0])
    assert list(region_centroids(toy_atlas, [7, 1])) == [7, 1]
    with pytest.raises(ValueError, match="not found"):
        region_centroids(toy_atlas, [3])


def _pairs(n):
    return np.triu_indices(n, k=1)


def test_remove_distance_linear_signal():
    rng = np.random.default_rng(0)
    coords = rng.uniform(-60, 60, size=(30, 3))
    dist = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    noise = rng.normal(scale=0.05, size=dist.shape)
    noise = (noise + noise.T) / 2
    coexp = 0.8 - 0.004 * dist + noise
    np.fill_diagonal(coexp, 1)
    out = remove_distance(coexp, coords)
    iu, ju = _pairs(30)
    # residuals: mean zero, uncorrelated with distance, equal to the OLS residuals
    assert abs(out[iu, ju].mean()) < 1e-12
    assert abs(np.corrcoef(out[iu, ju], dist[iu, ju])[0, 1]) < 1e-10
    fit = stats.linregress(dist[iu, ju], coexp[iu, ju])
    expected = coexp[iu, ju] - (fit.intercept + fit.slope * dist[iu, ju])
    np.testing.assert_allclose(out[iu, ju], expected, atol=1e-12)
    np.testing.assert_allclose(out, out.T)
    assert (np.diag(out) == 0).all()


def test_remove_distance_exact_linear_is_zero():
    coords = np.arange(15, dtype=float).reshape(5, 3)
    dist = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    out = remove_distance(1.0 - 0.01 * dist, coords)
    np.testing.assert_allclose(out, 0, atol=1e-12)


def test_remove_distance_connection_types():
    rng = np.random.default_rng(1)
    coords = rng.uniform(-50, 50, size=(12, 3))
    labels = np.arange(101, 113)
    info = pd.DataFrame({"id": labels, "hemisphere": "L",
                         "structure": ["cortex"] * 7 + ["subcortex/brainstem"] * 5})
    coexp = rng.uniform(-1, 1, size=(12, 12))
    coexp = (coexp + coexp.T) / 2
    out = remove_distance(coexp, dict(zip(labels, coords, strict=True)), info)
    dist = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    struct = info["structure"].to_numpy()
    iu, ju = _pairs(12)
    kinds = np.array(["|".join(sorted(p)) for p in zip(struct[iu], struct[ju], strict=True)])
    assert len(set(kinds)) == 3
    for kind in set(kinds):
        sel = kinds == kind
        fit = stats.linregress(dist[iu, ju][sel], coexp[iu, ju][sel])
        expected = coexp[iu, ju][sel] - (fit.intercept + fit.slope * dist[iu, ju][sel])
        np.testing.assert_allclose(out[iu[sel], ju[sel]], expected, atol=1e-12)
    # centroid array + labels gives the same
    np.testing.assert_allclose(remove_distance(coexp, coords, info, labels=labels), out)


def test_remove_distance_atlas_image_and_subset():
    atlas = data_path("atlas-desikankilliany.nii.gz")
    info = data_path("atlas-desikankilliany.csv")
    cents = region_centroids(atlas)
    rng = np.random.default_rng(2)
    subset = [1, 2, 3, 40, 41, 80]
    coexp = np.corrcoef(rng.normal(size=(len(subset), 20)))
    out = remove_distance(coexp, atlas, info, labels=subset)
    same = remove_distance(coexp, {k: cents[k] for k in subset}, info)
    np.testing.assert_allclose(out, same)
    with pytest.raises(ValueError, match="labels"):
        remove_distance(coexp, atlas)


def test_remove_distance_nan_pairs():
    rng = np.random.default_rng(3)
    coords = rng.normal(size=(8, 3))
    coexp = np.corrcoef(rng.normal(size=(8, 10)))
    coexp[1, 4] = coexp[4, 1] = np.nan
    out = remove_distance(coexp, coords)
    assert np.isnan(out[1, 4]) and np.isnan(out[4, 1])
    assert np.isfinite(np.delete(out.ravel(), [1 * 8 + 4, 4 * 8 + 1])).all()


# ---------------------------------------------------------------- stability

def _donors(n_donors=4, n_regions=25, n_genes=60, seed=0):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(n_regions, n_genes))
    weight = np.linspace(0, 3, n_genes)          # later genes more stable
    regions = pd.Index(np.arange(1, n_regions + 1), name="label")
    genes = pd.Index([f"G{i:03d}" for i in range(n_genes)], name="gene_symbol")
    return [pd.DataFrame(signal * weight + rng.normal(size=signal.shape), index=regions,
                         columns=genes) for _ in range(n_donors)]


def _stability(frames, rank=True):
    out = []
    for gene in frames[0].columns:
        vals = []
        for a in range(len(frames)):
            for b in range(a + 1, len(frames)):
                x, y = frames[a][gene], frames[b][gene]
                r = stats.spearmanr(x, y)[0] if rank else stats.pearsonr(x, y)[0]
                vals.append(r)
        out.append(np.mean(vals))
    return np.array(out)


@pytest.mark.parametrize("rank", [True, False])
def test_stability_values(rank):
    frames = _donors()
    _, stab = keep_stable_genes(frames, threshold=0, rank=rank, return_stability=True)
    np.testing.assert_allclose(stab, _stability(frames, rank), atol=1e-12)


def test_keep_stable_percentile_and_absolute():
    frames = _donors()
    kept, stab = keep_stable_genes(frames, threshold=0.9, return_stability=True)
    cutoff = np.percentile(stab, 90)
    expected = frames[0].columns[stab >= cutoff]
    assert all(k.columns.equals(expected) for k in kept)
    assert len(expected) == 6
    assert kept[0].index.equals(frames[0].index)
    kept_abs = keep_stable_genes(frames, threshold=0.5, percentile=False)
    assert kept_abs[0].columns.equals(frames[0].columns[stab >= 0.5])
    # more stable genes (larger weight) survive
    assert set(expected) <= set(frames[0].columns[30:])


def test_keep_stable_nan_regions_pairwise():
    frames = _donors(n_donors=3)
    holed = [f.copy() for f in frames]
    holed[0].iloc[[2, 5]] = np.nan
    _, stab = keep_stable_genes(holed, threshold=0, return_stability=True)
    rows = ~frames[0].index.isin(frames[0].index[[2, 5]])
    ref = [stats.spearmanr(holed[0][g][rows], holed[1][g][rows])[0] for g in frames[0].columns]
    ref2 = [stats.spearmanr(holed[0][g][rows], holed[2][g][rows])[0]
            for g in frames[0].columns]
    ref3 = [stats.spearmanr(holed[1][g], holed[2][g])[0] for g in frames[0].columns]
    np.testing.assert_allclose(stab, np.mean([ref, ref2, ref3], axis=0), atol=1e-12)


def test_keep_stable_errors():
    frames = _donors(n_donors=2)
    with pytest.raises(ValueError, match="two donors"):
        keep_stable_genes(frames[:1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        keep_stable_genes(frames, threshold=90)
