"""Query the Allen Mouse Brain Atlas: abagen 0.1.3's ``abagen.mouse``.

The functions have the names, signatures, defaults and return values listed
in section 7.7.8 of abagen's manual. Gene, structure, coordinate and
expression ("unionization") data come from the Allen Brain Atlas API's
RESTful Model Access (RMA) query service::

    {api_url}/api/v2/data/query.json?criteria=model::<Model>,rma::criteria,<filters>,
        rma::options[only$eq'<fields>'][order$eq'<table>.id'][start_row$eq<n>][num_rows$eq<m>]

Models queried (Allen API data model): ``Gene`` (restricted to the "Mouse
Brain" product, ``products[id$eq1]``), ``Structure`` (structure graph 1, the
adult Mouse Brain Atlas ontology), ``StructureCenter`` (structure
coordinates in reference space 10, sagittal, or 9, coronal),
``SectionDataSet`` (in situ hybridisation experiments: not failed, Mouse
Brain product, one plane of section) and ``StructureUnionize`` (expression
statistics of one structure in one experiment).

Every answer is checked against the API's JSON envelope (``success``,
``start_row``, ``num_rows``, ``total_rows``, ``msg``); results are paged
with ``start_row``/``num_rows`` until ``total_rows`` rows are collected, and
an answer that is unsuccessful, inconsistent or incomplete raises
:class:`AllenAPIError` instead of returning a partial result. HTTP requests
go through :func:`abagen_core.datasets.fetch.get_json` (timeouts, retries with
exponential backoff).

Configuration
-------------
``$ABAGEN_MOUSE_API_URL``
    Base URL of the API (default ``https://api.brain-map.org``), e.g. a
    mirror or a local test server.
``RETRIES``, ``BACKOFF``, ``TIMEOUT``, ``PAGE_SIZE``
    Module attributes: retries per request, first retry delay (seconds,
    doubled for each further retry), socket timeout (seconds) and rows
    requested per page.

The complete gene and structure lists (:func:`fetch_allenref_genes`,
:func:`fetch_allenref_structures`) are cached in the data folder (``data_dir``,
else ``$ABAGEN_DATA``, else ``~/abagen-data``) as ``allenref_genes.csv`` /
``allenref_structures.csv``, each with a JSON sidecar recording the query
URL, the date, the row count and the CSV's sha256. Both files are written to
temporary files and moved into place, and a CSV whose sidecar does not match
it is downloaded again, so an interrupted download never leaves a cache that
is used.

Examples
--------
>>> from abagen_core import mouse
>>> mouse.get_gene_info(acronym='Pdyn', attributes=['id', 'name'])  # doctest: +SKIP
            id          name
acronym
Pdyn     18376  prodynorphin
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import sys
import urllib.parse
import warnings
from collections.abc import Iterable, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any

import pandas as pd

from abagen_core.datasets.fetch import DownloadError, get_json
from abagen_core.storage.atomic import atomic_path
from abagen_core.utils import check_choice, data_path

__all__ = [
    "DEFAULT_MOUSE_API_URL",
    "AllenAPIError",
    "get_mouse_api_url",
    "available_gene_info",
    "available_structure_info",
    "available_unionization_info",
    "get_gene_info",
    "get_structure_info",
    "get_structure_coordinates",
    "get_unionization_from_gene",
    "fetch_allenref_genes",
    "fetch_allenref_structures",
    "fetch_rubinov2015_structures",
]

#: API server used when ``$ABAGEN_MOUSE_API_URL`` is not set
DEFAULT_MOUSE_API_URL = "https://api.brain-map.org"
#: environment variable overriding :data:`DEFAULT_MOUSE_API_URL`
API_URL_ENV = "ABAGEN_MOUSE_API_URL"
#: retries of a failed request (after the first attempt)
RETRIES = 3
#: seconds before the first retry (doubled for each further retry)
BACKOFF = 1.0
#: socket timeout of one request, in seconds
TIMEOUT = 60.0
#: rows requested per page (the server may send fewer)
PAGE_SIZE = 2000
#: values per ``$in`` filter (longer lists are split over several queries)
BATCH_SIZE = 100

#: Allen "Mouse Brain" product (the adult mouse in situ hybridisation atlas)
MOUSE_PRODUCT_ID = 1
#: structure graph of the adult Mouse Brain Atlas ontology
MOUSE_GRAPH_ID = 1
#: reference space of each plane: coronal data are registered to space 9, sagittal to 10
REFERENCE_SPACES: dict[str, int] = {"sagittal": 10, "coronal": 9}
SLICING_DIRECTIONS: tuple[str, ...] = ("sagittal", "coronal")
ENTRY_TYPES: tuple[str, ...] = ("id", "acronym", "name")

# fields of the API's Gene, Structure and StructureUnionize models
_GENE_ATTRIBUTES: tuple[str, ...] = (
    "acronym", "alias_tags", "chromosome_id", "ensembl_id", "entrez_id", "homologene_id", "id",
    "legacy_ensembl_gene_id", "name", "organism_id", "sphinx_id",
)
_STRUCTURE_ATTRIBUTES: tuple[str, ...] = (
    "acronym", "atlas_id", "color_hex_triplet", "depth", "failed", "failed_facet", "graph_id",
    "graph_order", "hemisphere_id", "id", "name", "neuro_name_structure_id",
    "neuro_name_structure_id_path", "ontology_id", "parent_structure_id", "safe_name",
    "sphinx_id", "st_level", "structure_id_path", "structure_name_facet", "weight",
)
_UNIONIZATION_ATTRIBUTES: tuple[str, ...] = (
    "expression_density", "expression_energy", "sum_expressing_pixel_intensity",
    "sum_expressing_pixels", "sum_pixel_intensity", "sum_pixels", "voxel_energy_cv",
    "voxel_energy_mean",
)
_COORDINATE_COLUMNS = ["structure_id", "x", "y", "z"]
# characters left as they are in the criteria query parameter
_URL_SAFE = "$[]:,'*()=!"


class AllenAPIError(DownloadError):
    """The Allen API answered, but not with a complete, successful result.

    Raised for ``success: false``, an answer that is not an RMA envelope, and
    paged results whose rows do not add up to ``total_rows``.
    """


# --------------------------------------------------------------------------- attribute lists


def available_gene_info() -> list[str]:
    """Lists available attributes for :func:`get_gene_info`: the API's ``Gene`` fields.

    Returns
    -------
    list of str
    """
    return list(_GENE_ATTRIBUTES)


def available_structure_info() -> list[str]:
    """Lists available attributes for :func:`get_structure_info`.

    Returns
    -------
    attributes : list of str
        Fields of the Allen API's ``Structure`` model.
    """
    return list(_STRUCTURE_ATTRIBUTES)


def available_unionization_info() -> list[str]:
    """Lists attributes for :func:`get_unionization_from_gene`.

    They are the expression statistics of the Allen API's ``StructureUnionize``
    model, one value per structure and experiment.

    Returns
    -------
    attributes : list of str
        Valid `attributes` of :func:`get_unionization_from_gene` (besides ``'all'``).
    """
    return list(_UNIONIZATION_ATTRIBUTES)


# --------------------------------------------------------------------------- RMA client


def get_mouse_api_url(api_url: str | None = None) -> str:
    """Base URL of the Allen Brain Atlas API.

    Parameters
    ----------
    api_url : str, optional
        Explicit URL; default ``$ABAGEN_MOUSE_API_URL``, else
        :data:`DEFAULT_MOUSE_API_URL`.

    Returns
    -------
    url : str
        The URL without a trailing slash.

    Examples
    --------
    >>> get_mouse_api_url('http://127.0.0.1:9/')
    'http://127.0.0.1:9'
    """
    url = api_url or os.environ.get(API_URL_ENV) or DEFAULT_MOUSE_API_URL
    return url.rstrip("/")


def _say(verbose: bool, msg: str) -> None:
    if verbose:
        print(msg, file=sys.stderr, flush=True)


def _literal(value: Any) -> str:
    """An RMA filter value: integers bare, strings in single quotes."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        return str(int(value))
    return f"'{value}'"


