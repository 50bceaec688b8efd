"""Tests of abagen_core.mouse against a local mock of the Allen Brain Atlas RMA API.

The mock (:class:`MockRMA`) runs behind tests/httpserver.py's FileServer on
127.0.0.1 and answers ``/api/v2/data/query.json?criteria=...`` in the API's
documented JSON envelope (``success``, ``id``, ``start_row``, ``num_rows``,
``total_rows``, ``msg``). It interprets the subset of RMA the module sends:
``model::``, ``rma::criteria`` filters (``$eq``, ``$in``, ``$li`` on fields
and on associations such as ``products[id$eq1]``), ``rma::include`` and
``rma::options`` (``only``, ``order``, ``start_row``, ``num_rows``). Its
records are small and written for these tests; the values printed in the
manual's examples (Pdyn 18376, structure 1018 at 7800/3400/1050, ...) are used
where the manual gives them. No test touches the internet.
"""

from __future__ import annotations

import ast
import fnmatch
import inspect
import json
import re
import urllib.parse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abagen_core import mouse
from abagen_core.datasets import fetch

try:
    from httpserver import FileServer
except ImportError:  # tests/ imported as a package
    from tests.httpserver import FileServer

MANUAL = Path(__file__).resolve().parents[2] / "shared" / "seed" / "abagen-manual.txt"

# --------------------------------------------------------------------------- mock data


def _gene(gid, acronym, name, product=1, organism=2):
    return {"id": gid, "acronym": acronym, "name": name, "entrez_id": gid + 100000,
            "organism_id": organism, "chromosome_id": 7, "homologene_id": gid + 5,
            "legacy_ensembl_gene_id": None, "ensembl_id": f"ENSMUSG{gid:011d}",
            "alias_tags": "", "sphinx_id": gid + 7, "products": [{"id": product}]}


GENES = [
    _gene(18376, "Pdyn", "prodynorphin"),
    _gene(11210, "Ace", "angiotensin I converting enzyme (peptidyl-dipeptidase A) 1"),
    _gene(163028, "Cd99", "CD99 antigen"),
    _gene(14394, "Gabra1", "gamma-aminobutyric acid (GABA) A receptor, subunit alpha 1"),
    _gene(20604, "Sst", "somatostatin"),
    _gene(12345, "NA", "a gene whose acronym looks like a missing value"),
    _gene(1018376, "PDYN", "prodynorphin (human)", product=2, organism=1),
]


def _structure(sid, acronym, name, graph=1, parent=None):
    return {"id": sid, "acronym": acronym, "name": name, "atlas_id": sid + 1, "color_hex_triplet":
            "009FAC", "depth": 7, "failed": False, "failed_facet": 734881840, "graph_id": graph,
            "graph_order": sid % 97, "hemisphere_id": 3, "neuro_name_structure_id": None,
            "neuro_name_structure_id_path": None, "ontology_id": graph, "parent_structure_id":
            parent, "safe_name": name, "sphinx_id": sid + 3, "st_level": None,
            "structure_id_path": f"/997/{sid}/", "structure_name_facet": 12345, "weight": 8690}


STRUCTURES = [
    _structure(22, "PTLp", "Posterior parietal association areas", parent=315),
    _structure(31, "ACA", "Anterior cingulate area", parent=315),
    _structure(1018, "AUDv", "Ventral auditory area", parent=247),
    _structure(375, "CA", "Ammon's horn", parent=1089),
    _structure(44, "ILA", "Infralimbic area", parent=315),
    _structure(4000, "ACA", "anterior cingulate area (human)", graph=10),
]

CENTERS = [  # StructureCenter: (structure_id, reference_space_id, x, y, z)
    {"id": 1, "structure_id": 1018, "reference_space_id": 10, "x": 7800, "y": 3400, "z": 1050},
    {"id": 2, "structure_id": 1018, "reference_space_id": 9, "x": 7800, "y": 3400, "z": 10350},
    {"id": 3, "structure_id": 22, "reference_space_id": 10, "x": 8500, "y": 1300, "z": 3400},
    {"id": 4, "structure_id": 31, "reference_space_id": 10, "x": 4300, "y": 1800, "z": 400},
    {"id": 5, "structure_id": 375, "reference_space_id": 10, "x": 7000, "y": 3000, "z": 3200},
]


