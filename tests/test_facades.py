"""abagen's public module paths re-export the implementations (same objects)."""

from __future__ import annotations

import importlib

import pytest

FACADES = {
    "abagen_core.matching": "abagen_core.atlas.matching",
    "abagen_core.images": "abagen_core.atlas.images",
    "abagen_core.correct": "abagen_core.stages.correct",
}
#: facade names that wrap the implementation (abagen behaviour the lower layer leaves out)
WRAPPED = {("abagen_core.images", "check_atlas")}


@pytest.mark.parametrize("facade", sorted(FACADES))
def test_facade_reexports_the_implementation(facade):
    module = importlib.import_module(facade)
    impl = importlib.import_module(FACADES[facade])
    assert module.__all__, facade
    for name in module.__all__:
        assert name in impl.__all__, name
        if (facade, name) in WRAPPED:
            continue
        assert getattr(module, name) is getattr(impl, name), name


def test_facades_carry_abagens_names():
    from abagen_core import correct, images, matching

    assert {"keep_stable_genes", "normalize_expression", "remove_distance"} <= set(correct.__all__)
    assert {"check_atlas", "check_img", "leftify_atlas"} <= set(images.__all__)
    assert {"AtlasTree", "get_centroids", "closest_centroid"} <= set(matching.__all__)


def test_check_atlas_fetches_a_donors_surfaces(monkeypatch):
    """abagen.images.check_atlas(surfaces, donor=...) gets the donor's pial surfaces."""
    from abagen_core import images
    from abagen_core.atlas import images as impl

    calls = {}
    monkeypatch.setattr(images, "native_pial", lambda donor, data_dir: ("lh", "rh"))
    monkeypatch.setattr(impl, "check_atlas",
                        lambda atlas, info, **kw: calls.update(kw) or "tree")
    assert images.check_atlas(("a", "b"), donor="12876", data_dir="/d") == "tree"
    assert calls["geometry"] == ("lh", "rh") and calls["space"] == "fsnative"
    calls.clear()
    images.check_atlas("volume.nii.gz")
    assert calls["geometry"] is None and calls["donor"] is None