def _rma_filter(field: str, values: Sequence[Any]) -> str:
    """``[field$eqV]`` for one value, ``[field$inV1,V2,...]`` for several."""
    literals = [_literal(v) for v in values]
    if len(literals) == 1:
        return f"[{field}$eq{literals[0]}]"
    return f"[{field}$in{','.join(literals)}]"


def _query_url(criteria: str, api_url: str) -> str:
    return (f"{api_url}/api/v2/data/query.json?criteria="
            f"{urllib.parse.quote(criteria, safe=_URL_SAFE)}")


def _check_envelope(doc: Any, url: str, start: int) -> tuple[list[dict[str, Any]], int]:
    """Rows and ``total_rows`` of one RMA answer; AllenAPIError when it is not valid."""
    if not isinstance(doc, dict) or "success" not in doc:
        raise AllenAPIError(f"The Allen API answer to {url} is not an RMA response envelope "
                            f"(got {type(doc).__name__}); check the server address "
                            f"(${API_URL_ENV}, now {url.split('/api/')[0]}).")
    if doc["success"] is not True:
        raise AllenAPIError(f"The Allen API reported a failed query for {url}: {doc.get('msg')!r}")
    rows, num_rows, total = doc.get("msg"), doc.get("num_rows"), doc.get("total_rows")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise AllenAPIError(f"The Allen API answer to {url} has no list of records in 'msg'.")
    if not isinstance(num_rows, int) or not isinstance(total, int):
        raise AllenAPIError(f"The Allen API answer to {url} lacks integer 'num_rows' / "
                            f"'total_rows' (got {num_rows!r}, {total!r}).")
    if num_rows != len(rows):
        raise AllenAPIError(f"The Allen API answer to {url} says num_rows={num_rows} but holds "
                            f"{len(rows)} records (truncated answer?).")
    if "start_row" in doc and doc["start_row"] != start:
        raise AllenAPIError(f"The Allen API answered start_row={doc['start_row']!r} to a "
                            f"request for start_row={start} ({url}).")
    if start + len(rows) > total:
        raise AllenAPIError(f"The Allen API sent rows {start}-{start + len(rows) - 1} of a "
                            f"result it says has {total} rows ({url}).")
    return rows, total


