"""abagen_core.outputs.results: the workflow's final files, written atomically, metadata last."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from abagen_core import __version__, io
from abagen_core.datasets import synth
from abagen_core.options import check_options
from abagen_core.outputs import results
from abagen_core.stages import regional
from abagen_core.stages.regional import FILL_NONE
from abagen_core.storage.artifacts import read_frame
from abagen_core.utils import data_path

DONORS = ["12876", "15496"]
GENES = ["A1BG", "GENE2", "GENE3"]
DK = str(data_path("atlas-desikankilliany.nii.gz"))
DK_INFO = str(data_path("atlas-desikankilliany.csv"))
DK_SURFACE = [str(data_path(f"atlas-desikankilliany-{h}.label.gii.gz")) for h in ("lh", "rh")]


def _options(**kwargs):
    return check_options(donors=DONORS, **kwargs)


def _checksums(tmp_path, synthetic_name="MicroarrayExpression.csv"):
    paths = []
    for donor in DONORS:
        path = tmp_path / "raw" / donor / "microarray.sha256"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{donor * 4}  {synthetic_name}\n")
        paths.append(str(path))
    return paths


def _normalized(seed):
    """One donor's normalize_donor-like output: label, fill, weight, then the genes."""
    rng = np.random.default_rng(seed)
    labels = np.array([1, 1, 2, 3, 3, 3])
    frame = pd.DataFrame(rng.uniform(size=(len(labels), len(GENES))), columns=GENES)
    frame.insert(0, "weight", 1.0)
    frame.insert(0, "fill", FILL_NONE)
    frame.insert(0, "label", labels)
    return frame, np.concatenate([labels, [0, 0]])


def _region_outputs(tmp_path):
    out = tmp_path / "results" / "dk" / "default"
    return {"expression": str(out / "expression.csv"), "parquet": str(out / "expression.parquet"),
            "counts": str(out / "counts.csv"), "methods": str(out / "report.md"),
            "metadata": str(out / "metadata.json")}


def _no_temporaries(folder):
    return not [p for p in folder.rglob(".*") if p.is_file()]


# --- region x gene results -------------------------------------------------------


def test_write_results(tmp_path, caplog):
    normalized, labels = {}, {}
    for i, donor in enumerate(DONORS):
        normalized[donor], labels[donor] = _normalized(i)
    outputs = _region_outputs(tmp_path)
    atlas = {"kind": "volume", "files": [DK], "info": DK_INFO}
    expression = results.write_results(
        normalized, labels, regions=[1, 2, 3, 4], options=_options(), atlas=atlas,
        n_kept_probes=123, checksums=_checksums(tmp_path), synthetic=True, outputs=outputs)
    # the mean over donors of each donor's regional mean; region 4 has no sample
    means = [f.groupby("label")[GENES].mean() for f in normalized.values()]
    expected = (means[0] + means[1]) / 2
    np.testing.assert_allclose(expression.loc[[1, 2, 3]].to_numpy(), expected.to_numpy())
    assert expression.loc[4].isna().all()
    back = pd.read_csv(outputs["expression"], index_col=0)
    np.testing.assert_array_equal(back.to_numpy(), expression.to_numpy())
    pd.testing.assert_frame_equal(pd.read_parquet(outputs["parquet"]), expression,
                                  check_names=False, check_column_type=False)
    counts = pd.read_csv(outputs["counts"], index_col=0)
    assert counts.to_dict("list") == {"12876": [2, 1, 3, 0], "15496": [2, 1, 3, 0]}
    report = open(outputs["methods"]).read()
    assert report.startswith("WARNING") and "83" not in report.split("\n\n")[0]
    meta = json.loads(open(outputs["metadata"]).read())
    assert meta["synthetic"] is True and "SYNTHETIC" in meta["data_source"]
    assert meta["shape"] == [4, 3] and meta["n_probes_after_intensity_filter"] == 123
    assert meta["input_checksums_sha256"] == {
        "12876/MicroarrayExpression.csv": "12876" * 4,
        "15496/MicroarrayExpression.csv": "15496" * 4}
    assert meta["options"]["probe_selection"] == "diff_stability"
    assert meta["atlas"] == atlas
    assert meta["software"]["abagen_core"] == __version__
    assert set(meta["software"]) >= {"python", "numpy", "pandas", "scikit-learn"}
    assert "SYNTHETIC data" in caplog.text
    assert _no_temporaries(tmp_path)


