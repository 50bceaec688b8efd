"""Turning a workflow config into a plan: donors, atlases, variants, stage keys.

Used by the Snakemake workflow (``workflow/rules/common.smk``) and the
``abagen`` command; kept here so it is tested like the rest of the library.
Every variant's options are validated with
:func:`abagen_core.options.check_options` when the plan is built, i.e.
before Snakemake schedules a single job.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .donors import check_donors
from .options import check_options, stage_key
from .utils import data_path

__all__ = ["BUILTIN_ATLASES", "AtlasSpec", "Plan", "build_plan", "resolve_data_dir",
           "expand_sweep"]

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

STAGES = ("samples", "ibf", "probes", "genes", "labels", "regional")


@dataclass(frozen=True)
class AtlasSpec:
    """Files of one configured atlas.

    Attributes
    ----------
    name : str
        Config name (used in paths).
    kind : {'volume', 'surface', 'native'}
    files : dict
        'image' (volume), 'lh'/'rh' (surface), or donor -> image (native).
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
        """Image files the labelling of `donor` depends on."""
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
        raise ValueError(f"atlases.{name}: give `image` (NIfTI), `lh`+`rh` (GIFTI), "
                         "`native` (donor -> NIfTI) or `builtin`.")
    if "image" in entry:
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


def expand_sweep(sweep: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Variants from a ``sweep`` config: the grid of option lists, or an explicit list.

    ``sweep: {grid: {gene_norm: [srs, zscore], ibf_threshold: [0.2, 0.5]}}``
    gives four variants named ``sweep-0000`` ... in grid order;
    ``sweep: {list: [{...}, {...}]}`` one per entry.
    """
    if not sweep:
        return {}
    combos: list[dict[str, Any]] = []
    if sweep.get("grid"):
        grid = sweep["grid"]
        names = sorted(grid)
        for values in itertools.product(*(grid[n] for n in names)):
            combos.append(dict(zip(names, values, strict=True)))
    combos.extend(dict(c) for c in sweep.get("list", []) or [])
    prefix = sweep.get("prefix", "sweep")
    return {f"{prefix}-{i:04d}": c for i, c in enumerate(combos)}


@dataclass
class Plan:
    """Everything the workflow needs to know, derived from the config."""

    donors: list[str]
    atlases: dict[str, AtlasSpec]
    variants: dict[str, dict[str, Any]]
    #: (atlas, variant) -> stage -> key
    keys: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    by_key: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def options_for(self, stage: str, key: str) -> dict[str, Any]:
        """Validated options behind a stage key."""
        return self.by_key[stage][key]


def resolve_data_dir(data_dir: str | None) -> str:
    """The data folder as abagen resolves it: argument, $ABAGEN_DATA, ~/abagen-data."""
    if data_dir:
        return os.path.expandvars(os.path.expanduser(str(data_dir)))
    env = os.environ.get("ABAGEN_DATA")
    if env:
        return env
    return str(Path.home() / "abagen-data")


def build_plan(config: Mapping[str, Any], base: str | os.PathLike = ".") -> Plan:
    """Validate a workflow config and derive donors, atlases, variants and keys.

    Raises
    ------
    ValueError
        For any invalid option (naming the variant and the key), before any
        job runs.
    """
    base = Path(base)
    donors = check_donors(config.get("donors", "all"))
    atlases = {name: _atlas_spec(name, entry, donors, base)
               for name, entry in (config.get("atlases") or {}).items()}
    if not atlases:
        raise ValueError("config has no `atlases`; add at least one (e.g. builtin: dk-volume).")
    raw_variants = dict(config.get("variants") or {"default": {}})
    raw_variants.update(expand_sweep(config.get("sweep")))
    variants = {}
    for name, opts in raw_variants.items():
        opts = dict(opts or {})
        if "donors" in opts:
            raise ValueError(f"variants.{name}.donors: donors are set once, at the top "
                             "level of the config.")
        opts["donors"] = donors
        try:
            variants[name] = check_options(opts)
        except ValueError as exc:
            raise ValueError(f"variants.{name}: {exc}") from None
        for key in ("sample_norm", "gene_norm"):
            if variants[name][key] == "batch":
                raise ValueError(
                    f"variants.{name}.{key}: 'batch' fits one model over all donors at once, "
                    "which the per-donor workflow does not do yet; use the Python API "
                    "(abagen_core.api.get_expression_data) for 'batch'.")
    keys: dict[tuple[str, str], dict[str, str]] = {}
    by_key: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in STAGES}
    for atlas, spec in atlases.items():
        for name, opts in variants.items():
            staged = dict(opts, native=spec.kind == "native")
            keys[atlas, name] = {stage: stage_key(staged, stage) for stage in STAGES}
            for stage, key in keys[atlas, name].items():
                by_key[stage].setdefault(key, staged)
    return Plan(donors, atlases, variants, keys, by_key)
