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
from collections.abc import Callable, Mapping, Sequence
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
    "OptionsChecker",
    "stage_options",
    "stage_key",
    "StageKeys",
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
    return _validate(given, None, stacklevel=3)


#: the order in which :func:`check_options` checks the options (the first
#: invalid one is reported)
_CHECK_ORDER = ("ibf_threshold", "probe_selection", "donor_probes", "lr_mirror",
                "sim_threshold", "missing", "tolerance", "sample_norm", "gene_norm",
                "norm_matched", "norm_structures", "reannotated", "corrected_mni",
                "region_agg", "agg_metric", "donors")
_MISS = object()   # not in the memo
_KEEP = object()   # valid, and kept as given


def _check_value(name: str, value: Any, stacklevel: int) -> Any:
    """One option's value, validated and normalised (independent of the other options)."""
    if name == "ibf_threshold":
        return _check_fraction(name, value)
    if name in ("probe_selection", "donor_probes", "missing", "sample_norm", "gene_norm",
                "region_agg"):
        return check_choice(name, value, _CHOICES[name])
    if name == "lr_mirror":
        if value is True:
            warnings.warn("lr_mirror=True is deprecated; use lr_mirror='bidirectional'.",
                          FutureWarning, stacklevel=stacklevel + 1)
            value = "bidirectional"
        elif value is False:
            value = None
        return check_choice(name, value, LR_MIRROR_OPTIONS)
    if name == "sim_threshold":
        if value is not None and (isinstance(value, bool) or
                                  not isinstance(value, numbers.Real)):
            raise InvalidOptionError(name, value, ["None", "a number of SDs"])
        return value
    if name == "tolerance":
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InvalidOptionError(name, value, ["a number (mm, or SDs for surfaces)"])
        return value
    if name in ("norm_matched", "norm_structures", "reannotated"):
        return _check_bool(name, value)
    if name == "corrected_mni":
        if not isinstance(value, bool):
            # a table of refined sample coordinates (a DataFrame or a CSV path)
            return SampleCoordinates(value)
        return value
    if name == "agg_metric":
        if not callable(value):
            check_choice(name, value, list(AGG_METRICS),
                         hint="Or pass a callable accepting an `axis` keyword.")
        return value
    return check_donors(value)  # donors


_CHOICES: dict[str, list[Any]] = {
    "probe_selection": PROBE_SELECTION_METHODS, "donor_probes": DONOR_PROBES_OPTIONS,
    "missing": MISSING_OPTIONS, "sample_norm": NORM_OPTIONS, "gene_norm": NORM_OPTIONS,
    "region_agg": list(REGION_AGG_OPTIONS),
}


def _validate(given: dict[str, Any], memo: dict | None, stacklevel: int) -> dict[str, Any]:
    """:func:`check_options` of `given` (consumed); `memo` remembers checked values."""
    exact = given.pop("exact", None)
    if not given.keys() <= DEFAULTS.keys():
        unknown = sorted(set(given) - set(DEFAULTS))
        raise ValueError(
            f"Unknown option(s) {unknown}. Valid options: {sorted(DEFAULTS)}."
        )
    opts = {**DEFAULTS, **given}
    if exact is not None:
        warnings.warn("`exact` is deprecated; use `missing` instead (exact=False is "
                      "missing='centroids').", FutureWarning, stacklevel=stacklevel)
        if given.get("missing") is None:
            opts["missing"] = None if exact else "centroids"
    for name in _CHECK_ORDER:
        value = opts[name]
        if memo is None:
            opts[name] = _check_value(name, value, stacklevel)
            continue
        cls = value.__class__
        try:
            mkey = (name, cls, tuple(value) if cls is list else value)
            cached = memo.get(mkey, _MISS)
        except TypeError:  # unhashable: checked every time
            mkey, cached = None, _MISS
        if cached is _MISS:
            new = _check_value(name, value, stacklevel)
            if mkey is not None:
                memo[mkey] = _KEEP if new is value else new
            opts[name] = new
        elif cached is not _KEEP:
            # a list (donors) is copied: every option set owns its own
            opts[name] = list(cached) if cached.__class__ is list else cached
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


