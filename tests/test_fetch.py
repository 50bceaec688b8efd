"""Tests of abagen_core.datasets.fetch against a real local HTTP server (tests/httpserver.py).

No test touches the internet: every api_url points at 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from abagen_core.datasets import fetch
from abagen_core.errors import InvalidOptionError

try:
    from httpserver import FileServer
except ImportError:  # tests/ imported as a package
    from tests.httpserver import FileServer

PARITY = Path(__file__).resolve().parents[2] / "shared" / "parity"
DONOR_SRC = PARITY / "data" / "microarray" / "normalized_microarray_donor12876"
MA_ORDER = ["MicroarrayExpression.csv", "PACall.csv", "Probes.csv", "SampleAnnot.csv",
            "Ontology.csv"]
IDS = {"12876": "1001", "9861": "1002"}
RS_IDS = {"9861": "2001"}
MRI_IDS = {"t1w": "3001", "t2w": "3002"}


def wkf(file_id: str) -> str:
    return f"/api/v2/well_known_file_download/{file_id}"


# --------------------------------------------------------------------------- fixtures


def _donor_csvs(n_probes: int = 40, seed: int = 0) -> dict[str, bytes]:
    """Five small AHBA-format CSV files (from the parity donor when available)."""
    if DONOR_SRC.is_dir():
        out = {}
        for name in MA_ORDER:
            lines = (DONOR_SRC / name).read_bytes().splitlines(keepends=True)
            keep = {"MicroarrayExpression.csv": n_probes, "PACall.csv": n_probes,
                    "Probes.csv": n_probes + 1}.get(name, len(lines))
            out[name] = b"".join(lines[:keep])
        return out
    rng = np.random.default_rng(seed)  # synthetic fallback when ../shared is absent
    n_samples = 30
    probe_ids = np.arange(1000, 1000 + n_probes)
    expr = "".join(f"{p}," + ",".join(f"{v:.5f}" for v in rng.normal(6, 1, n_samples)) + "\n"
                   for p in probe_ids)
    pa = "".join(f"{p}," + ",".join(str(v) for v in rng.integers(0, 2, n_samples)) + "\n"
                 for p in probe_ids)
    probes = "probe_id,probe_name,gene_id,gene_symbol,gene_name,entrez_id,chromosome\n" + "".join(
        f'{p},"P{p}",{i},"G{i}","gene {i}",{i},1\n' for i, p in enumerate(probe_ids))
    annot = "structure_id,slab_num,well_id,slab_type,structure_acronym,structure_name," \
            "polygon_id,mri_voxel_x,mri_voxel_y,mri_voxel_z,mni_x,mni_y,mni_z\n" + "".join(
                f'4000,1,{i},CX,"A","a, left",1,1,1,1,-1.0,1.0,1.0\n' for i in range(n_samples))
    onto = 'id,acronym,name,parent_structure_id,hemisphere,graph_order,structure_id_path,' \
           'color_hex_triplet\n4005,"Br","brain",,,0,"/4005/","936F75"\n'
    return {"MicroarrayExpression.csv": expr.encode(), "PACall.csv": pa.encode(),
            "Probes.csv": probes.encode(), "SampleAnnot.csv": annot.encode(),
            "Ontology.csv": onto.encode()}


def make_zip(files: dict[str, bytes], top: str | None = None) -> bytes:
    """A deterministic zip with `files` at its root (or under folder `top`)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(f"{top}/{name}" if top else name, (2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def csvs() -> dict[str, bytes]:
    return _donor_csvs()


@pytest.fixture(scope="module")
def donor_zip(csvs) -> bytes:
    return make_zip(csvs)


@pytest.fixture
def server(donor_zip):
    srv = FileServer({wkf(IDS["12876"]): donor_zip, wkf(IDS["9861"]): donor_zip})
    with srv:
        yield srv


def write_sources(path: Path, rows: list[dict[str, str]]) -> Path:
    cols = ["kind", "donor", "well_known_file_id", "filename", "size_bytes", "sha256",
            "members", "url"]
    lines = [",".join(cols)] + [",".join(str(r.get(c, "")) for c in cols) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def ma_row(donor: str, size: int | str = "", sha: str = "") -> dict[str, str]:
    return {"kind": "microarray", "donor": donor, "well_known_file_id": IDS[donor],
            "filename": f"normalized_microarray_donor{donor}.zip", "size_bytes": size,
            "sha256": sha, "members": ";".join(sorted(MA_ORDER))}


@pytest.fixture
def sources(tmp_path, donor_zip) -> Path:
    return write_sources(tmp_path / "sources.csv",
                         [ma_row(d, len(donor_zip)) for d in IDS])


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("ABAGEN_DATA", raising=False)
    monkeypatch.delenv("ABAGEN_API_URL", raising=False)


def fetch12876(data_dir, server, sources, **kw):
    kw.setdefault("backoff", 0.0)
    kw.setdefault("timeout", 5.0)
    kw.setdefault("verbose", 0)
    return fetch.fetch_microarray(data_dir, donors=["12876"], api_url=server.url,
                                  sources=sources, **kw)


def assert_donor_ok(files, csvs, donor="12876"):
    assert sorted(files[donor]) == ["annotation", "microarray", "ontology", "pacall", "probes"]
    for key, name in fetch.MICROARRAY_FILES.items():
        path = Path(files[donor][key])
        assert path.name == name
        assert path.read_bytes() == csvs[name]


def leftovers(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.rglob("*")
                  if p.suffix in {".part", ".zip", ".tmp"} or p.name.endswith(".tmp"))


# --------------------------------------------------------------------------- sources table


def test_bundled_sources_table(no_env, monkeypatch):
    table = fetch.load_sources()
    expected = {"9861": ("178238387", 425988059), "10021": ("178238373", 400957002),
                "12876": ("178238359", 166233851), "14380": ("178238316", 241359585),
                "15496": ("178238266", 216077630), "15697": ("178236545", 230640408)}
    for donor, (file_id, size) in expected.items():
        src = table[("microarray", donor)]
        assert (src.well_known_file_id, src.size_bytes) == (file_id, size)
        assert set(src.members) == set(fetch.MICROARRAY_FILES.values())
        assert src.filename == f"normalized_microarray_donor{donor}.zip"
    assert table[("rnaseq", "10021")].well_known_file_id == "278448166"
    assert table[("rnaseq", "9861")].size_bytes is None
    assert table[("t2w", "15496")].well_known_file_id == "162021644"
    assert table[("freesurfer", "12876")].resolve_url() is None
    src = table[("microarray", "9861")]
    assert src.resolve_url() == \
        "https://human.brain-map.org/api/v2/well_known_file_download/178238387"
    monkeypatch.setenv("ABAGEN_API_URL", "http://127.0.0.1:1/")
    assert src.resolve_url() == "http://127.0.0.1:1/api/v2/well_known_file_download/178238387"
    assert src.resolve_url("http://127.0.0.1:2").startswith("http://127.0.0.1:2/api/")


# --------------------------------------------------------------------------- full fetch


def test_full_fetch_then_cached(tmp_path, server, sources, csvs, donor_zip, no_env):
    data_dir = tmp_path / "data"
    files = fetch12876(data_dir, server, sources)
    assert_donor_ok(files, csvs)
    folder = data_dir / "microarray" / "normalized_microarray_donor12876"
    assert Path(files["12876"]["microarray"]).parent == folder
    assert server.request_count == 1 and server.bytes_served == len(donor_zip)
    assert server.requests[0].range is None
    assert leftovers(data_dir) == []  # no .part, archive removed after unpacking
    registry = json.loads((data_dir / fetch.CHECKSUM_REGISTRY).read_text())
    entry = registry["files"]["normalized_microarray_donor12876.zip"]
    assert entry["sha256"] == hashlib.sha256(donor_zip).hexdigest()
    assert entry["size"] == len(donor_zip)
    # second call: found on disk, no request
    again = fetch12876(data_dir, server, sources)
    assert again == files and server.request_count == 1


def test_parallel_donors(tmp_path, server, sources, csvs, no_env):
    files = fetch.fetch_microarray(tmp_path, donors=["H0351.2001", 12876], verbose=0, n_proc=2,
                                   api_url=server.url, sources=sources, backoff=0)
    assert list(files) == ["9861", "12876"]
    assert_donor_ok(files, csvs, "9861")
    assert_donor_ok(files, csvs, "12876")
    assert server.request_count == 2


def test_convert_accepted_and_default_donor(tmp_path, server, sources, no_env):
    files = fetch.fetch_microarray(tmp_path, verbose=0, convert=False, api_url=server.url,
                                   sources=sources)
    assert list(files) == ["12876"]


# --------------------------------------------------------------------------- resume


def test_cut_connection_resumed_with_range(tmp_path, server, sources, csvs, donor_zip, no_env,
                                          capsys):
    cut = len(donor_zip) // 3
    server.add_fault(wkf(IDS["12876"]), "cut", after=cut)
    files = fetch12876(tmp_path, server, sources, verbose=1)
    assert_donor_ok(files, csvs)
    err = capsys.readouterr().err
    assert f"connection closed after {cut} of {len(donor_zip)} bytes" in err
    assert f"resuming at byte {cut}" in err
    first, second = server.requests
    assert first.bytes_sent == cut and first.range is None
    assert second.range == f"bytes={cut}-" and second.status == 206
    assert second.bytes_sent == len(donor_zip) - cut  # nothing before the cut sent again
    assert server.bytes_served == len(donor_zip)


def test_killed_download_resumes_on_next_run(tmp_path, server, sources, csvs, donor_zip, no_env):
    cut = len(donor_zip) // 2
    server.add_fault(wkf(IDS["12876"]), "cut", after=cut)
    with pytest.raises(fetch.DownloadError, match="resumes") as err:
        fetch12876(tmp_path, server, sources, retries=0)
    assert f"{cut} bytes received so far are kept" in str(err.value)
    part = tmp_path / "microarray" / "normalized_microarray_donor12876.zip.part"
    assert part.stat().st_size == cut
    assert not (tmp_path / "microarray" / "normalized_microarray_donor12876").exists()
    files = fetch12876(tmp_path, server, sources)
    assert_donor_ok(files, csvs)
    assert server.requests[-1].range == f"bytes={cut}-"
    assert server.requests[-1].bytes_sent == len(donor_zip) - cut
    assert server.bytes_served == len(donor_zip)
    assert not part.exists()


def test_resume_false_starts_over(tmp_path, server, sources, donor_zip, no_env):
    cut = len(donor_zip) // 2
    server.add_fault(wkf(IDS["12876"]), "cut", after=cut)
    with pytest.raises(fetch.DownloadError):
        fetch12876(tmp_path, server, sources, retries=0)
    fetch12876(tmp_path, server, sources, resume=False)
    assert server.requests[-1].range is None
    assert server.requests[-1].bytes_sent == len(donor_zip)


def test_server_without_range_support_restarts(tmp_path, csvs, donor_zip, sources, no_env):
    with FileServer({wkf(IDS["12876"]): donor_zip}, support_range=False) as srv:
        srv.add_fault(wkf(IDS["12876"]), "cut", after=100)
        files = fetch12876(tmp_path, srv, sources)
        assert_donor_ok(files, csvs)
        assert srv.requests[1].range == "bytes=100-" and srv.requests[1].status == 200
        assert srv.requests[1].bytes_sent == len(donor_zip)


def test_server_error_retried(tmp_path, server, sources, csvs, no_env):
    server.add_fault(wkf(IDS["12876"]), "error", status=503, times=2)
    files = fetch12876(tmp_path, server, sources)
    assert_donor_ok(files, csvs)
    assert [r.status for r in server.requests] == [503, 503, 200]


# --------------------------------------------------------------------------- corruption


def test_corrupt_download_detected_and_refetched(tmp_path, server, sources, csvs, donor_zip,
                                                 no_env):
    server.add_fault(wkf(IDS["12876"]), "corrupt")
    with pytest.warns(UserWarning, match="not a valid zip.*downloading it again"):
        files = fetch12876(tmp_path, server, sources)
    assert_donor_ok(files, csvs)
    assert [r.fault for r in server.requests] == ["corrupt", None]
    assert all(r.bytes_sent == len(donor_zip) for r in server.requests)


def test_persistently_corrupt_removed_then_repaired(tmp_path, server, sources, csvs, no_env):
    server.add_fault(wkf(IDS["12876"]), "corrupt", times=None)
    with pytest.warns(UserWarning), pytest.raises(fetch.CorruptDownloadError) as err:
        fetch12876(tmp_path, server, sources)
    msg = str(err.value)
    assert "not a valid zip" in msg and "removed" in msg and "run the fetch again" in msg
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "microarray" / "normalized_microarray_donor12876").exists()
    server.clear_faults()
    assert_donor_ok(fetch12876(tmp_path, server, sources), csvs)


def test_truncated_archive_unknown_size(tmp_path, server, donor_zip, no_env):
    server.files[wkf(IDS["12876"])] = donor_zip[: len(donor_zip) - 200]
    src = write_sources(tmp_path / "s.csv", [ma_row("12876")])  # size unknown
    with pytest.warns(UserWarning), pytest.raises(fetch.CorruptDownloadError, match="zip"):
        fetch12876(tmp_path / "d", server, src)
    assert leftovers(tmp_path / "d") == []


def test_truncated_archive_known_size(tmp_path, server, sources, donor_zip, no_env):
    server.files[wkf(IDS["12876"])] = donor_zip[:-200]
    with pytest.raises(fetch.CorruptDownloadError,
                       match=f"{len(donor_zip) - 200} bytes .* but {len(donor_zip)}"):
        fetch12876(tmp_path, server, sources)
    assert leftovers(tmp_path) == []


def test_existing_corrupt_archive_replaced(tmp_path, server, sources, csvs, donor_zip, no_env):
    folder = tmp_path / "microarray"
    folder.mkdir()
    (folder / "normalized_microarray_donor12876.zip").write_bytes(b"x" * len(donor_zip))
    with pytest.warns(UserWarning, match="Removing"):
        files = fetch12876(tmp_path, server, sources)
    assert_donor_ok(files, csvs)


def test_checksum_registry_checks_later_downloads(tmp_path, server, sources, csvs, no_env):
    fetch12876(tmp_path, server, sources)
    shutil.rmtree(tmp_path / "microarray" / "normalized_microarray_donor12876")
    changed = make_zip({**csvs, "Ontology.csv": csvs["Ontology.csv"] + b"\n"})
    server.files[wkf(IDS["12876"])] = changed
    src = write_sources(tmp_path / "s.csv", [ma_row("12876", len(changed))])
    with pytest.warns(UserWarning), pytest.raises(fetch.CorruptDownloadError,
                                                  match="was recorded") as err:
        fetch12876(tmp_path, server, src)
    assert fetch.CHECKSUM_REGISTRY in str(err.value)
    assert leftovers(tmp_path) == []


def test_sources_sha256_checked(tmp_path, server, donor_zip, no_env):
    src = write_sources(tmp_path / "s.csv", [ma_row("12876", len(donor_zip), "0" * 64)])
    with pytest.warns(UserWarning), pytest.raises(fetch.CorruptDownloadError,
                                                  match="sources table"):
        fetch12876(tmp_path / "d", server, src)
    good = hashlib.sha256(donor_zip).hexdigest()
    src = write_sources(tmp_path / "s.csv", [ma_row("12876", len(donor_zip), good)])
    fetch12876(tmp_path / "d", server, src)


# --------------------------------------------------------------------------- errors


def test_404_clear_error(tmp_path, server, sources, no_env):
    server.add_fault(wkf(IDS["12876"]), "notfound", times=None)
    with pytest.raises(fetch.DownloadError) as err:
        fetch12876(tmp_path, server, sources)
    msg = str(err.value)
    assert "HTTP 404" in msg and "donor 12876" in msg
    assert f"{server.url}/api/v2/well_known_file_download/1001" in msg
    assert "Fix:" in msg and "normalized_microarray_donor12876/" in msg and "ABAGEN_API_URL" in msg
    assert server.request_count == 1  # 4xx is not retried


def test_timeout_clear_error(tmp_path, server, sources, no_env):
    server.add_fault(wkf(IDS["12876"]), "hang", times=None, hang_s=10)
    start = time.monotonic()
    with pytest.raises(fetch.DownloadError) as err:
        fetch12876(tmp_path, server, sources, timeout=0.2, retries=1)
    assert time.monotonic() - start < 5
    msg = str(err.value)
    assert "timed out after 2 attempt(s)" in msg and "donor 12876" in msg
    assert server.url in msg and "timeout 0.2 s" in msg
    assert server.request_count == 2


def test_connection_refused_clear_error(tmp_path, sources, no_env):
    with FileServer() as srv:
        url = srv.url
    with pytest.raises(fetch.DownloadError, match="failed after 2 attempt"):
        fetch.fetch_microarray(tmp_path, donors="12876", verbose=0, api_url=url,
                               sources=sources, retries=1, backoff=0, timeout=1)


def test_unwritable_data_dir(tmp_path, server, sources, no_env):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    bad = blocker / "data"
    with pytest.raises(fetch.DataDirError) as err:
        fetch12876(bad, server, sources)
    msg = str(err.value)
    assert str(bad) in msg and "ABAGEN_DATA" in msg and "data_dir" in msg
    assert server.request_count == 0
    assert isinstance(err.value, PermissionError)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_readonly_data_dir(tmp_path, server, sources, no_env):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(fetch.DataDirError, match=re.escape(str(ro))):
            fetch12876(ro, server, sources)
    finally:
        ro.chmod(0o755)


# --------------------------------------------------------------------------- existing data


def place_donor(folder: Path, csvs: dict[str, bytes], skip: str | None = None) -> Path:
    folder.mkdir(parents=True)
    for name, data in csvs.items():
        if name != skip:
            (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("sub", ["microarray", ""])
def test_existing_folder_used_without_request(tmp_path, server, sources, csvs, sub, no_env):
    folder = place_donor(tmp_path / sub / "normalized_microarray_donor12876", csvs)
    files = fetch12876(tmp_path, server, sources)
    assert_donor_ok(files, csvs)
    assert Path(files["12876"]["probes"]).parent == folder
    assert server.request_count == 0


def test_existing_folder_found_via_env(tmp_path, server, sources, csvs, monkeypatch, no_env):
    place_donor(tmp_path / "ahba" / "normalized_microarray_donor12876", csvs)
    monkeypatch.setenv("ABAGEN_DATA", str(tmp_path / "ahba"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    files = fetch12876(None, server, sources)
    assert Path(files["12876"]["microarray"]).parent.parent == tmp_path / "ahba"
    assert server.request_count == 0


def test_find_donor_files_without_download(tmp_path, csvs, no_env):
    with pytest.raises(FileNotFoundError) as err:
        fetch.find_donor_files(tmp_path, ["12876"], download=False)
    msg = str(err.value)
    assert "MicroarrayExpression.csv" in msg and "fetch_microarray" in msg
    assert "ABAGEN_DATA" in msg
    place_donor(tmp_path / "microarray" / "normalized_microarray_donor12876", csvs,
                skip="PACall.csv")
    with pytest.raises(FileNotFoundError, match="PACall.csv"):
        fetch.find_donor_files(tmp_path, "H0351.1009", download=False)
    (tmp_path / "microarray" / "normalized_microarray_donor12876" / "PACall.csv").write_bytes(
        csvs["PACall.csv"])
    files = fetch.find_donor_files(tmp_path, [12876], download=False)
    assert_donor_ok(files, csvs)


def test_incomplete_folder_completed_by_download(tmp_path, server, sources, csvs, no_env):
    place_donor(tmp_path / "microarray" / "normalized_microarray_donor12876", csvs,
                skip="Probes.csv")
    files = fetch12876(tmp_path, server, sources)
    assert_donor_ok(files, csvs)
    assert server.request_count == 1


# --------------------------------------------------------------------------- data-dir order


def test_resolve_data_dir_order(tmp_path, csvs, monkeypatch, no_env):
    env, home, cwd = tmp_path / "env", tmp_path / "home", tmp_path / "cwd"
    for d in (home, cwd):
        d.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    donors = ["12876"]
    # nothing anywhere, no $ABAGEN_DATA: ~/abagen-data (created)
    assert fetch.resolve_data_dir(donors=donors) == home / "abagen-data"
    assert (home / "abagen-data").is_dir()
    # $ABAGEN_DATA set: it comes first
    monkeypatch.setenv("ABAGEN_DATA", str(env))
    assert fetch.resolve_data_dir(donors=donors) == env
    # data only in cwd: cwd wins over the writable but empty candidates
    place_donor(cwd / "normalized_microarray_donor12876", csvs)
    assert fetch.resolve_data_dir(donors=donors) == cwd
    # data also in ~/abagen-data: it beats cwd
    place_donor(home / "abagen-data" / "microarray" / "normalized_microarray_donor12876", csvs)
    assert fetch.resolve_data_dir(donors=donors) == home / "abagen-data"
    # data in $ABAGEN_DATA too: it beats both
    place_donor(env / "microarray" / "normalized_microarray_donor12876", csvs)
    assert fetch.resolve_data_dir(donors=donors) == env
    # an explicit data_dir overrides everything
    assert fetch.resolve_data_dir(tmp_path / "x", donors=donors) == tmp_path / "x"
    # a donor present nowhere: first writable candidate that holds some data
    assert fetch.resolve_data_dir(donors=["12876", "9861"]) == env


def test_workflow_resolves_the_data_dir_as_the_api(tmp_path, csvs, monkeypatch, no_env):
    """One rule (datasets.layout): the workflow only reads, so it creates nothing."""
    from abagen_core.datasets import layout
    from abagen_core.workflow.plan import resolve_data_dir as workflow_data_dir

    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    assert fetch.resolve_data_dir is layout.resolve_data_dir
    # nothing anywhere: the first candidate, not created
    assert workflow_data_dir(None) == str(home / "abagen-data")
    assert not home.exists()
    # data in the working folder: both find it there
    place_donor(cwd / "microarray" / "normalized_microarray_donor12876", csvs)
    assert workflow_data_dir(None) == str(cwd) == str(fetch.resolve_data_dir())
    # an explicit folder: ~ and $VARS expanded, returned as is
    monkeypatch.setenv("SOMEWHERE", str(tmp_path / "x"))
    assert workflow_data_dir("$SOMEWHERE/data") == str(tmp_path / "x" / "data")
    assert fetch.resolve_data_dir("$SOMEWHERE/data") == tmp_path / "x" / "data"
    assert workflow_data_dir("") == str(cwd)


def test_resolve_data_dir_skips_unwritable(tmp_path, monkeypatch, no_env):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    monkeypatch.setenv("ABAGEN_DATA", str(blocker / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert fetch.resolve_data_dir(donors=["12876"]) == tmp_path / "home" / "abagen-data"
    monkeypatch.setenv("HOME", str(blocker))  # ~/abagen-data cannot be created either
    assert fetch.resolve_data_dir(donors=["12876"]) == tmp_path


def test_fetch_downloads_to_resolved_dir(tmp_path, server, sources, csvs, monkeypatch, no_env):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    files = fetch12876(None, server, sources)
    assert Path(files["12876"]["ontology"]).is_relative_to(tmp_path / "home" / "abagen-data")


# --------------------------------------------------------------------------- fetch_donor


def test_fetch_donor_from_source_dir(tmp_path, server, csvs, no_env):
    place_donor(tmp_path / "src" / "normalized_microarray_donor12876", csvs)
    out = tmp_path / "resources" / "donor12876"
    files = fetch.fetch_donor("12876", out, source_dir=tmp_path / "src", api_url=server.url,
                              verbose=0)
    assert_donor_ok({"12876": files}, csvs)
    assert server.request_count == 0
    # idempotent
    fetch.fetch_donor("12876", out, source_dir=tmp_path / "src", verbose=0)
    with pytest.raises(FileNotFoundError, match="normalized_microarray_donor9861"):
        fetch.fetch_donor("9861", out, source_dir=tmp_path / "src", verbose=0)


def test_fetch_donor_download(tmp_path, server, sources, csvs, no_env):
    out = tmp_path / "resources" / "microarray" / "12876"
    files = fetch.fetch_donor(12876, out, api_url=server.url, sources=sources, verbose=0,
                              backoff=0)
    assert_donor_ok({"12876": files}, csvs)
    assert sorted(p.name for p in out.iterdir()) == sorted(MA_ORDER)
    assert (out.parent / fetch.CHECKSUM_REGISTRY).is_file()
    assert leftovers(out.parent) == []
    fetch.fetch_donor(12876, out, api_url=server.url, sources=sources, verbose=0)
    assert server.request_count == 1


# --------------------------------------------------------------------------- other datasets


def test_fetch_rnaseq(tmp_path, no_env):
    names = ["Genes.csv", "Ontology.csv", "RNAseqCounts.csv", "RNAseqTPM.csv", "SampleAnnot.csv"]
    payload = make_zip({n: f"{n}\n".encode() for n in names}, top="rnaseq_donor9861")
    src = write_sources(tmp_path / "s.csv", [{
        "kind": "rnaseq", "donor": "9861", "well_known_file_id": RS_IDS["9861"],
        "filename": "rnaseq_donor9861.zip", "members": ";".join(names)}])
    with FileServer({wkf(RS_IDS["9861"]): payload}) as srv:
        files = fetch.fetch_rnaseq(tmp_path / "d", verbose=0, api_url=srv.url, sources=src)
    assert sorted(files["9861"]) == ["annotation", "counts", "genes", "ontology", "tpm"]
    assert Path(files["9861"]["tpm"]).read_text() == "RNAseqTPM.csv\n"
    assert Path(files["9861"]["tpm"]).parent == tmp_path / "d" / "rnaseq" / "rnaseq_donor9861"
    with pytest.raises(ValueError, match="RNA-seq"):
        fetch.fetch_rnaseq(tmp_path / "d", donors="12876")


def test_fetch_raw_mri(tmp_path, no_env):
    t1 = gzip.compress(b"T1 image", mtime=0)
    rows = [{"kind": k, "donor": "12876", "well_known_file_id": i,
             "filename": f"{k.upper()[:2]}w.nii.gz"} for k, i in MRI_IDS.items()]
    src = write_sources(tmp_path / "s.csv", rows)
    with FileServer({wkf("3001"): t1, wkf("3002"): b"raw T2"}) as srv:
        mris = fetch.fetch_raw_mri(tmp_path / "d", donors="H0351.1009", verbose=0,
                                   api_url=srv.url, sources=src)
        assert srv.request_count == 2
        again = fetch.fetch_raw_mri(tmp_path / "d", donors="12876", verbose=0,
                                    api_url=srv.url, sources=src)
        assert srv.request_count == 2 and again == mris
    assert Path(mris["12876"]["t1w"]).name == "T1w.nii.gz"
    assert Path(mris["12876"]["t2w"]).name == "T2w.nii"  # uncompressed payload, named so
    assert Path(mris["12876"]["t2w"]).read_bytes() == b"raw T2"


def test_fetch_raw_mri_reads_abagens_layout(tmp_path, no_env, monkeypatch):
    # abagen 0.1.3 (black box, on the parity set's data/mri): returns
    # mri/mri_donor<ID>/T1.nii.gz and T2.nii.gz without downloading
    for donor in ("9861", "12876"):
        folder = tmp_path / "d" / "mri" / f"mri_donor{donor}"
        folder.mkdir(parents=True)
        for name in ("T1.nii.gz", "T2.nii.gz"):
            (folder / name).write_bytes(b"image")

    def _no_download(*args, **kwargs):
        raise AssertionError("nothing may be downloaded")

    monkeypatch.setattr(fetch, "find_donor_files", _no_download)
    mris = fetch.fetch_raw_mri(tmp_path / "d", donors=["12876", "9861"], verbose=0)
    assert list(mris) == ["12876", "9861"]
    folder = tmp_path / "d" / "mri" / "mri_donor12876"
    assert mris["12876"] == {"t1w": str(folder / "T1.nii.gz"), "t2w": str(folder / "T2.nii.gz")}
    monkeypatch.setenv("ABAGEN_DATA", str(tmp_path / "d"))  # also when found via $ABAGEN_DATA
    assert fetch.fetch_raw_mri(donors="9861", verbose=0)["9861"]["t1w"].endswith(
        "mri_donor9861/T1.nii.gz")
    # a donor missing from that layout still goes to the usual lookup/download
    with pytest.raises(AssertionError, match="nothing may be downloaded"):
        fetch.fetch_raw_mri(tmp_path / "d", donors=["9861", "14380"], verbose=0)


def test_fetch_freesurfer(tmp_path, no_env):
    with pytest.raises(fetch.SourceNotConfiguredError) as err:
        fetch.fetch_freesurfer(tmp_path, donors="12876", verbose=0)
    msg = str(err.value)
    assert "source of the FreeSurfer data of donor 12876 is not configured" in msg
    assert "<data_dir>/freesurfer/donor12876/" in msg and "data_dir" in msg
    assert not (tmp_path / "freesurfer").exists()  # nothing created
    # an existing folder is used as is
    fs = tmp_path / "freesurfer" / "donor12876" / "surf"
    fs.mkdir(parents=True)
    (fs / "lh.pial").write_bytes(b"")
    assert fetch.fetch_freesurfer(tmp_path, donors=["12876"]) == {"12876": str(fs.parent)}
    # a configured URL (zip of the subject folder) is downloaded and unpacked
    payload = make_zip({"surf/lh.pial": b"l", "surf/rh.pial": b"r", "mri/T1.mgz": b"m"},
                       top="donor9861")
    with FileServer({"/fs/9861.zip": payload}) as srv:
        src = write_sources(tmp_path / "s.csv", [{
            "kind": "freesurfer", "donor": "9861", "filename": "freesurfer_donor9861.zip",
            "url": f"{srv.url}/fs/9861.zip"}])
        out = fetch.fetch_freesurfer(tmp_path, donors="9861", verbose=0, sources=src)
    folder = Path(out["9861"])
    assert folder == tmp_path / "freesurfer" / "donor9861"
    assert (folder / "surf" / "rh.pial").read_bytes() == b"r"


def test_fetch_fsnative(tmp_path, no_env):
    nib = pytest.importorskip("nibabel")
    rng = np.random.default_rng(0)
    verts = rng.normal(size=(4, 3))
    faces = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32)
    for donor in ("12876", "9861"):
        surf = tmp_path / "freesurfer" / f"donor{donor}" / "surf"
        surf.mkdir(parents=True)
        for hemi in ("lh", "rh"):
            nib.freesurfer.write_geometry(str(surf / f"{hemi}.white"), verts, faces)
    brain = fetch.fetch_fsnative("12876", surf="white", data_dir=tmp_path)
    np.testing.assert_allclose(brain.lh.vertices, verts, atol=1e-5)
    np.testing.assert_array_equal(brain.rh.faces, faces)
    both = fetch.fetch_fsnative(["12876", "9861"], surf="white", load=False, data_dir=tmp_path)
    assert set(both) == {"12876", "9861"} and both["9861"].lh.endswith("lh.white")
    with pytest.raises(FileNotFoundError, match="lh.pial"):
        fetch.fetch_fsnative("12876", data_dir=tmp_path)
    with pytest.raises(InvalidOptionError):
        fetch.fetch_fsnative("12876", surf="midthickness", data_dir=tmp_path)


def test_bundled_atlases_and_tables():
    atlas = fetch.fetch_desikan_killiany()
    assert atlas["image"].endswith("atlas-desikankilliany.nii.gz")
    assert atlas["info"].endswith("atlas-desikankilliany.csv")
    surf = fetch.fetch_desikan_killiany(surface=True)["image"]
    assert [Path(p).name for p in surf] == ["atlas-desikankilliany-lh.label.gii.gz",
                                            "atlas-desikankilliany-rh.label.gii.gz"]
    native = fetch.fetch_desikan_killiany(native=True)["image"]
    assert list(native) == ["9861", "10021", "12876", "14380", "15496", "15697"]
    assert native["9861"].endswith(os.path.join("native_dk", "9861",
                                                "atlas-desikankilliany.nii.gz"))
    native_surf = fetch.fetch_desikan_killiany(native=True, surface=True)["image"]
    assert all(Path(p).is_file() for pair in native_surf.values() for p in pair)
    info = fetch.fetch_donor_info()
    assert info.shape == (6, 7) and "post_mortem_interval_hours" in info
    layers = fetch.fetch_gene_group("LAYERS")
    assert len(layers) == 46 and all(isinstance(g, str) for g in layers)
    assert len(fetch.fetch_gene_group("brain")) > 2000
    with pytest.raises(InvalidOptionError):
        fetch.fetch_gene_group("astrocyte")


def test_fetch_fsaverage5():
    pytest.importorskip("nibabel")
    paths = fetch.fetch_fsaverage5(load=False)
    assert paths.lh.endswith("fsaverage5-pial-lh.surf.gii.gz")
    brain = fetch.fetch_fsaverage5()
    assert brain.lh.vertices.shape == (10242, 3) and brain.rh.faces.shape == (20480, 3)


# --------------------------------------------------------------------------- download_file


def test_download_file_progress_and_reuse(tmp_path, capsys, no_env):
    payload = os.urandom(300_000)
    with FileServer({"/f.bin": payload}) as srv:
        dest = fetch.download_file(f"{srv.url}/f.bin", tmp_path / "f.bin",
                                   expected_size=len(payload), registry=tmp_path / "reg.json",
                                   progress=True, backoff=0)
        assert dest.read_bytes() == payload
        assert "100.0%" in capsys.readouterr().err
        fetch.download_file(f"{srv.url}/f.bin", dest, expected_size=len(payload), progress=False)
        assert srv.request_count == 1  # a verified existing file needs no request
    reg = json.loads((tmp_path / "reg.json").read_text())
    assert reg["files"]["f.bin"]["sha256"] == hashlib.sha256(payload).hexdigest()


def test_download_file_complete_part_file(tmp_path, no_env):
    payload = b"abc" * 1000
    (tmp_path / "f.bin.part").write_bytes(payload)
    with FileServer({"/f.bin": payload}) as srv:
        fetch.download_file(f"{srv.url}/f.bin", tmp_path / "f.bin", progress=False)
        assert srv.requests[0].status == 416  # nothing left to send
    assert (tmp_path / "f.bin").read_bytes() == payload