def _rma_query(model: str, filters: Sequence[str], *, order: str,
               only: Sequence[str] | None = None, include: str | None = None,
               verbose: bool = False) -> tuple[list[dict[str, Any]], str]:
    """All rows of one RMA model query, collected page by page.

    Returns
    -------
    rows : list of dict
        Exactly ``total_rows`` records.
    url : str
        URL of the first page.
    """
    api_url = get_mouse_api_url()
    criteria = f"model::{model}"
    if filters:
        criteria += ",rma::criteria," + ",".join(filters)
    if include:
        criteria += f",rma::include,{include}"
    options = f"[only$eq'{','.join(only)}']" if only else ""
    options += f"[order$eq'{order}']"
    rows: list[dict[str, Any]] = []
    total: int | None = None
    first_url = ""
    label = f"Allen API query ({model})"
    while True:
        start = len(rows)
        url = _query_url(f"{criteria},rma::options{options}[start_row$eq{start}]"
                         f"[num_rows$eq{PAGE_SIZE}]", api_url)
        first_url = first_url or url
        doc = get_json(url, retries=RETRIES, backoff=BACKOFF, timeout=TIMEOUT, label=label,
                       verbose=int(verbose))
        page, page_total = _check_envelope(doc, url, start)
        if total is not None and page_total != total:
            raise AllenAPIError(f"{label}: total_rows changed from {total} to {page_total} "
                                "between pages (the data changed during the query); run it "
                                "again.")
        total = page_total
        rows.extend(page)
        if len(rows) >= total:
            break
        if not page:
            raise AllenAPIError(f"{label}: the server stopped sending rows after {len(rows)} of "
                                f"{total} (empty page at start_row={start}, {url}).")
        _say(verbose, f"{label}: {len(rows)} of {total} rows")
    if len(rows) != total:  # cannot happen after the checks above; never return a partial list
        raise AllenAPIError(f"{label}: collected {len(rows)} rows but total_rows is {total}.")
    return rows, first_url


def _batches(values: Sequence[Any], size: int | None = None) -> list[list[Any]]:
    size = size or BATCH_SIZE
    return [list(values[i:i + size]) for i in range(0, len(values), size)]


# --------------------------------------------------------------------------- identifiers


def _as_list(values: Any) -> list[Any]:
    if values is None:
        return []
    if isinstance(values, str | bytes | Integral) or not isinstance(values, Iterable):
        return [values]
    return list(values)


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} id must be an integer, got {value!r}.")
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"{what} id must be an integer, got {value!r}; use acronym= or name= for "
                     f"{what} names.")


def _unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _one_identifier(id: Any, acronym: Any, name: Any, what: str) -> tuple[str, list[Any]]:
    """(identifier type, values) from the id / acronym / name arguments."""
    given = [(key, val) for key, val in (("id", id), ("acronym", acronym), ("name", name))
             if val is not None]
    if len(given) != 1:
        raise ValueError(f"Provide exactly one of id, acronym or name for the {what}(s); got "
                         f"{[k for k, _ in given] or 'none'}.")
    key, raw = given[0]
    values = _as_list(raw)
    if not values:
        raise ValueError(f"No {what} given: {key} is empty.")
    if key == "id":
        values = [_as_int(v, what) for v in values]
    else:
        bad = [v for v in values if not isinstance(v, str)]
        if bad:
            raise ValueError(f"{what} {key}s must be strings, got {bad!r}.")
    return key, _unique(values)


def _check_attributes(attributes: Any, allowed: Sequence[str], lister: str) -> list[str] | None:
    """Validated attribute list (None: all); ValueError naming the valid ones."""
    if attributes is None:
        return None
    attrs = _as_list(attributes)
    bad = [a for a in attrs if not isinstance(a, str) or a not in allowed]
    if bad or not attrs:
        raise ValueError(f"Invalid attribute(s) {bad or attrs!r}. Valid attributes (see "
                         f"abagen_core.mouse.{lister}()): {', '.join(allowed)}.")
    return _unique(attrs)