def _dataset(did, gene_id, plane, failed=False, product=1):
    gene = next(g for g in GENES if g["id"] == gene_id)
    return {"id": did, "failed": failed, "plane_of_section_id": 2 if plane == "sagittal" else 1,
            "section_thickness": 25, "specimen_id": did + 50,
            "genes": [{k: v for k, v in gene.items() if k != "products"}],
            "products": [{"id": product}], "plane_of_section": {"name": plane}}


DATASETS = [
    _dataset(1001, 18376, "sagittal"),
    _dataset(1002, 18376, "sagittal"),
    _dataset(1003, 18376, "sagittal", failed=True),
    _dataset(1004, 18376, "coronal"),
    _dataset(1007, 18376, "sagittal", product=3),
    _dataset(1005, 11210, "sagittal"),
    _dataset(1006, 163028, "sagittal"),
    _dataset(1008, 20604, "coronal"),
]

# expression_density per (experiment, structure): two Pdyn experiments average to the
# manual's example values; excluded experiments (failed, coronal, other product) hold 9.9
DENSITY = {
    (1001, 22): 0.020000, (1002, 22): 0.029680, (1001, 31): 0.017000, (1002, 31): 0.017398,
    (1001, 1018): 0.5, (1002, 1018): 0.7,
    (1005, 22): 0.001283, (1005, 31): 0.001427, (1006, 22): 0.067537, (1006, 31): 0.056442,
    (1003, 22): 9.9, (1003, 31): 9.9, (1004, 22): 9.9, (1004, 31): 9.9, (1007, 22): 9.9,
    (1007, 31): 9.9, (1008, 22): 9.9,
}


def _unionizes():
    rows = []
    for n, ((exp, sid), density) in enumerate(sorted(DENSITY.items())):
        rows.append({"id": 5000 + n, "section_data_set_id": exp, "structure_id": sid,
                     "expression_density": density, "expression_energy": density * 10,
                     "sum_expressing_pixel_intensity": 1000.0 * n,
                     "sum_expressing_pixels": 10.0 * n, "sum_pixel_intensity": 2000.0 + n,
                     "sum_pixels": 500.0 + n, "voxel_energy_cv": 0.5, "voxel_energy_mean": 1.5})
    return rows


MODELS = {"Gene": GENES, "Structure": STRUCTURES, "StructureCenter": CENTERS,
          "SectionDataSet": DATASETS, "StructureUnionize": _unionizes()}
ASSOCIATIONS = {"products", "genes", "plane_of_section"}


# --------------------------------------------------------------------------- mock RMA server


def _split(text: str) -> list[str]:
    """Split at commas outside brackets and quotes."""
    parts, buf, depth, quoted = [], [], 0, False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "[]":
            depth += 1 if ch == "[" else -1
        if ch == "," and not depth and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def _value(token: str):
    if token.startswith("'") and token.endswith("'"):
        return token[1:-1]
    try:
        return int(token)
    except ValueError:
        return token


def _match(actual, op: str, values: list) -> bool:
    if isinstance(actual, bool):
        actual = str(actual).lower()
    if op == "eq":
        return actual == values[0]
    if op == "in":
        return actual in values
    if op == "li":
        return isinstance(actual, str) and fnmatch.fnmatchcase(actual, str(values[0]))
    raise AssertionError(f"operator {op} not supported by the mock")


