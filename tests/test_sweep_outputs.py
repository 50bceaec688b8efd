"""Sweep batch files, the sweep index, read_variant and the abagen-export command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from abagen_core.options import check_options
from abagen_core.outputs import sweep
from abagen_core.storage.parquet import write_frame_parquet
from abagen_core.workflow import results

REGIONS = [1, 2, 5]
GENES = ["A1BG", "PVALB", "SST", "ZZZ3"]


def _matrix(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(len(REGIONS), len(GENES)))
    values[2, 1] = np.nan  # an empty region stays NaN
    return pd.DataFrame(values, index=pd.Index(REGIONS, name="label"),
                        columns=pd.Index(GENES, name="gene_symbol"))


def _options(**over) -> dict:
    return check_options(dict(over, donors=["9861", "10021"]))


@pytest.fixture
def workdir(tmp_path):
    """A working folder with a named variant and two sweep batches for atlas dk."""
    folder = tmp_path / "results" / "dk"
    write_frame_parquet(_matrix(0), folder / "default" / "expression.parquet")
    (folder / "default" / "metadata.json").write_text("{}")
    opts = {"sweep-0000": _options(gene_norm="srs", ibf_threshold=0.5),
            "sweep-0001": _options(gene_norm="zscore", ibf_threshold=0.5),
            "sweep-0002": _options(gene_norm=None, ibf_threshold=0.25)}
    first = folder / "sweeps" / "batch-aaaaaaaaaa.parquet"
    second = folder / "sweeps" / "batch-bbbbbbbbbb.parquet"
    sweep.write_batch([("sweep-0000", _matrix(1)), ("sweep-0001", _matrix(2))], first,
                      options=opts)
    sweep.write_batch(iter([("sweep-0002", _matrix(3))]), second, options=opts)
    sweep.write_index([first, second], folder / "sweeps" / "index.csv")
    return tmp_path


def test_batch_round_trip_is_exact(tmp_path):
    dest = tmp_path / "b.parquet"
    counts = pd.DataFrame({"9861": [1, 0, 2]}, index=pd.Index(REGIONS, name="label"))
    names = sweep.write_batch([("v1", _matrix(1)), ("v2", _matrix(2))], dest,
                              options={"v1": _options(), "v2": _options(gene_norm="zscore")},
                              counts=counts, extra={"atlas": {"name": "dk"}})
    assert names == ["v1", "v2"]
    got = dict(sweep.iter_batch(dest))
    for name, seed in (("v1", 1), ("v2", 2)):
        pd.testing.assert_frame_equal(got[name], _matrix(seed), check_exact=True)
        pd.testing.assert_frame_equal(sweep.read_batch_variant(dest, name), _matrix(seed),
                                      check_exact=True)
    meta = sweep.batch_metadata(dest)
    assert meta["regions"] == REGIONS and meta["atlas"] == {"name": "dk"}
    assert meta["options"]["v2"]["gene_norm"] == "zscore"
    # one row group per variant, as many columns as regions (+ gene names)
    file = pq.ParquetFile(dest)
    assert file.num_row_groups == 2 and file.schema_arrow.names == ["gene_symbol", "1", "2", "5"]
    with pytest.raises(KeyError, match="v3"):
        sweep.read_batch_variant(dest, "v3")


def test_batch_in_chunks_of_genes_reads_back_whole(tmp_path):
    """A name given again continues its variant with the next genes: read
    back, each variant is its chunks side by side, in the order written."""
    dest = tmp_path / "b.parquet"
    whole = {"v1": _matrix(1), "v2": _matrix(2)}
    chunks = [slice(0, 1), slice(1, 3), slice(3, 4)]
    parts = [(name, whole[name].iloc[:, c]) for c in chunks for name in ("v2", "v1")]
    names = sweep.write_batch(parts, dest, options={"v1": _options(), "v2": _options()})
    assert names == ["v2", "v1"]
    assert pq.ParquetFile(dest).num_row_groups == 6
    assert sweep.batch_metadata(dest)["row_groups"] == {"v2": [0, 2, 4], "v1": [1, 3, 5]}
    for name, matrix in sweep.iter_batch(dest):
        pd.testing.assert_frame_equal(matrix, whole[name], check_exact=True)
        pd.testing.assert_frame_equal(sweep.read_batch_variant(dest, name), whole[name],
                                      check_exact=True)
    # every variant needs every chunk
    with pytest.raises(ValueError, match="different numbers of gene chunks"):
        sweep.write_batch(parts[:-1], tmp_path / "c.parquet",
                          options={"v1": _options(), "v2": _options()})
    assert not (tmp_path / "c.parquet").exists()


def test_batch_refuses_mixed_regions_and_leaves_nothing(tmp_path):
    dest = tmp_path / "b.parquet"
    other = _matrix(2).iloc[:2]
    with pytest.raises(ValueError, match="regions differ"):
        sweep.write_batch([("v1", _matrix(1)), ("v2", other)], dest,
                          options={"v1": _options(), "v2": _options()})
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="at least one variant"):
        sweep.write_batch([], dest, options={})
    assert list(tmp_path.iterdir()) == []


def test_batch_metadata_refuses_other_files(tmp_path):
    path = write_frame_parquet(_matrix(0), tmp_path / "plain.parquet")
    with pytest.raises(ValueError, match="not a sweep batch"):
        sweep.batch_metadata(path)


@pytest.mark.parametrize(("value", "text"), [(None, "None"), (True, "True"), (0, "0.0"),
                                             (0.5, "0.5"), (2, "2.0"), ("srs", "srs"),
                                             (["9861"], '["9861"]')])
def test_option_text(value, text):
    assert sweep.option_text(value) == text


def test_read_variant_by_name_and_options(workdir):
    pd.testing.assert_frame_equal(results.read_variant(workdir, "dk", "default"), _matrix(0),
                                  check_exact=True)
    pd.testing.assert_frame_equal(results.read_variant(workdir, "dk", "sweep-0001"), _matrix(2),
                                  check_exact=True)
    by_options = results.read_variant(workdir, "dk", gene_norm="zscore")
    pd.testing.assert_frame_equal(by_options, _matrix(2), check_exact=True)
    # None and integers are matched as the index writes them
    pd.testing.assert_frame_equal(results.read_variant(workdir, "dk", gene_norm=None),
                                  _matrix(3), check_exact=True)
    pd.testing.assert_frame_equal(
        results.read_variant(workdir, "dk", ibf_threshold=0.5, gene_norm="srs"), _matrix(1),
        check_exact=True)
    assert results.list_variants(workdir, "dk") == ["default", "sweep-0000", "sweep-0001",
                                                    "sweep-0002"]


def test_read_variant_errors_name_the_problem(workdir):
    with pytest.raises(KeyError, match="2 variants"):
        results.read_variant(workdir, "dk", ibf_threshold=0.5)
    with pytest.raises(KeyError, match="no variant has"):
        results.read_variant(workdir, "dk", gene_norm="minmax")
    with pytest.raises(KeyError, match="not options of this sweep"):
        results.read_variant(workdir, "dk", colour="red")
    with pytest.raises(KeyError, match="no finished variant 'nope'"):
        results.read_variant(workdir, "dk", "nope")
    with pytest.raises(TypeError):
        results.read_variant(workdir, "dk")
    with pytest.raises(TypeError):
        results.read_variant(workdir, "dk", "default", gene_norm="srs")
    assert results.sweep_index(workdir, "other").empty


def test_export_command(workdir, tmp_path, capsys):
    out = tmp_path / "m.csv"
    assert results.main(["-w", str(workdir), "--atlas", "dk", "gene_norm=None", "-o",
                         str(out)]) == 0
    got = pd.read_csv(out, index_col=0)
    np.testing.assert_array_equal(got.to_numpy(), _matrix(3).to_numpy())
    assert results.main(["-w", str(workdir), "--atlas", "dk", "--variant", "default"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("label,A1BG")
    assert results.main(["-w", str(workdir), "--atlas", "dk", "--list"]) == 0
    assert capsys.readouterr().out.split() == ["default", "sweep-0000", "sweep-0001",
                                               "sweep-0002"]
    assert results.main(["-w", str(workdir), "--atlas", "dk", "ibf_threshold=0.5"]) == 1
    assert "2 variants" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        results.main(["-w", str(workdir), "--atlas", "dk", "gene_norm"])
    assert "name=value" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        results.main(["-w", str(workdir), "--atlas", "dk"])
    with pytest.raises(SystemExit):
        results.main(["-w", str(tmp_path / "missing"), "--atlas", "dk", "--list"])


def test_chunks_of_genes_need_the_same_genes_in_every_donor(tmp_path):
    """Chunks of genes are positional: genes files listing other genes (a
    stale file) are refused with what to do, not silently misaligned."""
    from abagen_core.outputs.branch import _GenesFiles
    from abagen_core.storage.artifacts import write_frame

    rng = np.random.default_rng(0)
    files = {}
    for donor, genes in (("9861", GENES), ("10021", GENES[::-1])):
        frame = pd.DataFrame(rng.normal(size=(5, len(GENES))), columns=pd.Index(genes))
        files[donor] = str(write_frame(frame, tmp_path / f"{donor}.parquet", kind="genes"))
    spill = tmp_path / "spill"
    spill.mkdir()
    chunk = _GenesFiles(files).normalized(None, str(spill)).columns(slice(0, 2))
    assert list(chunk["9861"].columns) == GENES[:2]
    with pytest.raises(ValueError, match="different genes.*delete resources/genes"):
        chunk["10021"]


@pytest.mark.parametrize(("n", "parts", "lengths"), [(10, 3, [3, 3, 4]), (10, 0, [10]),
                                                     (3, 7, [1, 1, 1]), (0, 4, [0])])
def test_even_slices_cover_in_order(n, parts, lengths):
    from abagen_core.utils import even_slices

    slices = even_slices(n, parts)
    assert [s.stop - s.start for s in slices] == lengths
    assert slices[0].start == 0 and slices[-1].stop == n
    assert all(a.stop == b.start for a, b in zip(slices, slices[1:], strict=False))