def _lookup(model: str, key: str, values: Sequence[Any], extra: Sequence[str], *,
            order: str, only: Sequence[str] | None, verbose: bool) -> dict[Any, dict[str, Any]]:
    """Records of `model` whose `key` equals one of `values` (exact, case-sensitive)."""
    wanted = set(values)
    plain = [v for v in values if not (isinstance(v, str) and "'" in v)]
    quoted = [v for v in values if isinstance(v, str) and "'" in v]
    rows: list[dict[str, Any]] = []
    for batch in _batches(plain):
        rows += _rma_query(model, [*extra, _rma_filter(key, batch)], order=order, only=only,
                           verbose=verbose)[0]
    for value in quoted:  # an apostrophe cannot sit inside a quoted literal: match it with *
        pattern = value.replace("'", "*")
        rows += _rma_query(model, [*extra, f"[{key}$li'{pattern}']"], order=order, only=only,
                           verbose=verbose)[0]
    found: dict[Any, dict[str, Any]] = {}
    for row in rows:
        if key not in row:
            raise AllenAPIError(f"The Allen API's {model} records lack the field {key!r}.")
        if row[key] in wanted and row[key] not in found:
            found[row[key]] = row
    return found


def _not_found(what: str, key: str, missing: Sequence[Any], lister: str) -> str:
    shown = ", ".join(repr(m) for m in missing)
    hint = (" Acronyms and names are case-sensitive (mouse genes are written like 'Pdyn')."
            " Check the spelling," if key != "id" else " Check the id(s),")
    return (f"{what.capitalize()}(s) not found in the Allen Mouse Brain Atlas by {key}: {shown}."
            f"{hint} or see abagen_core.mouse.{lister}() for every available {what}.")


def _info_frame(found: dict[Any, dict[str, Any]], key: str, values: Sequence[Any],
                attrs: list[str] | None, model: str) -> pd.DataFrame:
    """(n_values, n_attributes) frame indexed by `key`, rows in the order of `values`."""
    table = pd.DataFrame([found[v] for v in values])
    columns = [c for c in (attrs if attrs is not None else table.columns) if c != key]
    lacking = [c for c in columns if c not in table.columns]
    if lacking:
        raise AllenAPIError(f"The Allen API's {model} records lack the field(s) {lacking}.")
    return table.set_index(key)[columns]


def _only(key: str, attrs: list[str] | None) -> list[str] | None:
    return None if attrs is None else _unique([key, *attrs])


# what differs between get_gene_info and get_structure_info: the API model, its fields, the
# function listing them, the filter restricting the records, the order and the fetcher of
# valid identifiers named in a not-found error
_INFO_QUERIES: dict[str, tuple[str, tuple[str, ...], str, str, str, str]] = {
    "gene": ("Gene", _GENE_ATTRIBUTES, "available_gene_info",
             f"products[id$eq{MOUSE_PRODUCT_ID}]", "genes.id", "fetch_allenref_genes"),
    "structure": ("Structure", _STRUCTURE_ATTRIBUTES, "available_structure_info",
                  f"[graph_id$eq{MOUSE_GRAPH_ID}]", "structures.id",
                  "fetch_allenref_structures"),
}


def _get_info(kind: str, identifiers: tuple[Any, Any, Any], attributes: Any,
              verbose: bool) -> pd.DataFrame:
    """get_gene_info (`kind` 'gene') or get_structure_info ('structure')."""
    model, known, listing, restriction, order, fetcher = _INFO_QUERIES[kind]
    key, values = _one_identifier(*identifiers, kind)
    attrs = _check_attributes(attributes, known, listing)
    _say(verbose, f"Querying the Allen API for {len(values)} {kind}(s) by {key}")
    found = _lookup(model, key, values, [restriction], order=order, only=_only(key, attrs),
                    verbose=verbose)
    missing = [v for v in values if v not in found]
    if missing:
        raise ValueError(_not_found(kind, key, missing, fetcher))
    return _info_frame(found, key, values, attrs, model)


# --------------------------------------------------------------------------- genes / structures


def get_gene_info(id: Any = None, acronym: Any = None, name: Any = None,
                  attributes: Any = None, verbose: bool = False) -> pd.DataFrame:
    """Queries Allen API for information about given gene.

    One of `id`, `acronym`, or `name` must be provided.

    Parameters
    ----------
    id : int or list of int, optional
        Numerical gene ID(s).
    acronym, name : str or list of str, optional
        Short-form gene acronym(s) or full gene name(s) (case sensitive).
    attributes : str or list of str, optional
        Which attributes to obtain; see :func:`available_gene_info`. Default:
        all attributes the API returns.
    verbose : bool, default=False
        Whether to print status messages.

    Returns
    -------
    info : (n_genes, n_attributes) pandas.DataFrame
        Index named after the identifier type given (``'id'``, ``'acronym'``
        or ``'name'``), one row per requested gene in the order given;
        columns are the requested attributes (the identifier itself is the
        index). A single attribute given as a str gives a one-column frame.

    Raises
    ------
    ValueError
        An invalid attribute (before any request) or an unknown gene.

    Examples
    --------
    >>> get_gene_info(acronym='Pdyn', attributes=['id', 'name'])  # doctest: +SKIP
                id          name
    acronym
    Pdyn     18376  prodynorphin
    """
    return _get_info("gene", (id, acronym, name), attributes, verbose)


