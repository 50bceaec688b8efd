"""Workflow targets for sample-level outputs: ``samples_in_mask`` and ``interpolated_maps``.

Fast checks: config validation (schema and plan) and Snakemake's dry-run
plan. Slow checks: one workflow run on the bundled parity data (two donors)
whose files equal :func:`abagen_core.api.get_samples_in_mask` and
:func:`abagen_core.api.get_interpolated_map` for the same options, and bad
configs failing with messages that name the problem.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, job_stats

from abagen_core.api import get_interpolated_map, get_samples_in_mask
from abagen_core.atlas.masks import mask_points, mask_tree
from abagen_core.options import stage_key
from abagen_core.stages import regional as pipeline
from abagen_core.utils import data_path
from abagen_core.workflow.plan import build_plan

SNAKEFILE = REPO / "workflow" / "Snakefile"
SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"
DONORS = ["12876", "15496"]
GENES = ["AACS", "ABHD15"]  # present in the bundled parity data after processing


# --------------------------------------------------------------------------- helpers


def _volume_mask(path: Path, select) -> str:
    atlas = nib.load(data_path("atlas-desikankilliany.nii.gz"))
    data = np.asarray(atlas.dataobj)
    nib.save(nib.Nifti1Image(select(data).astype(np.uint8), atlas.affine), path)
    return str(path)


def _box(data):
    out = np.zeros(data.shape, dtype=bool)
    out[60:70, 100:110, 70:80] = True
    return out


def _corner(data):
    out = np.zeros(data.shape, dtype=bool)
    out[:2, :2, :2] = True
    return out


def _surface_mask(folder: Path, regions=(1, 2, 3, 42, 43, 44)) -> list[str]:
    """A binary (0/1 in both hemispheres) GIFTI mask pair on fsaverage5."""
    paths = []
    for hemi in ("lh", "rh"):
        labels = nib.load(data_path(f"atlas-desikankilliany-{hemi}.label.gii.gz"))
        values = np.isin(np.asarray(labels.darrays[0].data), regions).astype(np.int32)
        img = nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(
            values, intent="NIFTI_INTENT_LABEL", datatype="NIFTI_TYPE_INT32")])
        path = folder / f"mask_{hemi}.label.gii"
        nib.save(img, path)
        paths.append(str(path))
    return paths


def _config(data_dir: Path, samples: dict | None = None, maps: dict | None = None) -> dict:
    config = {"data_dir": str(data_dir), "donors": DONORS, "synthetic": {"enabled": False},
              "atlases": {"dk": {"builtin": "dk-volume"}}, "variants": {"default": {}}}
    if samples is not None:
        config["samples_in_mask"] = samples
    if maps is not None:
        config["interpolated_maps"] = maps
    return config


def _snakemake(workdir: Path, config: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE),
           "--directory", str(workdir), "--configfile", str(config), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200)


def _planned(proc: subprocess.CompletedProcess) -> dict[str, int]:
    return job_stats(proc.stdout + proc.stderr)


def _validate(config: dict) -> dict:
    from snakemake.utils import validate

    validate(config, str(SCHEMA))
    return config


# --------------------------------------------------------------------------- fast: config


@pytest.fixture(scope="module")
def masks(tmp_path_factory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("masks")
    return {"region": _volume_mask(folder / "region.nii.gz", lambda d: d == 12),
            "box": _volume_mask(folder / "box.nii.gz", _box),
            "corner": _volume_mask(folder / "corner.nii.gz", _corner),
            "surface": _surface_mask(folder)}


def test_schema_accepts_targets_and_defaults_to_none():
    config = _validate({})
    assert config["samples_in_mask"] == {} and config["interpolated_maps"] == {}
    _validate({"samples_in_mask": {"all": None, "r": {"mask": "m.nii.gz", "options": None},
                                   "s": {"mask": ["l.gii", "r.gii"]}},
               "interpolated_maps": {"m": {"mask": "m.nii.gz", "genes": "A"},
                                     "n": {"mask": ["l.gii", "r.gii"], "genes": ["A", "B"],
                                           "n_neighbors": 3, "options": {}}}})


@pytest.mark.parametrize("entry, words", [
    ({"mask": "m.nii.gz", "genes": ["A"], "n_neighbors": 0}, ["n_neighbors", "minimum of 1"]),
    ({"mask": "m.nii.gz", "genes": ["A"], "n_neighbors": 2.5}, ["n_neighbors", "integer"]),
    ({"mask": "m.nii.gz"}, ["genes", "required"]),
    ({"mask": "m.nii.gz", "genes": []}, ["genes"]),
    ({"mask": "m.nii.gz", "genes": ["A"], "smoothing": 3}, ["smoothing"]),
])
def test_schema_refuses_bad_map_entries(entry, words):
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError) as info:
        _validate({"interpolated_maps": {"bad": entry}})
    for word in words:
        assert word in str(info.value)


def test_plan_registers_targets_under_shared_stage_keys(masks):
    config = _config(Path("/nonexistent"),
                     samples={"all": None, "region": {"mask": masks["region"]}},
                     maps={"box": {"mask": masks["box"], "genes": GENES}})
    plan = build_plan(config)
    everything = plan.samples_in_mask["all"]
    assert everything.mask is None
    # abagen's defaults, minus the options that cannot act on samples
    assert everything.options["lr_mirror"] is None
    assert not {"missing", "region_agg", "agg_metric", "norm_matched"} & set(everything.options)
    # same options as the `default` variant: its cached genes are re-used
    assert everything.keys["genes"] == plan.keys["dk", "default"]["genes"]
    box = plan.interpolated_maps["box"]
    assert box.mask == {"kind": "volume", "files": [masks["box"]]}
    assert box.genes == tuple(GENES) and box.n_neighbors == 10
    # get_interpolated_map's defaults (abagen's manual): lr_mirror bidirectional
    assert box.options["lr_mirror"] == "bidirectional" and "tolerance" not in box.options
    assert box.keys["samples"] != everything.keys["samples"]
    for stage, key in box.keys.items():
        assert stage_key(plan.options_for(stage, key), stage) == key
    surface = build_plan(_config(Path("/x"), samples={"s": {"mask": masks["surface"]}}))
    assert surface.samples_in_mask["s"].mask["kind"] == "surface"


@pytest.mark.parametrize("section, entry, error, words", [
    ("samples_in_mask", {"options": {"gene_norm": "nonsense"}}, ValueError,
     ["samples_in_mask.bad", "gene_norm", "nonsense"]),
    ("samples_in_mask", {"options": {"region_agg": "samples"}}, ValueError,
     ["samples_in_mask.bad.options.region_agg", "no effect"]),
    ("samples_in_mask", {"options": {"donors": ["9861"]}}, ValueError, ["donors", "top level"]),
    ("samples_in_mask", {"options": {"gene_norm": "batch"}}, ValueError, ["batch", "API"]),
    ("samples_in_mask", {"mask": "/nonexistent/mask.nii.gz"}, FileNotFoundError,
     ["samples_in_mask.bad.mask", "/nonexistent/mask.nii.gz"]),
    ("samples_in_mask", {"mask": "lh.label.gii"}, ValueError, ["GIFTI", "[lh.gii, rh.gii]"]),
    ("interpolated_maps", {"genes": ["A"]}, ValueError, ["interpolated_maps.bad.mask"]),
    ("interpolated_maps", {"mask": "BOX", "genes": ["A"], "n_neighbors": 0}, ValueError,
     ["interpolated_maps.bad", "n_neighbors", "0"]),
    ("interpolated_maps", {"mask": "BOX", "genes": ["A", "A"]}, ValueError,
     ["interpolated_maps.bad", "['A']", "more than once"]),
    ("interpolated_maps", {"mask": "BOX", "genes": ["A"], "options": {"tolerance": 3}},
     ValueError, ["interpolated_maps.bad.options.tolerance", "no effect"]),
])
def test_plan_refuses_bad_entries(masks, section, entry, error, words):
    entry = {k: masks["box"] if v == "BOX" else v for k, v in entry.items()}
    config = _config(Path("/x"), **{"samples" if section == "samples_in_mask" else "maps":
                                    {"bad": entry}})
    with pytest.raises(error) as info:
        build_plan(config)
    for word in words:
        assert word in str(info.value)


def test_atlas_may_not_take_a_results_folder_name(masks):
    config = _config(Path("/x"), maps={"m": {"mask": masks["box"], "genes": ["A"]}})
    config["atlases"] = {"maps": {"builtin": "dk-volume"}}
    with pytest.raises(ValueError, match="atlases.maps: this name is reserved"):
        build_plan(config)


def test_dry_run_plans_the_targets(bundled_parity, masks, tmp_path):
    config = _config(bundled_parity / "data",
                     samples={"all": None, "region": {"mask": masks["region"]}},
                     maps={"box": {"mask": masks["box"], "genes": GENES},
                           "surf": {"mask": masks["surface"], "genes": GENES[:1]}})
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = _snakemake(tmp_path, tmp_path / "config.yaml", "-n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    planned = _planned(proc)
    assert planned["samples_in_mask"] == 2
    assert planned["map_samples"] == 2
    assert planned["interpolated_map_volume"] == 2  # one job per gene
    assert planned["interpolated_map_surface"] == 1
    assert planned["map_metadata"] == 2
    # 'all' shares its genes with the default variant; the maps' bidirectional
    # mirroring gives one more gene set (one job each, every donor)
    assert planned["donor_genes"] == 2
    assert not (tmp_path / "resources").exists()


def test_dry_run_refuses_bad_n_neighbors_before_any_job(bundled_parity, masks, tmp_path):
    config = _config(bundled_parity / "data",
                     maps={"box": {"mask": masks["box"], "genes": GENES, "n_neighbors": 0}})
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = _snakemake(tmp_path, tmp_path / "config.yaml", "-n")
    assert proc.returncode != 0
    assert "n_neighbors" in proc.stderr + proc.stdout
    assert not (tmp_path / "resources").exists()


# --------------------------------------------------------------------------- fast: functions


def test_binary_surface_mask_is_accepted(masks):
    tree = mask_tree(tuple(masks["surface"]))
    space, index, points = mask_points(tuple(masks["surface"]))
    assert space is not None and len(index) == len(points) == int((tree.atlas != 0).sum())
    assert points.shape[1] == 3


def test_interpolation_helpers_refuse_bad_input():
    expression = pd.DataFrame({"A": [0.0, 1.0], "B": [1.0, 0.0]})
    coords = np.array([[0.0, 0, 0], [10.0, 0, 0]])
    with pytest.raises(ValueError, match="NOT_A_GENE"):
        pipeline.interpolate_samples(expression, coords, ["NOT_A_GENE"], coords, n_neighbors=1)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n_neighbors"):
            pipeline.check_n_neighbors(bad)
    with pytest.raises(ValueError, match="No tissue sample"):
        pipeline.combine_samples({"1": expression.iloc[:0]}, {"1": coords[:0]})
    middle = pipeline.interpolate_samples(expression, coords, ["A"], np.array([[5.0, 0, 0]]),
                                          n_neighbors=2)
    np.testing.assert_allclose(middle, [[0.5]])


# --------------------------------------------------------------------------- slow: a run


@pytest.fixture(scope="module")
def run(bundled_parity, masks, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("wf_maps")
    samples = {"all": None,
               "region": {"mask": masks["region"],
                          "options": {"probe_selection": "max_intensity"}},
               "surface": {"mask": masks["surface"], "options": {"gene_norm": "zscore"}}}
    maps = {"box": {"mask": masks["box"], "genes": GENES, "n_neighbors": 3},
            "surf": {"mask": masks["surface"], "genes": GENES[:1],
                     "options": {"lr_mirror": None}}}
    config = _config(bundled_parity / "data", samples=samples, maps=maps)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    proc = _snakemake(workdir, workdir / "config.yaml")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return {"workdir": workdir, "config": config, "data": str(bundled_parity / "data")}


def _mask_arg(mask):
    return tuple(mask) if isinstance(mask, list) else mask


@pytest.mark.slow
@pytest.mark.parametrize("name", ["all", "region", "surface"])
def test_samples_in_mask_equal_api(run, name):
    entry = run["config"]["samples_in_mask"][name] or {}
    expected, coords = get_samples_in_mask(_mask_arg(entry.get("mask")), data_dir=run["data"],
                                           donors=DONORS, **(entry.get("options") or {}))
    folder = run["workdir"] / "results" / "samples_in_mask" / name
    got = pd.read_csv(folder / "expression.csv", index_col=0)
    assert got.index.name == "well_id"
    assert got.index.tolist() == expected.index.tolist()
    assert [str(c) for c in got.columns] == [str(c) for c in expected.columns]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    parquet = pd.read_parquet(folder / "expression.parquet")
    np.testing.assert_array_equal(parquet.to_numpy(), expected.to_numpy())
    where = pd.read_csv(folder / "coordinates.csv", index_col=0)
    assert where.index.tolist() == expected.index.tolist()
    np.testing.assert_allclose(where[["mni_x", "mni_y", "mni_z"]].to_numpy(), coords,
                               rtol=0, atol=1e-12)
    assert sorted({str(d) for d in where["donor"]}) == sorted(DONORS)
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["synthetic"] is True  # the parity data are synthetic
    assert meta["shape"] == list(expected.shape)
    assert meta["target"] == "samples_in_mask"
    assert (meta["mask"] is None) == (name == "all")


@pytest.mark.slow
def test_volume_maps_equal_api(run):
    entry = run["config"]["interpolated_maps"]["box"]
    expected = get_interpolated_map(entry["genes"], entry["mask"], n_neighbors=3,
                                    data_dir=run["data"], donors=DONORS)
    folder = run["workdir"] / "results" / "maps" / "box"
    mask = np.asarray(nib.load(entry["mask"]).dataobj) != 0
    for gene in entry["genes"]:
        img = nib.load(folder / f"{gene}.nii.gz")
        assert img.get_data_dtype() == np.float64
        np.testing.assert_array_equal(img.affine, expected[gene].affine)
        values = np.asarray(img.dataobj)
        np.testing.assert_allclose(values, expected[gene].get_fdata(), rtol=0, atol=1e-12)
        assert np.all(values[~mask] == 0) and np.any(values[mask] != 0)
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["genes"] == entry["genes"] and meta["n_neighbors"] == 3
    assert meta["options"]["lr_mirror"] == "bidirectional"
    assert meta["files"] == [f"{g}.nii.gz" for g in entry["genes"]]


@pytest.mark.slow
def test_surface_maps_equal_api(run):
    entry = run["config"]["interpolated_maps"]["surf"]
    gene = entry["genes"][0]
    expected = get_interpolated_map(entry["genes"], tuple(entry["mask"]), data_dir=run["data"],
                                    donors=DONORS, lr_mirror=None)[gene]
    folder = run["workdir"] / "results" / "maps" / "surf"
    parts = [np.asarray(nib.load(folder / f"{gene}_{hemi}.func.gii").darrays[0].data)
             for hemi in ("lh", "rh")]
    assert [len(p) for p in parts] == [10242, 10242]
    # GIFTI stores float32: the API's float64 values, rounded once
    np.testing.assert_array_equal(np.concatenate(parts), expected.astype(np.float32))


@pytest.mark.slow
def test_nothing_changed_schedules_nothing(run):
    proc = _snakemake(run["workdir"], run["workdir"] / "config.yaml", "-n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _planned(proc) == {}


@pytest.mark.slow
def test_unknown_gene_fails_naming_it(run, masks):
    workdir = run["workdir"]
    config = dict(run["config"])
    config["interpolated_maps"] = {"bad": {"mask": masks["box"], "genes": ["AACS", "NOT_A_GENE"],
                                           "n_neighbors": 3}}
    (workdir / "bad.yaml").write_text(yaml.safe_dump(config))
    proc = _snakemake(workdir, workdir / "bad.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "interpolated_maps.bad" in out and "NOT_A_GENE" in out
    assert not (workdir / "results" / "maps" / "bad").exists()


@pytest.mark.slow
def test_mask_without_samples_fails_clearly(run, masks):
    workdir = run["workdir"]
    config = dict(run["config"])
    config["samples_in_mask"] = {"corner": {"mask": masks["corner"]}}
    (workdir / "corner.yaml").write_text(yaml.safe_dump(config))
    proc = _snakemake(workdir, workdir / "corner.yaml")
    assert proc.returncode != 0
    assert "samples_in_mask.corner: No tissue sample falls inside the mask" in \
        proc.stdout + proc.stderr
    assert not (workdir / "results" / "samples_in_mask" / "corner" / "metadata.json").exists()
