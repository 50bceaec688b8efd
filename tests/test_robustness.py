"""Robustness (issue #9): bad input gets a clear error, interruptions lose nothing.

Every test tries bad input (or an interruption) and asserts both the message
(or the recovered result) and that no partial output remains. Fast tests call
the checks the workflow runs (``abagen_core.workflow.workdir``, the readers, the
conversion) on a tiny synthetic dataset; the slow ones run Snakemake on it
(two donors, 60 probes) and kill it, corrupt its cache or run it twice.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO

from abagen_core import api, io
from abagen_core.datasets import raw, synth
from abagen_core.datasets.checks import check_data_dir
from abagen_core.errors import CorruptArtifactError, InputError
from abagen_core.storage.artifacts import read_frame, write_frame
from abagen_core.storage.atomic import is_temporary, write_text_atomic
from abagen_core.storage.checks import parquet_problem, unreadable_artifact
from abagen_core.storage.parquet import write_parquet_atomic
from abagen_core.utils import data_path
from abagen_core.workflow import checks as workflow_checks
from abagen_core.workflow import workdir as wd
from abagen_core.workflow.checks import check_atlases, check_config
from abagen_core.workflow.cli import jobs_run
from abagen_core.workflow.plan import build_plan

SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"
SNAKEFILE = REPO / "workflow" / "Snakefile"
DONORS = ["12876", "15496"]
DONOR = "12876"
N_PROBES = 60


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    """A synthetic AHBA-format dataset: two donors, 60 probes (about a second)."""
    root = tmp_path_factory.mktemp("data")
    synth.generate_dataset(root, n_probes=N_PROBES, donors=DONORS, seed=1, rnaseq=False,
                           mri=False)
    return root


def _donor_copy(small_data: Path, root: Path) -> Path:
    """A private copy of donor 12876's folder (abagen layout) under `root`."""
    src = small_data / "microarray" / f"normalized_microarray_donor{DONOR}"
    dest = root / "microarray" / f"normalized_microarray_donor{DONOR}"
    shutil.copytree(src, dest)
    return dest


def _leftovers(folder: Path) -> list[str]:
    """Temporary files of atomic writes left anywhere under `folder`."""
    return [str(p) for p in folder.rglob("*") if is_temporary(p.name)]


# --------------------------------------------------------------------------- config


BASE_CONFIG = {"data_dir": "DATA", "donors": DONORS, "atlases": {"dk": {"builtin": "dk-volume"}},
               "variants": {"default": {}}}

# (change to the config, fragments the message must contain: the key, the
# allowed values or rule, the value received)
CONFIG_CASES = {
    "unknown top-level key": ({"dat_dir": "/x"}, ["dat_dir", "data_dir", "unknown key"]),
    "unknown atlas key": ({"atlases": {"dk": {"builtin": "dk-volume", "imag": "a.nii"}}},
                          ["atlases.dk", "'imag'", "'image'"]),
    "unknown builtin atlas": ({"atlases": {"dk": {"builtin": "dk-vol"}}},
                              ["atlases.dk.builtin", "'dk-vol'", "'dk-volume'"]),
    "unknown option": ({"variants": {"v": {"gene_nrom": "zscore"}}},
                       ["variants.v", "gene_nrom", "'gene_norm'"]),
    "invalid option value": ({"variants": {"v": {"gene_norm": "zcore"}}},
                             ["variants.v", "gene_norm", "'zcore'", "'zscore'"]),
    "threshold out of range": ({"variants": {"v": {"ibf_threshold": 1.5}}},
                               ["ibf_threshold", "1.5", "between 0 and 1"]),
    "string None": ({"variants": {"v": {"lr_mirror": "None"}}},
                    ["lr_mirror", "'None'", "'bidirectional'", "None"]),
    "string boolean": ({"variants": {"v": {"norm_matched": "yes"}}},
                       ["norm_matched", "'yes'", "True, False"]),
    "string number": ({"variants": {"v": {"tolerance": "2"}}}, ["tolerance", "'2'", "a number"]),
    "invalid donor": ({"donors": ["1234"]}, ["donors", "'1234'", "'9861'"]),
    "no donors": ({"donors": []}, ["donors", "[]", "'all' or a list"]),
    "diff_stability with one donor": ({"donors": [DONOR]},
                                      ["diff_stability", "two donors", f"['{DONOR}']"]),
    "rnaseq without an RNA-seq donor": ({"variants": {"v": {"probe_selection": "rnaseq"}}},
                                        ["rnaseq", "9861", "10021", str(DONORS)]),
    "save_donors with pooled samples": (
        {"outputs": {"save_donors": True}, "variants": {"p": {"region_agg": "samples"}}},
        ["variants.p.region_agg", "save_donors", "'donors'", "'samples'"]),
    "batch normalization": ({"variants": {"v": {"gene_norm": "batch"}}},
                            ["variants.v.gene_norm", "'batch'", "Python API"]),
    "donors in a variant": ({"variants": {"v": {"donors": [DONOR]}}},
                            ["variants.v.donors", "top level"]),
    "misspelt sweep key": ({"sweep": {"gird": {"gene_norm": ["srs"]}}},
                           ["sweep", "'gird'", "'grid'"]),
    "sweep values not a list": ({"sweep": {"grid": {"gene_norm": "zscore"}}},
                                ["sweep.grid.gene_norm", "array", "'zscore'"]),
    "invalid sweep value": ({"sweep": {"grid": {"gene_norm": ["srs", "nope"]}}},
                            ["variants.sweep-0001", "gene_norm", "'nope'"]),
    "sweep prefix with a space": ({"sweep": {"prefix": "my sweep", "list": [{}]}},
                                  ["sweep.prefix", "'my sweep'", "A-Za-z0-9"]),
    "sweep chunk of no memory": ({"sweep": {"list": [{}], "chunk_mb": 0}},
                                 ["sweep.chunk_mb", "0"]),
    "variant name with a slash": ({"variants": {"a/b": {}}}, ["variants", "'a/b'", "A-Za-z0-9"]),
    "atlas name with a space": ({"atlases": {"my atlas": {"builtin": "dk-volume"}}},
                                ["atlases", "'my atlas'", "A-Za-z0-9"]),
    "no atlases": ({"atlases": {}}, ["atlases", "at least 1", "{}"]),
    "too few probes": ({"synthetic": {"enabled": True, "n_probes": 10}},
                       ["synthetic.n_probes", ">= 50", "10"]),
    "unknown precision": ({"synthetic": {"enabled": True, "precision": "long"}},
                          ["synthetic.precision", "'long'", "'short'"]),
    "misspelt outputs key": ({"outputs": {"save_donor": True}},
                             ["outputs", "'save_donor'", "'save_donors'"]),
    "download not a boolean": ({"download": "yes"}, ["download", "boolean", "'yes'"]),
    "one geometry file": ({"atlases": {"s": {"builtin": "dk-surface", "geometry": ["a"]}}},
                          ["atlases.s.geometry", "at least 2", "['a']"]),
    "variant as a list": ({"variants": {"v": ["gene_norm"]}},
                          ["variants.v", "object", "['gene_norm']"]),
    "atlas file missing": ({"atlases": {"mine": {"image": "/no/such/atlas.nii.gz"}}},
                           ["atlases.mine", "/no/such/atlas.nii.gz", "does not exist"]),
}


