"""abagen_core.datasets.raw: materialising a donor's files (synthetic, linked, downloaded)."""

from __future__ import annotations

import hashlib

import nibabel as nib
import numpy as np
import pytest

from abagen_core import io
from abagen_core.datasets import checks, fetch, raw, synth
from abagen_core.datasets.layout import MICROARRAY_FILES
from abagen_core.errors import CorruptArtifactError
from abagen_core.storage.artifacts import read_frame

DONOR = "9861"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A small synthetic AHBA download (one donor: microarray, RNA-seq, MRI)."""
    root = tmp_path_factory.mktemp("ahba")
    synth.generate_dataset(root, n_probes=40, donors=[DONOR], rnaseq=True, mri=True)
    return root


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- microarray ---------------------------------------------------------------


def test_obtain_donor_links_an_existing_download(data_dir, tmp_path):
    before = _snapshot(data_dir)
    out = tmp_path / "raw" / DONOR
    files = raw.obtain_donor(DONOR, out, data_dir=str(data_dir))
    assert sorted(files) == sorted(MICROARRAY_FILES)
    folder = data_dir / "microarray" / f"normalized_microarray_donor{DONOR}"
    for key, path in files.items():
        name = MICROARRAY_FILES[key]
        assert path == str(out / name)
        assert (out / name).read_bytes() == (folder / name).read_bytes()
    assert _snapshot(data_dir) == before  # the data directory is only read


def test_obtain_donor_missing_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Donor 9861 is not in data_dir=.*download: true"):
        raw.obtain_donor(DONOR, tmp_path / "out", data_dir=str(tmp_path / "empty"))


def test_obtain_donor_missing_downloads(tmp_path, monkeypatch):
    calls = []

    def fake_fetch(donor, out_dir, *, api_url=None):
        calls.append((donor, out_dir, api_url))
        return {"MicroarrayExpression.csv": "x"}

    monkeypatch.setattr(fetch, "fetch_donor", fake_fetch)
    out = raw.obtain_donor(DONOR, tmp_path / "out", data_dir=str(tmp_path / "empty"),
                           download=True, api_url="http://allen.test")
    assert out == {"MicroarrayExpression.csv": "x"}
    assert calls == [(DONOR, tmp_path / "out", "http://allen.test")]


def test_obtain_donor_synthetic(tmp_path, caplog):
    out = tmp_path / "raw" / "12876"
    files = raw.obtain_donor("12876", out, source="synthetic",
                             synthetic={"n_probes": 30, "seed": 2})
    assert sorted(p.name for p in out.iterdir()) == sorted(MICROARRAY_FILES.values())
    assert files["probes"] == str(out / "Probes.csv")
    assert len(io.read_probes(files["probes"])) == 30
    assert "SYNTHETIC" in caplog.text
    # the same settings give the same bytes
    again = raw.obtain_donor("12876", tmp_path / "again", source="synthetic",
                             synthetic={"n_probes": 30, "seed": 2})
    assert (out / "MicroarrayExpression.csv").read_bytes() == \
        open(again["microarray"], "rb").read()


# --- T1w ----------------------------------------------------------------------


def test_t1_candidates():
    assert raw.t1_candidates(None, DONOR) == []
    assert [str(p) for p in raw.t1_candidates("/d", DONOR)] == [
        "/d/mri/mri_donor9861/T1.nii.gz", "/d/rawmri/donor9861/T1w.nii.gz",
        "/d/rawmri/donor9861/T1w.nii"]


def test_obtain_t1_from_the_folder(data_dir, tmp_path):
    dest = raw.obtain_t1(DONOR, tmp_path / "t1" / "T1.nii.gz", data_dir=str(data_dir))
    assert dest.read_bytes() == (data_dir / "mri" / f"mri_donor{DONOR}" / "T1.nii.gz").read_bytes()


def test_obtain_t1_synthetic(tmp_path):
    (tmp_path / "t1").mkdir()
    dest = raw.obtain_t1(DONOR, tmp_path / "t1" / "T1.nii.gz", source="synthetic")
    assert nib.load(dest).affine.shape == (4, 4)
    assert [p.name for p in (tmp_path / "t1").iterdir()] == ["T1.nii.gz"]


def test_obtain_t1_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No T1w image for donor 9861 .*T1w.nii"):
        raw.obtain_t1(DONOR, tmp_path / "T1.nii.gz", data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"mri/mri_donor<ID>/T1.nii.gz"):
        raw.obtain_t1(DONOR, tmp_path / "T1.nii.gz", data_dir=None)


def test_obtain_t1_downloads_into_resources(data_dir, tmp_path, monkeypatch):
    src = data_dir / "mri" / f"mri_donor{DONOR}" / "T1.nii.gz"
    calls = []

    def fake(data_dir=None, donors=None, api_url=None):
        calls.append((data_dir, donors, api_url))
        return {DONOR: {"t1w": str(src)}}

    monkeypatch.setattr(fetch, "fetch_raw_mri", fake)
    dest = tmp_path / "resources" / "mri" / "T1.nii.gz"
    raw.obtain_t1(DONOR, dest, data_dir=str(tmp_path / "empty"), download=True)
    assert calls == [(str(tmp_path / "resources" / "download"), [DONOR], None)]
    assert dest.read_bytes() == src.read_bytes() and not dest.is_symlink()


# --- RNA-seq ------------------------------------------------------------------


def test_obtain_rnaseq_from_the_folder(data_dir, tmp_path):
    files = raw.obtain_rnaseq(DONOR, tmp_path / "rna", data_dir=str(data_dir))
    assert sorted(files) == ["RNAseqTPM.csv", "SampleAnnot.csv"]
    folder = data_dir / "rnaseq" / f"rnaseq_donor{DONOR}"
    for name, path in files.items():
        assert open(path, "rb").read() == (folder / name).read_bytes()


def test_obtain_rnaseq_missing(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"needed by probe_selection='rnaseq'"):
        raw.obtain_rnaseq(DONOR, tmp_path / "rna", data_dir=str(tmp_path))
    tpm, annot = tmp_path / "t.csv", tmp_path / "a.csv"
    tpm.write_text("tpm")
    annot.write_text("annot")
    calls = []

    def fake(data_dir=None, donors=None, api_url=None):
        calls.append(data_dir)
        return {DONOR: {"tpm": str(tpm), "annotation": str(annot)}}

    monkeypatch.setattr(fetch, "fetch_rnaseq", fake)
    out = tmp_path / "res" / "rnaseq" / DONOR
    files = raw.obtain_rnaseq(DONOR, out, data_dir=str(tmp_path), download=True)
    assert calls == [str(tmp_path / "res" / "download")]
    assert open(files["RNAseqTPM.csv"]).read() == "tpm"
    assert open(files["SampleAnnot.csv"]).read() == "annot"


def test_obtain_rnaseq_synthetic(tmp_path):
    files = raw.obtain_rnaseq(DONOR, tmp_path / "rna", source="synthetic",
                              synthetic={"n_probes": 20})
    tpm = io.read_tpm(files["RNAseqTPM.csv"])
    annot = io.read_rnaseq_annotation(files["SampleAnnot.csv"])
    assert tpm.shape[1] == len(annot) > 0


# --- conversion ---------------------------------------------------------------


def _donor_files(data_dir):
    folder = data_dir / "microarray" / f"normalized_microarray_donor{DONOR}"
    return {"annotation": folder / "SampleAnnot.csv", "ontology": folder / "Ontology.csv",
            "microarray": folder / "MicroarrayExpression.csv", "pacall": folder / "PACall.csv"}


def test_convert_matrix_with_checksum(data_dir, tmp_path):
    csv = _donor_files(data_dir)["microarray"]
    raw.convert_matrix_with_checksum(csv, tmp_path / "m.parquet", tmp_path / "m.sha256",
                                     kind="microarray")
    digest = hashlib.sha256(csv.read_bytes()).hexdigest()
    assert (tmp_path / "m.sha256").read_text() == f"{digest}  MicroarrayExpression.csv\n"
    np.testing.assert_array_equal(io.read_microarray(tmp_path / "m.parquet").to_numpy(),
                                  io.read_microarray(csv, parquet=False).to_numpy())


def test_convert_matrix_that_fails_its_check_leaves_nothing(data_dir, tmp_path, monkeypatch):
    def reject(parquet, kind, csv):
        raise ValueError("probe ids differ from Probes.csv")

    monkeypatch.setattr(checks, "check_converted_matrix", reject)
    with pytest.raises(ValueError, match="probe ids differ"):
        raw.convert_matrix_with_checksum(_donor_files(data_dir)["pacall"],
                                         tmp_path / "p.parquet", tmp_path / "p.sha256",
                                         kind="pacall")
    assert list(tmp_path.iterdir()) == []


def test_convert_donor(data_dir, tmp_path):
    outputs = {key: tmp_path / f"{key}.parquet" for key in _donor_files(data_dir)}
    outputs |= {"microarray_checksum": tmp_path / "m.sha256",
                "pacall_checksum": tmp_path / "p.sha256"}
    files = _donor_files(data_dir)
    raw.convert_donor(files, outputs)
    annotation = read_frame(outputs["annotation"], kind="annotation_raw")
    assert len(annotation) == len(io.read_annotation(files["annotation"]))
    ontology = read_frame(outputs["ontology"], kind="ontology")
    assert len(ontology) == len(io.read_ontology(files["ontology"]))
    assert io.read_pacall(outputs["pacall"]).isin([0, 1]).all().all()
    assert outputs["pacall_checksum"].read_text().endswith("  PACall.csv\n")
    with pytest.raises(CorruptArtifactError):
        read_frame(outputs["annotation"], kind="ontology")