class MockRMA:
    """A minimal RMA query service over the MODELS tables (see module docstring)."""

    def __init__(self, max_rows: int = 2000):
        self.max_rows = max_rows  # the server's own page-size cap
        self.total_offset = 0  # > 0: announce more rows than exist
        self.fail_message: str | None = None  # answer success: false
        self.queries: list[str] = []

    def __call__(self, path: str):
        url = urllib.parse.urlsplit(path)
        if url.path != "/api/v2/data/query.json":
            return None
        criteria = urllib.parse.parse_qs(url.query)["criteria"][0]
        self.queries.append(criteria)
        if self.fail_message is not None:
            return self._envelope(False, self.fail_message)
        model, filters, includes, options = None, [], [], {}
        stage = None
        for token in _split(criteria):
            head, brackets = re.match(r"^([\w:]*)((?:\[[^\]]*\])*)$", token).groups()
            conds = re.findall(r"\[([^\]]*)\]", brackets)
            if head.startswith("model::"):
                model = head[7:]
            elif head in ("rma::criteria", "rma::include"):
                stage = head
            elif head == "rma::options":
                for cond in conds:
                    key, val = cond.split("$eq", 1)
                    options[key] = _value(val)
            elif stage == "rma::include" and not conds:
                includes.append(head)
            else:
                for cond in conds:
                    field, op, raw = re.match(r"^([\w.]+)\$(eq|in|li)(.*)$", cond).groups()
                    filters.append((head, field, op, [_value(v) for v in _split(raw)]))
        if model not in MODELS:
            return self._envelope(False, f"Data Access error: unknown model {model!r}")
        rows = [r for r in MODELS[model] if all(self._keep(r, *f) for f in filters)]
        if "order" in options:
            field = str(options["order"]).split(".")[-1]
            rows.sort(key=lambda r: r[field])
        total = len(rows)
        start = int(options.get("start_row", 0))
        page = rows[start:start + min(int(options.get("num_rows", 50)), self.max_rows)]
        only = str(options["only"]).split(",") if "only" in options else None
        out = []
        for row in page:
            keep = {k: v for k, v in row.items() if k not in ASSOCIATIONS or k in includes}
            if only is not None:
                keep = {k: v for k, v in keep.items() if k in only or k in includes}
            out.append(keep)
        return self._envelope(True, out, start, total + self.total_offset)

    @staticmethod
    def _keep(row, assoc, field, op, values) -> bool:
        if not assoc:
            return _match(row.get(field), op, values)
        linked = row.get(assoc)
        linked = linked if isinstance(linked, list) else [linked]
        return any(isinstance(x, dict) and _match(x.get(field), op, values) for x in linked)

    @staticmethod
    def _envelope(success, msg, start=0, total=0) -> bytes:
        n = len(msg) if isinstance(msg, list) else 0
        return json.dumps({"success": success, "id": 0, "start_row": start, "num_rows": n,
                           "total_rows": total, "msg": msg}).encode()


@pytest.fixture
def api(monkeypatch):
    """(server, mock): a local RMA server that abagen_core.mouse is pointed at."""
    mock = MockRMA()
    with FileServer(app=mock, content_type="application/json") as server:
        monkeypatch.setenv("ABAGEN_MOUSE_API_URL", server.url + "/")
        monkeypatch.setattr(mouse, "BACKOFF", 0.01)
        monkeypatch.setattr(mouse, "RETRIES", 2)
        monkeypatch.setattr(mouse, "TIMEOUT", 5.0)
        yield server, mock


# --------------------------------------------------------------------------- signatures

DOCUMENTED = {  # section 7.7.8 of the abagen manual: name -> [(parameter, default)]
    "available_gene_info": [],
    "available_structure_info": [],
    "available_unionization_info": [],
    "get_gene_info": [("id", None), ("acronym", None), ("name", None), ("attributes", None),
                      ("verbose", False)],
    "get_structure_info": [("id", None), ("acronym", None), ("name", None), ("attributes", None),
                           ("verbose", False)],
    "get_structure_coordinates": [("id", None), ("acronym", None), ("name", None),
                                  ("reference_space", "sagittal"), ("verbose", False)],
    "get_unionization_from_gene": [("id", None), ("acronym", None), ("name", None),
                                   ("slicing_direction", "sagittal"), ("structures", None),
                                   ("attributes", None), ("average", True), ("verbose", False)],
    "fetch_allenref_genes": [("entry_type", None), ("cache", True), ("data_dir", None),
                             ("verbose", True)],
    "fetch_allenref_structures": [("entry_type", None), ("cache", True), ("data_dir", None),
                                  ("verbose", True)],
    "fetch_rubinov2015_structures": [("entry_type", None)],
}


def _manual_signatures(text: str) -> dict[str, list[tuple[str, object]]]:
    """Signatures of abagen.mouse.* in the manual (the longest seen for each name)."""
    text = re.sub(r"\s+", " ", text)
    out: dict[str, list[tuple[str, object]]] = {}
    for name, params in re.findall(r"abagen\.mouse\.(\w+)\(([^()\[\]]*)\)", text):
        parsed = []
        for item in filter(None, (p.strip() for p in params.split(","))):
            key, _, default = item.partition("=")
            parsed.append((key.strip(), ast.literal_eval(default.strip())))
        if len(parsed) >= len(out.get(name, [])):
            out[name] = parsed
    return out