def get_structure_info(id: Any = None, acronym: Any = None, name: Any = None,
                       attributes: Any = None, verbose: bool = False) -> pd.DataFrame:
    """Queries Allen API for information about given structure.

    One of `id`, `acronym`, or `name` must be provided. Structures are those
    of the adult Mouse Brain Atlas ontology (structure graph 1).

    Parameters
    ----------
    id, acronym, name : optional
        The structure(s): numerical ID(s) (int or list of int), or short-form
        acronym(s) or full name(s) (str or list of str, case sensitive).
    attributes : str or list of str, optional
        Which attributes to obtain; see :func:`available_structure_info`.
        Default: all attributes the API returns.
    verbose : bool, default=False
        Whether to print status messages.

    Returns
    -------
    info : (n_structures, n_attributes) pandas.DataFrame
        Columns are the requested attributes and the index is the provided
        structural identifier type (``'id'``, ``'acronym'`` or ``'name'``),
        rows in the order given.

    Raises
    ------
    ValueError
        An attribute :func:`available_structure_info` does not list (raised
        before any request), or a structure the ontology does not have.

    Examples
    --------
    >>> get_structure_info(id=[22, 1018], attributes=['acronym', 'name'])  # doctest: +SKIP
         acronym                                  name
    id
    22      PTLp  Posterior parietal association areas
    1018    AUDv                 Ventral auditory area
    """
    return _get_info("structure", (id, acronym, name), attributes, verbose)


def _structure_ids(key: str, values: Sequence[Any], verbose: bool) -> list[int]:
    """Structure ids of `values` (ids, acronyms or names), in order; unknown ones raise."""
    if key == "id":
        return list(values)
    info = get_structure_info(**{key: list(values)}, attributes=["id"], verbose=verbose)
    return [int(i) for i in info["id"]]


