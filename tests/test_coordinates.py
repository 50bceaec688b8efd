"""corrected_mni=<table>: user-supplied sample coordinates, validated and hashed by content."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abagen_core import api
from abagen_core.options import check_options, describe, stage_key
from abagen_core.stages.samples import SampleCoordinates, corrected_mni_coordinates
from abagen_core.utils import data_path

DONORS = ["12876", "15496"]
ATLAS = str(data_path("atlas-desikankilliany.nii.gz"))


def _corrected() -> pd.DataFrame:
    table = corrected_mni_coordinates().reset_index()
    return table.rename(columns={f"corrected_mni_{a}": f"mni_{a}" for a in "xyz"})


def test_the_corrected_table_itself_gives_the_default_result(bundled_parity, tmp_path):
    path = tmp_path / "coords.csv"
    _corrected().sample(frac=1, random_state=0).to_csv(path, index=False)  # any row order
    kwargs = dict(donors=DONORS, data_dir=str(bundled_parity / "data"),
                  probe_selection="max_intensity")
    default = api.get_expression_data(ATLAS, **kwargs)
    given = api.get_expression_data(ATLAS, corrected_mni=str(path), **kwargs)
    pd.testing.assert_frame_equal(default, given)


def test_moved_samples_change_the_result_and_the_key(bundled_parity):
    table = _corrected()
    moved = table.iloc[::3].copy()
    moved[["mni_x", "mni_y", "mni_z"]] = moved[["mni_x", "mni_y", "mni_z"]].to_numpy()[::-1]
    kwargs = dict(donors=DONORS, data_dir=str(bundled_parity / "data"),
                  probe_selection="max_intensity", return_counts=True)
    _, counts = api.get_expression_data(ATLAS, **kwargs)
    _, moved_counts = api.get_expression_data(ATLAS, corrected_mni=moved, **kwargs)
    assert not counts.equals(moved_counts)
    default = check_options()
    opts = check_options(corrected_mni=moved)
    same = check_options(corrected_mni=moved.iloc[::-1])
    assert stage_key(opts, "samples") != stage_key(default, "samples")
    assert stage_key(opts, "samples") == stage_key(same, "samples")
    assert describe(opts)["corrected_mni"]["n_samples"] == len(moved)


def test_listed_samples_take_the_given_coordinates():
    base = _corrected()
    given = base.iloc[:2].assign(mni_x=[1.5, -2.5], mni_y=0.0, mni_z=3.0)
    full = SampleCoordinates(given).table()
    assert full.loc[given["well_id"], "mni_x"].tolist() == [1.5, -2.5]
    rest = base.set_index("well_id").drop(given["well_id"])
    np.testing.assert_array_equal(full.loc[rest.index].to_numpy(), rest.to_numpy())


@pytest.mark.parametrize("change, message", [
    (lambda t: t.assign(well_id=t["well_id"].where(t.index != 0, 999999999)), "not AHBA"),
    (lambda t: pd.concat([t, t.iloc[:1]]), "more than once"),
    (lambda t: t.assign(mni_y=t["mni_y"].where(t.index != 1, np.inf)), "non-finite"),
    (lambda t: t.assign(mni_z=t["mni_z"].where(t.index != 1, np.nan)), "non-finite"),
    (lambda t: t.drop(columns="mni_z"), "lacks column"),
    (lambda t: t.assign(well_id=t["well_id"].astype(float) + 0.5), "integers"),
])
def test_bad_tables_are_refused_naming_the_rows(change, message):
    table = change(_corrected().iloc[:5].reset_index(drop=True))
    with pytest.raises(ValueError, match=message):
        check_options(corrected_mni=table)


def test_other_values_and_missing_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        check_options(corrected_mni=str(tmp_path / "nope.csv"))
    with pytest.raises(ValueError, match="True, False or a coordinate table"):
        check_options(corrected_mni=1)


def test_the_workflow_config_takes_a_table_beside_it(tmp_path):
    from abagen_core.workflow.plan import build_plan

    _corrected().iloc[:10].to_csv(tmp_path / "coords.csv", index=False)
    config = {"donors": DONORS, "atlases": {"dk": {"builtin": "dk-volume"}},
              "variants": {"default": {}, "refined": {"corrected_mni": "coords.csv"}}}
    plan = build_plan(config, base=tmp_path)
    refined = plan.variants["refined"]["corrected_mni"]
    assert isinstance(refined, SampleCoordinates) and len(refined.coords) == 10
    assert plan.keys["dk", "refined"]["samples"] != plan.keys["dk", "default"]["samples"]
    config["variants"]["refined"]["corrected_mni"] = "missing.csv"
    with pytest.raises(ValueError, match="variants.refined.*does not exist"):
        build_plan(config, base=tmp_path)


def test_the_report_names_the_table():
    from abagen_core.outputs.report import Report

    table = SampleCoordinates(_corrected().iloc[:7])
    text = Report(ATLAS, corrected_mni=table, donors=DONORS).gen_report()
    assert "MNI coordinates of 7 tissue samples were replaced" in text
    assert table.sha256[:16] in text
    assert "user-supplied" not in Report(ATLAS, donors=DONORS).gen_report()


def test_the_cli_passes_the_table_by_path(tmp_path):
    from abagen_core.workflow import cli

    path = tmp_path / "c.csv"
    _corrected().iloc[:3].to_csv(path, index=False)
    with pytest.raises(SystemExit):
        cli.main(["--sample-coordinates", str(tmp_path / "nope.csv"), ATLAS])
    args = cli.build_parser().parse_args(["--sample-coordinates", str(path), ATLAS])
    assert args.sample_coordinates == str(path)