def _plan(config: dict, base: Path = REPO):
    """What workflow/rules/common.smk does with a config, before any job."""
    from snakemake.utils import validate

    check_config(config, SCHEMA)
    validate(config, str(SCHEMA), set_default=True)
    return build_plan(config, base=base)


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_invalid_config_is_refused_with_key_allowed_and_received(case, tmp_path):
    change, fragments = CONFIG_CASES[case]
    config = copy.deepcopy(BASE_CONFIG)
    config["data_dir"] = str(tmp_path / "data")
    config.update(copy.deepcopy(change))
    with pytest.raises((ValueError, FileNotFoundError)) as err:
        _plan(config)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert len(message) < 1500  # short: no schema dump
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_valid_config_passes_the_same_checks(tmp_path):
    config = copy.deepcopy(BASE_CONFIG)
    config["data_dir"] = str(tmp_path)
    plan = _plan(config)
    assert plan.donors == DONORS and list(plan.atlases) == ["dk"]


# the command line: every argument is checked before any work (more in test_cli.py)
CLI_CASES = [
    (["--tol", "abc"], "argument --tol"),
    (["--agg_metric", "max"], "invalid choice: 'max'"),
    (["--region_agg", "samples", "--save-donors"], "--save-donors needs --region_agg donors"),
    (["--donors", "12876"], "diff_stability"),
    (["--probe_selection", "rnaseq", "--donors", "12876", "15496"], "rnaseq"),
]


