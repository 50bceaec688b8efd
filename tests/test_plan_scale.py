"""Planning large sweeps: several grids, sortable names, and memoised checks and keys.

``build_plan`` checks each distinct option value once
(:class:`~abagen_core.options.OptionsChecker`) and hashes each stage once per
distinct set of its options (:class:`~abagen_core.options.StageKeys`). These
tests hold the results to those of one :func:`check_options` and seven
:func:`stage_key` calls per variant: the keys name cached files on disk.
"""

from __future__ import annotations

import importlib.util
import itertools
import warnings

import pytest
from conftest import REPO

from abagen_core.options import (
    STAGE_OPTIONS,
    OptionsChecker,
    StageKeys,
    check_options,
    stage_key,
)
from abagen_core.workflow.plan import STAGES, build_plan, expand_sweep

#: option sets with the values whose normalisation or hashing could go wrong
#: when remembered: ints and floats, True/False, aliases, lists, deprecated names
TRICKY = [
    {},
    {"ibf_threshold": 0}, {"ibf_threshold": 0.0}, {"ibf_threshold": 1}, {"ibf_threshold": 0.25},
    {"tolerance": 2}, {"tolerance": 2.0}, {"tolerance": -1}, {"tolerance": 0.5},
    {"lr_mirror": True}, {"lr_mirror": False}, {"lr_mirror": "rightleft"},
    {"exact": False}, {"exact": True, "missing": "interpolate"},
    {"sim_threshold": 1}, {"sim_threshold": 1.0}, {"sim_threshold": None},
    {"probe_selection": "mean", "donor_probes": "common"},
    {"sample_norm": None, "gene_norm": "zscore"}, {"gene_norm": "scaled_sig_qnt"},
    {"norm_matched": False, "norm_structures": True, "corrected_mni": False,
     "reannotated": False},
    {"region_agg": "samples", "agg_metric": "median"},
    {"donors": ["9861", "10021"]}, {"donors": ("9861", 10021)}, {"donors": "all"},
    {"donors": ["H0351.2001", "H0351.2002"], "probe_selection": "rnaseq"},
]

INVALID = [
    {"ibf_threshold": True}, {"ibf_threshold": 2}, {"tolerance": True},
    {"tolerance": [1]}, {"norm_matched": 1}, {"lr_mirror": "both"},
    {"gene_norm": "zscore", "sample_norm": "nope", "tolerance": "x"},  # the first checked
    {"probe_selection": "diff_stability", "donors": ["9861"]},
    {"probe_selection": "rnaseq", "donors": ["12876"]},
    {"unknown": 1}, {"donors": ["1"]},
]


def _error(check, options):
    with pytest.raises(ValueError) as info:
        check(options)
    return type(info.value), str(info.value)


def test_options_checker_equals_check_options():
    check = OptionsChecker()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for _ in range(2):  # the second round is answered from memory
            for options in TRICKY:
                got, expected = check(options), check_options(options)
                assert got == expected
                assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]
                assert list(got) == list(expected)
    # every option set owns its donor list
    a, b = check({}), check({})
    assert a["donors"] == b["donors"] and a["donors"] is not b["donors"]
    a["donors"].append("x")
    assert check({})["donors"] == check_options()["donors"]


def test_options_checker_refuses_as_check_options():
    check = OptionsChecker()
    for options in TRICKY:  # remember valid values first
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            check(options)
    for _ in range(2):
        for options in INVALID:
            assert _error(check, options) == _error(check_options, options)


def test_options_checker_warns_of_deprecated_values():
    with pytest.warns(FutureWarning, match="lr_mirror=True"):
        assert OptionsChecker()({"lr_mirror": True})["lr_mirror"] == "bidirectional"
    with pytest.warns(FutureWarning, match="exact"):
        assert OptionsChecker()({"exact": False})["missing"] == "centroids"


def _reference_keys(options, native=False):
    staged = dict(options, native=native)
    return {stage: stage_key(staged, stage) for stage in STAGE_OPTIONS}


def test_stage_keys_equal_stage_key():
    keys = StageKeys()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        validated = [check_options(o) for o in TRICKY]
    for _ in range(2):
        for options in validated:
            for native in (False, True):
                assert keys(options, native=native) == _reference_keys(options, native)
    # 2 and 2.0 hash alike, as in stage_key
    assert keys(check_options(tolerance=2))["labels"] == \
        keys(check_options(tolerance=2.0))["labels"]
    # `native` read from the options when not given
    staged = dict(validated[0], native=True)
    assert keys(staged) == _reference_keys(validated[0], native=True)


