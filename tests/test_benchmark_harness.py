"""Smoke tests of the benchmark harness (benchmarks/run_benchmark.py).

Parsing, config writing, tables and result files are checked on made-up
inputs; one end-to-end run drives the harness over a tiny synthetic dataset
with a toy Snakefile (so it does not depend on the real workflow being
complete). Nothing here asserts on wall-clock time.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO / "benchmarks" / "run_benchmark.py"


@pytest.fixture(scope="module")
def rb():
    """The harness, imported from its file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("run_benchmark", HARNESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_benchmark"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("run_benchmark", None)


TIME_V = """\
\tCommand being timed: "snakemake --cores 2"
\tUser time (seconds): 61.25
\tSystem time (seconds): 4.10
\tPercent of CPU this job got: 180%
\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02:03.50
\tAverage shared text size (kbytes): 0
\tMaximum resident set size (kbytes): 2048000
\tExit status: 0
"""

SNAKEMAKE_LOG = """\
Building DAG of jobs...
Job stats:
job               count
--------------  -------
all                   1
convert_matrix        4
label_samples         2
total                 7

[Tue Nov 24 21:18:38 2026]
Finished jobid: 3 (Rule: convert_matrix)
1 of 7 steps (14%) done
Finished jobid: 4 (Rule: convert_matrix)
Finished jobid: 5 (Rule: convert_matrix)
Finished jobid: 6 (Rule: convert_matrix)
Finished jobid: 1 (Rule: label_samples)
Finished jobid: 2 (Rule: label_samples)
Finished jobid: 0 (Rule: all)
7 of 7 steps (100%) done
"""


def test_parse_elapsed(rb):
    assert rb.parse_elapsed("0:05.28") == pytest.approx(5.28)
    assert rb.parse_elapsed("1:02:03.50") == pytest.approx(3723.5)
    assert rb.parse_elapsed("12.5") == pytest.approx(12.5)
    with pytest.raises(ValueError):
        rb.parse_elapsed("1:2:3:4")


def test_parse_time_v(rb):
    out = rb.parse_time_v(TIME_V)
    assert out["max_rss_kb"] == 2048000
    assert out["max_rss_mb"] == pytest.approx(2000.0)
    assert out["wall_s"] == pytest.approx(3723.5)
    assert out["user_s"] == pytest.approx(61.25)
    assert out["exit_status"] == 0
    assert out["cpu_percent"] == pytest.approx(180.0)
    killed = rb.parse_time_v(TIME_V.replace("\tExit status: 0\n",
                                            "Command terminated by signal 9\n"))
    assert killed["signal"] == 9
    assert rb.parse_time_v("") == {}


def test_parse_snakemake_jobs(rb):
    out = rb.parse_snakemake_jobs(SNAKEMAKE_LOG)
    assert out == {"jobs": 6, "per_rule": {"convert_matrix": 4, "label_samples": 2},
                   "planned": 7}
    nothing = rb.parse_snakemake_jobs("Building DAG of jobs...\nNothing to be done (all "
                                      "requested files are present and up to date).\n")
    assert nothing["jobs"] == 0
    # output without 'Finished jobid' lines: steps, minus the target
    assert rb.parse_snakemake_jobs("3 of 3 steps (100%) done\n")["jobs"] == 2
    assert rb.parse_snakemake_jobs("WorkflowError: broken\n")["jobs"] is None


def _write_tsv(path: Path, rows: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time"]
    lines += [f"{s}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t0\t0" for s, rss in rows]
    path.write_text("\n".join(lines) + "\n")


def test_read_and_summarise_benchmarks(rb, tmp_path):
    bench = tmp_path / "logs" / "benchmarks"
    _write_tsv(bench / "convert_matrix" / "9861_microarray.tsv", [("10.5", "1500.25")])
    _write_tsv(bench / "convert_matrix" / "9861_pacall.tsv", [("8.0", "900.0")])
    _write_tsv(bench / "select_probes" / "abc.tsv", [("0.01", "NA")])
    before = rb.benchmark_snapshot(tmp_path)
    _write_tsv(bench / "label_samples" / "dk_k_9861.tsv", [("2.0", "300"), ("3.0", "310.5")])

    jobs = rb.read_benchmarks(tmp_path)
    assert len(jobs) == 4
    assert {j.rule for j in jobs} == {"convert_matrix", "select_probes", "label_samples"}
    new = rb.read_benchmarks(tmp_path, before)
    assert [(j.rule, j.name, j.s, j.max_rss_mb) for j in new] == [
        ("label_samples", "dk_k_9861", 3.0, 310.5)]

    rules = rb.summarise_rules(jobs)
    assert [r.rule for r in rules] == ["convert_matrix", "label_samples", "select_probes"]
    cm = rules[0]
    assert (cm.jobs, cm.max_rss_mb, cm.max_rss_job) == (2, 1500.25, "9861_microarray")
    assert cm.total_s == pytest.approx(18.5)
    assert rules[2].max_rss_mb is None  # NA stays unknown, never 0


def test_config_round_trip(rb, tmp_path):
    import yaml

    cfg = rb.make_config(tmp_path / "data", {"dk": {"builtin": "dk-volume"}},
                         {"default": {}, "zs": {"gene_norm": "zscore"}})
    path = rb.write_config(tmp_path / "c.yaml", cfg)
    back = yaml.safe_load(path.read_text())
    assert back == cfg
    assert back["data_dir"] == str((tmp_path / "data").resolve())
    assert back["synthetic"] == {"enabled": False}
    assert back["variants"]["zs"] == {"gene_norm": "zscore"}
    schema_file = REPO / "config" / "schema" / "config.schema.yaml"
    try:
        schema = yaml.safe_load(schema_file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        pytest.skip(f"config schema unreadable: {exc}")
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(back, schema)


def test_sweep_variants(rb):
    v = rb.sweep_variants(5)
    assert list(v) == ["v000", "v001", "v002", "v003", "v004"]
    assert v["v000"] == {"gene_norm": "srs", "sample_norm": "srs", "ibf_threshold": 0.5}
    assert len({json.dumps(o, sort_keys=True) for o in v.values()}) == 5
    n_max = len(rb.sweep_variants(48))
    assert n_max == 48
    with pytest.raises(ValueError):
        rb.sweep_variants(49)
    with pytest.raises(ValueError):
        rb.sweep_variants(0)


def _measurement(rb, scenario, wall, rss, **kw):
    return rb.Measurement(scenario, scenario, "ok", wall_s=wall, peak_rss_mb=rss, **kw)


def test_tables_and_result_files(rb, tmp_path):
    rules = [rb.RuleStats("convert_matrix", 12, 1500.0, "9861_microarray", 100.0, 12.0),
             rb.RuleStats("label_samples", 6, 300.0, "dk_k_9861", 6.0, 1.0)]
    results = [
        _measurement(rb, "cold", 200.0, 1600.0, jobs=40, tree_rss_mb=2900.0, rules=rules),
        _measurement(rb, "api", 150.0, 5000.0),
        rb.Measurement("atlas", "warm", "skipped", note="cold failed"),
        _measurement(rb, "abagen", 400.0, 8000.0),
    ]
    table = rb.format_table(results)
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["scenario", "status"]
    assert "wall/abagen" in lines[0] and "RSS/abagen" in lines[0]
    cold = next(ln for ln in lines if ln.startswith("cold"))
    assert "200.0" in cold and "1600.0" in cold and "1500.0 (convert_matrix)" in cold
    assert "0.50" in cold and "0.20" in cold  # 200/400 and 1600/8000
    assert "atlas: cold failed" in table
    rules_table = rb.format_rules_table(results)
    assert "convert_matrix" in rules_table and "9861_microarray" in rules_table
    assert rb.format_rules_table(results[1:2]).startswith("(no Snakemake")
    # without abagen there are no ratio columns
    assert "wall/abagen" not in rb.format_table(results[:2])

    paths = rb.write_results(tmp_path, results, {"mode": "default"})
    data = json.loads(paths["json"].read_text())
    assert data["mode"] == "default"
    by = {r["scenario"]: r for r in data["results"]}
    assert by["cold"]["max_rule"] == "convert_matrix"
    assert by["cold"]["wall_ratio_abagen"] == pytest.approx(0.5)
    assert by["api"]["rss_ratio_abagen"] == pytest.approx(0.625)
    with open(paths["csv"]) as fh:
        rows = list(csv.DictReader(fh))
    assert [r["scenario"] for r in rows] == ["cold", "api", "atlas", "abagen"]
    assert float(rows[0]["max_rule_rss_mb"]) == 1500.0
    with open(paths["rules"]) as fh:
        assert len(list(csv.DictReader(fh))) == 2


def test_measure_parses_rss(rb, tmp_path):
    code = "import time; b = bytearray(80 * 2**20); b[::4096] = b'x' * len(b[::4096]); " \
           "time.sleep(0.5); print('done')"
    res = rb.measure([sys.executable, "-c", code], cwd=tmp_path, log=tmp_path / "m.log")
    assert res.returncode == 0
    assert res.time_v["max_rss_mb"] >= 80
    assert res.tree_rss_mb is None or res.tree_rss_mb > 0
    assert "done" in Path(res.log).read_text()
    bad = rb.measure([sys.executable, "-c", "raise SystemExit(3)"], cwd=tmp_path,
                     log=tmp_path / "bad.log")
    assert bad.returncode == 3


def test_compare_tables(rb, tmp_path):
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("label,G1,G2\n1,0.5,\n2,0.25,1.0\n")
    b.write_text("label,G1,G2\n1,0.5000001,\n2,0.25,1.0\n")
    out = rb.compare_tables(a, b)
    assert out["same_index"] and out["same_columns"] and out["same_nan"]
    assert out["max_abs_diff"] == pytest.approx(1e-7, rel=1e-3)


TOY_SNAKEFILE = """\
def _targets():
    return [f"results/{a}/{v}/expression.csv" for a in config["atlases"]
            for v in config["variants"]]


rule all:
    default_target: True
    input:
        _targets(),


rule toy:
    output:
        "results/{atlas}/{variant}/expression.csv",
    benchmark:
        "logs/benchmarks/toy/{atlas}_{variant}.tsv"
    shell:
        "echo 'label,G1' > {output} && echo '1,0.5' >> {output}"
"""


@pytest.mark.slow
def test_harness_end_to_end(rb, tmp_path, capsys):
    """The whole harness over a tiny dataset with a toy workflow."""
    pytest.importorskip("snakemake")
    snakefile = tmp_path / "toy" / "Snakefile"
    snakefile.parent.mkdir()
    snakefile.write_text(textwrap.dedent(TOY_SNAKEFILE))
    work = tmp_path / "work"
    argv = ["--work", str(work), "--n-probes", "50", "--snakefile", str(snakefile),
            "--scenarios", "cold,atlas,option,abagen", "--keep"]
    assert rb.main(argv) == 0
    out = capsys.readouterr().out
    data = json.loads((work / "results.json").read_text())
    by = {r["scenario"]: r for r in data["results"]}
    assert by["cold"]["status"] == "ok" and by["cold"]["jobs"] == 1
    assert by["atlas"]["jobs"] == 1  # dks/default only
    assert by["option"]["jobs"] == 2  # zs for dk and dks
    assert by["option"]["max_rule"] == "toy"
    assert by["abagen"]["status"] == "skipped"
    assert data["dataset"]["n_probes"] == 50 and data["dataset"]["generated_s"] is not None
    for line in ("cold", "atlas", "option", "abagen"):
        assert any(ln.startswith(line) for ln in out.splitlines())
    assert "Peak RSS per rule" in out
    # the cached dataset is reused on a second run
    assert rb.main(argv[:-2] + ["cold", "--keep"]) == 0
    data = json.loads((work / "results.json").read_text())
    assert data["dataset"]["generated_s"] is None
    assert data["results"][0]["jobs"] == 1  # fresh working directory again
    # sweep mode: one workflow run with N variants
    assert rb.main(["--work", str(work), "--n-probes", "50", "--snakefile", str(snakefile),
                    "--variants", "3", "--scenarios", "cold"]) == 0
    data = json.loads((work / "results.json").read_text())
    assert data["mode"] == "sweep"
    (sweep,) = data["results"]
    assert sweep["scenario"] == "sweep-workflow" and sweep["jobs"] == 3
    assert sorted(sweep["extra"]["variants"]) == ["v000", "v001", "v002"]
    assert not (work / "runs").exists()  # removed without --keep


# --- sweep_benchmark.py and markello_benchmark.py helpers (nothing timed) ---


def _load_bench(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mb(rb):
    sb = _load_bench("sweep_benchmark")
    module = _load_bench("markello_benchmark")
    yield module, sb
    sys.modules.pop("markello_benchmark", None)
    sys.modules.pop("sweep_benchmark", None)


def test_markello_count_and_branches(mb):
    m, _ = mb
    assert m.count_pipelines() == m.EXPECTED == 373_248
    assert "agrees" in m.count_report()[0]
    assert m.check_levels() == []
    assert len(m.PROBE_PAIRS) == 12
    # a changed level is reported, not forced
    levels = dict(m.LEVELS, tolerance=[0, 1])
    lines = m.count_report(levels)
    assert "DIFFERS" in lines[0] and any("3 levels of tolerance" in ln for ln in lines)
    # the last index decodes to the last level of every decision point
    last = m.variant_at(m.count_pipelines() - 1)
    assert last["reannotated"] is False and last["probe_selection"] == "corr_intensity"
    small = {k: v[:1] for k, v in m.LEVELS.items()}
    small["tolerance"] = [0, 1]
    small["gene_norm"] = ["srs", "zscore"]
    groups = m.group_branches(small)
    # tolerance changes the label set (and the branch); gene_norm only the variant
    assert groups.n_variants == 4 and len(groups.branches) == 2
    assert len(groups.gene_sets) == 1 and len(groups.label_sets) == 2
    assert groups.sizes() == {2: 2}


def test_markello_extrapolation_and_tables(mb):
    m, _ = mb
    warm = m.BranchRun(1, "b0001", {"probe_selection": "rnaseq"}, 96, "warm", a_s=20.0,
                       a_cpu_s=30.0, b_s=50.0, b_cpu_s=60.0)
    m.marginals([warm], {"wall_s": 3.0, "cpu_s": 4.0})
    assert warm.marginal_s == round(47 / 95, 4)
    ext = m.extrapolate([warm], {"wall_s": 3.0, "cpu_s": 4.0}, 3888, 1296)
    assert ext["cpu"]["core_hours"] > 0 and ext["sampled"] == 1
    text = m.format_branches([warm]) + m.format_summary(
        ext, {"abagen 0.1.3": {"ok": True, "wall_s": 10.0}}, [warm])
    assert "b0001" in text and "Markello" in text and "not met" in text


def test_sweep_reader_falls_back_to_parquet(mb, tmp_path):
    import pandas as pd

    from abagen_core.storage.parquet import write_frame_parquet

    _, sb = mb
    frame = pd.DataFrame({"G1": [1.0, float("nan")], "G2": [0.5, 2.0]},
                         index=pd.Index([1, 2], name="label"))
    write_frame_parquet(frame, tmp_path / "results" / "dk" / "v" / "expression.parquet")
    got = sb.read_sweep_variant(tmp_path, "dk", "v")
    frame.to_csv(tmp_path / "v.csv")
    agree = sb.compare_frames(got, sb.read_matrix_csv(tmp_path / "v.csv"))
    assert agree["same_index"] and agree["same_columns"] and agree["same_nan"]
    assert agree["max_abs_diff"] == 0.0


def test_sweep_tables(mb):
    _, sb = mb
    row = sb.SweepRow(n=10, mode="api", status="ok", sweep_s=100.0, sweep_jobs=103,
                      job_rss_mb=900.0, job_rss_rule="normalize_donor/x", base_s=60.0,
                      marginal_s=4.4, sampled=3, single_mean_s=30.0, independent_s=300.0,
                      extrapolated=True, ratio=3.0, max_abs_diff=0.0)
    text = sb.format_sweep_table([row])
    assert "normalize_donor/x" in text and "4.40" in text and "300.0 (est.)" in text


def test_markello_branch_config_plans(mb, tmp_path):
    from abagen_core.workflow.plan import build_plan

    m, _ = mb
    groups = m.group_branches()
    key = sorted(groups.branches)[1234]
    variants = [m.variant_at(i) for i in groups.branches[key]]
    plan = build_plan(m.branch_config(tmp_path, "b1234", variants))
    assert list(plan.variants)[:2] == ["default", "b1234-0000"]
    assert len(plan.variants) == 1 + len(variants) == 97
