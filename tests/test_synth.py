"""Tests of the synthetic AHBA-format dataset generator."""

from __future__ import annotations

import gzip
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abagen_core.datasets import synth
from abagen_core.errors import InvalidOptionError
from abagen_core.utils import data_path

DONORS = ("9861", "10021", "12876", "14380", "15496", "15697")
N_PROBES = 300


@pytest.fixture(scope="module")
def example_dir(full_parity_dir) -> Path:
    """The parity example dataset (a complete AHBA-format folder)."""
    return Path(full_parity_dir) / "data"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("synth") / "data"
    return synth.generate_dataset(out, n_probes=N_PROBES, seed=7)


def _mdir(root: Path, donor: str) -> Path:
    return Path(root) / "microarray" / f"normalized_microarray_donor{donor}"


def _read_matrix(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, header=None, index_col=0)


def _all_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(Path(root).rglob("*"))
        if p.is_file()
    }


def test_deterministic_and_independent_of_n_jobs(dataset, tmp_path):
    again = synth.generate_dataset(tmp_path / "again", n_probes=N_PROBES, seed=7, n_jobs=2)
    first, second = _all_files(dataset["root"]), _all_files(again["root"])
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name] == second[name], name


def test_donor_data_independent_of_other_donors(dataset, tmp_path):
    alone = synth.generate_dataset(
        tmp_path / "alone", n_probes=N_PROBES, seed=7, donors=[12876], rnaseq=False, mri=False
    )
    assert _all_files(alone["microarray"]["12876"]) == _all_files(_mdir(dataset["root"], "12876"))


def test_other_seed_differs(dataset, tmp_path):
    other = synth.generate_dataset(
        tmp_path / "s8", n_probes=N_PROBES, seed=8, donors="12876", rnaseq=False, mri=False
    )
    name = "MicroarrayExpression.csv"
    assert (other["microarray"]["12876"] / name).read_bytes() != (
        _mdir(dataset["root"], "12876") / name
    ).read_bytes()


def test_layout_and_returned_paths(dataset):
    root = Path(dataset["root"])
    assert dataset["manifest"] == root / "synth_manifest.json"
    assert sorted(dataset["microarray"]) == sorted(DONORS)
    assert sorted(dataset["rnaseq"]) == ["10021", "9861"]
    assert sorted(dataset["mri"]) == sorted(DONORS)
    for donor in DONORS:
        assert sorted(p.name for p in _mdir(root, donor).iterdir()) == sorted(
            synth.MICROARRAY_FILES
        )
        assert sorted(p.name for p in (root / "mri" / f"mri_donor{donor}").iterdir()) == [
            "T1.nii.gz",
            "T2.nii.gz",
        ]
    for donor in ("9861", "10021"):
        folder = root / "rnaseq" / f"rnaseq_donor{donor}"
        assert sorted(p.name for p in folder.iterdir()) == sorted(synth.RNASEQ_FILES)
    assert not [p for p in root.rglob(".*")], "temporary files left behind"


def test_headers_match_example(dataset, example_dir):
    root = Path(dataset["root"])
    for donor in DONORS:
        ours, theirs = _mdir(root, donor), _mdir(example_dir, donor)
        # SampleAnnot and Ontology are the real annotations: identical bytes
        for name in ("SampleAnnot.csv", "Ontology.csv"):
            assert (ours / name).read_bytes() == (theirs / name).read_bytes(), (donor, name)
        with open(ours / "Probes.csv") as a, open(theirs / "Probes.csv") as b:
            assert a.readline() == b.readline()
        # same affine, shape, dtype and header as the example's fake MRI
        mri = Path("mri") / f"mri_donor{donor}"
        for name in ("T1.nii.gz", "T2.nii.gz"):
            assert (root / mri / name).read_bytes() == (example_dir / mri / name).read_bytes()
    for donor in ("9861", "10021"):
        rna = Path("rnaseq") / f"rnaseq_donor{donor}"
        for name in ("Genes.csv", "SampleAnnot.csv"):
            with open(root / rna / name) as a, open(example_dir / rna / name) as b:
                assert a.readline() == b.readline(), name
        assert (root / rna / "Ontology.csv").read_bytes() == (
            example_dir / rna / "Ontology.csv"
        ).read_bytes()


def test_quoting_matches_example_style(dataset):
    probes = (_mdir(dataset["root"], "9861") / "Probes.csv").read_text().splitlines()
    line = re.compile(r'^\d{7},"[^"]+",\d+,"[^"]+","[^"]+",\d*,[0-9XY]*$')
    assert all(line.match(row) for row in probes[1:]), [r for r in probes[1:] if not line.match(r)][
        :3
    ]


