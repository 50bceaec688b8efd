"""The processing options of :func:`get_expression_data`, validated once.

One table of every option with its abagen 0.1.3 default; :func:`check_options`
validates a user's options *before any data is read* (API, workflow config
and CLI all go through it), and :func:`stage_key` gives the short, stable key
of exactly the options a pipeline stage depends on, so cached intermediate
files of different variants coexist and are shared where options agree.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from abagen_core.donors import RNASEQ_DONORS, check_donors
from abagen_core.errors import InvalidOptionError
from abagen_core.stages.aggregate import AGG_METRICS, REGION_AGG_OPTIONS
from abagen_core.stages.samples import LR_MIRROR_OPTIONS, SampleCoordinates
from abagen_core.utils import check_choice

__all__ = [
    "DEFAULTS",
    "PROBE_SELECTION_METHODS",
    "DONOR_PROBES_OPTIONS",
    "MISSING_OPTIONS",
    "NORM_OPTIONS",
    "STAGE_OPTIONS",
    "INTERPOLATED_MAP_DEFAULTS",
    "SAMPLE_LEVEL_IGNORED",
    "check_options",
    "stage_options",
    "stage_key",
]

#: every processing option of get_expression_data with abagen 0.1.3's default
DEFAULTS: dict[str, Any] = {
    "ibf_threshold": 0.5,
    "probe_selection": "diff_stability",
    "donor_probes": "aggregate",
    "sim_threshold": None,
    "lr_mirror": None,
    "missing": None,
    "tolerance": 2,
    "sample_norm": "srs",
    "gene_norm": "srs",
    "norm_matched": True,
    "norm_structures": False,
    "region_agg": "donors",
    "agg_metric": "mean",
    "corrected_mni": True,
    "reannotated": True,
    "donors": "all",
}

PROBE_SELECTION_METHODS = ["average", "mean", "max_intensity", "max_variance", "pc_loading",
                           "corr_variance", "corr_intensity", "diff_stability", "rnaseq"]
DONOR_PROBES_OPTIONS = ["aggregate", "independent", "common"]
MISSING_OPTIONS = [None, "centroids", "interpolate"]
#: accepted names of normalization methods (aliases included) and None
NORM_OPTIONS = [None, "center", "demean", "zscore", "minmax", "sigmoid", "sig",
                "scaled_sigmoid", "scaled_sig", "scaled_sigmoid_quantiles", "scaled_sig_qnt",
                "robust_sigmoid", "rs", "rsig", "scaled_robust_sigmoid", "srs", "scaled_rsig",
                "mixed_sigmoid", "mixed_sig", "batch"]

#: defaults of get_interpolated_map that differ from get_expression_data's
#: (abagen 0.1.3's manual, section 7.7.1)
INTERPOLATED_MAP_DEFAULTS: dict[str, Any] = {"lr_mirror": "bidirectional", "norm_matched": False}
#: options that cannot change sample-level outputs (get_samples_in_mask,
#: get_interpolated_map): there is no regional aggregation or filling, and
#: genes are normalised across all of a donor's samples
SAMPLE_LEVEL_IGNORED = ("missing", "exact", "region_agg", "agg_metric", "norm_matched")

#: the options each pipeline stage depends on (cumulative: a stage's key also
#: covers the stages upstream of it)
#: ``native`` is not a user option: it is True when samples are matched to
#: donor-specific atlases, whose coordinates (and hence hemisphere checks) are
#: native; it is the only way the atlas reaches the atlas-independent stages.
STAGE_OPTIONS: dict[str, tuple[str, ...]] = {
    # per donor, atlas-independent
    "samples": ("corrected_mni", "lr_mirror", "sim_threshold", "reannotated", "native"),
    # gather over donors: intensity-based filtering
    "ibf": ("corrected_mni", "lr_mirror", "sim_threshold", "reannotated", "native", "donors",
            "ibf_threshold"),
    # per donor: probe-selection summaries over every annotated probe (not only
    # those passing the intensity filter, so they need not wait for it)
    "psummary": ("corrected_mni", "lr_mirror", "sim_threshold", "reannotated", "native",
                 "probe_selection"),
    # gather over donors: probe selection among the probes passing the filter
    "probes": ("corrected_mni", "lr_mirror", "sim_threshold", "reannotated", "native", "donors",
               "ibf_threshold", "probe_selection", "donor_probes"),
    # per donor: collapsed + sample-normalised genes
    "genes": ("corrected_mni", "lr_mirror", "sim_threshold", "reannotated", "native", "donors",
              "ibf_threshold", "probe_selection", "donor_probes", "sample_norm"),
    # per atlas and donor
    "labels": ("corrected_mni", "lr_mirror", "sim_threshold", "reannotated", "native", "tolerance"),
    "regional": ("corrected_mni", "lr_mirror", "sim_threshold", "reannotated", "native", "donors",
                 "ibf_threshold", "probe_selection", "donor_probes", "sample_norm",
                 "tolerance", "gene_norm", "norm_matched", "norm_structures", "missing",
                 "region_agg", "agg_metric"),
}


def _check_fraction(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidOptionError(name, value, ["a number between 0 and 1"])
    if not 0 <= float(value) <= 1:
        raise InvalidOptionError(name, value, ["a number between 0 and 1"])
    return float(value)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidOptionError(name, value, [True, False])
    return value


def check_options(options: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Validate processing options and fill in abagen's defaults.

    Parameters
    ----------
    options : mapping, optional
        Option name -> value; keyword arguments are merged on top. Accepts
        abagen's deprecated ``exact`` (True -> missing=None, False ->
        missing='centroids') and ``lr_mirror=True`` (-> 'bidirectional').

    Returns
    -------
    options : dict
        Every key of :data:`DEFAULTS`, validated and normalised (donors as
        a list of donor numbers; lr_mirror as a string or None).

    Raises
    ------
    InvalidOptionError
        Naming the option, the allowed values and what was received.
    ValueError
        For incompatible combinations or unknown option names.
    """
    given = dict(options or {})
    given.update(kwargs)
    exact = given.pop("exact", None)
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ValueError(
            f"Unknown option(s) {unknown}. Valid options: {sorted(DEFAULTS)}."
        )
    opts = {**DEFAULTS, **given}
    if exact is not None:
        warnings.warn("`exact` is deprecated; use `missing` instead (exact=False is "
                      "missing='centroids').", FutureWarning, stacklevel=2)
        if given.get("missing") is None:
            opts["missing"] = None if exact else "centroids"

    opts["ibf_threshold"] = _check_fraction("ibf_threshold", opts["ibf_threshold"])
    check_choice("probe_selection", opts["probe_selection"], PROBE_SELECTION_METHODS)
    check_choice("donor_probes", opts["donor_probes"], DONOR_PROBES_OPTIONS)
    if opts["lr_mirror"] is True:
        warnings.warn("lr_mirror=True is deprecated; use lr_mirror='bidirectional'.",
                      FutureWarning, stacklevel=2)
        opts["lr_mirror"] = "bidirectional"
    elif opts["lr_mirror"] is False:
        opts["lr_mirror"] = None
    check_choice("lr_mirror", opts["lr_mirror"], LR_MIRROR_OPTIONS)
    sim = opts["sim_threshold"]
    if sim is not None and (isinstance(sim, bool) or not isinstance(sim, numbers.Real)):
        raise InvalidOptionError("sim_threshold", sim, ["None", "a number of SDs"])
    check_choice("missing", opts["missing"], MISSING_OPTIONS)
    tol = opts["tolerance"]
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise InvalidOptionError("tolerance", tol, ["a number (mm, or SDs for surfaces)"])
    check_choice("sample_norm", opts["sample_norm"], NORM_OPTIONS)
    check_choice("gene_norm", opts["gene_norm"], NORM_OPTIONS)
    for name in ("norm_matched", "norm_structures", "reannotated"):
        opts[name] = _check_bool(name, opts[name])
    if not isinstance(opts["corrected_mni"], bool):
        # a table of refined sample coordinates (a DataFrame or a CSV path)
        opts["corrected_mni"] = SampleCoordinates(opts["corrected_mni"])
    check_choice("region_agg", opts["region_agg"], REGION_AGG_OPTIONS)
    if not callable(opts["agg_metric"]):
        check_choice("agg_metric", opts["agg_metric"], list(AGG_METRICS),
                     hint="Or pass a callable accepting an `axis` keyword.")
    opts["donors"] = check_donors(opts["donors"])
    if opts["probe_selection"] == "diff_stability" and len(opts["donors"]) < 2:
        raise ValueError(
            "probe_selection='diff_stability' needs at least two donors (it correlates "
            f"regional expression between donors); got donors={opts['donors']}. Choose "
            "another probe_selection or add donors."
        )
    if opts["probe_selection"] == "rnaseq" and not set(RNASEQ_DONORS) & set(opts["donors"]):
        raise ValueError(
            "probe_selection='rnaseq' needs donor 9861 or 10021 (the only donors with "
            f"RNA-seq data); got donors={opts['donors']}. Add one of them or choose "
            "another probe_selection."
        )
    return opts


