"""The ``abagen`` command: parsing, validation, cache plumbing, and end to end."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from abagen_core import __version__
from abagen_core.options import DEFAULTS, check_options, stage_key
from abagen_core.utils import data_path
from abagen_core.workflow import cli

DK_VOLUME = str(data_path("atlas-desikankilliany.nii.gz"))
DK_INFO = str(data_path("atlas-desikankilliany.csv"))
DK_LH = str(data_path("atlas-desikankilliany-lh.label.gii.gz"))
DK_RH = str(data_path("atlas-desikankilliany-rh.label.gii.gz"))

#: every option of abagen 0.1.3's command (manual 7.3), both spellings, plus ours
OPTIONS = [
    "--version", "-v", "--verbose", "--atlas_info", "--atlas-info", "--donors",
    "--data_dir", "--data-dir", "--n_proc", "--n-proc", "--ibf_threshold",
    "--ibf-threshold", "--probe_selection", "--probe-selection", "--donor_probes",
    "--donor-probes", "--lr_mirror", "--lr-mirror", "--sim_threshold", "--sim-threshold",
    "--missing", "--tol", "--tolerance", "--sample_norm", "--sample-norm", "--gene_norm",
    "--gene-norm", "--norm_all", "--norm-all", "--norm_structures", "--norm-structures",
    "--region_agg", "--region-agg", "--agg_metric", "--agg-metric", "--no-reannotated",
    "--no_reannotated", "--no-corrected-mni", "--no_corrected_mni", "--stdout",
    "--output-file", "--output_file", "--save-counts", "--save_counts", "--save-donors",
    "--save_donors", "--cache-dir", "--cache_dir", "--debug",
]

#: a non-default value for every option, as (underscore spelling, other spelling, values)
NON_DEFAULT = [
    ("--atlas_info", "--atlas-info", [DK_INFO]),
    ("--data_dir", "--data-dir", [tempfile.gettempdir()]),
    ("--n_proc", "--n-proc", ["3"]),
    ("--ibf_threshold", "--ibf-threshold", ["0.25"]),
    ("--probe_selection", "--probe-selection", ["max_intensity"]),
    ("--donor_probes", "--donor-probes", ["independent"]),
    ("--lr_mirror", "--lr-mirror", ["leftright"]),
    ("--sim_threshold", "--sim-threshold", ["2.5"]),
    ("--tol", "--tolerance", ["3"]),
    ("--sample_norm", "--sample-norm", ["zscore"]),
    ("--gene_norm", "--gene-norm", ["None"]),
    ("--norm_all", "--norm-all", []),
    ("--norm_structures", "--norm-structures", []),
    ("--region_agg", "--region-agg", ["samples"]),
    ("--agg_metric", "--agg-metric", ["median"]),
    ("--no_reannotated", "--no-reannotated", []),
    ("--no_corrected_mni", "--no-corrected-mni", []),
    ("--output_file", "--output-file", ["x.csv"]),
    ("--save_counts", "--save-counts", []),
    ("--save_donors", "--save-donors", []),
    ("--cache_dir", "--cache-dir", ["/tmp/c"]),
]


def _exit_code(argv, capsys):
    """Run main(argv), expecting argparse's exit; return (code, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


# --------------------------------------------------------------------------- parsing


def test_help_mentions_every_option(capsys):
    code, out, _ = _exit_code(["--help"], capsys)
    assert code == 0
    for option in OPTIONS:
        assert option in out, option
    parser = cli.build_parser()
    for action in parser._actions:
        for option in action.option_strings:
            assert option in out, option
        assert action.help, action.dest
    assert "usage: abagen" in out
    assert "examples:" in out and "abagen --atlas_info" in out
    for choice in ("diff_stability", "bidirectional", "interpolate", "srs", "median"):
        assert choice in out


def test_version(capsys):
    code, out, _ = _exit_code(["--version"], capsys)
    assert code == 0
    assert __version__ in out


@pytest.mark.parametrize(("first", "second", "values"), NON_DEFAULT)
def test_both_spellings_parse_alike(first, second, values):
    parser = cli.build_parser()
    a = parser.parse_args([first, *values, DK_VOLUME])
    b = parser.parse_args([second, *values, DK_VOLUME])
    assert vars(a) == vars(b)
    assert vars(a) != vars(parser.parse_args([DK_VOLUME]))


