"""Sweeps run through one DAG: shared stages once, per-variant results equal single runs.

The plan test reads Snakemake's own dry-run job counts (synthetic demo config:
nothing is read or generated). The slow test runs a small sweep on a small
synthetic dataset, then single-variant runs, and compares.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, job_stats

from abagen_core.options import check_options, stage_key
from abagen_core.workflow.plan import expand_sweep

SNAKEFILE = REPO / "workflow" / "Snakefile"
ALL_DONORS = 6


def _snakemake(workdir: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE),
           "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
           "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _planned(workdir: Path) -> dict[str, int]:
    """Rule -> job count of a dry run."""
    proc = _snakemake(workdir, "-n", timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return job_stats(proc.stdout + proc.stderr)


def _write(workdir: Path, config: dict) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _distinct(variants: dict, stage: str) -> int:
    return len({stage_key(dict(check_options(o), native=False), stage)
                for o in variants.values()})


def test_sweep_plan_shares_stages(tmp_path):
    """gene_norm x ibf_threshold over two atlases: probe summaries once per donor,
    probe selection and genes once per ibf value, labelling once per atlas, and
    one regional job per named variant and per sweep branch."""
    sweep = {"grid": {"gene_norm": ["srs", "zscore", "minmax"], "ibf_threshold": [0.2, 0.5]}}
    config = {"synthetic": {"enabled": True, "n_probes": 200},
              "atlases": {"vol": {"builtin": "dk-volume"}, "surf": {"builtin": "dk-surface"}},
              "variants": {"default": {}}, "sweep": sweep}
    _write(tmp_path, config)
    planned = _planned(tmp_path)
    variants = {"default": {}, **expand_sweep(sweep)}
    assert len(variants) == 7                       # default equals sweep-0001
    assert planned["intensity_filter"] == 2         # one per ibf value
    assert planned["select_probes"] == 2
    # per-donor summaries cover every annotated probe: shared by both ibf values
    assert planned["probe_summary"] == ALL_DONORS
    assert planned["prepare_samples"] == ALL_DONORS  # one sample set for all variants
    # one job per gene set, every donor: the named variant's, and each probe
    # selection's genes before sample normalization (read by the sweep batches)
    assert planned["donor_genes"] == 1 + 2
    assert planned["label_samples"] == 2            # one job per atlas, every donor
    # the named variant: one job per atlas (QC figures included); the sweep: one
    # job per (atlas, gene set) branch holding its three gene_norm variants
    assert planned["regional_variant"] == 2
    assert planned["regional_batch"] == 2 * 2
    assert planned["sweep_index"] == 2
    assert planned["robustness_summary"] == 2
    for gone in ("normalize_donor", "combine_donors", "qc_figures", "donor_expression"):
        assert gone not in planned
    assert not (tmp_path / "resources").exists()


@pytest.mark.slow
def test_readme_sweep_example_plan(tmp_path):
    """The example of config/README.md (grid + list): 2 intensity filters, 3 selections."""
    sweep = {"grid": {"gene_norm": ["srs", "zscore"], "ibf_threshold": [0.2, 0.5]},
             "list": [{"probe_selection": "max_intensity"}], "prefix": "mv"}
    _write(tmp_path, {"synthetic": {"enabled": True, "n_probes": 200},
                      "atlases": {"dk": {"builtin": "dk-volume"}},
                      "variants": {"default": {}}, "sweep": sweep, "qc": {"enabled": False}})
    planned = _planned(tmp_path)
    assert planned["intensity_filter"] == 2
    assert planned["select_probes"] == 3
    assert planned["label_samples"] == 1
    # the named variant alone; the five swept ones in three branches (two ibf
    # values x two gene_norms, and max_intensity)
    assert planned["regional_variant"] == 1
    assert planned["regional_batch"] == 3
    assert planned["sweep_index"] == 1
    assert "robustness_summary" not in planned


@pytest.mark.slow
def test_wrong_reference_refused_before_any_job(tmp_path):
    _write(tmp_path, {"synthetic": {"enabled": True, "n_probes": 200},
                      "atlases": {"dk": {"builtin": "dk-volume"}},
                      "variants": {"default": {}, "z": {"gene_norm": "zscore"}},
                      "qc": {"reference": "nonexistent"}})
    proc = _snakemake(tmp_path, "-n", timeout=300)
    assert proc.returncode != 0
    assert "qc.reference" in proc.stdout + proc.stderr
    assert "nonexistent" in proc.stdout + proc.stderr


# ---------------------------------------------------------------------------
# end to end on a small synthetic dataset

DONORS = ["9861", "10021"]
SWEEP = {"grid": {"gene_norm": ["srs", "zscore"], "ibf_threshold": [0.2, 0.5]},
         "list": [{"sample_norm": "zscore", "gene_norm": "zscore"},
                  {"sample_norm": "center", "ibf_threshold": 0.2}]}


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    from abagen_core.datasets.synth import generate_dataset

    root = tmp_path_factory.mktemp("sweep")
    data = root / "data"
    generate_dataset(data, n_probes=400, donors=DONORS, seed=3, rnaseq=False, mri=False)
    base = {"data_dir": str(data), "donors": DONORS, "synthetic": {"enabled": False},
            "atlases": {"dk": {"builtin": "dk-volume"}}}
    workdir = root / "sweep"
    _write(workdir, {**base, "variants": {"default": {}}, "sweep": SWEEP})
    proc = _snakemake(workdir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return {"root": root, "base": base, "workdir": workdir, "data": data}


def _expression(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "expression.parquet")


def _swept(workdir: Path, variant: str) -> pd.DataFrame:
    from abagen_core.workflow.results import read_variant

    return read_variant(workdir, "dk", variant)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["sweep-0000", "sweep-0003", "sweep-0004"])
def test_sweep_results_equal_single_workflow_runs(sweep_run, variant):
    options = expand_sweep(SWEEP)[variant]
    single = sweep_run["root"] / f"single-{variant}"
    _write(single, {**sweep_run["base"], "variants": {variant: options},
                    "qc": {"enabled": False}})
    proc = _snakemake(single)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    got = _swept(sweep_run["workdir"], variant)
    expected = _expression(single / "results" / "dk" / variant)
    pd.testing.assert_frame_equal(got, expected, check_exact=True, check_names=False)
    # swept variants have no folder: their matrices are in the batch files
    assert not (sweep_run["workdir"] / "results" / "dk" / variant).exists()


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["sweep-0002", "sweep-0005"])
def test_sweep_result_equals_api(sweep_run, variant):
    from abagen_core.api import get_expression_data
    from abagen_core.utils import data_path

    options = expand_sweep(SWEEP)[variant]
    expected = get_expression_data(str(data_path("atlas-desikankilliany.nii.gz")),
                                   str(data_path("atlas-desikankilliany.csv")),
                                   donors=DONORS, data_dir=str(sweep_run["data"]), **options)
    got = _swept(sweep_run["workdir"], variant)
    assert [str(c) for c in got.columns] == [str(c) for c in expected.columns]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)


@pytest.mark.slow
def test_sweep_summary_figures_and_report(sweep_run):
    workdir = sweep_run["workdir"]
    qc_dir = workdir / "results" / "dk" / "default" / "qc"
    for name in ("counts", "coverage_map", "gene_map", "donor_agreement"):
        assert (qc_dir / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    assert not (workdir / "results" / "dk" / "sweep-0000" / "qc").exists()
    rob = workdir / "results" / "robustness" / "dk"
    for name in ("correlations", "decisions", "gene_spread"):
        assert (rob / f"{name}.png").stat().st_size > 1000
    variants = pd.read_csv(rob / "variants.csv", index_col=0)
    assert list(variants.index) == ["default", *expand_sweep(SWEEP)]
    assert variants.loc["default", "genewise_r_median"] == pytest.approx(1.0)
    # sweep-0001 has abagen's defaults: identical to the reference
    assert variants.loc["sweep-0001", "dissimilarity"] == pytest.approx(0.0, abs=1e-12)
    assert variants.loc["sweep-0000", "dissimilarity"] > 0
    decisions = pd.read_csv(rob / "decisions.csv", index_col=0)
    assert set(decisions.index) == {"gene_norm", "ibf_threshold", "sample_norm"}
    genes = pd.read_csv(rob / "genes.csv", index_col=0)
    assert len(genes) == _expression(workdir / "results" / "dk" / "default").shape[1]
    # the Snakemake report embeds the figures
    report = workdir / "report.html"
    proc = _snakemake(workdir, "--report", str(report))
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = report.read_text()
    for needle in ("Quality control", "Robustness", "results/dk/default/qc/gene_map.png",
                   "results/robustness/dk/decisions.png",
                   "data:image/png;charset=utf8;filename=gene_map.png;base64,"):
        assert needle in html


@pytest.mark.slow
def test_changed_sweep_reruns_only_its_branch(sweep_run, tmp_path):
    """One more swept variant in one branch: only that branch's job (and the
    index and summary) re-runs; the other batch file and the named variant's
    files are not rewritten."""
    import shutil

    workdir = tmp_path / "copy"
    shutil.copytree(sweep_run["workdir"], workdir, symlinks=True)
    before = {p: p.stat().st_mtime_ns for p in (workdir / "results").rglob("*") if p.is_file()}
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    added = {**SWEEP, "list": [*SWEEP["list"], {"gene_norm": "minmax", "ibf_threshold": 0.5}]}
    config["sweep"] = added
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    planned = _planned(workdir)
    assert planned.pop("regional_batch") == 1
    assert set(planned) <= {"sweep_index", "robustness_summary"}, planned
    proc = _snakemake(workdir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    batches = sorted((workdir / "results" / "dk" / "sweeps").glob("batch-*.parquet"))
    old = [p for p in batches if p in before]
    assert len(batches) == 3 and len(old) == 2  # the changed branch's old file stays
    untouched = [p for p, t in before.items() if "sweeps" not in p.parts
                 and "robustness" not in p.parts]
    assert untouched and all(p.stat().st_mtime_ns == before[p] for p in untouched)
    index = pd.read_csv(workdir / "results" / "dk" / "sweeps" / "index.csv", index_col=0)
    assert len(index) == len(expand_sweep(added))
    new = index.index[-1]
    from abagen_core.api import get_expression_data
    from abagen_core.utils import data_path

    expected = get_expression_data(str(data_path("atlas-desikankilliany.nii.gz")),
                                   str(data_path("atlas-desikankilliany.csv")),
                                   donors=DONORS, data_dir=str(sweep_run["data"]),
                                   gene_norm="minmax")
    np.testing.assert_allclose(_swept(workdir, new).to_numpy(), expected.to_numpy(), rtol=0,
                               atol=1e-12)