def get_structure_coordinates(id: Any = None, acronym: Any = None,
                              name: Any = None, reference_space: str = "sagittal",
                              verbose: bool = False) -> pd.DataFrame:
    """Finds xyz coordinates of provided structure(s) in `reference_space`.

    Coordinates (in microns) are those of the API's ``StructureCenter``
    records in reference space 10 (sagittal) or 9 (coronal).

    Parameters
    ----------
    id : int or list of int, optional
        Structure ID(s).
    acronym : str or list of str, optional
        Structure acronym(s), e.g. ``'AUDv'`` (case sensitive).
    name : str or list of str, optional
        Structure name(s), e.g. ``'Ventral auditory area'`` (case sensitive).
    reference_space : {'sagittal', 'coronal'}, default='sagittal'
        Reference space from which to extract coordinates.
    verbose : bool, default=False
        Whether to print status messages.

    Returns
    -------
    coords : (n_structures, 4) pandas.DataFrame
        Columns ``['structure_id', 'x', 'y', 'z']``, one row per structure in
        the order given, default integer index.

    Raises
    ------
    ValueError
        An unknown structure, or one without coordinates in `reference_space`.

    Examples
    --------
    >>> get_structure_coordinates(id=1018)  # doctest: +SKIP
       structure_id     x     y     z
    0          1018  7800  3400  1050
    """
    key, values = _one_identifier(id, acronym, name, "structure")
    reference_space = check_choice("reference_space", reference_space, list(REFERENCE_SPACES))
    ids = _structure_ids(key, values, verbose)
    space = REFERENCE_SPACES[reference_space]
    _say(verbose, f"Querying the Allen API for the coordinates of {len(ids)} structure(s) in "
         f"the {reference_space} reference space ({space})")
    found: dict[int, dict[str, Any]] = {}
    for batch in _batches(_unique(ids)):
        filters = [_rma_filter("structure_id", batch), f"[reference_space_id$eq{space}]"]
        rows, _ = _rma_query("StructureCenter", filters, order="structure_centers.id",
                             only=_COORDINATE_COLUMNS, verbose=verbose)
        for row in rows:
            found.setdefault(row.get("structure_id"), row)
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValueError(f"No coordinates in the {reference_space} reference space (id {space}) "
                         f"for structure id(s) {missing}: unknown structure(s) or structure(s) "
                         "without a center there. Check the ids with get_structure_info(id=...) "
                         "or try the other reference_space.")
    table = pd.DataFrame([found[i] for i in ids])
    lacking = [c for c in _COORDINATE_COLUMNS if c not in table.columns]
    if lacking:
        raise AllenAPIError(f"The Allen API's StructureCenter records lack {lacking}.")
    return table[_COORDINATE_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- unionization


def _unionization_attributes(attributes: Any) -> list[str]:
    if attributes is None:
        return ["expression_density"]
    if isinstance(attributes, str) and attributes == "all":
        return list(_UNIONIZATION_ATTRIBUTES)
    attrs = _check_attributes(attributes, _UNIONIZATION_ATTRIBUTES, "available_unionization_info")
    return attrs or []


def _resolve_structures(structures: Any, verbose: bool) -> list[int]:
    """Structure ids of a list mixing ids, acronyms and names (default: Rubinov 2015)."""
    if structures is None:
        return [int(i) for i in fetch_rubinov2015_structures(entry_type="id")]
    items = _unique(_as_list(structures))
    if not items:
        raise ValueError("structures is empty; pass None for the default Rubinov 2015 set.")
    numeric = {}
    for item in items:
        try:
            numeric[item] = _as_int(item, "structure")
        except ValueError:
            if not isinstance(item, str):
                raise ValueError(f"structures must hold ids, acronyms or names; got {item!r}."
                                 ) from None
    ids = _unique(numeric.values())
    if ids:  # unknown ids raise here
        get_structure_info(id=ids, attributes=["acronym"], verbose=verbose)
    words = [i for i in items if i not in numeric]
    resolved: dict[Any, int] = dict(numeric)
    for key in ("acronym", "name"):
        todo = [w for w in words if w not in resolved]
        if not todo:
            break
        found = _lookup("Structure", key, todo, [f"[graph_id$eq{MOUSE_GRAPH_ID}]"],
                        order="structures.id", only=["id", key], verbose=verbose)
        resolved.update({w: int(found[w]["id"]) for w in todo if w in found})
    missing = [w for w in words if w not in resolved]
    if missing:
        raise ValueError(_not_found("structure", "acronym or name", missing,
                                    "fetch_allenref_structures"))
    return _unique(resolved[i] for i in items)


def _experiments(gene_ids: Sequence[int], slicing_direction: str, verbose: bool
                 ) -> dict[int, list[int]]:
    """Experiment (SectionDataSet) id -> requested gene ids it probes."""
    wanted = set(gene_ids)
    out: dict[int, list[int]] = {}
    for batch in _batches(list(gene_ids)):
        rows, _ = _rma_query(
            "SectionDataSet",
            ["[failed$eq'false']", f"products[id$eq{MOUSE_PRODUCT_ID}]",
             f"plane_of_section[name$eq'{slicing_direction}']", "genes" + _rma_filter("id", batch)],
            order="data_sets.id", include="genes", verbose=verbose)
        for row in rows:
            genes = row.get("genes")
            if "id" not in row or not isinstance(genes, list):
                raise AllenAPIError("The Allen API's SectionDataSet records lack 'id' or the "
                                    "included 'genes'.")
            probed = [g.get("id") for g in genes if isinstance(g, dict)]
            out.setdefault(int(row["id"]), [])
            out[int(row["id"])] += [g for g in probed if g in wanted
                                    and g not in out[int(row["id"])]]
    return {exp: genes for exp, genes in out.items() if genes}


def get_unionization_from_gene(id: Any = None, acronym: Any = None,
                               name: Any = None, slicing_direction: str = "sagittal",
                               structures: Any = None, attributes: Any = None,
                               average: bool = True, verbose: bool = False) -> pd.DataFrame:
    """Gets unionization data for provided gene(s).

    One of `id`, `acronym`, or `name` must be provided. The experiments are
    the Mouse Brain atlas' in situ hybridisation ``SectionDataSet`` records
    of the gene(s) in `slicing_direction` that did not fail QC.

    Parameters
    ----------
    id, acronym, name : int, str or list, optional
        The gene(s), as for :func:`get_gene_info`: numerical ID(s), or
        acronym(s) or full name(s) (case sensitive).
    slicing_direction : {'sagittal', 'coronal'}, default='sagittal'
        Slicing direction of brain tissue.
    structures : list, optional
        Structures (ids, acronyms or names, mixed) for which to get
        unionization information. Default: the structures of Rubinov et al.,
        2015 (:func:`fetch_rubinov2015_structures`).
    attributes : str or list of str, optional
        Which unionization attributes to obtain; see
        :func:`available_unionization_info`. Default: only
        ``'expression_density'``; ``'all'`` gives all of them.
    average : bool, default=True
        Average across experiments probing the same gene; distinct
        structures are kept.
    verbose : bool, default=False
        Whether to print status messages.

    Returns
    -------
    unionization : (n_genes * n_structures, n_attributes) pandas.DataFrame
        Index (``gene_id``, ``structure_id``), or (``gene_id``,
        ``experiment_id``, ``structure_id``) with one row per experiment when
        `average` is False; columns are the attributes. Genes in the order
        given, structures in the order given; a structure without data in an
        experiment has no row for it.

    Raises
    ------
    ValueError
        Invalid options (before any request), an unknown gene or structure,
        or a gene without experiments in `slicing_direction`.

    Examples
    --------
    >>> get_unionization_from_gene(acronym='Pdyn', structures=[22, 31])  # doctest: +SKIP
                         expression_density
    gene_id structure_id
    18376   22                     0.024840
            31                     0.017199
    """
    key, values = _one_identifier(id, acronym, name, "gene")
    slicing_direction = check_choice("slicing_direction", slicing_direction, SLICING_DIRECTIONS)
    attrs = _unionization_attributes(attributes)
    genes = get_gene_info(**{key: values}, attributes=["id"], verbose=verbose)
    gene_ids = _unique(int(g) for g in (genes.index if key == "id" else genes["id"]))
    structure_ids = _resolve_structures(structures, verbose)
    experiments = _experiments(gene_ids, slicing_direction, verbose)
    covered = {g for probed in experiments.values() for g in probed}
    lacking = [g for g in gene_ids if g not in covered]
    if lacking:
        other = "coronal" if slicing_direction == "sagittal" else "sagittal"
        raise ValueError(f"No {slicing_direction} in situ hybridisation experiments (Mouse Brain "
                         f"atlas, passed QC) for gene id(s) {lacking}; try "
                         f"slicing_direction='{other}'.")
    _say(verbose, f"Querying unionization data of {len(experiments)} experiment(s) x "
         f"{len(structure_ids)} structure(s)")
    records = []
    for exp_batch in _batches(sorted(experiments)):
        for struct_batch in _batches(structure_ids):
            rows, _ = _rma_query(
                "StructureUnionize",
                [_rma_filter("section_data_set_id", exp_batch),
                 _rma_filter("structure_id", struct_batch)],
                order="structure_unionizes.id",
                only=["section_data_set_id", "structure_id", *attrs], verbose=verbose)
            for row in rows:
                lacking = [a for a in ("section_data_set_id", "structure_id", *attrs)
                           if a not in row]
                if lacking:
                    raise AllenAPIError(f"The Allen API's StructureUnionize records lack "
                                        f"{lacking}.")
                exp = int(row["section_data_set_id"])
                for gene in experiments.get(exp, []):
                    records.append({"gene_id": gene, "experiment_id": exp,
                                    "structure_id": int(row["structure_id"]),
                                    **{a: row[a] for a in attrs}})
    table = pd.DataFrame(records, columns=["gene_id", "experiment_id", "structure_id", *attrs])
    gene_rank = {g: i for i, g in enumerate(gene_ids)}
    struct_rank = {s: i for i, s in enumerate(structure_ids)}
    table = table.assign(_g=table["gene_id"].map(gene_rank),
                         _s=table["structure_id"].map(struct_rank))
    table = table.sort_values(["_g", "_s", "experiment_id"], kind="stable")
    table[attrs] = table[attrs].astype(float)
    if average:
        return table.groupby(["gene_id", "structure_id"], sort=False)[attrs].mean()
    return table.set_index(["gene_id", "experiment_id", "structure_id"])[attrs]


# --------------------------------------------------------------------------- reference lists


def _mouse_data_dir(data_dir: str | os.PathLike | None) -> Path:
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("ABAGEN_DATA")
    return Path(env).expanduser() if env else Path.home() / "abagen-data"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_csv(path: Path) -> pd.DataFrame:
    # only empty cells are missing: acronyms such as 'NA' or 'Nan' stay strings
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(fh)`` on a temporary file beside `path`, then move it into place."""
    with atomic_path(path, durable=True) as tmp, open(tmp, "w", encoding="utf-8",
                                                       newline="") as fh:
        write(fh)


def _read_cache(csv_path: Path, meta_path: Path) -> pd.DataFrame | None:
    """The cached table, or None when absent or not matching its sidecar."""
    if not csv_path.is_file() or not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        valid = (isinstance(meta, dict) and meta.get("sha256") == _sha256(csv_path))
        table = _read_csv(csv_path) if valid else None
    except (OSError, ValueError, pd.errors.ParserError):
        valid, table, meta = False, None, {}
    if not valid or table is None or len(table) != meta.get("n_rows"):
        warnings.warn(f"Cached Allen reference list {csv_path} does not match its record "
                      f"{meta_path} (interrupted or edited); downloading it again.", stacklevel=3)
        return None
    return table


def _reference_table(stem: str, model: str, filters: Sequence[str], order: str, cache: bool,
                     data_dir: str | os.PathLike | None, verbose: bool, what: str
                     ) -> pd.DataFrame:
    folder = _mouse_data_dir(data_dir)
    csv_path, meta_path = folder / f"{stem}.csv", folder / f"{stem}.json"
    if cache:
        table = _read_cache(csv_path, meta_path)
        if table is not None:
            _say(verbose, f"Loaded {len(table)} {what} from {csv_path}")
            return table
    _say(verbose, f"Querying the Allen API for all {what} (this may take a while)")
    rows, url = _rma_query(model, filters, order=order, verbose=verbose)
    table = pd.DataFrame(rows)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(csv_path, lambda fh: table.to_csv(fh, index=False))
        meta = {"created": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"),
                "url": url, "model": model, "n_rows": len(table),
                "columns": [str(c) for c in table.columns], "sha256": _sha256(csv_path)}
        _atomic_write(meta_path, lambda fh: json.dump(meta, fh, indent=1))
    except OSError as exc:
        warnings.warn(f"Could not cache the {what} in {folder} ({exc}); they will be downloaded "
                      "again next time.", stacklevel=3)
        return table
    _say(verbose, f"Saved {len(table)} {what} to {csv_path}")
    return _read_csv(csv_path)  # the same types as later calls that read the cache


def _entries(table: pd.DataFrame, entry_type: str | None) -> Any:
    if entry_type is None:
        return table
    if entry_type not in table.columns:
        raise AllenAPIError(f"The reference list lacks the column {entry_type!r}.")
    values = table[entry_type].tolist()
    return [int(v) for v in values] if entry_type == "id" else [str(v) for v in values]


def _check_entry_type(entry_type: str | None) -> None:
    if entry_type is not None:
        check_choice("entry_type", entry_type, ENTRY_TYPES)


def fetch_allenref_genes(entry_type: str | None = None, cache: bool = True,
                         data_dir: str | os.PathLike | None = None, verbose: bool = True) -> Any:
    """Loads all genes from Allen Reference database.

    Parameters
    ----------
    entry_type : {'id', 'acronym', 'name'}, optional
        The type of gene identifier to load: a list of numerical gene IDs,
        short-form acronyms or full names. Default: a frame with all
        information.
    cache : bool, default=True
        Use the cached gene list if it exists; False downloads it again and
        overwrites the cache.
    data_dir : str or os.PathLike, optional
        Folder of the cache (``allenref_genes.csv`` and its ``.json``
        record). Default: ``$ABAGEN_DATA``, else ``~/abagen-data``.
    verbose : bool, default=True
        Whether to print status messages.

    Returns
    -------
    genes : list or (n_genes, n_fields) pandas.DataFrame
        Genes of the Mouse Brain atlas (API ``Gene`` records of product 1),
        one row per gene with the API's fields as columns, default index.

    Notes
    -----
    The first call queries the Allen API (several paged requests); later
    calls read the cache.
    """
    _check_entry_type(entry_type)
    table = _reference_table("allenref_genes", "Gene", [f"products[id$eq{MOUSE_PRODUCT_ID}]"],
                             "genes.id", cache, data_dir, verbose, "genes")
    return _entries(table, entry_type)


def fetch_allenref_structures(entry_type: str | None = None, cache: bool = True,
                              data_dir: str | os.PathLike | None = None,
                              verbose: bool = True) -> Any:
    """Loads all anatomical structures in the Allen Reference Atlas.

    Parameters
    ----------
    entry_type : {'id', 'acronym', 'name'}, optional
        The type of structural identifier to load: a list of numerical
        structure IDs, short-form acronyms or full names. Default: a frame
        with all information.
    cache : bool, default=True
        Use the cached structure list if it exists; False downloads it again
        and overwrites the cache.
    data_dir : str or os.PathLike, optional
        Cache folder, as for :func:`fetch_allenref_genes`; the cache is
        ``allenref_structures.csv``.
    verbose : bool, default=True
        Whether to report the download.

    Returns
    -------
    structures : list or (n_structures, n_fields) pandas.DataFrame
        Structures of the adult Mouse Brain Atlas ontology (structure graph
        1), one row per structure with the API's fields as columns.

    Notes
    -----
    The first call queries the Allen API; later calls read the cache.
    """
    _check_entry_type(entry_type)
    table = _reference_table("allenref_structures", "Structure", [f"[graph_id$eq{MOUSE_GRAPH_ID}]"],
                             "structures.id", cache, data_dir, verbose, "structures")
    return _entries(table, entry_type)


def fetch_rubinov2015_structures(entry_type: str | None = None) -> Any:
    """Loads subset of anatomical structures in Allen Reference Atlas from [MI1].

    Parameters
    ----------
    entry_type : {'id', 'acronym', 'name'}, optional
        Return only that column of the 56 structures, as a list. Default:
        the whole table.

    Returns
    -------
    structures : list or (56, 3) pandas.DataFrame
        The 56 structures (columns ``acronym``, ``name``, ``id``), from the
        bundled ``rubinov2015_pnas.csv.gz``.

    References
    ----------
    [MI1] Rubinov, M., Ypma, R. J., Watson, C., & Bullmore, E. T. (2015).
    Wiring cost and topological participation of the mouse brain
    connectome. Proceedings of the National Academy of Sciences, 112(32),
    10032-10037.
    """
    _check_entry_type(entry_type)
    table = pd.read_csv(data_path("rubinov2015_pnas.csv.gz"), keep_default_na=False,
                        na_values=[""])
    return _entries(table, entry_type)
