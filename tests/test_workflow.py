"""The Snakemake workflow: results equal the API's, and re-runs are incremental.

One complete run on the bundled parity data (two donors) with a volumetric,
a surface and a donor-specific atlas and two variants; then Snakemake's own
dry-run plan is read after each change.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, job_stats

from abagen_core.api import get_expression_data
from abagen_core.utils import data_path

pytestmark = pytest.mark.slow

SNAKEFILE = REPO / "workflow" / "Snakefile"
DONORS = ["12876", "15496"]


def _config(data_dir: Path, atlases: dict, variants: dict) -> dict:
    return {"data_dir": str(data_dir), "donors": DONORS, "synthetic": {"enabled": False},
            "atlases": atlases, "variants": variants, "outputs": {"save_donors": True}}


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE),
           "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
           "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200)


def _planned(workdir: Path) -> dict[str, int]:
    """Rule -> job count that a dry run schedules (empty when up to date)."""
    proc = _snakemake(workdir, "-n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return job_stats(proc.stdout + proc.stderr)


@pytest.fixture(scope="module")
def run(bundled_parity, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("wf")
    atlas_copy = workdir / "my_atlas.nii.gz"
    shutil.copy(data_path("atlas-desikankilliany.nii.gz"), atlas_copy)
    atlases = {
        "vol": {"image": str(atlas_copy), "info": str(data_path("atlas-desikankilliany.csv"))},
        "surf": {"builtin": "dk-surface"},
        "native": {"builtin": "dk-native"},
    }
    variants = {"default": {}, "zs": {"gene_norm": "zscore", "probe_selection": "max_intensity"}}
    config = _config(bundled_parity / "data", atlases, variants)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    proc = _snakemake(workdir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return {"workdir": workdir, "config": config, "data": bundled_parity / "data",
            "atlas": atlas_copy}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, index_col=0)


@pytest.mark.parametrize("atlas, variant", [("vol", "default"), ("vol", "zs"),
                                            ("surf", "default"), ("native", "default")])
def test_results_equal_api(run, atlas, variant):
    atlas_arg = {
        "vol": (str(run["atlas"]), str(data_path("atlas-desikankilliany.csv"))),
        "surf": ((str(data_path("atlas-desikankilliany-lh.label.gii.gz")),
                  str(data_path("atlas-desikankilliany-rh.label.gii.gz"))), None),
        "native": ({d: str(data_path("native_dk", d, "atlas-desikankilliany.nii.gz"))
                    for d in DONORS}, str(data_path("atlas-desikankilliany.csv"))),
    }[atlas]
    options = run["config"]["variants"][variant]
    expected, counts = get_expression_data(atlas_arg[0], atlas_arg[1], donors=DONORS,
                                           data_dir=str(run["data"]), return_counts=True,
                                           **options)
    folder = run["workdir"] / "results" / atlas / variant
    got = _read(folder / "expression.csv")
    assert got.shape == expected.shape
    assert [str(c) for c in got.columns] == [str(c) for c in expected.columns]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    got_counts = _read(folder / "counts.csv")
    np.testing.assert_array_equal(got_counts.to_numpy(), counts.to_numpy())
    parquet = pd.read_parquet(folder / "expression.parquet")
    np.testing.assert_allclose(parquet.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-15)
    meta = (folder / "metadata.json").read_text()
    assert '"synthetic": true' in meta  # the parity data are synthetic
    assert "WARNING" in (folder / "report.md").read_text()
    for donor in DONORS:
        assert (folder / "donors" / f"expression_{donor}.csv").exists()


def test_variants_share_atlas_independent_stages(run):
    samples = list((run["workdir"] / "resources" / "samples" / DONORS[0]).glob("samples_*"))
    # one sample set for MNI atlases, one for the native one; not one per variant
    assert len(samples) == 2


def test_nothing_changed_schedules_nothing(run):
    assert _planned(run["workdir"]) == {}


def test_new_atlas_schedules_only_atlas_dependent_jobs(run):
    workdir = run["workdir"]
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["atlases"]["vol2"] = {"builtin": "dk-volume"}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    try:
        planned = _planned(workdir)
    finally:
        (workdir / "config.yaml").write_text(yaml.safe_dump(run["config"]))
    assert set(planned) <= {"label_samples", "regional_variant", "robustness_summary"}, planned
    assert planned["label_samples"] == 1  # one job labels every donor
    assert planned["regional_variant"] == 2  # two variants


def test_edited_atlas_reruns_only_its_jobs(run):
    import nibabel as nib

    atlas = run["atlas"]
    original = atlas.read_bytes()
    img = nib.load(atlas)
    data = np.asarray(img.dataobj).copy()
    data[tuple(np.argwhere(data == 1)[0])] = 0  # one voxel less in region 1
    nib.save(nib.Nifti1Image(data, img.affine, img.header), atlas)
    try:
        planned = _planned(run["workdir"])
    finally:
        atlas.write_bytes(original)
    assert set(planned) <= {"label_samples", "regional_variant", "robustness_summary"}, planned
    assert planned.get("label_samples") == 1
    # bring the cache back up to date for the following tests
    proc = _snakemake(run["workdir"])
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_changed_gene_norm_reruns_only_normalization_and_later(run):
    workdir = run["workdir"]
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["variants"]["zs"]["gene_norm"] = "minmax"
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    try:
        planned = _planned(workdir)
    finally:
        (workdir / "config.yaml").write_text(yaml.safe_dump(run["config"]))
    assert set(planned) <= {"regional_variant", "robustness_summary"}, planned
    # one job per atlas (three), for the changed variant only
    assert planned["regional_variant"] == 3


def test_invalid_config_refused_before_any_job(run, tmp_path):
    config = dict(run["config"])
    config["variants"] = {"bad": {"gene_norm": "nonsense"}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = _snakemake(tmp_path, "-n")
    assert proc.returncode != 0
    assert "gene_norm" in proc.stderr + proc.stdout
    assert "nonsense" in proc.stderr + proc.stdout
    assert not (tmp_path / "resources").exists()


def _workflow_and_api(data_dir: Path, workdir: Path, atlas: str, donors: list[str],
                      variants: dict) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Run the workflow on one built-in DK atlas; variant -> (workflow result, API result)."""
    config = {"data_dir": str(data_dir), "donors": donors, "synthetic": {"enabled": False},
              "atlases": {"dk": {"builtin": atlas}}, "variants": variants}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    proc = _snakemake(workdir)
    assert proc.returncode == 0, proc.stderr[-4000:]
    atlas_args = {
        "dk-volume": (str(data_path("atlas-desikankilliany.nii.gz")),
                      str(data_path("atlas-desikankilliany.csv"))),
        "dk-surface": (tuple(str(data_path(f"atlas-desikankilliany-{h}.label.gii.gz"))
                             for h in ("lh", "rh")), None),
    }[atlas]
    return {name: (_read(workdir / "results" / "dk" / name / "expression.csv"),
                   get_expression_data(*atlas_args, data_dir=str(data_dir), donors=donors,
                                       **options))
            for name, options in variants.items()}