@pytest.mark.parametrize(("argv", "message"), CLI_CASES)
def test_invalid_cli_arguments_are_refused_before_any_work(argv, message, tmp_path, capsys,
                                                           monkeypatch):
    from abagen_core.workflow import cli

    monkeypatch.setattr(cli, "_run", lambda *a, **k: pytest.fail("the workflow must not run"))
    cache = tmp_path / "cache"
    atlas = str(data_path("atlas-desikankilliany.nii.gz"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--cache-dir", str(cache), atlas, *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not cache.exists()


# --------------------------------------------------------------------------- atlases


def _nifti(path: Path, data: np.ndarray, affine: np.ndarray | None = None) -> str:
    if affine is None:
        affine = np.diag([2.0, 2.0, 2.0, 1.0])
        affine[:3, 3] = -np.array(data.shape[:3]) + 1.0  # centred on the MNI origin
    nib.save(nib.Nifti1Image(data, affine), path)
    return str(path)


def _blocks(dtype=np.int16) -> np.ndarray:
    data = np.zeros((20, 20, 20), dtype=dtype)
    data[2:9, 2:18, 2:18] = 1
    data[11:18, 2:18, 2:18] = 2
    return data


def _label_gii(path: Path, labels: np.ndarray) -> str:
    darr = nib.gifti.GiftiDataArray(np.asarray(labels, dtype=np.int32),
                                    intent="NIFTI_INTENT_LABEL", datatype="NIFTI_TYPE_INT32")
    nib.save(nib.gifti.GiftiImage(darrays=[darr]), path)
    return str(path)


def _info(path: Path, rows: list[tuple]) -> str:
    pd.DataFrame(rows, columns=["id", "hemisphere", "structure"]).to_csv(path, index=False)
    return str(path)


GOOD_INFO = [(1, "L", "cortex"), (2, "R", "cortex")]
FS5 = 10242


def _halves(n: int, first: int, second: int) -> np.ndarray:
    labels = np.full(n, first, dtype=np.int32)
    labels[n // 2:] = second
    return labels


def _atlas_case(name: str, tmp: Path) -> tuple[dict, list[str]]:
    """(atlas config entry, fragments of the expected error) for bad atlas `name`."""
    vol = tmp / "atlas.nii.gz"
    info = tmp / "info.csv"
    if name == "non-integer labels":
        return {"image": _nifti(vol, _blocks(np.float32) * 1.5)}, ["non-integer", str(vol)]
    if name == "negative labels":
        return {"image": _nifti(vol, -_blocks())}, ["negative labels", str(vol)]
    if name == "NaN labels":
        data = _blocks(np.float32)
        data[0, 0, 0] = np.nan
        return {"image": _nifti(vol, data)}, ["NaN", str(vol)]
    if name == "4-D image":
        return {"image": _nifti(vol, np.stack([_blocks()] * 2, -1))}, ["4-D", str(vol)]
    if name == "empty image":
        return {"image": _nifti(vol, np.zeros((20, 20, 20), np.int16))}, ["empty", str(vol)]
    if name == "not an image":
        vol.write_text("not an image")
        return {"image": str(vol)}, ["cannot use", str(vol)]
    if name == "info without columns":
        pd.DataFrame({"id": [1, 2], "hemisphere": ["L", "R"]}).to_csv(info, index=False)
        return ({"image": _nifti(vol, _blocks()), "info": str(info)},
                ["atlases.bad.info", str(info), "'structure'"])
    if name == "info without a row for a label":
        return ({"image": _nifti(vol, _blocks()), "info": _info(info, GOOD_INFO[:1])},
                [str(info), "no row for atlas label(s) [2]"])
    if name == "info with duplicate ids":
        return ({"image": _nifti(vol, _blocks()), "info": _info(info, GOOD_INFO + [(2, "L", "cortex")])},
                [str(info), "duplicate ids [2]"])
    if name == "info with an unknown hemisphere":
        return ({"image": _nifti(vol, _blocks()),
                 "info": _info(info, [(1, "left", "cortex"), (2, "X", "cortex")])},
                [str(info), "'hemisphere'", "['X']", "'L'"])
    if name == "geometry for a volume":
        return ({"image": _nifti(vol, _blocks()), "geometry": ["a.surf.gii", "b.surf.gii"],
                 "space": "fsaverage"}, ["atlases.bad.geometry", "GIFTI"])
    lh, rh = tmp / "lh.label.gii", tmp / "rh.label.gii"
    if name == "GIFTI pair with different vertex counts":
        return ({"lh": _label_gii(lh, _halves(FS5, 1, 2)), "rh": _label_gii(rh, _halves(FS5 - 2, 3, 4))},
                [str(lh), "10240 vertices", "10242"])
    if name == "GIFTI not on fsaverage5 without geometry":
        return ({"lh": _label_gii(lh, _halves(500, 1, 2)), "rh": _label_gii(rh, _halves(500, 3, 4))},
                ["500 vertices", "fsaverage5 has 10242", "geometry=(lh, rh)"])
    if name == "GIFTI labels in both hemispheres":
        return ({"lh": _label_gii(lh, _halves(FS5, 1, 2)), "rh": _label_gii(rh, _halves(FS5, 2, 3))},
                [str(rh), "Labels [2] appear in both hemispheres", "relabel_gifti"])
    if name == "GIFTI geometry without space":
        surf = str(data_path("fsaverage5-pial-lh.surf.gii.gz"))
        return ({"lh": _label_gii(lh, _halves(FS5, 1, 2)), "rh": _label_gii(rh, _halves(FS5, 3, 4)),
                 "geometry": [surf, surf]}, ["`space` is required"])
    if name == "GIFTI with an unknown space":
        surf = str(data_path("fsaverage5-pial-lh.surf.gii.gz"))
        return ({"lh": _label_gii(lh, _halves(FS5, 1, 2)), "rh": _label_gii(rh, _halves(FS5, 3, 4)),
                 "geometry": [surf, surf], "space": "mni"}, ["space", "'mni'", "fsaverage"])
    raise AssertionError(name)


ATLAS_CASES = ["non-integer labels", "negative labels", "NaN labels", "4-D image", "empty image",
               "not an image", "info without columns", "info without a row for a label",
               "info with duplicate ids", "info with an unknown hemisphere",
               "geometry for a volume", "GIFTI pair with different vertex counts",
               "GIFTI not on fsaverage5 without geometry", "GIFTI labels in both hemispheres",
               "GIFTI geometry without space", "GIFTI with an unknown space"]


@pytest.mark.parametrize("case", ATLAS_CASES)
def test_bad_atlas_is_refused_naming_atlas_and_file(case, tmp_path):
    folder = tmp_path / "atlas"
    folder.mkdir()
    entry, fragments = _atlas_case(case, folder)
    config = copy.deepcopy(BASE_CONFIG)
    config.update(data_dir=str(tmp_path), atlases={"bad": entry})
    state = tmp_path / "state"
    with pytest.raises(InputError) as err:
        check_atlases(_plan(config).atlases, state_dir=state)
    message = str(err.value)
    assert message.startswith("atlases.bad")
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert not state.exists()  # a failed atlas is not remembered


def test_atlas_far_from_mni_is_a_documented_warning(tmp_path):
    """abagen accepts it; the workflow warns (config/README.md, `atlases`)."""
    far = np.diag([2.0, 2.0, 2.0, 1.0])
    far[:3, 3] = 400
    config = copy.deepcopy(BASE_CONFIG)
    config.update(data_dir=str(tmp_path),
                  atlases={"far": {"image": _nifti(tmp_path / "far.nii.gz", _blocks(), far)}})
    logged: list[str] = []
    found = check_atlases(_plan(config).atlases, state_dir=tmp_path / "s",
                                    log=logged.append)
    assert len(found) == 1 and found == logged
    assert found[0].startswith("atlases.far:") and "MNI152" in found[0]
    # remembered, warned again on the next start without loading the image
    assert check_atlases(_plan(config).atlases, state_dir=tmp_path / "s") == found
    readme = (REPO / "config" / "README.md").read_text()
    assert "MNI152 brain" in readme


def test_accepted_atlas_variants_and_the_check_cache(tmp_path, monkeypatch):
    """Whole-number float labels, a single-volume 4-D image and info rows for ids the
    image lacks are accepted, as by abagen; a checked atlas is not loaded again unless
    its file changes."""
    vol = tmp_path / "atlas.nii.gz"
    _nifti(vol, _blocks(np.float32)[..., None])
    info = _info(tmp_path / "info.csv", GOOD_INFO + [(3, "B", "subcortex")])
    config = copy.deepcopy(BASE_CONFIG)
    config.update(data_dir=str(tmp_path), atlases={"ok": {"image": str(vol), "info": info}})
    state = tmp_path / "state"
    assert check_atlases(_plan(config).atlases, state_dir=state) == []
    calls = []
    monkeypatch.setattr(workflow_checks, "check_atlas_spec", lambda spec: calls.append(spec) or [])
    check_atlases(_plan(config).atlases, state_dir=state)
    assert calls == []
    time.sleep(0.01)
    _nifti(vol, -_blocks())  # edited: checked again
    monkeypatch.undo()
    with pytest.raises(InputError, match="negative labels"):
        check_atlases(_plan(config).atlases, state_dir=state)


# --------------------------------------------------------------------------- data files


def _lines(path: Path, change) -> None:
    path.write_text("\n".join(change(path.read_text().splitlines())) + "\n")


def _set_last(line: str, value: str) -> str:
    return line.rsplit(",", 1)[0] + "," + value


# name -> (file to change, change, fragments of the message)
DATA_CASES = {
    "truncated mid-line": ("MicroarrayExpression.csv",
                           lambda p: p.write_bytes(p.read_bytes()[:-500]),
                           ["MicroarrayExpression.csv", "truncated or corrupt"]),
    "truncated at a line end": ("MicroarrayExpression.csv", lambda p: _lines(p, lambda t: t[:-3]),
                                ["MicroarrayExpression.csv", "Probes.csv", "no row for 3 probe(s)"]),
    "a sample column less": ("MicroarrayExpression.csv",
                             lambda p: _lines(p, lambda t: [x.rsplit(",", 1)[0] for x in t]),
                             ["MicroarrayExpression.csv", "SampleAnnot.csv", "362 sample columns",
                              "lists 363 samples"]),
    "a PACall column less": ("PACall.csv",
                             lambda p: _lines(p, lambda t: [x.rsplit(",", 1)[0] for x in t]),
                             ["PACall.csv", "SampleAnnot.csv", "362 sample columns"]),
    "a row with an extra column": ("MicroarrayExpression.csv",
                                   lambda p: _lines(p, lambda t: t[:5] + [t[5] + ",1.0"] + t[6:]),
                                   ["MicroarrayExpression.csv", "Expected 364 columns, got 365"]),
    "an empty field": ("MicroarrayExpression.csv",
                       lambda p: _lines(p, lambda t: t[:5] + [_set_last(t[5], "")] + t[6:]),
                       ["MicroarrayExpression.csv", "missing values"]),
    "a non-numeric value": ("MicroarrayExpression.csv",
                            lambda p: _lines(p, lambda t: t[:5] + [_set_last(t[5], "abc")] + t[6:]),
                            ["MicroarrayExpression.csv", "'abc'"]),
    "a repeated probe row": ("MicroarrayExpression.csv", lambda p: _lines(p, lambda t: t + t[:1]),
                             ["MicroarrayExpression.csv", "repeated"]),
    "an empty matrix": ("MicroarrayExpression.csv", lambda p: p.write_text(""),
                        ["MicroarrayExpression.csv", "is empty"]),
    "binary garbage": ("PACall.csv", lambda p: p.write_bytes(np.random.default_rng(0).bytes(4000)),
                       ["PACall.csv"]),
    "a PACall value of 2": ("PACall.csv",
                            lambda p: _lines(p, lambda t: t[:5] + [_set_last(t[5], "2")] + t[6:]),
                            ["PACall.csv", "0 or 1", "2"]),
    "Probes.csv missing a probe": ("Probes.csv", lambda p: _lines(p, lambda t: t[:-1]),
                                   ["MicroarrayExpression.csv", "Probes.csv", "59 probes",
                                    "not in"]),
    "Probes.csv with another probe": (
        "Probes.csv", lambda p: _lines(p, lambda t: [t[0], "999999999" + t[1][t[1].index(","):]] + t[2:]),
        ["Probes.csv", "no row for 1 probe(s)", "999999999"]),
    "Probes.csv without probe_id": ("Probes.csv",
                                    lambda p: _lines(p, lambda t: [t[0].replace("probe_id", "id")] + t[1:]),
                                    ["Probes.csv", "probe_id"]),
    "an empty Probes.csv": ("Probes.csv", lambda p: p.write_text(""), ["Probes.csv"]),
    "SampleAnnot.csv missing a sample": ("SampleAnnot.csv", lambda p: _lines(p, lambda t: t[:-1]),
                                         ["SampleAnnot.csv", "lists 362 samples"]),
    "SampleAnnot.csv missing a column": (
        "SampleAnnot.csv", lambda p: _lines(p, lambda t: [x.split(",", 1)[1] for x in t]),
        ["SampleAnnot.csv", "lacks columns ['structure_id']"]),
    "SampleAnnot.csv with text coordinates": (
        "SampleAnnot.csv", lambda p: _lines(p, lambda t: t[:3] + [_set_last(t[3], "abc")] + t[4:]),
        ["SampleAnnot.csv", "mni_z"]),
    "an empty Ontology.csv": ("Ontology.csv", lambda p: p.write_text(""), ["Ontology.csv"]),
}


def _convert_donor(data_dir: Path, out: Path) -> None:
    """What the workflow does with one donor's CSVs (obtain_raw, convert_donor)."""
    raw.obtain_donor(DONOR, out / "raw", data_dir=str(data_dir))
    names = {"microarray": "MicroarrayExpression.csv", "pacall": "PACall.csv",
             "annotation": "SampleAnnot.csv", "ontology": "Ontology.csv"}
    outputs = {key: out / "parquet" / f"{key}.parquet" for key in names}
    outputs.update({f"{k}_checksum": out / "parquet" / f"{k}.sha256"
                    for k in ("microarray", "pacall")})
    raw.convert_donor({key: out / "raw" / name for key, name in names.items()}, outputs)
    # prepare_probes reads Probes.csv itself; parsed here too, so a bad one fails
    write_frame(io.read_probes(out / "raw" / "Probes.csv"), out / "parquet" / "probes.parquet",
                kind="probes_raw")


def test_good_donor_converts(small_data, tmp_path):
    _donor_copy(small_data, tmp_path / "data")
    _convert_donor(tmp_path / "data", tmp_path / "out")
    assert read_frame(tmp_path / "out" / "parquet" / "probes.parquet", kind="probes_raw").shape[0] \
        == N_PROBES


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data_file_error_names_the_file(case, small_data, tmp_path):
    name, change, fragments = DATA_CASES[case]
    folder = _donor_copy(small_data, tmp_path / "data")
    change(folder / name)
    out = tmp_path / "out"
    with pytest.raises(ValueError) as err:
        _convert_donor(tmp_path / "data", out)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    # the user's file (a few table readers name the workflow's link to it)
    assert str(folder / name) in message or str(out / "raw" / name) in message
    converted = out / "parquet"
    # the failing step leaves neither its output nor a temporary file
    failed = {"MicroarrayExpression.csv": "microarray", "PACall.csv": "pacall"}.get(name)
    if failed:
        assert not (converted / f"{failed}.parquet").exists()
        assert not (converted / f"{failed}.sha256").exists()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("case", ["Probes.csv missing a probe", "a sample column less",
                                  "a PACall value of 2"])
def test_api_refuses_mismatched_donor_files(case, small_data, tmp_path):
    name, change, fragments = DATA_CASES[case]
    folder = _donor_copy(small_data, tmp_path / "data")
    change(folder / name)
    with pytest.raises(ValueError) as err:
        api.load_donors(str(tmp_path / "data"), [DONOR])
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))


def _data_dir_case(case: str, root: Path, small_data: Path, monkeypatch) -> tuple[Path, str]:
    if case == "a file, not a folder":
        (root / "file").write_text("x")
        return root / "file", "is not a folder"
    if case == "missing":
        return root / "nowhere", "does not exist"
    if case == "no folder for a donor":
        (root / "empty").mkdir()
        return root / "empty", f"normalized_microarray_donor{DONOR}"
    folder = _donor_copy(small_data, root / "d")
    if case == "a donor file missing":
        (folder / "PACall.csv").unlink()
        return root / "d", str(folder / "PACall.csv")
    if case == "an unreadable donor file":
        # simulated: the tests may run as root, who can read anything
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, m: not str(p).endswith("Probes.csv")
                            and real(p, m))
        return root / "d", f"{folder / 'Probes.csv'} cannot be read"
    if case == "an unreadable folder":
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, m: str(p) != str(root / "d") and real(p, m))
        return root / "d", "cannot be read (permission denied)"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["a file, not a folder", "missing", "no folder for a donor",
                                  "a donor file missing", "an unreadable donor file",
                                  "an unreadable folder"])
