"""abagen's public module paths re-export the implementations (same objects)."""

from __future__ import annotations

import importlib

import pytest

FACADES = {
    "abagen_core.matching": "abagen_core.atlas.matching",
    "abagen_core.images": "abagen_core.atlas.images",
    "abagen_core.correct": "abagen_core.stages.correct",
}


@pytest.mark.parametrize("facade", sorted(FACADES))
def test_facade_reexports_the_implementation(facade):
    module = importlib.import_module(facade)
    impl = importlib.import_module(FACADES[facade])
    assert module.__all__, facade
    for name in module.__all__:
        assert getattr(module, name) is getattr(impl, name), name
        assert name in impl.__all__, name


def test_facades_carry_abagens_names():
    from abagen_core import correct, images, matching

    assert {"keep_stable_genes", "normalize_expression", "remove_distance"} <= set(correct.__all__)
    assert {"check_atlas", "check_img", "leftify_atlas"} <= set(images.__all__)
    assert {"AtlasTree", "get_centroids", "closest_centroid"} <= set(matching.__all__)