def test_manual_lists_the_documented_functions():
    if not MANUAL.is_file():
        pytest.skip(f"manual not found at {MANUAL}")
    assert _manual_signatures(MANUAL.read_text(encoding="utf-8")) == DOCUMENTED


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_signature_matches_manual(name):
    func = getattr(mouse, name)
    assert name in mouse.__all__
    params = [(p.name, p.default) for p in inspect.signature(func).parameters.values()]
    assert params == DOCUMENTED[name]
    assert "Returns" in (func.__doc__ or "")


def test_import_forms():
    import abagen_core.mouse as by_path
    from abagen_core import mouse as by_from

    assert by_path is by_from is mouse


def test_available_attributes_are_copies():
    genes = mouse.available_gene_info()
    assert {"id", "acronym", "name", "entrez_id"} <= set(genes)
    genes.append("bogus")
    assert "bogus" not in mouse.available_gene_info()
    assert len(mouse.available_unionization_info()) == 8
    assert "structure_id_path" in mouse.available_structure_info()


def test_api_url_from_environment(monkeypatch):
    monkeypatch.setenv("ABAGEN_MOUSE_API_URL", "http://127.0.0.1:9/mirror/")
    assert mouse.get_mouse_api_url() == "http://127.0.0.1:9/mirror"
    monkeypatch.delenv("ABAGEN_MOUSE_API_URL")
    assert mouse.get_mouse_api_url() == "https://api.brain-map.org"


# --------------------------------------------------------------------------- genes


def test_gene_info_manual_example(api):
    info = mouse.get_gene_info(acronym="Pdyn", attributes=["id", "name"])
    assert info.index.name == "acronym"
    assert list(info.columns) == ["id", "name"]
    assert info.shape == (1, 2)
    assert info.loc["Pdyn", "id"] == 18376
    assert info.loc["Pdyn", "name"] == "prodynorphin"
    server, mock = api
    assert "products[id$eq1]" in mock.queries[-1]  # the human PDYN record is not matched
    assert "[acronym$eq'Pdyn']" in mock.queries[-1]


def test_gene_info_list_keeps_order(api):
    info = mouse.get_gene_info(acronym=["Cd99", "Ace"], attributes=["id", "name"])
    assert list(info.index) == ["Cd99", "Ace"]
    assert list(info["id"]) == [163028, 11210]
    assert info.loc["Ace", "name"].startswith("angiotensin I converting enzyme")


def test_gene_info_by_id_single_attribute_and_all(api):
    info = mouse.get_gene_info(id=[11210, 18376], attributes="acronym")
    assert info.index.name == "id"
    assert list(info.columns) == ["acronym"]
    assert list(info["acronym"]) == ["Ace", "Pdyn"]
    full = mouse.get_gene_info(name="prodynorphin")
    assert full.index.name == "name"
    assert set(full.columns) >= {"id", "acronym", "entrez_id", "ensembl_id"}
    assert "products" not in full.columns  # associations are only sent when included


def test_gene_info_unknown_and_case(api):
    with pytest.raises(ValueError, match=r"'Nosuchgene'.*case-sensitive.*fetch_allenref_genes"):
        mouse.get_gene_info(acronym=["Pdyn", "Nosuchgene"])
    with pytest.raises(ValueError, match="'pdyn'"):  # acronyms are case sensitive
        mouse.get_gene_info(acronym="pdyn")


