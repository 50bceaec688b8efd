"""Turning a workflow config into a plan: donors, atlases, variants, stage keys.

Used by the Snakemake workflow (``workflow/rules/common.smk``) and the
``abagen`` command; kept here so it is tested like the rest of the library.
Every variant's options are validated as by
:func:`abagen_core.options.check_options` when the plan is built, i.e.
before Snakemake schedules a single job. A sweep of many variants has few
distinct values per option, so :func:`build_plan` checks each distinct value
once (:class:`~abagen_core.options.OptionsChecker`) and hashes each stage once
per distinct set of its options (:class:`~abagen_core.options.StageKeys`):
the variants and keys are those of one check and one
:func:`~abagen_core.options.stage_key` per variant and stage, and Markello
et al.'s multiverse (373,248 variants) plans in seconds
(``benchmarks/plan_benchmark.py``). :func:`cached_plan` saves a plan for
the processes that would build it again (cluster jobs).
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os
import pickle
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from abagen_core._version import __version__
from abagen_core.datasets import layout
from abagen_core.donors import check_donors
from abagen_core.options import (
    INTERPOLATED_MAP_DEFAULTS,
    SAMPLE_LEVEL_IGNORED,
    OptionsChecker,
    StageKeys,
    check_options,
    stage_key,
)
from abagen_core.stages.regional import check_genes, check_n_neighbors
from abagen_core.stages.samples import SampleCoordinates
from abagen_core.storage.atomic import atomic_path
from abagen_core.utils import data_path
from abagen_core.workflow import paths
from abagen_core.workflow.codehash import code_digest

__all__ = ["BUILTIN_ATLASES", "AtlasSpec", "Plan", "build_plan", "cached_plan", "save_plan",
           "plan_cache_key", "resolve_data_dir", "expand_sweep", "MaskTarget",
           "MASK_TARGET_STAGES", "STAGES", "SWEEP_CHUNK_MB", "sweep_chunk_mb"]

#: atlases shipped with the package, usable as ``builtin:<name>``
BUILTIN_ATLASES: dict[str, dict[str, Any]] = {
    "dk-volume": {"image": "atlas-desikankilliany.nii.gz",
                  "info": "atlas-desikankilliany.csv"},
    "dk-surface": {"lh": "atlas-desikankilliany-lh.label.gii.gz",
                   "rh": "atlas-desikankilliany-rh.label.gii.gz",
                   "info": "atlas-desikankilliany.csv"},
    "dk-native": {"native": "atlas-desikankilliany.nii.gz",
                  "info": "atlas-desikankilliany.csv"},
}

STAGES = ("samples", "ibf", "psummary", "probes", "genes", "labels", "regional")


@dataclass(frozen=True)
class AtlasSpec:
    """Files of one configured atlas.

    Attributes
    ----------
    name : str
        Config name (used in paths).
    kind : {'volume', 'surface', 'native'}
        One image in MNI space, two GIFTI hemispheres, or an image per donor.
    files : dict
        'image' (volume), 'lh'/'rh' (surface: GIFTI label images or FreeSurfer
        .annot files), or donor -> image (native).
    info : str or None
        atlas_info CSV.
    geometry, space : optional surface geometry (lh, rh) and space name.
    """

    name: str
    kind: str
    files: dict[str, str]
    info: str | None = None
    geometry: tuple[str, str] | None = None
    space: str | None = None

    def donor_files(self, donor: str) -> list[str]:
        """Image files the labelling of `donor` depends on.

        Parameters
        ----------
        donor : str
            Donor number (only native atlases differ between donors).

        Returns
        -------
        files : list of str
            The volume, the (lh, rh) pair, or the donor's native volume.
        """
        if self.kind == "volume":
            return [self.files["image"]]
        if self.kind == "surface":
            return [self.files["lh"], self.files["rh"]]
        return [self.files[donor]]


def _resolve(path: str, base: Path) -> str:
    p = Path(os.path.expandvars(os.path.expanduser(path)))
    if not p.is_absolute():
        p = base / p
    return str(p)


def _atlas_spec(name: str, entry: Any, donors: list[str], base: Path) -> AtlasSpec:
    if isinstance(entry, str):
        entry = {"image": entry}
    entry = dict(entry)
    builtin = entry.pop("builtin", None)
    if builtin is not None:
        if builtin not in BUILTIN_ATLASES:
            raise ValueError(f"atlases.{name}.builtin: unknown built-in atlas {builtin!r}; "
                             f"choose one of {sorted(BUILTIN_ATLASES)}.")
        spec = BUILTIN_ATLASES[builtin]
        if "info" in entry and entry["info"] is None:
            info = None
        elif entry.get("info"):
            info = _resolve(entry["info"], base)
        else:
            info = str(data_path(spec["info"]))
        if "image" in spec:
            return AtlasSpec(name, "volume", {"image": str(data_path(spec["image"]))}, info)
        if "lh" in spec:
            return AtlasSpec(name, "surface", {"lh": str(data_path(spec["lh"])),
                                               "rh": str(data_path(spec["rh"]))}, info)
        return AtlasSpec(name, "native",
                         {d: str(data_path("native_dk", d, spec["native"])) for d in donors},
                         info)
    info = _resolve(entry["info"], base) if entry.get("info") else None
    for key in ("image", "lh", "native"):
        if key in entry:
            break
    else:
        raise ValueError(f"atlases.{name}: give `image` (NIfTI), `lh`+`rh` (GIFTI or .annot), "
                         "`native` (donor -> NIfTI) or `builtin`.")
    if "image" in entry:
        if str(entry["image"]).lower().endswith(".annot"):
            raise ValueError(f"atlases.{name}.image: {entry['image']} is a FreeSurfer "
                             "annotation (one hemisphere); give both as `lh: lh.x.annot` and "
                             "`rh: rh.x.annot`.")
        files, kind = {"image": _resolve(entry["image"], base)}, "volume"
    elif "lh" in entry:
        if "rh" not in entry:
            raise ValueError(f"atlases.{name}: a surface atlas needs both `lh` and `rh`.")
        files = {"lh": _resolve(entry["lh"], base), "rh": _resolve(entry["rh"], base)}
        kind = "surface"
    else:
        native = {check_donors(k)[0]: _resolve(v, base) for k, v in entry["native"].items()}
        absent = [d for d in donors if d not in native]
        if absent:
            raise ValueError(f"atlases.{name}.native has no image for donors {absent}.")
        files, kind = native, "native"
    for path in files.values():
        if not Path(path).exists():
            raise FileNotFoundError(f"atlases.{name}: file {path} does not exist.")
    if info and not Path(info).exists():
        raise FileNotFoundError(f"atlases.{name}.info: file {info} does not exist.")
    geometry = None
    if entry.get("geometry"):
        geometry = tuple(_resolve(g, base) for g in entry["geometry"])
    return AtlasSpec(name, kind, files, info, geometry, entry.get("space"))


def _grid_values(grid: Any, where: str) -> dict[str, list[Any]]:
    """A grid's option -> list of values, checked; option names sorted."""
    if not isinstance(grid, Mapping):
        raise ValueError(f"{where}: a grid maps option names to lists of values; "
                         f"got {grid!r}.")
    out = {}
    for name in sorted(grid):
        values = grid[name]
        if not isinstance(values, list | tuple):
            raise ValueError(f"{where}.{name}: give a list of values; got {values!r}.")
        out[name] = list(values)
    return out