def _assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert [str(c) for c in got.columns] == [str(c) for c in expected.columns]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)


def test_workflow_equals_api_for_summary_based_methods(full_parity_dir, tmp_path):
    """rnaseq, pc_loading (common) and corr_intensity with mirroring and centroid filling go
    through the per-donor summaries + gather; results equal the in-memory API exactly."""
    variants = {"rna": {"probe_selection": "rnaseq"},
                "pc": {"probe_selection": "pc_loading", "donor_probes": "common"},
                "ci": {"probe_selection": "corr_intensity", "lr_mirror": "bidirectional",
                       "missing": "centroids"}}
    results = _workflow_and_api(full_parity_dir / "data", tmp_path, "dk-volume",
                                ["9861", "10021"], variants)
    for got, expected in results.values():
        _assert_same(got, expected)


def test_workflow_equals_api_for_surface_filling(full_parity_dir, tmp_path):
    """missing='interpolate' on the fsaverage5 surface (mesh distances) and 'centroids'
    with mirroring: the workflow's gathers equal the in-memory API exactly."""
    variants = {"interp": {"missing": "interpolate"},
                "cent": {"missing": "centroids", "lr_mirror": "bidirectional"}}
    results = _workflow_and_api(full_parity_dir / "data", tmp_path, "dk-surface",
                                ["9861", "12876"], variants)
    for got, expected in results.values():
        assert not got.isna().any().any()   # every region filled
        _assert_same(got, expected)