def test_all_options_at_once_parse_alike():
    parser = cli.build_parser()
    one = [x for first, _, values in NON_DEFAULT for x in (first, *values)]
    two = [x for _, second, values in NON_DEFAULT for x in (second, *values)]
    assert vars(parser.parse_args(one + [DK_VOLUME])) == vars(parser.parse_args(two + [DK_VOLUME]))


def test_defaults_are_abagens():
    args = cli.build_parser().parse_args([DK_VOLUME])
    assert check_options(cli._options(args)) == check_options()
    assert args.n_proc == 1 and args.verbose == 0
    assert not (args.stdout or args.save_counts or args.save_donors)
    assert args.output_file is None and args.atlas_info is None


def test_option_values_reach_check_options():
    args = cli.build_parser().parse_args(
        ["--lr_mirror", "None", "--missing", "centroids", "--gene_norm", "None",
         "--norm_all", "--no-reannotated", "--tol", "0", DK_VOLUME, "--donors",
         "H0351.2001", "10021"])
    opts = check_options(cli._options(args))
    assert opts["lr_mirror"] is None and opts["gene_norm"] is None
    assert opts["missing"] == "centroids"
    assert opts["norm_matched"] is False and opts["reannotated"] is False
    assert opts["tolerance"] == 0
    assert opts["donors"] == ["9861", "10021"]


def test_suffixed_names():
    assert cli._suffixed(Path("/a/out.csv"), "counts") == Path("/a/out_counts.csv")
    assert cli._suffixed(Path("out.csv.gz"), "9861") == Path("out_9861.csv.gz")
    assert cli._suffixed(Path("out"), "counts") == Path("out_counts")


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("argv", "message"), [
    (["--probe_selection", "best", DK_VOLUME], "invalid choice: 'best'"),
    (["--lr_mirror", "both", DK_VOLUME], "invalid choice: 'both'"),
    (["--sample_norm", "foo", DK_VOLUME], "invalid choice: 'foo'"),
    ([DK_LH, DK_RH, DK_VOLUME], "got 3 files"),
    (["/no/such/atlas.nii.gz"], "file not found: /no/such/atlas.nii.gz"),
    (["--atlas_info", "/no/such/info.csv", DK_VOLUME], "file not found: /no/such/info.csv"),
    ([DK_LH], "needs two GIFTI"),
    ([DK_VOLUME, DK_RH], "must be GIFTI"),
    ([DK_VOLUME, "--donors", "1234"], "Invalid donor '1234'"),
    (["--ibf_threshold", "2", DK_VOLUME], "ibf_threshold"),
    (["--ibf_threshold", "x", DK_VOLUME], "invalid float value"),
    (["--n_proc", "0", DK_VOLUME], "--n_proc"),
    ([DK_VOLUME, "--donors", "12876"], "diff_stability"),
    (["--save-donors", "--region_agg", "samples", DK_VOLUME], "--save-donors"),
    (["BAD_NIFTI"], "cannot use BAD_NIFTI as an atlas"),
    ([], "required: atlas"),
])
def test_bad_arguments_exit_2(argv, message, tmp_path, capsys, monkeypatch):
    def _no_run(*args, **kwargs):
        raise AssertionError("the workflow must not start")

    monkeypatch.setattr(cli, "_run", _no_run)
    bad = tmp_path / "bad.nii.gz"
    bad.write_text("not an image")
    argv = [str(bad) if a == "BAD_NIFTI" else a for a in argv]
    message = message.replace("BAD_NIFTI", str(bad))
    cache = tmp_path / "cache"
    code, out, err = _exit_code(["--cache-dir", str(cache), *argv], capsys)
    assert code == 2
    assert message in err
    assert err.strip().splitlines()[-1].startswith("abagen: error:")  # one line
    assert out == ""
    assert not cache.exists()  # nothing was done


def test_ibf_threshold_error_is_the_apis(capsys):
    with pytest.raises(ValueError) as api_error:
        check_options(ibf_threshold=2.0)
    _, _, err = _exit_code(["--ibf_threshold", "2", DK_VOLUME], capsys)
    assert str(api_error.value) in err