def test_write_results_removes_stale_metadata_first(tmp_path, monkeypatch):
    normalized, labels = {}, {}
    for i, donor in enumerate(DONORS):
        normalized[donor], labels[donor] = _normalized(i)
    outputs = _region_outputs(tmp_path)
    meta = tmp_path / "results" / "dk" / "default" / "metadata.json"
    meta.parent.mkdir(parents=True)
    meta.write_text("{}")

    def broken(*args, **kwargs):
        raise RuntimeError("killed while writing the report")

    monkeypatch.setattr(results, "methods_text", broken)
    with pytest.raises(RuntimeError, match="killed"):
        results.write_results(normalized, labels, regions=[1, 2, 3], options=_options(),
                              atlas={"kind": "volume", "files": [DK]}, n_kept_probes=1,
                              checksums=[], synthetic=False, outputs=outputs)
    assert not meta.exists()  # the folder is not complete
    assert _no_temporaries(tmp_path)


def test_methods_text_describes_the_atlas():
    counts = pd.DataFrame({"12876": [1, 0]}, index=[1, 2])
    text = results.methods_text(_options(), {"kind": "surface", "info": None}, n_regions=2,
                                counts=counts, n_kept_probes=10, n_genes=5, synthetic=False)
    assert not text.startswith("WARNING")
    assert "2-region surface-based atlas in MNI space" in text  # abagen 0.1.3's wording
    native = results.methods_text(_options(), {"kind": "native"}, n_regions=2, counts=counts,
                                  n_kept_probes=10, n_genes=5, synthetic=True)
    assert native.startswith("WARNING") and "native" in native


def test_donor_matrix_written_as_csv(tmp_path):
    """A donor's regional matrix (combine_donors), as the regional job writes it."""
    from abagen_core.stages.regional import combine_donors
    from abagen_core.storage.parquet import write_frame_csv

    frame, _ = _normalized(3)
    dest = tmp_path / "donors" / "12876.csv"
    _, per_donor = combine_donors({"12876": frame}, [1, 2, 3], region_agg="donors",
                                  agg_metric="mean")
    out = per_donor["12876"]
    write_frame_csv(out, dest)
    assert out.columns.name == "gene_symbol"
    np.testing.assert_allclose(out.to_numpy(), frame.groupby("label")[GENES].mean().to_numpy())
    back = pd.read_csv(dest, index_col=0)
    np.testing.assert_array_equal(back.to_numpy(), out.to_numpy())
    assert _no_temporaries(tmp_path)


# --- sample-level targets -----------------------------------------------------------


@pytest.fixture(scope="module")
def donor_tables(tmp_path_factory):
    """Per donor: a samples x genes table and its prepared samples (synthetic donors)."""
    root = tmp_path_factory.mktemp("ahba")
    synth.generate_dataset(root, n_probes=20, donors=DONORS, rnaseq=False, mri=False)
    genes, samples = {}, {}
    for i, donor in enumerate(DONORS):
        folder = root / "microarray" / f"normalized_microarray_donor{donor}"
        samples[donor] = regional.prepare_samples(
            io.read_annotation(folder / "SampleAnnot.csv"),
            io.read_ontology(folder / "Ontology.csv"), corrected_mni=True, lr_mirror=None)
        rng = np.random.default_rng(i)
        genes[donor] = pd.DataFrame(rng.uniform(size=(len(samples[donor]), len(GENES))),
                                    columns=pd.Index(GENES, name="gene_symbol"))
    return genes, samples


def _sample_outputs(tmp_path):
    return {"expression": str(tmp_path / "expression.csv"),
            "parquet": str(tmp_path / "expression.parquet"),
            "coordinates": str(tmp_path / "coordinates.csv"),
            "metadata": str(tmp_path / "metadata.json")}


def test_write_samples_in_mask_every_sample(donor_tables, tmp_path):
    genes, samples = donor_tables
    outputs = _sample_outputs(tmp_path)
    expression = results.write_samples_in_mask(
        genes, samples, mask=None, options=_options(), n_kept_probes=7,
        checksums=_checksums(tmp_path), synthetic=False, outputs=outputs)
    n = {d: len(s["well_id"].unique()) for d, s in samples.items()}
    assert expression.shape == (sum(n.values()), len(GENES))
    coords = pd.read_csv(outputs["coordinates"], index_col=0)
    assert list(coords.columns) == ["donor", "mni_x", "mni_y", "mni_z"]
    assert coords["donor"].astype(str).value_counts().to_dict() == n
    assert list(coords.index) == list(expression.index)
    back = pd.read_csv(outputs["expression"], index_col=0)
    np.testing.assert_array_equal(back.to_numpy(), expression.to_numpy())
    meta = json.loads(open(outputs["metadata"]).read())
    assert meta["target"] == "samples_in_mask" and meta["mask"] is None
    assert meta["synthetic"] is False and meta["data_source"].startswith("Allen")
    assert meta["n_samples_per_donor"] == n and meta["n_probes_after_intensity_filter"] == 7
    assert meta["shape"] == list(expression.shape)
    assert _no_temporaries(tmp_path)


