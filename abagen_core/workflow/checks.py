"""Checks run before any job: the config against its schema, and every atlas.

One short line per problem, naming the config key or file, the allowed values
and what was received.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from abagen_core.atlas import images
from abagen_core.errors import InputError
from abagen_core.workflow.workdir import read_state, write_state

__all__ = ["check_config", "check_atlas_spec", "check_atlases"]

PathLike = str | os.PathLike
Log = Callable[[str], None]


def _where(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"

def _config_message(error: Any) -> str:
    """One line for a jsonschema ValidationError: key, allowed values, received value."""
    where = _where(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = sorted(schema.get("properties", {}))
        unknown = sorted(str(k) for k in error.instance if k not in allowed)
        return (f"config key `{where}`: unknown key(s) {unknown}; allowed keys: {allowed}.")
    if kind == "enum":
        return (f"config key `{where}`: {error.instance!r} is not allowed; allowed values: "
                f"{list(error.validator_value)}.")
    if kind == "type":
        return (f"config key `{where}`: expected {error.validator_value}, got "
                f"{error.instance!r} ({type(error.instance).__name__}).")
    if kind in ("minimum", "maximum"):
        relation = ">=" if kind == "minimum" else "<="
        return (f"config key `{where}`: must be {relation} {error.validator_value}; got "
                f"{error.instance!r}.")
    if kind in ("minItems", "minProperties"):
        what = "item(s)" if kind == "minItems" else "entry(ies)"
        return (f"config key `{where}`: needs at least {error.validator_value} {what}; got "
                f"{error.instance!r}.")
    if kind == "maxItems":
        return (f"config key `{where}`: takes at most {error.validator_value} item(s); got "
                f"{error.instance!r}.")
    if kind == "pattern":
        name = "the name " if "propertyNames" in list(error.relative_schema_path) else ""
        return (f"config key `{where}`: {name}{error.instance!r} is not allowed; it must "
                f"match {error.validator_value} (letters, digits, '_', '-', '.').")
    hint = f" ({schema['description']})" if schema.get("description") else ""
    return f"config key `{where}`: {error.message}{hint}"

def check_config(config: Mapping[str, Any], schema: PathLike | Mapping[str, Any]) -> None:
    """Validate a workflow config against its JSON schema, with short messages.

    Parameters
    ----------
    config : mapping
        The config as Snakemake loaded it.
    schema : path-like or mapping
        ``config/schema/config.schema.yaml`` or its content.

    Raises
    ------
    InputError
        One line per problem, each naming the key (dotted path), the allowed
        keys or values and what was received.
    """
    import jsonschema  # lazy: ~0.1 s to import, only the config check needs it
    import yaml  # lazy: as jsonschema (both come with snakemake)

    if not isinstance(schema, Mapping):
        schema = yaml.safe_load(Path(schema).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(config)),
                    key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        lines = [_config_message(e) for e in errors]
        raise InputError("Invalid config:\n  " + "\n  ".join(dict.fromkeys(lines)))

def _file_stamp(path: PathLike) -> list[Any]:
    try:
        st = os.stat(path)
    except OSError:
        return [str(path), None]
    return [str(path), st.st_size, st.st_mtime_ns]

def _atlas_key(spec: Any) -> str:
    files = list(spec.files.values()) + [spec.info] + list(spec.geometry or [])
    blob = json.dumps([spec.kind, spec.space, [_file_stamp(f) if f else None for f in files]])
    return hashlib.sha1(blob.encode()).hexdigest()

def _labels_of(img: Any) -> np.ndarray:
    data = np.asarray(img.dataobj)
    return np.unique(data[data != 0])

def check_atlas_spec(spec: Any) -> list[str]:
    """Load and check one configured atlas as the labelling step will use it.

    Parameters
    ----------
    spec : abagen_core.workflow.plan.AtlasSpec

    Returns
    -------
    warnings : list of str
        Problems abagen accepts (e.g. a volume far from MNI152 space), each
        prefixed with ``atlases.<name>``.

    Raises
    ------
    InputError
        Naming ``atlases.<name>``, the file and the problem (non-integer or
        negative labels, a 4-D or empty image, GIFTI vertex counts that do
        not match the geometry, labels in both hemispheres, an info table
        without the required columns or without rows for the atlas' labels,
        ...).
    """

    where = f"atlases.{spec.name}"
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if spec.kind == "surface":
            pair = (spec.files["lh"], spec.files["rh"])
            try:
                images.check_atlas(pair, spec.info, geometry=spec.geometry, space=spec.space)
            except Exception as exc:  # noqa: BLE001 - nibabel raises various errors
                raise InputError(f"{where}: cannot use {pair[0]}, {pair[1]}"
                                 f"{' with info ' + spec.info if spec.info else ''}: "
                                 f"{exc}") from None
        else:
            if spec.geometry:
                raise InputError(f"{where}.geometry: only GIFTI (lh/rh) atlases take a "
                                 "surface geometry; remove it for a NIfTI atlas.")
            for path in dict.fromkeys(spec.files.values()):
                try:
                    img = images.check_img(path)
                except Exception as exc:  # noqa: BLE001 - nibabel raises various errors
                    raise InputError(f"{where}: cannot use {path}: {exc}") from None
                if spec.info:
                    try:
                        images.check_atlas_info(spec.info, _labels_of(img))
                    except (ValueError, TypeError, OSError) as exc:
                        raise InputError(f"{where}.info: cannot use {spec.info} with {path}: "
                                         f"{exc}") from None
                if spec.kind == "volume":
                    # group atlas: the samples' MNI152 coordinates must fall in it
                    images._warn_if_not_mni(img)
    for item in caught:
        found.append(f"{where}: {' '.join(str(item.message).split())}")
    return found

def check_atlases(atlases: Mapping[str, Any], *, state_dir: PathLike | None = None,
                  log: Log | None = None, save: bool = True) -> list[str]:
    """Check every configured atlas (see :func:`check_atlas_spec`) before any job.

    Parameters
    ----------
    atlases : mapping of str -> AtlasSpec
        ``Plan.atlases``.
    state_dir : path-like, optional
        Folder remembering atlases that passed (by file size and
        modification time), so unchanged atlases are not loaded again.
    log : callable, optional
        Receives each warning.
    save : bool, default=True
        Write what was checked to `state_dir`. False when the Snakefile is
        parsed (parsing never writes a file); the start of a real run calls
        again with True, which reads the atlases again only when they were
        not remembered.

    Returns
    -------
    warnings : list of str
    """
    state = Path(state_dir) / "checked-atlases.json" if state_dir is not None else None
    known = read_state(state) if state is not None else {}
    seen: dict[str, list[str]] = {}
    found: list[str] = []
    for spec in atlases.values():
        key = _atlas_key(spec)
        if key in known and isinstance(known[key], list):
            msgs = [str(m) for m in known[key]]
        else:
            msgs = check_atlas_spec(spec)
        seen[key] = msgs
        found += msgs
    if save and state is not None and seen != known:
        with contextlib.suppress(OSError):
            write_state(state, seen)
    for msg in found:
        if log is not None:
            log(msg)
    return found