# --------------------------------------------------------------------------- plumbing


def _fake_run(calls):
    """Stand-in for cli._run: records the command and writes the requested results."""

    def _run(cmd, log_path, verbose, stream):
        workdir = Path(cmd[cmd.index("--directory") + 1])
        calls.append(cmd)
        for target in (c for c in cmd if c.startswith("results/")):
            path = workdir / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"label,{path.stem}\n1,0.5\n")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("Finished jobid: 1 (Rule: regional_variant)\n")
        return 0, log_path.read_text()

    return _run


@pytest.fixture
def no_atlas_check(monkeypatch):
    """Skip loading the atlas (about a second per volume) in plumbing tests."""
    monkeypatch.setattr(cli, "_check_atlas", lambda *args: None)


def _config(cmd):
    return yaml.safe_load(Path(cmd[cmd.index("--configfile") + 1]).read_text())


def test_config_and_outputs(no_atlas_check, tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(cli, "_run", _fake_run(calls))
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    cache = tmp_path / "cache"
    argv = ["--cache-dir", str(cache), "--data-dir", str(data), "--donors", "9861", "10021",
            "--probe_selection", "max_intensity", "--gene_norm", "None", "--n_proc", "3"]
    assert cli.main(argv + ["--save-counts", "--save-donors", "--save-genes", "--atlas_info",
                            DK_INFO, DK_VOLUME]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""  # quiet without -v
    # default output file in $PWD, counts and donors beside it
    assert (tmp_path / "abagen_expression.csv").read_text().startswith("label,expression")
    assert (tmp_path / "abagen_expression_counts.csv").read_text().startswith("label,counts")
    assert (tmp_path / "abagen_expression_genes.csv").read_text().startswith("label,genes")
    for donor in ("9861", "10021"):
        assert (tmp_path / f"abagen_expression_{donor}.csv").exists()

    cmd = calls[0]
    assert cmd[cmd.index("--snakefile") + 1] == str(cli.SNAKEFILE)
    assert cli.SNAKEFILE.exists()
    assert cmd[cmd.index("--cores") + 1] == "3"
    workdir = Path(cmd[cmd.index("--directory") + 1])
    assert workdir.parent == cache
    assert workdir == cli.workdir_for(cache, str(data))
    config = _config(cmd)
    assert config["donors"] == ["9861", "10021"]
    assert config["outputs"] == {"save_donors": True}
    assert Path(config["data_dir"]) == data.resolve()
    (atlas_name, atlas), = config["atlases"].items()
    assert atlas_name.startswith("a") and len(atlas_name) == 11
    assert set(atlas) == {"image", "info"}
    assert Path(atlas["image"]).read_bytes() == Path(DK_VOLUME).read_bytes()
    assert Path(atlas["image"]).is_relative_to(workdir)
    (variant, options), = config["variants"].items()
    opts = check_options(options, donors=["9861", "10021"])
    assert variant == "v" + stage_key(opts, "regional")
    assert opts["gene_norm"] is None and opts["probe_selection"] == "max_intensity"
    assert {k: v for k, v in opts.items() if k not in DEFAULTS} == {}
    targets = [c for c in cmd if c.startswith("results/")]
    assert f"results/{atlas_name}/{variant}/expression.csv" in targets
    assert f"results/{atlas_name}/{variant}/donors/expression_10021.csv" in targets

    # -v reports progress on stderr; --stdout prints the matrix and writes no file
    assert cli.main(argv + ["-v", "--stdout", "--save-counts", "--output-file",
                            str(tmp_path / "never.csv"), DK_VOLUME]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("label,expression")
    assert "abagen: cache:" in err and "1 job(s) run" in err
    assert not (tmp_path / "never.csv").exists()
    assert not (tmp_path / "never_counts.csv").exists()
    assert _config(calls[1])["outputs"] == {"save_donors": False}


def test_names_are_stable_per_content(no_atlas_check, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "_run", _fake_run(calls))
    cache, out = tmp_path / "cache", tmp_path / "out.csv"
    copies = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        copies.append(str(shutil.copy(DK_VOLUME, tmp_path / folder / f"{folder}.nii.gz")))
    base = ["--cache-dir", str(cache), "--data_dir", str(tmp_path), "--output-file", str(out)]
    for path in copies:
        assert cli.main(base + [path]) == 0
    assert cli.main(base + ["--atlas_info", DK_INFO, copies[0]]) == 0
    assert cli.main(base + ["--tol", "2.0", DK_LH, DK_RH]) == 0
    assert cli.main(base + ["--gene_norm", "zscore", copies[0]]) == 0
    names = [next(iter(_config(c)["atlases"])) for c in calls]
    variants = [next(iter(_config(c)["variants"])) for c in calls]
    assert names[0] == names[1]  # same bytes, other path and name
    assert _config(calls[0])["atlases"] == _config(calls[1])["atlases"]
    assert names[2] != names[0]  # atlas_info is part of the atlas
    assert names[3] != names[0] and set(_config(calls[3])["atlases"][names[3]]) == {
        "lh", "rh", "info"}
    assert names[4] == names[0]
    assert variants[0] == variants[1] == variants[2] == variants[3] != variants[4]


def test_workflow_failure_returns_1(no_atlas_check, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_run", lambda cmd, log_path, verbose, stream: (1, "boom\n"))
    assert cli.main(["--cache-dir", str(tmp_path), "--data_dir", str(tmp_path),
                     "--output-file", str(tmp_path / "o.csv"), DK_VOLUME]) == 1
    err = capsys.readouterr().err
    assert "the workflow failed" in err and "boom" in err
    assert not (tmp_path / "o.csv").exists()


def test_jobs_run():
    text = ("Finished jobid: 3 (Rule: label_samples)\nfoo\n"
            "Finished jobid: 0 (Rule: regional_variant)\n")
    assert cli.jobs_run(text) == ["label_samples", "regional_variant"]


# --------------------------------------------------------------------------- end to end

#: jobs that depend on the atlas; everything else must come from the cache
ATLAS_RULES = {"label_samples", "regional_variant"}


def _read(path):
    return pd.read_csv(path, index_col=0)


def _mtimes(resources: Path) -> dict[str, int]:
    return {str(p.relative_to(resources)): p.stat().st_mtime_ns
            for p in resources.rglob("*") if p.is_file()
            and p.relative_to(resources).parts[0] not in ("labels", "regional")}


@pytest.mark.slow
def test_end_to_end_matches_api_and_reuses_cache(full_parity_dir, tmp_path, capsys):
    from abagen_core.api import get_expression_data

    data_dir = str(full_parity_dir / "data")
    cache = tmp_path / "cache"
    opts = {"donors": ["12876", "15496"], "probe_selection": "max_intensity"}
    base = ["--cache-dir", str(cache), "--data_dir", data_dir, "--n_proc", "4",
            "--donors", "12876", "15496", "--probe_selection", "max_intensity",
            "--atlas_info", DK_INFO]
    out = tmp_path / "out" / "dk.csv"
    assert cli.main(base + ["--output-file", str(out), "--save-counts", "--save-donors",
                            DK_VOLUME]) == 0
    capsys.readouterr()

    expected, counts = get_expression_data(DK_VOLUME, DK_INFO, data_dir=data_dir,
                                           return_counts=True, **opts)
    got = _read(out)
    assert got.shape == expected.shape == (83, expected.shape[1])
    assert list(got.index) == list(expected.index)
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-9)
    got_counts = _read(out.with_name("dk_counts.csv"))
    assert got_counts.shape == (83, 2)
    np.testing.assert_array_equal(got_counts.to_numpy(), counts.to_numpy())
    for donor in opts["donors"]:
        frame = _read(out.with_name(f"dk_{donor}.csv"))
        assert frame.shape == expected.shape
        assert list(frame.columns) == list(expected.columns)

    # a second atlas re-uses every atlas-independent file of the cache
    workdir = cli.workdir_for(cache, data_dir)
    before = _mtimes(workdir / "resources")
    assert before
    out2 = tmp_path / "out" / "dk_surface.csv"
    assert cli.main(base + ["--output-file", str(out2), DK_LH, DK_RH]) == 0
    ran = set(cli.jobs_run((workdir / "logs" / "abagen-cli.log").read_text()))
    assert ran and ran <= ATLAS_RULES, ran
    assert _mtimes(workdir / "resources") == before
    expected2 = get_expression_data((DK_LH, DK_RH), DK_INFO, data_dir=data_dir, **opts)
    got2 = _read(out2)
    assert got2.shape == expected2.shape
    np.testing.assert_allclose(got2.to_numpy(), expected2.to_numpy(), rtol=0, atol=1e-9)

    # the same call again runs nothing
    assert cli.main(base + ["--output-file", str(out2), DK_LH, DK_RH]) == 0
    assert cli.jobs_run((workdir / "logs" / "abagen-cli.log").read_text()) == []
    assert os.path.getsize(out2) > 0


# --------------------------------------------------------------------------- abagen's parsing

MANUAL = Path(__file__).resolve().parents[2] / "shared" / "seed" / "abagen-manual.txt"


def _manual_cli_options() -> set[str]:
    """Every option spelling of abagen's command in the manual (section 7.3)."""
    if not MANUAL.is_file():
        pytest.skip(f"manual not found at {MANUAL}")
    text = MANUAL.read_text(encoding="utf-8")
    section = text[text.index("7.3 Command-line usage"):text.index("7.4 User guide")]
    # the manual prints '--' as an en dash in running text; spellings come from
    # the usage block (--x) and the option list (--a, --b at a line start)
    options = set(re.findall(r"\[(-{1,2}[A-Za-z][\w-]*)", section))
    for line in section.splitlines():
        options.update(re.findall(r"(?:^|, )(--[a-z][\w-]*)", line))
    return options


def test_every_option_of_the_manual_parses():
    options = _manual_cli_options()
    assert {"--version", "-v", "--atlas_info", "--atlas-info", "--tol", "--tolerance",
            "--no-corrected-mni", "--no_corrected_mni", "--save_donors"} <= options
    parser = cli.build_parser()
    known = {o for action in parser._actions for o in action.option_strings}
    assert options - known == set()


def test_atlas_parses_like_abagens(tmp_path):
    parser = cli.build_parser()
    args = parser.parse_args([os.path.relpath(DK_VOLUME)])
    assert args.atlas == DK_VOLUME  # one path, absolute (abagen: a string)
    assert parser.parse_args([DK_LH, DK_RH]).atlas == [DK_LH, DK_RH]
    assert parser.parse_args(["--atlas_info", DK_INFO, DK_VOLUME]).atlas_info == DK_INFO


@pytest.mark.parametrize(("argv", "message"), [
    (["/no/such/atlas.nii.gz"], "argument atlas: file not found: /no/such/atlas.nii.gz"),
    ([DK_LH, "/no/rh.gii"], "argument atlas: file not found: /no/rh.gii"),
    (["--atlas_info", "/no/info.csv", DK_VOLUME], "file not found: /no/info.csv"),
    (["--data-dir", "/no/such/data", DK_VOLUME], "folder not found: /no/such/data"),
    (["--data_dir", DK_INFO, DK_VOLUME], "is not a folder"),
])
def test_missing_paths_fail_when_parsed(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        cli.build_parser().parse_args(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_data_dir_typo_is_immediate(tmp_path, capsys, monkeypatch):
    def _no_work(*args, **kwargs):
        raise AssertionError("nothing may be downloaded or run")

    monkeypatch.setattr(cli, "_run", _no_work)
    monkeypatch.setattr(cli, "_data_dir", _no_work)
    code, out, err = _exit_code(["--cache-dir", str(tmp_path / "c"), "--data-dir",
                                 str(tmp_path / "typo"), DK_VOLUME], capsys)
    assert code == 2 and str(tmp_path / "typo") in err and out == ""


def test_debug_prints_arguments_and_does_nothing(tmp_path, capsys, monkeypatch):
    def _no_work(*args, **kwargs):
        raise AssertionError("--debug must not start any work")

    monkeypatch.setattr(cli, "_validate", _no_work)
    monkeypatch.setattr(cli, "_run", _no_work)
    assert cli.main(["--debug", DK_VOLUME, "--donors", "9861"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Namespace(") and "debug=True" in out
    assert f"atlas='{DK_VOLUME}'" in out and "donors=['9861']" in out