def test_stage_keys_order_length_and_unhashable_values():
    options = check_options(gene_norm="zscore")
    keys = StageKeys(["regional", "samples"], length=16)
    assert list(keys(options)) == ["regional", "samples"]
    assert keys(options)["regional"] == stage_key(options, "regional", length=16)
    # a value that cannot be remembered is hashed as stage_key hashes it
    odd = dict(options, sim_threshold=[1, 2])
    assert StageKeys()(odd) == _reference_keys(odd)
    with pytest.raises(ValueError, match="stage"):
        StageKeys(["nope"])


def test_stage_keys_each_combination_hashed_once():
    keys = StageKeys()
    grid = [check_options(gene_norm=g, tolerance=t)
            for g, t in itertools.product(["srs", "zscore", None], [0, 1, 2])]
    for options in grid:
        keys(options)
    memo = dict(zip((c[0] for c in keys._chain), keys._memo, strict=True))
    assert len(memo["samples"]) == 1 and len(memo["probes"]) == 1
    assert len(memo["labels"]) == 3 and len(memo["regional"]) == 9


def test_build_plan_keys_equal_per_variant_keys():
    sweep = {"grid": {"gene_norm": ["srs", None], "ibf_threshold": [0, 0.5],
                      "lr_mirror": [None, True], "tolerance": [1, 2.0]},
             "list": [{"probe_selection": "max_intensity", "donor_probes": "independent"},
                      {"exact": False}]}
    config = {"atlases": {"dk": {"builtin": "dk-volume"}, "native": {"builtin": "dk-native"},
                          "surf": {"builtin": "dk-surface"}},
              "variants": {"default": {}, "z": {"gene_norm": "zscore"}}, "sweep": sweep}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        plan = build_plan(config)
        raw = {**config["variants"], **expand_sweep(sweep)}
        expected = {n: check_options(dict(o, donors=plan.donors)) for n, o in raw.items()}
    assert plan.variants == expected
    assert list(plan.variants) == list(expected)
    by_key = {s: {} for s in STAGES}
    for atlas, spec in plan.atlases.items():
        native = spec.kind == "native"
        for name, options in expected.items():
            keys = {s: k for s, k in _reference_keys(options, native).items() if s in STAGES}
            assert plan.keys[atlas, name] == keys
            for stage, key in keys.items():
                by_key[stage].setdefault(key, dict(options, native=native))
    # swept variants: their probe selection's genes before sample normalization
    unnormalized = {}
    for atlas, spec in plan.atlases.items():
        native = spec.kind == "native"
        for name in plan.swept:
            probes_key = plan.keys[atlas, name]["probes"]
            key = _reference_keys(dict(expected[name], sample_norm=None), native)["genes"]
            assert unnormalized.setdefault(probes_key, key) == key
            by_key["genes"].setdefault(key, dict(by_key["probes"][probes_key], sample_norm=None))
    assert plan.unnormalized == unnormalized
    assert plan.by_key == by_key
    for stage in STAGES:
        assert list(plan.by_key[stage]) == list(by_key[stage])


def test_build_plan_reports_the_variant_of_a_bad_sweep_value():
    sweep = {"grid": {"gene_norm": ["srs", "zscore"], "tolerance": [1, "far"]}}
    with pytest.raises(ValueError, match=r"variants\.sweep-0001: .*tolerance"):
        build_plan({"atlases": {"dk": {"builtin": "dk-volume"}}, "sweep": sweep})


# ---------------------------------------------------------------------------
# sweep: grids and names

#: Markello et al. (2021): probe_selection x donor_probes has 12 valid pairs
PAIRS = [
    {"probe_selection": ["average", "diff_stability", "rnaseq"],
     "donor_probes": ["aggregate"]},
    {"probe_selection": ["max_intensity", "corr_variance", "corr_intensity"],
     "donor_probes": ["aggregate", "independent", "common"]},
]