def test_sample_counts_per_donor(dataset):
    for donor, n in zip(DONORS, (946, 893, 363, 529, 470, 501), strict=True):
        folder = _mdir(dataset["root"], donor)
        expr = _read_matrix(folder / "MicroarrayExpression.csv")
        pacall = _read_matrix(folder / "PACall.csv")
        annot = pd.read_csv(folder / "SampleAnnot.csv")
        assert expr.shape == pacall.shape == (N_PROBES, n)
        assert len(annot) == n == synth.N_SAMPLES[donor]


def test_probe_ids_consistent(dataset):
    root = dataset["root"]
    probes = pd.read_csv(_mdir(root, "9861") / "Probes.csv")
    assert probes["probe_id"].is_unique and len(probes) == N_PROBES
    assert list(probes.columns) == [
        "probe_id",
        "probe_name",
        "gene_id",
        "gene_symbol",
        "gene_name",
        "entrez_id",
        "chromosome",
    ]
    for donor in DONORS:
        folder = _mdir(root, donor)
        assert (folder / "Probes.csv").read_bytes() == (
            _mdir(root, "9861") / "Probes.csv"
        ).read_bytes()
        for name in ("MicroarrayExpression.csv", "PACall.csv"):
            ids = pd.read_csv(folder / name, header=None, usecols=[0])[0]
            assert ids.tolist() == probes["probe_id"].tolist()


def test_probe_annotation_properties(dataset):
    probes = pd.read_csv(_mdir(dataset["root"], "9861") / "Probes.csv")
    reann = pd.read_csv(data_path("reannotated.csv.gz"))
    real = probes["probe_name"].isin(reann["probe_name"])
    assert 0.7 < real.mean() < 0.85  # ~78% real probe names, the rest made up
    assert probes["probe_name"].is_unique
    assert probes["entrez_id"].isna().any() and probes["entrez_id"].notna().mean() > 0.8
    per_gene = probes.loc[probes["entrez_id"].notna()].groupby("gene_symbol").size()
    assert (per_gene >= 2).mean() > 0.3  # several probes per gene for many genes
    nonref = probes["entrez_id"].isna()
    assert (probes.loc[nonref, "gene_symbol"] == probes.loc[nonref, "probe_name"]).all()
    assert (probes.loc[nonref, "gene_id"] >= 1_000_000).all()


def test_values_parse_as_float64(dataset):
    folder = _mdir(dataset["root"], "10021")
    expr = _read_matrix(folder / "MicroarrayExpression.csv")
    assert (expr.dtypes == np.float64).all()
    assert expr.index.dtype == np.int64
    assert np.isfinite(expr.to_numpy()).all()
    assert 1.0 < expr.min().min() and expr.max().max() < 16.0
    first = (folder / "MicroarrayExpression.csv").read_text().split("\n", 1)[0].split(",")
    assert all(re.fullmatch(r"\d{1,2}\.\d{5}", v) for v in first[1:])  # 'short': %.5f
    pacall = _read_matrix(folder / "PACall.csv")
    assert set(np.unique(pacall.to_numpy())) <= {0, 1}
    assert (pacall.dtypes == np.int64).all()


def test_full_precision_is_15_significant_digits(tmp_path):
    paths = synth.generate_dataset(
        tmp_path, n_probes=60, donors="12876", precision="full", rnaseq=False, mri=False
    )
    text = (paths["microarray"]["12876"] / "MicroarrayExpression.csv").read_text()
    rows = [r.split(",") for r in text.splitlines()]
    values = [v for r in rows for v in r[1:]]
    assert len(values) == 60 * 363
    assert all(len(v.replace(".", "")) == 15 for v in values)
    assert all(f"{float(v):.15g}" == v for v in values)
    manifest = json.loads((tmp_path / "synth_manifest.json").read_text())
    assert manifest["precision"] == "full" and manifest["significant_digits"] == 15


def test_pacall_tracks_intensity(dataset):
    folder = _mdir(dataset["root"], "9861")
    x = _read_matrix(folder / "MicroarrayExpression.csv").to_numpy()
    pa = _read_matrix(folder / "PACall.csv").to_numpy()
    assert np.corrcoef(x.ravel(), pa.ravel())[0, 1] > 0.5
    assert pa[x < 3].mean() < 0.05
    assert pa[x > 6].mean() > 0.95
    assert 0.5 < pa.mean() < 0.9