def stage_options(options: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """The subset of (validated) `options` that `stage` depends on.

    Parameters
    ----------
    options : mapping
        Validated options (:func:`check_options` output).
    stage : str
        A key of :data:`STAGE_OPTIONS` ('samples', 'probes', 'regional', ...).

    Returns
    -------
    options : dict
    """
    check_choice("stage", stage, list(STAGE_OPTIONS))
    return {name: options.get(name, False) if name == "native" else options[name]
            for name in STAGE_OPTIONS[stage]}


def _canonical(value: Any) -> Any:
    if isinstance(value, SampleCoordinates):  # by content: a changed table changes the key
        return {"coordinates_sha256": value.sha256}
    if callable(value):
        name = getattr(value, "__qualname__", repr(value))
        return f"callable:{getattr(value, '__module__', '')}.{name}"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def stage_key(options: Mapping[str, Any], stage: str, length: int = 10) -> str:
    """Short stable key of the options a stage depends on.

    The key is the first `length` hex digits of the SHA-1 of the canonical
    JSON of :func:`stage_options` (sorted keys; 2 and 2.0 hash alike), so
    it is identical across runs, machines and Python versions.

    Parameters
    ----------
    options : mapping
        Validated options (:func:`check_options` output).
    stage : str
        A key of :data:`STAGE_OPTIONS`.
    length : int, default=10
        Number of hex digits kept.

    Returns
    -------
    key : str

    Examples
    --------
    >>> opts = check_options()
    >>> stage_key(opts, 'samples') == stage_key(dict(opts, gene_norm='zscore'), 'samples')
    True
    """
    sub = {k: _canonical(v) for k, v in stage_options(options, stage).items()}
    blob = json.dumps(sub, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:length]


def describe(options: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-serialisable copy of options (callables by name).

    Parameters
    ----------
    options : mapping
        Validated options.

    Returns
    -------
    options : dict
    """
    out = {}
    for key, value in options.items():
        if isinstance(value, SampleCoordinates):
            out[key] = {"coordinates": value.source, "n_samples": len(value.coords),
                        "sha256": value.sha256}
        else:
            out[key] = _canonical(value) if isinstance(value, Callable) else value
    return out
