"""The saved plan (``cached_plan``): read when valid, built again when anything differs."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

from abagen_core.stages.samples import corrected_mni_coordinates
from abagen_core.utils import data_path
from abagen_core.workflow import plan as plan_module
from abagen_core.workflow.plan import Plan, build_plan, cached_plan, plan_cache_key


@pytest.fixture()
def setup(tmp_path):
    """A config with an atlas file of its own (relative to `base`) and a sweep."""
    base = tmp_path / "repo"
    (base / "atlases").mkdir(parents=True)
    shutil.copy(data_path("atlas-desikankilliany.nii.gz"), base / "atlases" / "dk.nii.gz")
    config = {"atlases": {"mine": {"image": "atlases/dk.nii.gz"},
                          "dk": {"builtin": "dk-volume"}},
              "variants": {"default": {}},
              "sweep": {"grids": [{"gene_norm": ["srs", "zscore"]},
                                  {"tolerance": [0, 1]}]},
              "samples_in_mask": {"all": {"mask": None}}}
    return config, base, tmp_path / "cache"


def _saved(cache: Path) -> list[Path]:
    return sorted(cache.glob("plan-*.pickle")) if cache.exists() else []


@pytest.fixture()
def builds(monkeypatch):
    """Counts the calls of build_plan made by cached_plan."""
    calls = []
    real = plan_module.build_plan

    def counting(config, base="."):
        calls.append(1)
        return real(config, base)

    monkeypatch.setattr(plan_module, "build_plan", counting)
    return calls


def test_saved_plan_equals_built_plan(setup, builds):
    config, base, cache = setup
    first = cached_plan(config, base, cache, write=True)
    assert len(builds) == 1 and len(_saved(cache)) == 1
    second = cached_plan(config, base, cache, write=False)
    assert len(builds) == 1                      # read, not built
    assert isinstance(second, Plan) and second is not first
    assert second == first == build_plan(config, base)
    assert list(second.variants) == list(first.variants)
    assert second.keys == first.keys and second.by_key == first.by_key
    # nothing but the saved plan in the folder (the temporary file was renamed)
    assert [p.name for p in cache.iterdir()] == [_saved(cache)[0].name]


def test_write_false_never_writes(setup, builds):
    config, base, cache = setup
    for _ in range(2):
        assert cached_plan(config, base, cache, write=False) == build_plan(config, base)
    assert not cache.exists()
    assert len(builds) == 2


def test_changed_config_is_built_again(setup, builds):
    config, base, cache = setup
    cached_plan(config, base, cache, write=True)
    changed = dict(config, variants={"default": {}, "z": {"gene_norm": "zscore"}})
    plan = cached_plan(changed, base, cache, write=True)
    assert len(builds) == 2 and "z" in plan.variants
    assert plan == build_plan(changed, base)
    assert len(_saved(cache)) == 1               # the other config's plan is removed
    # the order of variants is part of the plan
    reordered = dict(config, variants={"z": {"gene_norm": "zscore"}, "default": {}})
    assert list(cached_plan(reordered, base, cache, write=False).variants)[:2] == \
        ["z", "default"]
    # 1 and 1.0 differ in the options (and so in the key), as do other bases
    assert plan_cache_key(dict(config, variants={"a": {"tolerance": 1}}), base) != \
        plan_cache_key(dict(config, variants={"a": {"tolerance": 1.0}}), base)
    assert plan_cache_key(config, base) != plan_cache_key(config, base / "atlases")


def test_changed_atlas_file_is_built_again(setup, builds):
    config, base, cache = setup
    cached_plan(config, base, cache, write=True)
    atlas = base / "atlases" / "dk.nii.gz"
    stat = atlas.stat()
    os.utime(atlas, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    cached_plan(config, base, cache, write=False)
    assert len(builds) == 2
    cached_plan(config, base, cache, write=True)  # saved again with the new time
    cached_plan(config, base, cache, write=False)
    assert len(builds) == 3
    atlas.unlink()                                # a missing file: refused as build_plan does
    with pytest.raises(FileNotFoundError, match="atlases.mine"):
        cached_plan(config, base, cache, write=False)


def test_environment_variables_in_paths(setup, builds, monkeypatch):
    config, base, cache = setup
    other = base / "other"
    shutil.copytree(base / "atlases", other)
    config = dict(config, atlases={"mine": {"image": "$ATLAS_DIR/dk.nii.gz"}})
    monkeypatch.setenv("ATLAS_DIR", str(base / "atlases"))
    first = cached_plan(config, base, cache, write=True)
    monkeypatch.setenv("ATLAS_DIR", str(other))
    second = cached_plan(config, base, cache, write=False)
    assert len(builds) == 2
    assert second.atlases["mine"].files["image"] == str(other / "dk.nii.gz") != \
        first.atlases["mine"].files["image"]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "other key", "not a plan"])
def test_unreadable_saved_plan_is_built_again(setup, builds, damage):
    config, base, cache = setup
    expected = cached_plan(config, base, cache, write=True)
    (path,) = _saved(cache)
    blob = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x80\x05not a pickle at all")
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        saved = pickle.loads(blob)
        if damage == "other key":
            saved["key"] = "0" * 64
        else:
            saved["plan"] = {"variants": {}}
        path.write_bytes(pickle.dumps(saved))
    assert cached_plan(config, base, cache, write=False) == expected
    assert len(builds) == 2
    cached_plan(config, base, cache, write=True)  # repaired
    assert cached_plan(config, base, cache, write=False) == expected
    assert len(builds) == 3


def test_unwritable_cache_folder_still_gives_the_plan(setup, tmp_path):
    config, base, _ = setup
    blocker = tmp_path / "file"
    blocker.write_text("")
    plan = cached_plan(config, base, blocker / "cache", write=True)
    assert plan == build_plan(config, base)


def test_invalid_config_refused_as_build_plan(setup):
    config, base, cache = setup
    bad = dict(config, variants={"v": {"gene_norm": "nope"}})
    with pytest.raises(ValueError, match=r"variants\.v"):
        cached_plan(bad, base, cache, write=True)
    assert _saved(cache) == []


def test_changed_coordinate_table_is_built_again(setup, builds):
    """A variant's corrected_mni table is hashed into its stage keys: a new table, a new plan."""
    config, base, cache = setup
    table = corrected_mni_coordinates().reset_index().iloc[:10]
    table = table.rename(columns={f"corrected_mni_{a}": f"mni_{a}" for a in "xyz"})
    table.to_csv(base / "coords.csv", index=False)
    config = dict(config, variants={"refined": {"corrected_mni": "coords.csv"}})
    first = cached_plan(config, base, cache, write=True)
    table.assign(mni_x=table["mni_x"] + 1).to_csv(base / "coords.csv", index=False)
    stat = (base / "coords.csv").stat()
    os.utime(base / "coords.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = cached_plan(config, base, cache, write=False)
    assert len(builds) == 2
    assert second.keys["dk", "refined"]["samples"] != first.keys["dk", "refined"]["samples"]
