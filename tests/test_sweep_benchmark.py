"""The sweep benchmark's helpers (benchmarks/sweep_benchmark.py); nothing is timed here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sb():
    """The script, imported from its file (benchmarks/ is not a package)."""
    for name, file in (("run_benchmark", "run_benchmark.py"),
                       ("sweep_benchmark", "sweep_benchmark.py")):
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    yield sys.modules["sweep_benchmark"]
    sys.modules.pop("sweep_benchmark", None)
    sys.modules.pop("run_benchmark", None)


def test_grid_has_1000_distinct_variants(sb):
    variants = sb.grid_variants(1000)
    assert len(variants) == 1000
    assert variants["default"] == {}
    combos = {tuple(v.items()) for v in list(variants.values())[1:]}
    assert len(combos) == 999
    # the last option (gene_norm) varies fastest; the first ten share everything upstream
    first = list(variants.values())[1:10]
    assert {v["ibf_threshold"] for v in first} == {0.5}
    assert {v["sample_norm"] for v in first} == {"srs"}
    with pytest.raises(ValueError, match="between 1 and 1000"):
        sb.grid_variants(1001)


def test_sample_indices(sb):
    assert sb.sample_indices(10, 3) == [0, 4, 9]
    assert sb.sample_indices(1000, 4) == [0, 333, 666, 999]
    assert sb.sample_indices(5, None) == [0, 1, 2, 3, 4]
    assert sb.sample_indices(5, 1) == [0]


def test_sweep_config_gives_the_same_variants_as_single_configs(sb, tmp_path):
    from abagen_core.workflow.plan import build_plan

    variants = sb.grid_variants(12)
    cfg = sb.sweep_config(tmp_path, variants)
    assert cfg["qc"] == {"enabled": False}
    plan = build_plan(cfg)
    assert list(plan.variants) == list(variants)
    for name in ("default", "sweep-0004", "sweep-0010"):
        single = build_plan(sb.single_config(tmp_path, name, variants[name]))
        assert list(single.variants) == [name]
        # same options, hence the same cache keys as in the sweep
        assert single.keys["dk", name] == plan.keys["dk", name]
    schema = yaml.safe_load((REPO / "config" / "schema" / "config.schema.yaml").read_text())
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(yaml.safe_load(yaml.safe_dump(cfg)), schema)


def test_table(sb):
    rows = [sb.SweepRow(n=10, mode="workflow", status="ok", sweep_s=100.0, sweep_jobs=103,
                        plan_s=5.0, sampled=3, single_mean_s=90.0, independent_s=900.0,
                        extrapolated=True, ratio=9.0, max_abs_diff=0.0)]
    text = sb.format_sweep_table(rows)
    assert "3 of 10" in text and "900.0 (est.)" in text and "9.00" in text