def test_samples_match_corrected_coordinates(dataset):
    coords = pd.read_csv(data_path("corrected_mni_coordinates.csv.gz"))
    start = 0
    for donor, n in zip(
        ("14380", "9861", "15697", "12876", "10021", "15496"),
        (529, 946, 501, 363, 893, 470),
        strict=True,
    ):
        block = coords.iloc[start : start + n]
        start += n
        annot = pd.read_csv(_mdir(dataset["root"], donor) / "SampleAnnot.csv")
        assert annot["well_id"].tolist() == block["well_id"].tolist()
        # SampleAnnot holds the original MNI coordinates: close to the corrected ones
        shift = annot[["mni_x", "mni_y", "mni_z"]].to_numpy() - block.iloc[:, 1:].to_numpy()
        assert np.abs(shift).max() < 10
    assert start == len(coords)


def test_expression_is_spatially_structured(dataset):
    root = dataset["root"]
    probes = pd.read_csv(_mdir(root, "9861") / "Probes.csv").set_index("probe_id")
    x = _read_matrix(_mdir(root, "9861") / "MicroarrayExpression.csv")
    annot = pd.read_csv(_mdir(root, "9861") / "SampleAnnot.csv")
    # probes of the same gene agree more often than random pairs
    reann = pd.read_csv(data_path("reannotated.csv.gz")).set_index("probe_name")["gene_symbol"]
    gene = probes["probe_name"].map(reann)
    corr = np.corrcoef(x.to_numpy())
    same = gene.to_numpy()[:, None] == gene.to_numpy()[None, :]
    same &= gene.notna().to_numpy()[:, None]
    np.fill_diagonal(same, False)
    assert np.median(corr[same]) > 0.3
    assert abs(np.median(corr[~same])) < 0.2
    # neighbouring samples are more alike than distant ones
    xyz = annot[["mni_x", "mni_y", "mni_z"]].to_numpy()
    d = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    scorr = np.corrcoef(x.to_numpy().T - x.to_numpy().mean(1))
    near = (d < 10) & (d > 0)
    assert scorr[near].mean() > scorr[d > 80].mean() + 0.2


def test_rnaseq_consistent_with_microarray(dataset):
    root = dataset["root"]
    for donor in ("9861", "10021"):
        folder = root / "rnaseq" / f"rnaseq_donor{donor}"
        annot = pd.read_csv(folder / "SampleAnnot.csv")
        genes = pd.read_csv(folder / "Genes.csv")
        tpm = pd.read_csv(folder / "RNAseqTPM.csv", header=None, index_col=0)
        counts = pd.read_csv(folder / "RNAseqCounts.csv", header=None, index_col=0)
        micro = pd.read_csv(_mdir(root, donor) / "SampleAnnot.csv")
        assert len(annot) == 121 and annot["well_id"].isin(micro["well_id"]).all()
        assert (annot["hemisphere"] == "L").all()
        assert tpm.shape == counts.shape == (len(genes), 121)
        assert tpm.index.tolist() == genes["gene_symbol"].tolist() == sorted(genes["gene_symbol"])
        assert (tpm.to_numpy() >= 0).all() and (tpm.dtypes == np.float64).all()
        assert ((tpm.to_numpy() * 100).round(6) % 1 == 0).all()
    assert (root / "rnaseq/rnaseq_donor9861/Genes.csv").read_bytes() == (
        root / "rnaseq/rnaseq_donor10021/Genes.csv"
    ).read_bytes()


def test_decimal2_lines_match_python_repr():
    values = np.array([[0.0, 0.004, 0.0051, 1.5, 2.0, 10.25, 123456.78, 99.999, 7.1, 3.14159]])
    line = synth._decimal2_lines(["G"], values).decode().strip().split(",")
    assert line[0] == "G"
    assert line[1:] == [repr(round(float(v), 2)) for v in values[0]]


def test_manifest_and_is_synthetic(dataset, tmp_path, example_dir):
    root = Path(dataset["root"])
    manifest = json.loads((root / "synth_manifest.json").read_text())
    assert manifest["synthetic"] is True
    assert manifest["seed"] == 7 and manifest["n_probes"] == N_PROBES
    assert manifest["precision"] == "short" and manifest["decimals"] == 5
    assert manifest["donors"] == list(DONORS)
    assert manifest["counts"]["samples"] == synth.N_SAMPLES
    assert manifest["counts"]["n_samples"] == 3702
    assert sum(manifest["counts"]["sample_classes"].values()) == 3702
    assert synth.is_synthetic(root)
    assert synth.is_synthetic(root / "microarray")
    assert synth.is_synthetic(_mdir(root, "9861"))
    assert synth.is_synthetic(example_dir)  # its manifest predates the flag
    assert not synth.is_synthetic(tmp_path)
    (tmp_path / "synth_manifest.json").write_text('{"synthetic": false}')
    assert not synth.is_synthetic(tmp_path)


