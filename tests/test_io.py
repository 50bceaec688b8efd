"""Readers and parquet conversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abagen_core import io
from abagen_core.storage.atomic import atomic_path, is_temporary


@pytest.fixture()
def donor_dir(parity_dir):
    return parity_dir / "data" / "microarray" / "normalized_microarray_donor12876"


def test_read_microarray_matches_pandas_round_trip(donor_dir):
    got = io.read_microarray(donor_dir / "MicroarrayExpression.csv")
    ref = pd.read_csv(donor_dir / "MicroarrayExpression.csv", header=None, index_col=0)
    assert got.shape == ref.shape
    assert got.index.tolist() == ref.index.tolist()
    assert got.columns.tolist() == list(range(1, ref.shape[1] + 1))
    assert got.dtypes.unique().tolist() == [np.dtype("float64")]
    np.testing.assert_array_equal(got.to_numpy(), ref.to_numpy())


def test_parquet_round_trip_is_exact(donor_dir, tmp_path):
    for kind, name in [("microarray", "MicroarrayExpression.csv"), ("pacall", "PACall.csv")]:
        csv = donor_dir / name
        dest = io.csv_to_parquet(csv, tmp_path / f"{kind}.parquet", kind)
        reader = io.read_microarray if kind == "microarray" else io.read_pacall
        a, b = reader(csv), reader(dest)
        pd.testing.assert_frame_equal(a, b)
        subset = io.read_matrix_parquet(dest, kind, columns=[2, 5])
        pd.testing.assert_frame_equal(subset, a[[2, 5]])
        # repeated samples (mirroring) are read once and repeated, as pandas
        # repeats them; with rows filtered too, and the same layout
        rows = a.index[::3]
        mirrored = io.read_matrix_parquet(dest, kind, columns=[5, 2, 5, 7, 2], rows=rows)
        expected = a.loc[rows, [5, 2, 5, 7, 2]]
        pd.testing.assert_frame_equal(mirrored, expected)
        assert mirrored.to_numpy().flags.f_contiguous
    assert not list(tmp_path.glob("*.tmp"))


def test_tables(donor_dir):
    annot = io.read_annotation(donor_dir / "SampleAnnot.csv")
    assert annot.index.name == "sample_id" and annot.index[0] == 1
    assert annot["mni_x"].dtype == np.float64
    probes = io.read_probes(donor_dir / "Probes.csv")
    assert probes.index.name == "probe_id"
    assert {"probe_name", "gene_symbol", "entrez_id"} <= set(probes.columns)
    onto = io.read_ontology(donor_dir / "Ontology.csv")
    assert list(onto.columns[:3]) == ["id", "acronym", "name"]
    same = io.read_probes(probes)
    assert same is probes
    assert io.read_probes(probes, copy=True) is not probes


def test_rnaseq_readers(parity_dir):
    folder = parity_dir / "data" / "rnaseq" / "rnaseq_donor9861"
    if not folder.exists():
        pytest.skip("this parity set has no RNA-seq data")
    tpm = io.read_tpm(folder / "RNAseqTPM.csv")
    annot = io.read_rnaseq_annotation(folder / "SampleAnnot.csv")
    genes = io.read_genes(folder / "Genes.csv")
    assert tpm.shape[1] == len(annot)
    assert tpm.index.name == "gene_symbol"
    assert "structure_id" in annot.columns
    assert genes.index.name == "gene_symbol"
    counts = io.read_counts(folder / "RNAseqCounts.csv")
    assert counts.shape == tpm.shape


def test_missing_file_error_names_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="MicroarrayExpression.csv"):
        io.read_microarray(tmp_path / "MicroarrayExpression.csv")


def test_truncated_csv_is_refused(donor_dir, tmp_path):
    text = (donor_dir / "MicroarrayExpression.csv").read_text().splitlines()
    bad = tmp_path / "MicroarrayExpression.csv"
    bad.write_text("\n".join(text[:3] + [text[3][: len(text[3]) // 2]]) + "\n")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        io.read_microarray(bad)


def test_non_numeric_value_is_refused(donor_dir, tmp_path):
    lines = (donor_dir / "MicroarrayExpression.csv").read_text().splitlines()[:4]
    fields = lines[2].split(",")
    fields[3] = "abc"
    lines[2] = ",".join(fields)
    bad = tmp_path / "MicroarrayExpression.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="MicroarrayExpression.csv"):
        io.read_microarray(bad)


def test_atomic_path_renames_on_success_and_cleans_up_on_error(tmp_path):
    dest = tmp_path / "sub" / "map.func.gii"
    with atomic_path(dest, keep_suffix=True) as tmp:
        assert tmp.endswith(".tmp.func.gii") and is_temporary(Path(tmp).name)
        assert not dest.exists()
        with open(tmp, "w") as fh:
            fh.write("new")
    assert dest.read_text() == "new"
    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        assert tmp.endswith(".tmp")
        with open(tmp, "w") as fh:
            fh.write("half")
        raise RuntimeError("interrupted")
    assert dest.read_text() == "new"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["map.func.gii"]


@pytest.mark.parametrize("block", [1 << 25, 4096, 64])
def test_read_matrix_rows_is_a_subset_of_the_whole_matrix(donor_dir, tmp_path, monkeypatch, block):
    # small text blocks: many blocks, and lines longer than the buffer (it grows)
    monkeypatch.setattr(io, "_TEXT_BLOCK", block)
    csv = donor_dir / "MicroarrayExpression.csv"
    whole = io.read_microarray(csv)
    rows = list(whole.index[::7][::-1]) + [123456789]  # reversed order, one absent
    columns = [5, 2, 9, whole.shape[1] + 4]  # any order, one absent
    got = io.read_matrix_rows(csv, "microarray", rows=rows, columns=columns)
    assert got.n_columns == whole.shape[1]
    np.testing.assert_array_equal(got.ids, whole.index.to_numpy())
    pd.testing.assert_frame_equal(got.frame, whole.loc[rows[:-1], [5, 2, 9]])
    everything = io.read_matrix_rows(csv, "microarray")
    pd.testing.assert_frame_equal(everything.frame, whole)
    pacall = io.read_matrix_rows(donor_dir / "PACall.csv", "pacall", rows=rows[:3])
    pd.testing.assert_frame_equal(pacall.frame, io.read_pacall(donor_dir / "PACall.csv")
                                  .loc[rows[:3]])


def test_read_matrix_rows_without_final_newline_parquet_and_frames(donor_dir, tmp_path):
    csv = donor_dir / "MicroarrayExpression.csv"
    whole = io.read_microarray(csv)
    bare = tmp_path / "MicroarrayExpression.csv"
    bare.write_bytes(csv.read_bytes().rstrip(b"\r\n"))
    rows = list(whole.index[-3:]) + list(whole.index[:2])
    expected = whole.loc[rows, [1, 3]]
    pq_file = io.csv_to_parquet(csv, tmp_path / "m.parquet", "microarray")
    for source in (bare, pq_file, whole):
        got = io.read_matrix_rows(source, "microarray", rows=rows, columns=[1, 3])
        pd.testing.assert_frame_equal(got.frame, expected)
        assert got.n_columns == whole.shape[1] and len(got.ids) == len(whole)


def test_read_matrix_rows_names_the_file_in_errors(donor_dir, tmp_path):
    bad = tmp_path / "MicroarrayExpression.csv"
    lines = (donor_dir / "MicroarrayExpression.csv").read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",abc"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="MicroarrayExpression.csv"):
        io.read_matrix_rows(bad, "microarray", rows=[1])