def test_invalid_arguments_fail_before_any_request(api):
    server, _ = api
    with pytest.raises(ValueError, match=r"Invalid attribute.*'colour'.*acronym.*entrez_id"):
        mouse.get_gene_info(acronym="Pdyn", attributes=["id", "colour"])
    with pytest.raises(ValueError, match="structure_id_path"):
        mouse.get_structure_info(id=22, attributes="bogus")
    with pytest.raises(ValueError, match="expression_energy"):
        mouse.get_unionization_from_gene(acronym="Pdyn", attributes=["expression_densty"])
    with pytest.raises(ValueError, match="exactly one of id, acronym or name"):
        mouse.get_gene_info(id=1, acronym="Pdyn")
    with pytest.raises(ValueError, match="exactly one of id, acronym or name"):
        mouse.get_structure_info()
    with pytest.raises(ValueError, match="coronal"):
        mouse.get_structure_coordinates(id=22, reference_space="axial")
    with pytest.raises(ValueError, match="slicing_direction"):
        mouse.get_unionization_from_gene(acronym="Pdyn", slicing_direction="axial")
    with pytest.raises(ValueError, match="entry_type"):
        mouse.fetch_allenref_genes(entry_type="symbol")
    with pytest.raises(ValueError, match="integer"):
        mouse.get_gene_info(id="Pdyn")
    assert server.request_count == 0


# --------------------------------------------------------------------------- structures


def test_structure_info_manual_example(api):
    info = mouse.get_structure_info(id=[22, 1018], attributes=["acronym", "name"])
    assert info.index.name == "id"
    assert list(info.index) == [22, 1018]
    assert list(info.columns) == ["acronym", "name"]
    assert info.loc[22, "acronym"] == "PTLp"
    assert info.loc[1018, "name"] == "Ventral auditory area"


def test_structure_info_graph_and_apostrophe(api):
    info = mouse.get_structure_info(acronym="ACA", attributes=["id", "graph_id"])
    assert info.loc["ACA", "id"] == 31  # the human-graph ACA (4000) is filtered out
    named = mouse.get_structure_info(name=["Ammon's horn", "Infralimbic area"], attributes="id")
    assert list(named["id"]) == [375, 44]
    with pytest.raises(ValueError,
                       match=r"Structure\(s\) not found.*id: 99999.*fetch_allenref_structures"):
        mouse.get_structure_info(id=[22, 99999])


def test_structure_coordinates_manual_example(api):
    coords = mouse.get_structure_coordinates(id=1018)
    assert list(coords.columns) == ["structure_id", "x", "y", "z"]
    assert coords.shape == (1, 4)
    assert coords.iloc[0].tolist() == [1018, 7800, 3400, 1050]
    assert list(coords.index) == [0]
    coronal = mouse.get_structure_coordinates(id=1018, reference_space="coronal")
    assert coronal.iloc[0].tolist() == [1018, 7800, 3400, 10350]
    _, mock = api
    assert "[reference_space_id$eq9]" in mock.queries[-1]


def test_structure_coordinates_by_acronym_and_missing(api):
    coords = mouse.get_structure_coordinates(acronym=["ACA", "PTLp"])
    assert coords["structure_id"].tolist() == [31, 22]
    with pytest.raises(ValueError, match=r"coronal.*\[375\]"):
        mouse.get_structure_coordinates(id=375, reference_space="coronal")


# --------------------------------------------------------------------------- unionization


def test_unionization_manual_example_averages_experiments(api):
    union = mouse.get_unionization_from_gene(acronym="Pdyn", structures=[22, 31])
    assert union.index.names == ["gene_id", "structure_id"]
    assert list(union.columns) == ["expression_density"]
    assert list(union.index) == [(18376, 22), (18376, 31)]
    # mean of experiments 1001 and 1002; failed, coronal and other-product ones excluded
    np.testing.assert_allclose(union["expression_density"], [0.024840, 0.017199], atol=1e-9)


def test_unionization_without_average_keeps_experiments(api):
    union = mouse.get_unionization_from_gene(acronym="Pdyn", structures=[22, 31], average=False)
    assert union.index.names == ["gene_id", "experiment_id", "structure_id"]
    assert union.index.get_level_values("experiment_id").unique().tolist() == [1001, 1002]
    assert union.shape == (4, 1)
    assert union.loc[(18376, 1002, 22), "expression_density"] == pytest.approx(0.02968)


def test_unionization_several_genes_and_attributes(api):
    union = mouse.get_unionization_from_gene(acronym=["Ace", "Cd99"], structures=[22, 31])
    assert list(union.index) == [(11210, 22), (11210, 31), (163028, 22), (163028, 31)]
    np.testing.assert_allclose(union["expression_density"],
                               [0.001283, 0.001427, 0.067537, 0.056442])
    every = mouse.get_unionization_from_gene(id=18376, structures=["PTLp", "Anterior cingulate "
                                                                     "area", 1018],
                                             attributes="all")
    assert list(every.columns) == mouse.available_unionization_info()
    assert list(every.index.get_level_values("structure_id")) == [22, 31, 1018]
    assert every.loc[(18376, 1018), "expression_energy"] == pytest.approx(6.0)


