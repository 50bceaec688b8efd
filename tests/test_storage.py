"""abagen_core.storage.parquet and .artifacts: values read back, atomic writes, broken files."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from abagen_core.errors import CorruptArtifactError
from abagen_core.stages.probes import ProbeSummary
from abagen_core.storage import artifacts, checks, parquet


def _matrix(n_rows=4, n_cols=3, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n_rows, n_cols)),
                         index=pd.Index(np.arange(1, n_rows + 1) * 10, name="label"),
                         columns=pd.Index([f"G{j}" for j in range(n_cols)], name="gene_symbol"))
    frame.iloc[1, 2] = np.nan
    return frame


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- storage.parquet ----------------------------------------------------------


def test_write_frame_parquet_reads_back_with_pandas(tmp_path):
    frame = _matrix()
    dest = parquet.write_frame_parquet(frame, tmp_path / "m.parquet")
    assert dest == tmp_path / "m.parquet"
    back = pd.read_parquet(dest)
    pd.testing.assert_frame_equal(back, frame, check_column_type=False)
    assert back.index.name == "label"
    pd.testing.assert_frame_equal(parquet.read_frame_parquet(dest), back)
    assert _leftovers(tmp_path) == []


def test_write_frame_parquet_mixed_dtypes(tmp_path):
    frame = pd.DataFrame({"a": [1.5, 2.5], "n": [3, 4]}, index=pd.Index(["x", "y"], name="id"))
    parquet.write_frame_parquet(frame, tmp_path / "m.parquet")
    pd.testing.assert_frame_equal(parquet.read_frame_parquet(tmp_path / "m.parquet"), frame)


def test_write_frame_csv_same_values_as_pandas(tmp_path):
    frame = _matrix(5, 4, seed=3)
    frame.iloc[0, 0] = 2.61e-05
    frame.iloc[2, 1] = 1.0
    dest = parquet.write_frame_csv(frame, tmp_path / "m.csv")
    text = dest.read_text().splitlines()
    assert text[0] == "label,G0,G1,G2,G3"
    assert text[2].split(",")[3] == ""  # NaN as an empty field
    back = pd.read_csv(dest, index_col=0)
    np.testing.assert_array_equal(back.to_numpy(), frame.to_numpy())
    assert list(back.index) == list(frame.index)
    assert _leftovers(tmp_path) == []


def test_write_parquet_atomic_accepts_a_dataframe(tmp_path):
    frame = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.Index([7, 8], name="probe_id"))
    parquet.write_parquet_atomic(frame, tmp_path / "t.parquet", durable=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), frame)
    # page checksums are written (corruption is detected on reading)
    pq.read_table(tmp_path / "t.parquet", page_checksum_verification=True)


def test_failed_parquet_write_leaves_old_file_and_no_partial(tmp_path, monkeypatch):
    dest = tmp_path / "t.parquet"
    old = pd.DataFrame({"v": [1.0]})
    parquet.write_parquet_atomic(old, dest)

    def broken(table, where, **kwargs):
        with open(where, "wb") as fh:
            fh.write(b"PAR1 partial")
        raise OSError("disk full")

    monkeypatch.setattr(parquet.pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        parquet.write_parquet_atomic(pd.DataFrame({"v": [2.0, 3.0]}), dest)
    pd.testing.assert_frame_equal(pd.read_parquet(dest), old)
    assert _leftovers(tmp_path) == []


def test_failed_csv_write_leaves_no_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("writer failed")

    monkeypatch.setattr(parquet.pacsv, "write_csv", broken)
    with pytest.raises(RuntimeError, match="writer failed"):
        parquet.write_frame_csv(_matrix(), tmp_path / "m.csv")
    assert list(tmp_path.iterdir()) == []


def test_matrix_kinds():
    assert parquet.MATRIX_KINDS["pacall"] == ("probe_id", pa.int8())
    assert parquet.MATRIX_KINDS["microarray"][0] == "probe_id"


# --- storage.artifacts: frames --------------------------------------------------


def test_write_read_frame_round_trip_with_attrs(tmp_path):
    frame = _matrix()
    path = artifacts.write_frame(frame, tmp_path / "f.parquet", kind="genes",
                                 attrs={"n_kept": 12})
    back, attrs = artifacts.read_frame(path, kind="genes", with_attrs=True)
    assert attrs == {"n_kept": 12}
    np.testing.assert_array_equal(back.to_numpy(), frame.to_numpy())
    assert list(back.columns) == ["G0", "G1", "G2"]
    assert list(back.index) == list(frame.index)
    pd.testing.assert_frame_equal(artifacts.read_frame(path, kind="genes"), back)
    assert artifacts.read_frame(path, kind="genes", columns=["G1"]).columns.tolist() == ["G1"]
    assert artifacts.count_rows(str(path)) == 4
    assert artifacts.frame_shape(path) == frame.shape
    meta = json.loads(pq.read_metadata(path).metadata[checks.META_KEY])
    assert meta["kind"] == "genes" and meta["schema_version"] == checks.SCHEMA_VERSION


def test_wide_frame_is_stored_transposed_and_read_back(tmp_path):
    n = artifacts._WIDE + 3
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(3, n)), index=pd.Index([5, 6, 7], name="sample_id"),
                         columns=pd.Index([f"g{j}" for j in range(n)], name="gene_symbol"))
    frame["g0"] = np.array([1, 2, 3], dtype=np.int64)
    artifacts.write_frame(frame, tmp_path / "w.parquet", kind="wide", attrs={"a": 1})
    assert pq.read_metadata(tmp_path / "w.parquet").num_rows == n  # transposed on disk
    assert artifacts.frame_shape(tmp_path / "w.parquet") == (3, n)
    back, attrs = artifacts.read_frame(tmp_path / "w.parquet", kind="wide", with_attrs=True)
    assert attrs == {"a": 1}
    pd.testing.assert_frame_equal(back, frame)


def test_read_frame_of_another_kind_is_refused(tmp_path):
    artifacts.write_frame(_matrix(), tmp_path / "f.parquet", kind="genes")
    with pytest.raises(CorruptArtifactError, match=r"holds 'genes' .* expected 'samples'"):
        artifacts.read_frame(tmp_path / "f.parquet", kind="samples")
    assert (tmp_path / "f.parquet").exists()  # a valid file is left alone


def test_read_frame_of_another_schema_version_is_refused(tmp_path):
    table = pa.Table.from_pandas(pd.DataFrame({"a": [1.0]}))
    meta = {checks.META_KEY: json.dumps({"schema_version": "0", "kind": "genes"}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "old.parquet")
    with pytest.raises(CorruptArtifactError, match=r"schema 0.*Delete it and re-run"):
        artifacts.read_frame(tmp_path / "old.parquet", kind="genes")


def test_read_frame_of_a_foreign_file(tmp_path):
    pq.write_table(pa.table({"a": [1.0]}), tmp_path / "foreign.parquet")
    with pytest.raises(CorruptArtifactError, match="unreadable"):
        artifacts.read_frame(tmp_path / "foreign.parquet", kind="genes")


def test_truncated_frame_is_removed_with_a_clear_error(tmp_path):
    path = artifacts.write_frame(_matrix(50, 5), tmp_path / "f.parquet", kind="genes")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptArtifactError, match="corrupt .*removed"):
        artifacts.read_frame(path, kind="genes")
    assert not path.exists()


# --- storage.artifacts: probe summaries and per-donor tables ----------------------


def _summary() -> ProbeSummary:
    ids = pd.Index([11, 12, 13], name="probe_id")
    co = pd.DataFrame([[1.0, 0.5, 0.2], [0.5, 2.0, 0.1], [0.2, 0.1, 3.0]], index=ids,
                      columns=ids)
    return ProbeSummary(
        method="pc_loading", n_samples=4,
        mean=pd.Series([0.1, 0.2, 0.3], index=ids, name="mean"),
        m2=pd.Series([1.0, 2.0, 3.0], index=ids, name="m2"),
        comoments={"GENE": co},
        block=pd.DataFrame(np.arange(12, dtype=float).reshape(3, 4), index=ids,
                           columns=[101, 102, 103, 104]),
        regions=pd.DataFrame([[1.0, 2.0]] * 3, index=ids, columns=[4000, 4001]),
    )


def test_probe_summary_round_trip(tmp_path):
    summary = _summary()
    folder = artifacts.write_probe_summary(summary, tmp_path / "s")
    meta = json.loads((folder / "summary.json").read_text())
    assert meta == {"method": "pc_loading", "n_samples": 4,
                    "parts": ["moments", "comoments", "block", "regions"]}
    back = artifacts.read_probe_summary(folder)
    assert (back.method, back.n_samples) == ("pc_loading", 4)
    np.testing.assert_array_equal(back.mean.to_numpy(), summary.mean.to_numpy())
    np.testing.assert_array_equal(back.m2.to_numpy(), summary.m2.to_numpy())
    pd.testing.assert_frame_equal(back.comoments["GENE"], summary.comoments["GENE"],
                                  check_names=False)
    assert list(back.block.columns) == [101, 102, 103, 104]
    np.testing.assert_array_equal(back.block.to_numpy(), summary.block.to_numpy())
    assert list(back.regions.columns) == [4000, 4001]
    assert back.regions.columns.name == "structure_id"


def test_probe_summary_with_moments_only(tmp_path):
    ids = pd.Index([1, 2], name="probe_id")
    summary = ProbeSummary(method="variance", n_samples=2,
                           mean=pd.Series([0.0, 1.0], index=ids),
                           m2=pd.Series([2.0, 3.0], index=ids))
    artifacts.write_probe_summary(summary, tmp_path / "s")
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["moments.parquet",
                                                                  "summary.json"]
    back = artifacts.read_probe_summary(tmp_path / "s")
    assert back.block is None and back.regions is None and back.comoments == {}
    assert back.m2.tolist() == [2.0, 3.0]


def test_incomplete_probe_summary_is_refused(tmp_path):
    folder = artifacts.write_probe_summary(_summary(), tmp_path / "s")
    (folder / "summary.json").unlink()
    with pytest.raises(CorruptArtifactError, match="incomplete probe summary"):
        artifacts.read_probe_summary(folder)


def test_rewriting_a_probe_summary_first_marks_it_incomplete(tmp_path, monkeypatch):
    folder = artifacts.write_probe_summary(_summary(), tmp_path / "s")

    def broken(*args, **kwargs):
        raise OSError("killed")

    monkeypatch.setattr(artifacts, "write_frame", broken)
    with pytest.raises(OSError, match="killed"):
        artifacts.write_probe_summary(_summary(), folder)
    assert not (folder / "summary.json").exists()


def test_read_donor_genes(tmp_path):
    genes, samples = [], []
    for donor in ("1", "2"):
        genes.append(artifacts.write_frame(_matrix(seed=int(donor)),
                                           tmp_path / f"g{donor}.parquet", kind="genes"))
        samples.append(artifacts.write_frame(pd.DataFrame({"x": [float(donor)]}),
                                             tmp_path / f"s{donor}.parquet", kind="samples"))
    g, s = artifacts.read_donor_genes(["1", "2"], genes, samples)
    assert list(g) == list(s) == ["1", "2"]
    assert s["2"]["x"].tolist() == [2.0]
    np.testing.assert_array_equal(g["1"].to_numpy(), _matrix(seed=1).to_numpy())
    with pytest.raises(ValueError):
        artifacts.read_donor_genes(["1"], genes, samples)
    with pytest.raises(CorruptArtifactError, match="expected 'genes'"):
        artifacts.read_donor_genes(["1", "2"], samples, samples)


def test_parquet_parts_written_as_row_groups_or_not_at_all(tmp_path):
    dest = tmp_path / "p.parquet"
    parts = [pa.table({"v": [1.0, 2.0]}), pa.table({"v": [3.0]})]
    parquet.write_parquet_parts_atomic(iter(parts), dest)
    assert pq.ParquetFile(dest).num_row_groups == 2
    assert pq.read_table(dest).column("v").to_pylist() == [1.0, 2.0, 3.0]

    def failing():
        yield pa.table({"v": [9.0]})
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        parquet.write_parquet_parts_atomic(failing(), dest)
    assert pq.read_table(dest).column("v").to_pylist() == [1.0, 2.0, 3.0]
    assert _leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="no table"):
        parquet.write_parquet_parts_atomic([], tmp_path / "none.parquet")
    assert _leftovers(tmp_path) == []


def test_wide_frame_in_several_row_groups_reads_back(tmp_path, monkeypatch):
    monkeypatch.setattr(artifacts, "_WRITE_COLUMNS", 100)
    rng = np.random.default_rng(3)
    n = artifacts._WIDE + 250
    frame = pd.DataFrame(np.asfortranarray(rng.normal(size=(7, n))),
                         index=pd.Index(np.arange(7) + 1, name="sample_id"),
                         columns=pd.Index([f"g{j}" for j in range(n)], name="gene_symbol"))
    artifacts.write_frame(frame, tmp_path / "w.parquet", kind="genes")
    assert pq.ParquetFile(tmp_path / "w.parquet").num_row_groups == math.ceil(n / 100)
    assert artifacts.frame_shape(tmp_path / "w.parquet") == frame.shape
    back = artifacts.read_frame(tmp_path / "w.parquet", kind="genes")
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert back.to_numpy().flags.f_contiguous