class OptionsChecker:
    """:func:`check_options` for many option sets, each distinct value checked once.

    A sweep has many option sets but few distinct values per option: the
    checker remembers every (option, value) it has checked, and its result,
    so each is checked (and, for a coordinate table, read) once. Results and
    errors are those of :func:`check_options` for the same options. A
    deprecation warning (``lr_mirror=True``) is given once per checker.

    Examples
    --------
    >>> check = OptionsChecker()
    >>> check({'gene_norm': 'zscore'}) == check_options({'gene_norm': 'zscore'})
    True
    """

    def __init__(self) -> None:
        self._memo: dict[tuple[str, type, Any], Any] = {}

    def __call__(self, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate one option set, as :func:`check_options`.

        Parameters
        ----------
        options : mapping, optional
            Option name -> value.

        Returns
        -------
        options : dict
            A new dict, as :func:`check_options` returns.
        """
        return _validate(dict(options or {}), self._memo, stacklevel=3)


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


class StageKeys:
    """:func:`stage_key` of several stages for many option sets, each hashed once.

    Every stage's options extend those of a smaller stage (its parent: the
    ``samples`` options are in every stage, ``genes`` extends ``probes``,
    ...). A stage's key is remembered by the distinct combination of its
    parent's options and its own additions, so an option set that shares a
    stage's options with an earlier one gets that stage's key without hashing.
    Keys are those of :func:`stage_key` for the same options.

    Parameters
    ----------
    stages : sequence of str, optional
        Stages (keys of :data:`STAGE_OPTIONS`) whose keys are returned, in
        this order; default: every stage.
    length : int, default=10
        Number of hex digits kept, as in :func:`stage_key`.

    Examples
    --------
    >>> keys = StageKeys(['samples', 'regional'])
    >>> opts = check_options()
    >>> keys(opts) == {s: stage_key(opts, s) for s in ('samples', 'regional')}
    True
    """

    def __init__(self, stages: Sequence[str] | None = None, length: int = 10) -> None:
        self.stages = tuple(STAGE_OPTIONS) if stages is None else tuple(stages)
        for stage in self.stages:
            check_choice("stage", stage, list(STAGE_OPTIONS))
        self.length = length
        # every stage, parents first: (stage, parent's position or -1, added option names)
        self._chain: list[tuple[str, int, tuple[str, ...]]] = []
        where: dict[str, int] = {}
        for stage in sorted(STAGE_OPTIONS, key=lambda s: len(STAGE_OPTIONS[s])):
            names = STAGE_OPTIONS[stage]
            parents = [p for p in where if set(STAGE_OPTIONS[p]) < set(names)]
            parent = max(parents, key=lambda p: len(STAGE_OPTIONS[p]), default=None)
            added = tuple(n for n in names if parent is None or n not in STAGE_OPTIONS[parent])
            where[stage] = len(self._chain)
            self._chain.append((stage, -1 if parent is None else where[parent], added))
        self._where = where
        #: per stage: (parent's token, added values) -> (token, key)
        self._memo: list[dict[tuple, tuple[int, str]]] = [{} for _ in self._chain]
        #: per option: its ``"name":<canonical JSON>`` for each distinct value
        self._json: dict[str, dict[tuple[type, Any], str]] = {}
        #: per stage: its option names, sorted as in the JSON of stage_key
        self._sorted = {stage: tuple(sorted(names)) for stage, names in STAGE_OPTIONS.items()}
        self._names = tuple(dict.fromkeys(n for names in STAGE_OPTIONS.values() for n in names))

    def _key(self, stage: str, items: Mapping[str, tuple[type, Any]]) -> str:
        # the canonical JSON of stage_key, joined from each value's JSON
        parts = []
        for name in self._sorted[stage]:
            item = items[name]
            known = self._json.setdefault(name, {})
            text = known.get(item)
            if text is None:
                value = _canonical(item[1] if item[0] is not list else list(item[1]))
                text = known[item] = (json.dumps(name) + ":" + json.dumps(
                    value, sort_keys=True, separators=(",", ":")))
            parts.append(text)
        blob = "{" + ",".join(parts) + "}"
        return hashlib.sha1(blob.encode()).hexdigest()[:self.length]

    def __call__(self, options: Mapping[str, Any], native: bool | None = None
                 ) -> dict[str, str]:
        """The key of every stage for one set of validated options.

        Parameters
        ----------
        options : mapping
            Validated options (:func:`check_options` output).
        native : bool, optional
            The ``native`` stage option (samples matched to donor-specific
            atlases); default: ``options.get('native', False)``.

        Returns
        -------
        keys : dict of str -> str
            Stage -> key, for the stages given to the constructor.
        """
        if native is None:
            native = options.get("native", False)
        items = {}
        for name in self._names:
            value = native if name == "native" else options[name]
            cls = value.__class__
            items[name] = (cls, tuple(value) if cls is list else value)
        try:
            return self._keys(items)
        except TypeError:  # an unhashable value: hashed as by stage_key
            values = dict(options, native=native)
            return {stage: stage_key(values, stage, self.length) for stage in self.stages}

    def _keys(self, items: Mapping[str, tuple[type, Any]]) -> dict[str, str]:
        tokens = [0] * len(self._chain)
        keys = [""] * len(self._chain)
        for i, (stage, parent, added) in enumerate(self._chain):
            memo = self._memo[i]
            mkey = (tokens[parent] if parent >= 0 else -1, *[items[n] for n in added])
            hit = memo.get(mkey)
            if hit is None:
                hit = memo[mkey] = (len(memo), self._key(stage, items))
            tokens[i], keys[i] = hit
        return {stage: keys[self._where[stage]] for stage in self.stages}


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