def _grid_combos(grids: list[dict[str, list[Any]]]) -> Iterator[dict[str, Any]]:
    """Every combination of each grid in turn; one that an earlier grid gave is skipped."""
    for j, grid in enumerate(grids):
        names = list(grid)
        # the earlier grids with the same options: per option, the positions of
        # this grid's values that the earlier grid has too (same type, same value)
        earlier = []
        for other in grids[:j]:
            if set(other) == set(names):
                earlier.append([{i for i, v in enumerate(grid[n])
                                 if any(v.__class__ is w.__class__ and v == w
                                        for w in other[n])} for n in names])
        if not names:
            continue
        if not earlier:
            for values in itertools.product(*grid.values()):
                yield dict(zip(names, values, strict=True))
            continue
        ranges = [range(len(grid[n])) for n in names]
        for index in itertools.product(*ranges):
            if any(all(i in shared for i, shared in zip(index, seen, strict=True))
                   for seen in earlier):
                continue
            yield {n: grid[n][i] for n, i in zip(names, index, strict=True)}


def expand_sweep(sweep: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Variants from a ``sweep`` config: grids of option lists and an explicit list.

    ``sweep: {grid: {gene_norm: [srs, zscore], ibf_threshold: [0.2, 0.5]}}``
    gives four variants named ``sweep-0000`` ... in grid order (option names
    sorted, the last one varying fastest); ``sweep: {grids: [{...}, {...}]}``
    the union of several grids (a combination that an earlier grid, or
    ``grid``, already gave is skipped); ``sweep: {list: [{...}, {...}]}`` one
    variant per entry. The grid comes first, then the grids, then the list.
    Names are numbered with four digits, or as many as the largest number
    needs (``sweep-000000`` ... for 100,000 variants or more), so they sort
    in their order.

    Parameters
    ----------
    sweep : mapping or None
        The config's ``sweep``: ``grid`` (option -> list of values), ``grids``
        (list of such grids), ``list`` (list of option dicts) and ``prefix``
        (default 'sweep').

    Returns
    -------
    variants : dict of str -> dict
        Variant name -> its options (the grid's first, then the grids', then
        the list's).

    Raises
    ------
    ValueError
        If a grid is not a mapping of option names to lists of values.
    """
    if not sweep:
        return {}
    grids = []
    if sweep.get("grid"):
        grids.append(_grid_values(sweep["grid"], "sweep.grid"))
    more = sweep.get("grids") or []
    if not isinstance(more, list | tuple):
        raise ValueError(f"sweep.grids: give a list of grids; got {more!r}.")
    grids.extend(_grid_values(g, f"sweep.grids[{i}]") for i, g in enumerate(more))
    combos = list(_grid_combos(grids))
    combos.extend(dict(c) for c in sweep.get("list", []) or [])
    prefix = sweep.get("prefix", "sweep")
    width = max(4, len(str(len(combos) - 1)))
    return {f"{prefix}-{i:0{width}d}": c for i, c in enumerate(combos)}


#: the config's ``sweep.chunk_mb`` when not given (MiB of sample x gene values a batch holds)
SWEEP_CHUNK_MB = 64


def sweep_chunk_mb(sweep: Mapping[str, Any] | None) -> float:
    """The MiB of sample x gene values a sweep batch job holds at once.

    Parameters
    ----------
    sweep : mapping or None
        The config's ``sweep``.

    Returns
    -------
    chunk_mb : float
        ``sweep.chunk_mb``, or :data:`SWEEP_CHUNK_MB`.
    """
    return (sweep or {}).get("chunk_mb", SWEEP_CHUNK_MB)


#: the atlas-independent stages whose cached files the mask targets read
MASK_TARGET_STAGES = ("samples", "ibf", "psummary", "probes", "genes")


@dataclass(frozen=True)
class MaskTarget:
    """One entry of ``samples_in_mask`` or ``interpolated_maps`` in the config.

    It reads the cached files of the atlas-independent stages only.

    Attributes
    ----------
    name : str
        Config name (used in paths).
    mask : dict or None
        ``{'kind': 'volume', 'files': [nifti]}`` or ``{'kind': 'surface',
        'files': [lh, rh]}``; None (``samples_in_mask`` only) = every sample.
    options : dict
        The validated options that apply to sample-level outputs (every
        option of get_expression_data but
        :data:`abagen_core.options.SAMPLE_LEVEL_IGNORED`; for maps also
        without ``tolerance``).
    keys : dict of str -> str
        Stage -> key of :data:`MASK_TARGET_STAGES`, the cached files it reads.
    genes : tuple of str
        Genes to map (``interpolated_maps``).
    n_neighbors : int
        Neighbours of the interpolation (``interpolated_maps``).
    """

    name: str
    mask: dict[str, Any] | None
    options: dict[str, Any]
    keys: dict[str, str]
    genes: tuple[str, ...] = ()
    n_neighbors: int = 10


@dataclass
class Plan:
    """Everything the workflow needs to know, derived from the config."""

    donors: list[str]
    atlases: dict[str, AtlasSpec]
    variants: dict[str, dict[str, Any]]
    #: (atlas, variant) -> stage -> key
    keys: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    by_key: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: name -> entry of the config's ``samples_in_mask`` and ``interpolated_maps``
    samples_in_mask: dict[str, MaskTarget] = field(default_factory=dict)
    interpolated_maps: dict[str, MaskTarget] = field(default_factory=dict)
    #: the variants that come from ``sweep`` and not from ``variants`` (plan order)
    swept: list[str] = field(default_factory=list)
    #: probes key of a swept variant -> the genes key of its options without
    #: ``sample_norm``: a sweep batch reads these genes and normalises the
    #: samples itself, for every ``sample_norm`` it holds
    unnormalized: dict[str, str] = field(default_factory=dict)

    def options_for(self, stage: str, key: str) -> dict[str, Any]:
        """Validated options behind a stage key.

        Parameters
        ----------
        stage : str
            Stage name of :data:`STAGES`.
        key : str
            A key of that stage.

        Returns
        -------
        options : dict
            The options that key hashes.
        """
        return self.by_key[stage][key]


def resolve_data_dir(data_dir: str | None) -> str:
    """The data folder the workflow reads (only reads: nothing is created or tested).

    :func:`abagen_core.datasets.layout.resolve_data_dir`, the rule of the
    Python API: `data_dir`, else the first of ``$ABAGEN_DATA``,
    ``~/abagen-data`` and the working folder that holds the data.

    Parameters
    ----------
    data_dir : str or None
        The config's ``data_dir``.

    Returns
    -------
    data_dir : str
    """
    return str(layout.resolve_data_dir(data_dir, writable=False))


def build_plan(config: Mapping[str, Any], base: str | os.PathLike = ".") -> Plan:
    """Validate a workflow config and derive donors, atlases, variants and keys.

    Parameters
    ----------
    config : mapping
        The workflow config (``donors``, ``atlases``, ``variants``, ``sweep``,
        ``samples_in_mask``, ``interpolated_maps``, ...).
    base : path-like, default='.'
        Folder that relative atlas and mask paths are resolved against.

    Returns
    -------
    plan : Plan

    Raises
    ------
    ValueError
        For any invalid option (naming the variant and the key), before any
        job runs.
    """
    base = Path(base)
    try:
        donors = check_donors(config.get("donors", "all"))
    except ValueError as exc:
        raise ValueError(f"donors: {exc}") from None
    atlases = {name: _atlas_spec(name, entry, donors, base)
               for name, entry in (config.get("atlases") or {}).items()}
    if not atlases:
        raise ValueError("config has no `atlases`; add at least one (e.g. builtin: dk-volume).")
    raw_variants = dict(config.get("variants") or {"default": {}})
    swept = expand_sweep(config.get("sweep"))
    raw_variants.update(swept)
    named = set(config.get("variants") or {})
    swept_names = [name for name in swept if name not in named]
    del swept
    if paths.SWEEPS in raw_variants:
        raise ValueError(f"variants.{paths.SWEEPS}: this name is reserved for the files of "
                         f"swept variants (results/<atlas>/{paths.SWEEPS}/); rename the variant.")
    save_donors = bool((config.get("outputs") or {}).get("save_donors"))
    check = OptionsChecker()  # a sweep has few distinct values per option: each checked once
    coordinate_tables: dict[str, str] = {}
    variants = {}
    for name, opts in raw_variants.items():
        opts = dict(opts or {})
        if "donors" in opts:
            raise ValueError(f"variants.{name}.donors: donors are set once, at the top "
                             "level of the config.")
        opts["donors"] = donors
        table = opts.get("corrected_mni")
        if isinstance(table, str):  # a coordinate table, beside the config
            if table not in coordinate_tables:
                coordinate_tables[table] = _resolve(table, base)
            opts["corrected_mni"] = coordinate_tables[table]
        try:
            checked = variants[name] = check(opts)
        except ValueError as exc:
            raise ValueError(f"variants.{name}: {exc}") from None
        for key in ("sample_norm", "gene_norm"):
            if checked[key] == "batch":
                raise ValueError(
                    f"variants.{name}.{key}: 'batch' fits one model over all donors at once, "
                    "which the per-donor workflow does not do yet; use the Python API "
                    "(abagen_core.api.get_expression_data) for 'batch'.")
        if save_donors and checked["region_agg"] == "samples":
            # as return_donors=True in the API: donor matrices need per-donor aggregation
            raise ValueError(
                f"variants.{name}.region_agg: outputs.save_donors needs region_agg 'donors' "
                "(donor-level matrices do not exist when samples are pooled across donors); "
                "got 'samples'. Set outputs.save_donors: false or use region_agg: donors.")
    del raw_variants
    keys: dict[tuple[str, str], dict[str, str]] = {}
    by_key: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in STAGES}
    stage_keys = StageKeys(STAGES)  # each stage hashed once per distinct set of its options
    for atlas, spec in atlases.items():
        native = spec.kind == "native"
        for name, opts in variants.items():
            variant_keys = keys[atlas, name] = stage_keys(opts, native=native)
            staged = None  # the options behind a new key (made only when one is new)
            for stage, key in variant_keys.items():
                known = by_key[stage]
                if key not in known:
                    if staged is None:
                        staged = dict(opts, native=native)
                    known[key] = staged
    unnormalized: dict[str, str] = {}
    for atlas in atlases:
        for name in swept_names:
            probes_key = keys[atlas, name]["probes"]
            if probes_key not in unnormalized:
                staged = dict(by_key["probes"][probes_key], sample_norm=None)
                key = unnormalized[probes_key] = stage_key(staged, "genes")
                by_key["genes"].setdefault(key, staged)
    order = {name: i for i, name in enumerate(variants)}
    plan = Plan(donors, atlases, variants, keys, by_key,
                swept=sorted(swept_names, key=order.__getitem__), unnormalized=unnormalized)
    _add_mask_targets(plan, config, base)
    return plan


#: result folders of the mask targets: atlases may not take these names
_TARGET_FOLDERS = {"samples_in_mask": "samples_in_mask", "interpolated_maps": "maps"}


def _mask_spec(where: str, mask: Any, base: Path) -> dict[str, Any]:
    """A mask entry (NIfTI path or [lh, rh] GIFTI paths) as resolved, existing files."""
    if isinstance(mask, str):
        if mask.endswith((".gii", ".gii.gz")):
            raise ValueError(f"{where}.mask: {mask} is a GIFTI file; a surface mask is a pair "
                             "[lh.gii, rh.gii] on fsaverage5.")
        spec = {"kind": "volume", "files": [_resolve(mask, base)]}
    elif isinstance(mask, list | tuple) and len(mask) == 2 \
            and all(isinstance(m, str) for m in mask):
        spec = {"kind": "surface", "files": [_resolve(m, base) for m in mask]}
    else:
        raise ValueError(f"{where}.mask: give a NIfTI path (MNI152) or a pair [lh, rh] of "
                         f"GIFTI paths (fsaverage5); got {mask!r}.")
    for path in spec["files"]:
        if not Path(path).exists():
            raise FileNotFoundError(f"{where}.mask: file {path} does not exist.")
    return spec


def _target_options(where: str, given: Any, donors: list[str], *, ignored: tuple[str, ...],
                    defaults: Mapping[str, Any] | None = None) -> tuple[dict, dict]:
    """(all validated options, the ones that apply) of a mask target."""
    given = dict(given or {})
    if "donors" in given:
        raise ValueError(f"{where}.options.donors: donors are set once, at the top level of "
                         "the config.")
    for key in ignored:
        if key in given:
            raise ValueError(
                f"{where}.options.{key}: this option has no effect here (sample-level "
                "output: no regions to aggregate or fill, and genes are normalised across "
                "all of a donor's samples, as in abagen 0.1.3); remove it.")
    opts = {**(defaults or {}), **given, "donors": donors}
    try:
        full = check_options(opts)
    except ValueError as exc:
        raise ValueError(f"{where}.options: {exc}") from None
    for key in ("sample_norm", "gene_norm"):
        if full[key] == "batch":
            raise ValueError(f"{where}.options.{key}: 'batch' is not available in the "
                             "workflow; use the Python API (abagen_core.api).")
    return full, {k: v for k, v in full.items() if k not in ignored}


def _add_mask_targets(plan: Plan, config: Mapping[str, Any], base: Path) -> None:
    """Validate the ``samples_in_mask`` and ``interpolated_maps`` entries into `plan`.

    Their options are registered under the stage keys of the
    atlas-independent stages, so the workflow builds (or re-uses) those files.
    """
    for section, folder in _TARGET_FOLDERS.items():
        entries = config.get(section) or {}
        if entries and folder in plan.atlases:
            raise ValueError(f"atlases.{folder}: this name is reserved for the results of "
                             f"`{section}` (results/{folder}/); rename the atlas.")
        for name, entry in entries.items():
            where = f"{section}.{name}"
            entry = dict(entry or {})
            allowed = {"mask", "options"} if section == "samples_in_mask" else \
                {"mask", "options", "genes", "n_neighbors"}
            unknown = sorted(set(entry) - allowed)
            if unknown:
                raise ValueError(f"{where}: unknown key(s) {unknown}.")
            if section == "samples_in_mask":
                mask = entry.get("mask")
                mask = None if mask is None else _mask_spec(where, mask, base)
                full, opts = _target_options(where, entry.get("options"), plan.donors,
                                             ignored=SAMPLE_LEVEL_IGNORED)
                genes, k = (), 10
            else:
                if entry.get("mask") is None:
                    raise ValueError(f"{where}.mask: an interpolated map needs a mask (the "
                                     "voxels or vertices to fill).")
                mask = _mask_spec(where, entry["mask"], base)
                if "genes" not in entry:
                    raise ValueError(f"{where}.genes: list the genes to map.")
                try:
                    genes = tuple(check_genes(entry["genes"]))
                    k = check_n_neighbors(entry.get("n_neighbors", 10))
                except ValueError as exc:
                    raise ValueError(f"{where}: {exc}") from None
                bad = [g for g in genes if "/" in g]
                if bad:
                    raise ValueError(f"{where}.genes: {bad} cannot be file names.")
                full, opts = _target_options(where, entry.get("options"), plan.donors,
                                             ignored=(*SAMPLE_LEVEL_IGNORED, "tolerance"),
                                             defaults=INTERPOLATED_MAP_DEFAULTS)
            staged = dict(full, native=False)
            keys = {stage: stage_key(staged, stage) for stage in MASK_TARGET_STAGES}
            for stage, key in keys.items():
                plan.by_key[stage].setdefault(key, staged)
            target = MaskTarget(name, mask, opts, keys, genes, k)
            getattr(plan, section)[name] = target


# ---------------------------------------------------------------------------
# a plan saved for the processes that would build it again

#: version of the saved plan's layout (a saved plan of another layout is rebuilt)
PLAN_CACHE_FORMAT = 1


def _tagged(value: Any) -> Any:
    """`value` as JSON-able data that keeps types and the order of mappings.

    1, 1.0 and True stay apart, and so do ``{'a': 1, 'b': 2}`` and
    ``{'b': 2, 'a': 1}`` (the order of variants is the order of the plan). A
    string that ``~`` or ``$VARIABLES`` would change is kept with its
    expansion, as paths are resolved with them.
    """
    if isinstance(value, str):
        expanded = os.path.expandvars(os.path.expanduser(value))
        return value if expanded == value else ["s~", value, expanded]
    if value is None or isinstance(value, bool):
        return ["b", value]
    if isinstance(value, int):
        return ["i", str(value)]
    if isinstance(value, float):
        return ["f", repr(value)]
    if isinstance(value, Mapping):
        return ["d", [[_tagged(k), _tagged(v)] for k, v in value.items()]]
    if isinstance(value, list | tuple):
        return ["l" if isinstance(value, list) else "t", [_tagged(v) for v in value]]
    cls = type(value)
    return ["o", f"{cls.__module__}.{cls.__qualname__}", repr(value)]


def plan_cache_key(config: Mapping[str, Any], base: str | os.PathLike = ".") -> str:
    """SHA-256 of everything a plan is built from, but the files it names.

    Parameters
    ----------
    config : mapping
        The workflow config, as given to :func:`build_plan`.
    base : path-like, default='.'
        Folder that relative paths are resolved against.

    Returns
    -------
    key : str
        64 hexadecimal characters over the config (its pickle: types and
        order included), what the ``~`` and ``$VARIABLES`` in it expand to,
        the absolute `base`,
        the package's version and folder, the digest of the code that builds
        the plan, and :data:`PLAN_CACHE_FORMAT`.
    """
    try:
        # fast, and keeps types and order (equal bytes, equal config; the other
        # way round is not needed: a config that pickles otherwise is a miss)
        blob = pickle.dumps(config, protocol=5)
        canonical: Any = hashlib.sha256(blob).hexdigest()
        # what `~` and `$VARIABLES` in it expand to (paths are resolved with them)
        names = sorted(set(re.findall(rb"\$\{?([A-Za-z_][A-Za-z0-9_]*)", blob)))
        users = sorted(set(re.findall(rb"~([A-Za-z0-9_.-]*)", blob)))
        expansions = [[n.decode(), os.environ.get(n.decode())] for n in names] + \
            [[u.decode(), os.path.expanduser("~" + u.decode())] for u in users]
    except Exception:  # an object pickle cannot take: the slow, exact form
        canonical, expansions = _tagged(config), []
    parts = {
        "format": PLAN_CACHE_FORMAT,
        "config": canonical,
        "expansions": expansions,
        "base": str(Path(base).resolve()),
        "version": __version__,
        "package": str(Path(__file__).resolve().parents[1]),
        "code": code_digest(__file__),
    }
    blob = json.dumps(parts, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _plan_files(plan: Plan) -> list[str]:
    """Every file a plan names: atlases, atlas tables, surfaces, masks, coordinate tables."""
    files: set[str] = set()
    for spec in plan.atlases.values():
        files.update(spec.files.values())
        files.update(f for f in (spec.info, *(spec.geometry or ())) if f)
    targets = [*plan.samples_in_mask.values(), *plan.interpolated_maps.values()]
    for target in targets:
        if target.mask is not None:
            files.update(target.mask["files"])
    tables = {id(t): t for opts in [*plan.variants.values(), *(t.options for t in targets)]
              if isinstance(t := opts.get("corrected_mni"), SampleCoordinates)}
    files.update(t.source for t in tables.values() if t.source != "DataFrame")
    return sorted(files)


def _stat(path: str) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def _read_plan(path: Path, key: str) -> Plan | None:
    """The plan saved in `path` if it is whole, for `key`, and its files are unchanged."""
    enabled = gc.isenabled()
    gc.disable()  # loading many small dicts: the collector would only slow it down
    try:
        with open(path, "rb") as fh:
            saved = pickle.load(fh)
        if not (isinstance(saved, dict) and saved.get("key") == key
                and isinstance(saved.get("plan"), Plan)
                and isinstance(saved.get("files"), dict)):
            return None
        if any(_stat(f) != stat for f, stat in saved["files"].items()):
            return None
        return saved["plan"]
    except Exception:  # missing, truncated, corrupt, of other code: build the plan again
        return None
    finally:
        if enabled:
            gc.enable()


def cached_plan(config: Mapping[str, Any], base: str | os.PathLike,
                cache_dir: str | os.PathLike, *, write: bool) -> Plan:
    """:func:`build_plan`, or the plan a previous call saved for the same inputs.

    With a cluster executor every job parses the Snakefile again, and so
    builds the plan again (seconds for a sweep of many thousand variants).
    The main process of a run saves the plan (``write=True``); the jobs read
    it. The saved plan is ``<cache_dir>/plan-<key>.pickle``, `key` being
    :func:`plan_cache_key` (config, base folder, package version and code). It
    also holds the size and modification time of every file the plan names
    (atlases, their tables and surfaces, masks, coordinate tables). It is
    used only when it can be read, is for this key and every file is as it
    was; otherwise the plan is built again, so a changed input never gives
    an old plan. The file is written atomically (a temporary file in
    `cache_dir`, renamed), and the plans saved for other keys in `cache_dir`
    are removed then. In the workflow: ``cached_plan(config, REPO,
    workdir.STATE_DIR / 'plan', write=<the main process of a real run>)``.
    The saved plans are trusted local files (pickles): keep `cache_dir` in
    the working folder.

    Parameters
    ----------
    config : mapping
        The workflow config, as for :func:`build_plan`.
    base : path-like
        Folder that relative paths are resolved against.
    cache_dir : path-like
        Folder of the saved plan (created when writing).
    write : bool
        Save a plan that had to be built (nothing is written with False, and
        `cache_dir` is not created).

    Returns
    -------
    plan : Plan
        Equal to ``build_plan(config, base)``.

    Raises
    ------
    ValueError, FileNotFoundError
        As :func:`build_plan`, for an invalid config.
    """
    key = plan_cache_key(config, base)
    path = Path(cache_dir) / f"plan-{key}.pickle"
    plan = _read_plan(path, key)
    if plan is not None:
        return plan
    plan = build_plan(config, base)
    if write:
        save_plan(plan, config, base, cache_dir)
    return plan


def save_plan(plan: Plan, config: Mapping[str, Any], base: str | os.PathLike,
              cache_dir: str | os.PathLike) -> Path | None:
    """Save a plan built from `config` for :func:`cached_plan` (atomically).

    Parameters
    ----------
    plan : Plan
        ``build_plan(config, base)`` (or a plan :func:`cached_plan` returned).
    config : mapping
    base : path-like
    cache_dir : path-like
        As :func:`cached_plan`; plans saved there for other keys are removed.

    Returns
    -------
    path : pathlib.Path or None
        The saved file; None when it could not be written (the next process
        then builds the plan again).
    """
    key = plan_cache_key(config, base)
    path = Path(cache_dir) / f"plan-{key}.pickle"
    if _read_plan(path, key) is not None:
        return path
    saved = {"key": key, "files": {f: _stat(f) for f in _plan_files(plan)}, "plan": plan}
    try:
        blob = pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL)
        with atomic_path(path) as tmp:
            Path(tmp).write_bytes(blob)
        for old in Path(cache_dir).glob("plan-*.pickle"):
            if old.name != path.name:
                old.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return None
    return path