def test_write_samples_in_mask_with_a_volume_mask(donor_tables, tmp_path):
    genes, samples = donor_tables
    outputs = _sample_outputs(tmp_path)
    mask = {"kind": "volume", "files": [DK]}
    expression = results.write_samples_in_mask(
        genes, samples, mask=mask, options=_options(), n_kept_probes=7, checksums=[],
        synthetic=True, outputs=outputs)
    total = sum(len(s["well_id"].unique()) for s in samples.values())
    assert 0 < len(expression) <= total
    meta = json.loads(open(outputs["metadata"]).read())
    assert meta["mask"] == {"kind": "volume", "files": [DK]}


def test_map_samples_and_interpolated_maps(donor_tables, tmp_path):
    genes, samples = donor_tables
    dest = tmp_path / "maps" / "samples.parquet"
    table = results.write_map_samples(genes, samples, wanted=["GENE2"], options=_options(),
                                      n_kept_probes=5, checksums=_checksums(tmp_path),
                                      synthetic=True, dest=str(dest))
    assert list(table.columns) == ["GENE2", "_mni_x", "_mni_y", "_mni_z"]
    back, attrs = read_frame(dest, kind="map_samples", with_attrs=True)
    np.testing.assert_array_equal(back.to_numpy(), table.to_numpy())
    assert attrs["genes"] == ["GENE2"] and attrs["n_samples"] == len(table)
    assert attrs["synthetic"] is True

    with pytest.raises(ValueError, match=r"Genes not in the processed data: \['NOPE'\]"):
        results.write_map_samples(genes, samples, wanted=["NOPE"], options=_options(),
                                  n_kept_probes=5, checksums=[], synthetic=True,
                                  dest=str(tmp_path / "bad.parquet"))
    assert not (tmp_path / "bad.parquet").exists()

    # a small volume mask: a 2 mm cube of 4^3 voxels near the origin
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-4.0, -20.0, 0.0]
    mask_file = tmp_path / "mask.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4), dtype=np.int16), affine), mask_file)
    mask = {"kind": "volume", "files": [str(mask_file)]}
    outputs = {"image": str(tmp_path / "maps" / "GENE2.nii.gz")}
    dense = results.write_interpolated_map(table, gene="GENE2", mask=mask, n_neighbors=3,
                                           outputs=outputs)
    img = nib.load(outputs["image"])
    assert img.get_data_dtype() == np.float64
    np.testing.assert_array_equal(img.get_fdata(), dense.get_fdata())
    values = img.get_fdata()
    assert values.shape == (4, 4, 4)
    assert values.min() >= table["GENE2"].min() and values.max() <= table["GENE2"].max()

    surface = {"kind": "surface", "files": DK_SURFACE}
    outputs = {"lh": str(tmp_path / "maps" / "lh.func.gii"),
               "rh": str(tmp_path / "maps" / "rh.func.gii")}
    dense = results.write_interpolated_map(table, gene="GENE2", mask=surface, n_neighbors=2,
                                           outputs=outputs)
    lh, rh = (nib.load(outputs[h]) for h in ("lh", "rh"))
    assert lh.darrays[0].data.dtype == np.float32
    assert lh.meta["AnatomicalStructurePrimary"] == "CortexLeft"
    assert rh.meta["AnatomicalStructurePrimary"] == "CortexRight"
    both = np.concatenate([lh.darrays[0].data, rh.darrays[0].data])
    np.testing.assert_allclose(both, dense.astype(np.float32))
    assert _no_temporaries(tmp_path / "maps")

    meta = results.write_map_metadata(
        attrs, mask=surface, genes=["GENE2"], n_neighbors=2, options=_options(),
        files=[outputs["lh"], outputs["rh"]], dest=str(tmp_path / "maps" / "metadata.json"))
    on_disk = json.loads((tmp_path / "maps" / "metadata.json").read_text())
    assert on_disk == json.loads(json.dumps(meta, default=str))
    assert on_disk["files"] == ["lh.func.gii", "rh.func.gii"]
    assert on_disk["target"] == "interpolated_maps" and on_disk["n_neighbors"] == 2
    assert on_disk["n_samples"] == len(table) and on_disk["synthetic"] is True


def test_region_table_names_regions_when_the_atlas_has_a_table(tmp_path):
    counts = pd.DataFrame({"12876": [2, 0, 1], "15496": [1, 0, 0]}, index=[1, 2, 3])
    info = tmp_path / "info.csv"
    pd.DataFrame({"id": [1, 2], "label": ["insula", "brainstem"],
                  "hemisphere": ["L", "B"], "structure": ["cortex", "subcortex/brainstem"]}
                 ).to_csv(info, index=False)
    table = results.region_table(counts, str(info))
    assert list(table["name"]) == ["left insula", "brainstem", ""]
    assert list(table["n_samples"]) == [3, 0, 1] and list(table["n_donors"]) == [2, 0, 1]
    assert table.index.name == "label"
    assert set(results.region_table(counts, None)["name"]) == {""}