def test_unionization_default_structures_and_errors(api):
    union = mouse.get_unionization_from_gene(acronym="Pdyn")  # Rubinov 2015 structures
    rubinov = mouse.fetch_rubinov2015_structures("id")
    assert 1018 in rubinov
    # the Rubinov 2015 structures that have data in the mock, in the list's order
    assert list(union.index.get_level_values("structure_id")) == sorted(
        [22, 31, 1018], key=rubinov.index)
    with pytest.raises(ValueError, match="'Nowhere'"):
        mouse.get_unionization_from_gene(acronym="Pdyn", structures=[22, "Nowhere"])
    with pytest.raises(ValueError, match="99999"):
        mouse.get_unionization_from_gene(acronym="Pdyn", structures=[22, 99999])
    with pytest.raises(ValueError, match=r"No sagittal .*\[20604\].*coronal"):
        mouse.get_unionization_from_gene(acronym="Sst", structures=[22])
    with pytest.raises(ValueError, match="'Nosuchgene'"):
        mouse.get_unionization_from_gene(acronym="Nosuchgene")


# --------------------------------------------------------------------------- HTTP and envelope


def test_paging_collects_every_row(api, tmp_path):
    server, mock = api
    mock.max_rows = 2  # the server sends at most two rows per page
    genes = mouse.fetch_allenref_genes(data_dir=tmp_path, verbose=False)
    assert len(genes) == 6  # six mouse-product genes, in three pages
    assert server.request_count == 3
    starts = [re.search(r"start_row\$eq(\d+)", q).group(1) for q in mock.queries]
    assert starts == ["0", "2", "4"]


def test_incomplete_paging_is_an_error(api, tmp_path):
    server, mock = api
    mock.max_rows = 2
    mock.total_offset = 1  # total_rows announces one row that never comes
    with pytest.raises(mouse.AllenAPIError, match="stopped sending rows after 6 of 7"):
        mouse.fetch_allenref_genes(data_dir=tmp_path, verbose=False)
    assert not list(tmp_path.iterdir())  # nothing cached


def test_unsuccessful_answer_is_an_error(api):
    _, mock = api
    mock.fail_message = "Data Access error in query"
    with pytest.raises(mouse.AllenAPIError, match="Data Access error"):
        mouse.get_gene_info(acronym="Pdyn")


def test_envelope_checks():
    url = "http://127.0.0.1:9/api/v2/data/query.json"
    good = {"success": True, "id": 0, "start_row": 0, "num_rows": 1, "total_rows": 1,
            "msg": [{"id": 1}]}
    assert mouse._check_envelope(good, url, 0) == ([{"id": 1}], 1)
    for bad in ({**good, "num_rows": 2}, {**good, "start_row": 5}, {**good, "total_rows": 0},
                {**good, "msg": "oops"}, [good], {**good, "total_rows": None}):
        with pytest.raises(mouse.AllenAPIError):
            mouse._check_envelope(bad, url, 0)


def test_server_error_then_success(api):
    server, _ = api
    server.add_fault("*", "error", status=503)
    info = mouse.get_gene_info(acronym="Pdyn", attributes="id")
    assert info.loc["Pdyn", "id"] == 18376
    assert [r.status for r in server.requests] == [503, 200]


def test_client_error_is_not_retried(api):
    server, _ = api
    server.add_fault("*", "error", status=400, times=None)
    with pytest.raises(fetch.DownloadError, match="HTTP 400"):
        mouse.get_gene_info(acronym="Pdyn")
    assert server.request_count == 1


@pytest.mark.parametrize("kind", ["cut", "short"])
def test_truncated_answer_is_an_error(api, kind):
    server, _ = api
    server.add_fault("*", kind, after=40, times=None)
    with pytest.raises(fetch.DownloadError, match="3 attempt"):
        mouse.get_gene_info(acronym="Pdyn")
    assert server.request_count == 3  # first attempt + RETRIES