def test_write_mri(tmp_path, dataset):
    folder = synth.write_mri(tmp_path, "H0351.1009")
    assert folder == tmp_path / "mri" / "mri_donor12876"
    ref = Path(dataset["root"]) / "mri" / "mri_donor12876" / "T1.nii.gz"
    assert (folder / "T1.nii.gz").read_bytes() == ref.read_bytes()


def test_make_donor_zip(dataset, tmp_path):
    root = dataset["root"]
    path = synth.make_donor_zip(root, "H0351.2001", tmp_path / "a.zip")
    again = synth.make_donor_zip(root, 9861, tmp_path / "b.zip")
    assert path.read_bytes() == again.read_bytes()
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == list(synth.MICROARRAY_FILES)
        for name in zf.namelist():
            assert zf.read(name) == (_mdir(root, "9861") / name).read_bytes()
    rna = synth.make_donor_zip(root, "10021", tmp_path / "r.zip", modality="rnaseq")
    with zipfile.ZipFile(rna) as zf:
        assert zf.namelist() == list(synth.RNASEQ_FILES)
    with pytest.raises(FileNotFoundError):
        synth.make_donor_zip(root, "12876", tmp_path / "c.zip", modality="rnaseq")


def test_invalid_arguments(tmp_path):
    with pytest.raises(InvalidOptionError):
        synth.generate_dataset(tmp_path, precision="medium")
    with pytest.raises(ValueError):
        synth.generate_dataset(tmp_path, n_probes=5)
    with pytest.raises(ValueError):
        synth.generate_dataset(tmp_path, donors=["123"])
    with pytest.raises(ValueError):
        synth.generate_dataset(tmp_path, seed=-1)
    with pytest.raises(ValueError):
        synth.generate_dataset(tmp_path, n_jobs=0)
    assert not list(tmp_path.iterdir())


def test_interrupted_run_leaves_no_donor(tmp_path, monkeypatch):
    done = synth.generate_dataset(tmp_path, n_probes=50, donors="12876", rnaseq=False, mri=False)
    before = _all_files(done["microarray"]["12876"])

    def boom(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(synth._RowFormatter, "format_pacall", boom)
    with pytest.raises(RuntimeError):
        synth.generate_dataset(
            tmp_path, n_probes=60, donors=["12876", "15496"], rnaseq=False, mri=False
        )
    micro = tmp_path / "microarray"
    assert sorted(p.name for p in micro.iterdir()) == ["normalized_microarray_donor12876"]
    assert _all_files(micro / "normalized_microarray_donor12876") == before  # untouched
    assert not (tmp_path / "synth_manifest.json").exists()


def test_cli(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        synth.main(["--help"])
    assert exc.value.code == 0
    assert "abagen-synth" in capsys.readouterr().out
    out = tmp_path / "cli"
    code = synth.main(
        [
            str(out),
            "--n-probes",
            "40",
            "--donors",
            "15697",
            "--no-rnaseq",
            "--no-mri",
            "-q",
            "--zip",
        ]
    )
    assert code == 0
    assert synth.is_synthetic(out)
    assert (out / "zips" / "normalized_microarray_donor15697.zip").is_file()
    assert synth.main([str(out), "--n-probes", "3", "-q"]) == 1


def test_bundled_tables_rebuild_identically(example_dir, tmp_path):
    paths = synth.build_reference_tables(example_dir, tmp_path)
    for key, name in (("samples", synth.SAMPLES_TABLE), ("ontology", synth.ONTOLOGY_TABLE)):
        assert paths[key].read_bytes() == data_path(name).read_bytes()
    samples = pd.read_csv(data_path(synth.SAMPLES_TABLE), dtype=str, keep_default_na=False)
    assert samples.groupby("donor").size().to_dict() == synth.N_SAMPLES
    onto = gzip.decompress(data_path(synth.ONTOLOGY_TABLE).read_bytes())
    assert onto.startswith(b"id,acronym,name,parent_structure_id,hemisphere,")