def test_bad_data_dir_is_refused_before_any_job(case, small_data, tmp_path, monkeypatch):
    data_dir, fragment = _data_dir_case(case, tmp_path, small_data, monkeypatch)
    with pytest.raises(InputError) as err:
        check_data_dir(data_dir, [DONOR], download=False)
    message = str(err.value)
    assert message.startswith("data_dir:") and fragment in message, message


def test_data_dir_checks_with_download(small_data, tmp_path):
    check_data_dir(tmp_path / "nowhere", DONORS, download=True)  # fetched later
    check_data_dir(small_data, DONORS, download=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is not a folder"):
        check_data_dir(tmp_path / "file", DONORS, download=True)


# --------------------------------------------------------------------------- cache


def _frame(n: int = 40, m: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(n, m)), index=pd.Index(range(n), name="sample_id"),
                        columns=[f"g{i}" for i in range(m)])


@pytest.fixture()
def workdir(small_data, tmp_path) -> Path:
    """A working folder with one file of each kind the workflow caches."""
    root = tmp_path / "wd"
    donor = small_data / "microarray" / f"normalized_microarray_donor{DONOR}"
    par = root / "resources" / "parquet" / DONOR
    raw.convert_matrix_with_checksum(donor / "MicroarrayExpression.csv", par / "microarray.parquet",
                                     par / "microarray.sha256", kind="microarray")
    write_frame(io.read_annotation(donor / "SampleAnnot.csv"), par / "annotation.parquet",
                kind="annotation_raw")
    write_frame(_frame(30, 600), root / "resources" / "genes" / "k" / f"genes_{DONOR}.parquet",
                kind="genes")  # wide: stored transposed
    summary = root / "resources" / "probes" / "summary" / "k" / f"summary_{DONOR}"
    write_frame(_frame(), summary / "moments.parquet", kind="probe_moments")
    write_text_atomic(json.dumps({"method": "x", "n_samples": 1, "parts": ["moments"]}),
                      summary / "summary.json")
    res = root / "results" / "dk" / "default"
    write_parquet_atomic(_frame(), res / "expression.parquet")
    for name in ("expression.csv", "counts.csv", "report.md", "metadata.json"):
        write_text_atomic("x\n", res / name)
    return root


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _break_footer(p: Path) -> None:
    data = bytearray(p.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - footer
    data[start:start + min(64, footer)] = b"\xff" * min(64, footer)
    p.write_bytes(bytes(data))


def _old_schema(p: Path) -> None:
    table = pq.read_table(p)
    meta = dict(table.schema.metadata)
    info = json.loads(meta[b"abagen_core"])
    info["schema_version"] = "0"
    meta[b"abagen_core"] = json.dumps(info).encode()
    pq.write_table(table.replace_schema_metadata(meta), p)


def _float32_matrix(p: Path) -> None:
    table = pq.read_table(p)
    cast = pa.schema([table.schema.field(0)] + [pa.field(f.name, pa.float32())
                                                for f in table.schema][1:])
    pq.write_table(table.cast(cast), p)


# name -> (file, corruption, what the log says, what is removed)
CACHE_CASES = {
    "truncated matrix": (f"resources/parquet/{DONOR}/microarray.parquet", _truncate,
                         "not a complete parquet file", None),
    "emptied table": (f"resources/parquet/{DONOR}/annotation.parquet",
                      lambda p: p.write_bytes(b""), "not a complete parquet file", None),
    "overwritten with text": (f"resources/genes/k/genes_{DONOR}.parquet",
                              lambda p: p.write_text("garbage " * 100),
                              "not a complete parquet file", None),
    "broken footer": (f"resources/genes/k/genes_{DONOR}.parquet", _break_footer, "footer", None),
    "old schema version": (f"resources/parquet/{DONOR}/annotation.parquet", _old_schema,
                           "schema version '0'", None),
    "matrix with other column types": (f"resources/parquet/{DONOR}/microarray.parquet",
                                       _float32_matrix, "not a converted matrix", None),
    "bad checksum file": (f"resources/parquet/{DONOR}/microarray.sha256",
                          lambda p: p.write_text("zz\n"), "<sha256>", None),
    "broken part of a directory output": (f"resources/probes/summary/k/summary_{DONOR}/moments.parquet",
                                          _truncate, "not a complete parquet file",
                                          f"resources/probes/summary/k/summary_{DONOR}"),
    "directory output without its marker": (f"resources/probes/summary/k/summary_{DONOR}/summary.json",
                                            lambda p: p.unlink(), "no summary.json",
                                            f"resources/probes/summary/k/summary_{DONOR}"),
    "truncated result": ("results/dk/default/expression.parquet", _truncate,
                         "not a complete parquet file", None),
}


@pytest.mark.parametrize("case", list(CACHE_CASES))
def test_corrupt_cached_file_is_removed_and_the_rest_kept(case, workdir):
    rel, corrupt, reason, removed = CACHE_CASES[case]
    corrupt(workdir / rel)
    before = {p for p in workdir.rglob("*") if p.is_file()}
    actions = wd.repair_workdir(workdir)
    removed_path = workdir / (removed or rel)
    assert len(actions) == 1, actions
    assert (removed or rel) in actions[0] and reason in actions[0], actions
    assert not removed_path.exists()
    after = {p for p in workdir.rglob("*") if p.is_file()}
    gone = {p for p in before - after if not p.is_relative_to(workdir / ".snakemake")}
    assert all(p == removed_path or p.is_relative_to(removed_path) for p in gone)
    assert wd.repair_workdir(workdir) == []  # the rest is valid and remembered


def test_files_of_other_steps_are_not_mistaken_for_matrices(workdir):
    """Only the conversion's own files get the matrix and checksum checks."""
    other = workdir / "results" / "maps" / "microarray.parquet"
    write_parquet_atomic(_frame(), other)
    note = workdir / "resources" / "qc" / "inputs.sha256"
    write_text_atomic("written by another step\n", note)
    assert wd.repair_workdir(workdir) == []
    assert other.exists() and note.exists()


def test_startup_check_reads_only_new_or_changed_files(workdir, monkeypatch):
    assert wd.repair_workdir(workdir) == []
    seen = []
    real = parquet_problem
    monkeypatch.setattr(wd, "parquet_problem",
                        lambda p, matrix=None: seen.append(p) or real(p, matrix))
    assert wd.repair_workdir(workdir) == []
    assert seen == []
    target = workdir / "resources" / "genes" / "k" / f"genes_{DONOR}.parquet"
    _truncate(target)
    actions = wd.repair_workdir(workdir)
    assert seen == [target] and "not a complete parquet file" in actions[0]


@pytest.mark.parametrize("reader", ["read_frame", "read_matrix_parquet"])
def test_corrupt_data_page_is_detected_when_read_and_removed(reader, workdir):
    """A flipped byte inside a data page passes the (footer-only) start-up check; the
    page checksum catches it when the file is read, and the file is removed so the
    next run rebuilds it."""
    rel = (f"resources/genes/k/genes_{DONOR}.parquet" if reader == "read_frame"
           else f"resources/parquet/{DONOR}/microarray.parquet")
    path = workdir / rel
    meta = pq.read_metadata(path)
    col = meta.row_group(0).column(1)
    data = bytearray(path.read_bytes())
    data[col.data_page_offset + col.total_compressed_size - 5] ^= 0xFF
    path.write_bytes(bytes(data))
    assert parquet_problem(path) is None
    with pytest.raises(CorruptArtifactError) as err:
        if reader == "read_frame":
            read_frame(path, kind="genes")
        else:
            io.read_matrix_parquet(path, "microarray")
    assert str(path) in str(err.value) and "checksum" in str(err.value)
    assert "removed" in str(err.value) and "Re-run" in str(err.value)
    assert not path.exists()


def test_unreadable_but_intact_file_is_kept(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1")
    error = unreadable_artifact(path, MemoryError("out of memory"))
    assert isinstance(error, CorruptArtifactError) and "Delete it and re-run" in str(error)
    assert path.exists()


# --------------------------------------------------------------------------- interruptions


def test_leftovers_of_an_interrupted_run_are_cleaned(workdir):
    """Snakemake's stale lock and temporary files of interrupted writes go; complete
    files stay (outputs of interrupted jobs are left to Snakemake's --rerun-incomplete)."""
    locks = workdir / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x")
    (locks / "0.output.lock").write_text("x")
    tmps = [workdir / "resources" / "parquet" / DONOR / ".microarray.parquet.a1b2c3.tmp",
            workdir / "results" / "dk" / "default" / ".expression.csv.123.tmp",
            workdir / "resources" / "genes" / "k" / ".genes_x.parquet.tmp77"]
    for tmp in tmps:
        tmp.write_bytes(b"partial")
    actions = wd.repair_workdir(workdir)
    assert not list(locks.iterdir())
    assert _leftovers(workdir) == []
    res = workdir / "results" / "dk" / "default"
    assert (res / "metadata.json").exists() and (res / "expression.parquet").exists()
    assert any("interrupted run" in a for a in actions)
    assert sum("interrupted write" in a for a in actions) == 3


_HOLDER = textwrap.dedent("""
    import sys, time
    from abagen_core.workflow import workdir as wd
    lock = wd.acquire_run_lock(sys.argv[1])
    print("held" if lock.acquired else "refused", flush=True)
    time.sleep(120)
""")


def _hold_lock(root: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(root)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_run_lock_refuses_while_held_and_frees_on_sigkill(workdir):
    stale = workdir / ".snakemake" / "locks" / "0.output.lock"
    stale.parent.mkdir(parents=True)
    stale.write_text("x")
    tmp = workdir / "results" / ".x.csv.1.tmp"
    tmp.write_text("x")
    holder = _hold_lock(workdir)
    try:
        logged: list[str] = []
        lock = wd.prepare_workdir(workdir, log=logged.append)
        assert not lock.acquired
        assert f"pid {holder.pid}" in lock.holder
        assert "Another run of this workflow is using" in logged[0]
        assert "wait until it has finished" in logged[0]
        assert stale.exists() and tmp.exists()  # a live run's files are not touched
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    lock = wd.prepare_workdir(workdir)  # the kernel released the dead run's lock
    try:
        assert lock.acquired and f"pid {holder.pid}" in lock.holder
        assert not stale.exists() and not tmp.exists()
    finally:
        lock.release()


def test_cli_calls_on_one_cache_wait_for_each_other(tmp_path):
    """Two `abagen` calls sharing a cache folder run one after the other."""
    script = textwrap.dedent("""
        import sys, time
        from pathlib import Path
        from abagen_core.workflow import cli
        with cli._locked(Path(sys.argv[1])):
            print("in", time.time(), flush=True)
            time.sleep(1.5)
            print("out", time.time(), flush=True)
    """)
    first = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                             stdout=subprocess.PIPE, text=True)
    assert first.stdout.readline().startswith("in")
    second = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                            text=True, timeout=60)
    out_first = float(first.stdout.readline().split()[1])
    first.wait()
    in_second = float(second.stdout.splitlines()[0].split()[1])
    assert in_second >= out_first


# --------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("writer", ["text", "parquet"])
def test_failed_write_leaves_the_old_file_and_no_partial_one(writer, tmp_path, monkeypatch):
    dest = tmp_path / "results" / ("expression.csv" if writer == "text" else "expression.parquet")
    if writer == "text":
        write_text_atomic("old\n", dest)
    else:
        write_parquet_atomic(_frame(), dest)
    before = dest.read_bytes()

    def _fail(*args, **kwargs):
        raise OSError("disk full")

    if writer == "text":
        monkeypatch.setattr(Path, "write_text", _fail)
        with pytest.raises(OSError, match="disk full"):
            write_text_atomic("new\n", dest)
    else:
        monkeypatch.setattr(pq, "write_table", _fail)
        with pytest.raises(OSError, match="disk full"):
            write_parquet_atomic(_frame(5), dest)
    assert dest.read_bytes() == before
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]