def test_truncated_answer_then_success(api):
    server, _ = api
    server.add_fault("*", "short", after=25)
    assert mouse.get_gene_info(acronym="Ace", attributes="id").loc["Ace", "id"] == 11210
    assert server.request_count == 2


def test_get_json_errors():
    with FileServer({"/ok": b'{"a": [1, 2]}', "/bad": b"<html>not json</html>"}) as server:
        assert fetch.get_json(server.url + "/ok") == {"a": [1, 2]}
        with pytest.raises(fetch.DownloadError, match="invalid or truncated JSON"):
            fetch.get_json(server.url + "/bad", retries=1, backoff=0.01)
        with pytest.raises(fetch.DownloadError, match="HTTP 404"):
            fetch.get_json(server.url + "/missing", retries=3, backoff=0.01)
        assert server.request_count == 4  # 1 + 2 + 1: a 404 is not retried


# --------------------------------------------------------------------------- reference lists


def test_allenref_genes_cached_on_disk(api, tmp_path, capsys):
    server, _ = api
    genes = mouse.fetch_allenref_genes(data_dir=tmp_path)  # verbose=True by default
    assert "Saved 6 genes to" in capsys.readouterr().err
    assert isinstance(genes, pd.DataFrame)
    assert len(genes) == 6 and "PDYN" not in set(genes["acronym"])
    assert "NA" in set(genes["acronym"])  # a string, not a missing value
    n_requests = server.request_count
    meta = json.loads((tmp_path / "allenref_genes.json").read_text())
    assert meta["n_rows"] == 6 and meta["model"] == "Gene"
    assert meta["url"].startswith(server.url + "/api/v2/data/query.json?criteria=model::Gene")
    assert re.match(r"\d{4}-\d\d-\d\dT", meta["created"])
    again = mouse.fetch_allenref_genes(data_dir=tmp_path)
    assert server.request_count == n_requests  # the second call makes no request
    assert "Loaded 6 genes from" in capsys.readouterr().err
    pd.testing.assert_frame_equal(again, genes)
    assert mouse.fetch_allenref_genes("acronym", data_dir=tmp_path, verbose=False)[:3] == [
        "Ace", "NA", "Gabra1"]  # ordered by id
    ids = mouse.fetch_allenref_genes(entry_type="id", data_dir=tmp_path, verbose=False)
    assert 18376 in ids and all(isinstance(i, int) for i in ids)
    mouse.fetch_allenref_genes(cache=False, data_dir=tmp_path, verbose=False)
    assert server.request_count == n_requests + 1  # cache=False downloads again


def test_allenref_cache_default_dir_and_damage(api, tmp_path, monkeypatch):
    server, _ = api
    monkeypatch.setenv("ABAGEN_DATA", str(tmp_path))
    structures = mouse.fetch_allenref_structures(verbose=False)
    assert sorted(structures["id"]) == [22, 31, 44, 375, 1018]  # graph 1 only
    csv = tmp_path / "allenref_structures.csv"
    assert csv.is_file() and not list(tmp_path.glob("*.tmp"))
    csv.write_text(csv.read_text()[:200])  # an interrupted or edited file
    before = server.request_count
    with pytest.warns(UserWarning, match="does not match"):
        again = mouse.fetch_allenref_structures(entry_type="name", verbose=False)
    assert server.request_count == before + 1
    assert "Ammon's horn" in again


def test_failed_download_leaves_no_cache(api, tmp_path):
    server, _ = api
    server.add_fault("*", "error", status=500, times=None)
    with pytest.raises(fetch.DownloadError):
        mouse.fetch_allenref_structures(data_dir=tmp_path, verbose=False)
    assert not list(tmp_path.iterdir())


def test_rubinov2015_structures():
    table = mouse.fetch_rubinov2015_structures()
    assert table.shape == (56, 3)
    assert list(table.columns) == ["acronym", "name", "id"]
    assert mouse.fetch_rubinov2015_structures("id")[:2] == [22, 31]
    assert mouse.fetch_rubinov2015_structures(entry_type="acronym")[0] == "PTLp"
    assert len(set(mouse.fetch_rubinov2015_structures("name"))) == 56
    with pytest.raises(ValueError, match="entry_type"):
        mouse.fetch_rubinov2015_structures("label")