def test_grids_union_in_order():
    variants = expand_sweep({"grids": PAIRS, "prefix": "mv"})
    assert len(variants) == 12
    assert list(variants)[:2] == ["mv-0000", "mv-0001"]
    # option names sorted, the last varying fastest; the first grid first
    assert list(variants.values())[:4] == [
        {"donor_probes": "aggregate", "probe_selection": "average"},
        {"donor_probes": "aggregate", "probe_selection": "diff_stability"},
        {"donor_probes": "aggregate", "probe_selection": "rnaseq"},
        {"donor_probes": "aggregate", "probe_selection": "max_intensity"},
    ]
    assert list(variants.values())[-1] == {"donor_probes": "common",
                                           "probe_selection": "corr_intensity"}


def test_grids_skip_combinations_an_earlier_grid_gave():
    sweep = {"grid": {"a": [1, 2]},
             "grids": [{"a": [2, 3]}, {"a": [1.0, 3]}, {"a": [1], "b": [1]}],
             "list": [{"a": 1}]}
    assert list(expand_sweep(sweep).values()) == [
        {"a": 1}, {"a": 2}, {"a": 3},
        {"a": 1.0},                 # not the same value: another type
        {"a": 1, "b": 1},           # other options
        {"a": 1},                   # list entries are never skipped
    ]


def test_grid_and_list_names_unchanged():
    """The example of config/README.md keeps its names."""
    sweep = {"grid": {"gene_norm": ["srs", "zscore"], "ibf_threshold": [0.2, 0.5]},
             "list": [{"probe_selection": "max_intensity"}], "prefix": "mv"}
    variants = expand_sweep(sweep)
    assert list(variants) == [f"mv-000{i}" for i in range(5)]
    assert variants["mv-0001"] == {"gene_norm": "srs", "ibf_threshold": 0.5}
    assert variants["mv-0004"] == {"probe_selection": "max_intensity"}


@pytest.mark.parametrize(("n", "first", "last"), [
    (10_000, "sweep-0000", "sweep-9999"),
    (10_001, "sweep-00000", "sweep-10000"),
    (100_001, "sweep-000000", "sweep-100000"),
])
def test_names_sortable_and_unique(n, first, last):
    variants = expand_sweep({"list": [{}] * n})
    names = list(variants)
    assert (names[0], names[-1]) == (first, last)
    assert len(set(names)) == n and sorted(names) == names


@pytest.mark.parametrize(("sweep", "words"), [
    ({"grid": {"gene_norm": "zscore"}}, "sweep.grid.gene_norm: give a list"),
    ({"grids": [{"gene_norm": ["srs"]}, ["srs"]]}, "sweep.grids[1]: a grid maps"),
    ({"grids": {"gene_norm": ["srs"]}}, "sweep.grids: give a list of grids"),
])
def test_bad_grids_refused(sweep, words):
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace(".", r"\.")):
        expand_sweep(sweep)


def test_grids_in_the_plan():
    config = {"atlases": {"dk": {"builtin": "dk-volume"}}, "variants": {"default": {}},
              "sweep": {"grids": PAIRS}}
    plan = build_plan(config)
    assert len(plan.variants) == 13
    # default is sweep-0001 (diff_stability, aggregate): same keys
    assert plan.keys["dk", "default"] == plan.keys["dk", "sweep-0001"]
    assert len(plan.by_key["probes"]) == 12 and len(plan.by_key["psummary"]) == 6


def _plan_benchmark():
    spec = importlib.util.spec_from_file_location("plan_benchmark",
                                                  REPO / "benchmarks" / "plan_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plan_benchmark_multiverse_and_parts():
    bench = _plan_benchmark()
    assert bench.multiverse_size() == 373_248
    pairs = {(p, d) for grid in bench.MULTIVERSE_GRIDS
             for p in grid["probe_selection"] for d in grid["donor_probes"]}
    assert len(pairs) == 12
    first = bench.multiverse_list(1000)
    assert len(first) == 1000 and len({tuple(sorted(o.items())) for o in first}) == 1000
    assert list(expand_sweep(bench.config(1000, "list")["sweep"]).values()) == first
    for part in ("build", "cache-read", "keys-memo"):
        row = bench.run_part(part, 1000, "list")
        assert row["variants"] == (1001 if part != "keys-memo" else 1000)  # + default
        assert row["seconds"] >= 0 and row["peak_rss_mb"] > 0