def test_parquet_results_get_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        dest = write_parquet_atomic(_frame(), tmp_path / "expression.parquet")
    finally:
        os.umask(old)
    assert dest.stat().st_mode & 0o777 == 0o644


# --------------------------------------------------------------------------- workflow runs


def _wf_config(data_dir: Path) -> dict:
    return {"data_dir": str(data_dir), "donors": DONORS, "synthetic": {"enabled": False},
            "atlases": {"dk": {"builtin": "dk-volume"}}, "variants": {"default": {}}}


def _snakemake_cmd(workdir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE),
            "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
            "--cores", "2", *args]


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(_snakemake_cmd(workdir, *args), capture_output=True, text=True,
                          timeout=900)


def _new_workdir(root: Path, config: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    return root


CORE = ("expression.csv", "expression.parquet", "counts.csv", "report.md", "metadata.json")


def _assert_same_results(workdir: Path, baseline: Path) -> None:
    for name in CORE:
        got = workdir / "results" / "dk" / "default" / name
        want = baseline / "results" / "dk" / "default" / name
        assert got.read_bytes() == want.read_bytes(), name
    names = sorted(p.relative_to(baseline).as_posix() for p in (baseline / "results").rglob("*"))
    assert sorted(p.relative_to(workdir).as_posix()
                  for p in (workdir / "results").rglob("*")) == names


def _assert_clean(workdir: Path) -> None:
    """No partial output, no lock, no job marked incomplete."""
    assert _leftovers(workdir) == []
    assert not list((workdir / ".snakemake" / "locks").glob("*"))
    assert not [p for p in (workdir / ".snakemake" / "incomplete").rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def baseline(small_data, tmp_path_factory) -> Path:
    """One uninterrupted run (the reference of the recovery tests)."""
    workdir = _new_workdir(tmp_path_factory.mktemp("baseline"), _wf_config(small_data))
    proc = _snakemake(workdir)
    assert proc.returncode == 0, proc.stderr[-4000:]
    _assert_clean(workdir)
    return workdir


_PAUSE_HOOK = textwrap.dedent("""
    # test hook (tests/test_robustness.py): pause a job at one file write so that
    # the test can kill the run at a known point
    import os, time
    _when, _, _name = os.environ["ABAGEN_TEST_PAUSE"].partition(":")
    _flag = os.environ["ABAGEN_TEST_PAUSE_FLAG"]
    _replace = os.replace

    def _pause(dst):
        with open(_flag, "w") as fh:
            fh.write(os.fspath(dst))
        time.sleep(600)

    def replace(src, dst, *args, **kwargs):
        hit = os.path.basename(os.fspath(dst)) == _name
        if hit and _when == "before":
            _pause(dst)
        out = _replace(src, dst, *args, **kwargs)
        if hit and _when == "after":
            _pause(dst)
        return out

    os.replace = replace
""")


def _start_paused(workdir: Path, pause: str) -> tuple[subprocess.Popen, Path]:
    hook = workdir.parent / f"{workdir.name}-hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_PAUSE_HOOK)
    flag = workdir.parent / f"{workdir.name}-paused"
    env = dict(os.environ, ABAGEN_TEST_PAUSE=pause, ABAGEN_TEST_PAUSE_FLAG=str(flag),
               PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(_snakemake_cmd(workdir), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.time() + 600
    while not flag.exists():
        assert proc.poll() is None, "the run ended before reaching the pause point"
        assert time.time() < deadline
        time.sleep(0.1)
    return proc, flag


def _kill_group(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("point", ["during CSV-to-parquet conversion",
                                   "during the final gather, between two result files"])
def test_killed_run_restarts_to_identical_results(point, baseline, small_data, tmp_path):
    workdir = _new_workdir(tmp_path / "wd", _wf_config(small_data))
    converting = point.startswith("during CSV")
    proc, flag = _start_paused(workdir, "before:microarray.parquet" if converting
                               else "after:expression.csv")
    _kill_group(proc)
    # the kill left what a real interruption leaves
    assert list((workdir / ".snakemake" / "locks").glob("*.lock"))
    res = workdir / "results" / "dk" / "default"
    if converting:
        assert [p for p in (workdir / "resources" / "parquet").rglob(".microarray.parquet*")]
        assert not res.exists() or not any(res.iterdir())
    else:
        assert (res / "expression.csv").exists() and not (res / "metadata.json").exists()
    restart = _snakemake(workdir)
    assert restart.returncode == 0, restart.stderr[-4000:]
    log = restart.stdout + restart.stderr
    assert "left by an interrupted run" in log
    if converting:
        assert "interrupted write" in log
    _assert_same_results(workdir, baseline)
    _assert_clean(workdir)


@pytest.mark.slow
def test_second_run_on_the_same_folder_is_refused_clearly(baseline, small_data, tmp_path):
    workdir = _new_workdir(tmp_path / "wd", _wf_config(small_data))
    proc, flag = _start_paused(workdir, "before:microarray.parquet")
    try:
        second = _snakemake(workdir)
    finally:
        _kill_group(proc)
    out = second.stdout + second.stderr
    assert second.returncode != 0
    assert "Another run of this workflow is using" in out and "wait until it has finished" in out
    assert "Directory cannot be locked" in out
    assert not (workdir / "results").exists()  # the second run did nothing
    # the first run's files were not touched: its partial conversion is still there
    assert [p for p in (workdir / "resources" / "parquet").rglob(".microarray.parquet*")]
    restart = _snakemake(workdir)
    assert restart.returncode == 0, restart.stderr[-4000:]
    _assert_same_results(workdir, baseline)
    _assert_clean(workdir)


@pytest.mark.slow
def test_corrupt_cache_is_rebuilt_never_used(baseline, tmp_path):
    """A truncated file is removed at start-up, a damaged data page when it is read;
    both are rebuilt when needed and the results equal the uncorrupted run's."""
    workdir = tmp_path / "wd"
    shutil.copytree(baseline, workdir, symlinks=True)
    for link in baseline.rglob("*"):  # copies of links are new: give them their times back
        if link.is_symlink():
            st = link.lstat()
            os.utime(workdir / link.relative_to(baseline), ns=(st.st_atime_ns, st.st_mtime_ns),
                     follow_symlinks=False)
    # up to date (a no-op unless the library changed since the baseline ran)
    assert _snakemake(workdir).returncode == 0
    labels = next((workdir / "resources" / "labels").rglob(f"labels_{DONOR}.parquet"))
    genes = next((workdir / "resources" / "genes").rglob(f"genes_{DONOR}.parquet"))
    _truncate(labels)  # caught by the start-up check
    meta = pq.read_metadata(genes)  # caught by the page checksum when read
    col = meta.row_group(0).column(1)
    data = bytearray(genes.read_bytes())
    data[col.data_page_offset + col.total_compressed_size - 5] ^= 0xFF
    genes.write_bytes(bytes(data))
    # results asked for again: Snakemake rebuilds an intermediate file only when a job
    # needs it (as for temp() files), and these results need both
    shutil.rmtree(workdir / "results")
    first = _snakemake(workdir)
    log = first.stdout + first.stderr
    assert f"removed {labels.relative_to(workdir)}: not a complete parquet file" in log
    assert first.returncode != 0
    assert f"{genes.relative_to(workdir)} is corrupt" in log and "it has been removed" in log
    assert not genes.exists()
    ran = set(jobs_run(log))
    assert "label_samples" in ran and not ran & {"convert_matrix", "donor_genes"}, ran
    second = _snakemake(workdir)
    assert second.returncode == 0, second.stderr[-4000:]
    assert "donor_genes" in jobs_run(second.stdout + second.stderr)
    _assert_same_results(workdir, baseline)
    _assert_clean(workdir)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["invalid option", "bad atlas", "missing data_dir",
                                  "truncated expression file"])
def test_workflow_refuses_bad_input_without_partial_output(case, small_data, tmp_path):
    config = _wf_config(small_data)
    fragments: list[str]
    if case == "invalid option":
        config["variants"] = {"bad": {"gene_norm": "nonsense"}}
        fragments = ["variants.bad", "gene_norm", "'nonsense'", "'zscore'"]
    elif case == "bad atlas":
        atlas = _nifti(tmp_path / "neg.nii.gz", -_blocks())
        config["atlases"] = {"neg": {"image": atlas}}
        fragments = ["atlases.neg", atlas, "negative labels"]
    elif case == "missing data_dir":
        config["data_dir"] = str(tmp_path / "nowhere")
        fragments = ["data_dir", str(tmp_path / "nowhere"), "does not exist"]
    else:
        data = tmp_path / "data"
        shutil.copytree(small_data / "microarray", data / "microarray")
        bad = data / "microarray" / f"normalized_microarray_donor{DONOR}" / \
            "MicroarrayExpression.csv"
        _lines(bad, lambda t: t[:-3])
        config["data_dir"] = str(data)
        fragments = [str(bad), "Probes.csv", "no row for 3 probe(s)"]
    workdir = _new_workdir(tmp_path / "wd", config)
    proc = _snakemake(workdir)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for fragment in fragments:
        assert fragment in out, (fragment, out[-3000:])
    assert not (workdir / "results").exists()
    if case == "truncated expression file":
        assert not (workdir / "resources" / "parquet" / DONOR / "microarray.parquet").exists()
        assert _leftovers(workdir) == []
    else:  # refused before any job
        assert not (workdir / "resources").exists()
