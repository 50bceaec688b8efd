"""Sample preparation against abagen's intermediates (pi_* samples_kept)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abagen_core import io
from abagen_core.donors import DONORS
from abagen_core.stages import regional as pipeline
from abagen_core.stages import samples


def _donor_dir(root, donor):
    return root / "data" / "microarray" / f"normalized_microarray_donor{donor}"


def _prepared(root, **kwargs):
    parts = []
    for donor in DONORS:
        folder = _donor_dir(root, donor)
        annot = io.read_annotation(folder / "SampleAnnot.csv")
        ontology = io.read_ontology(folder / "Ontology.csv")
        micro = None
        if kwargs.get("sim_threshold") is not None:
            micro = io.read_microarray(folder / "MicroarrayExpression.csv")
        out = pipeline.prepare_samples(annot, ontology, microarray=micro, **kwargs)
        out = out.reset_index()
        out.insert(1, "donor", int(donor))
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("case, kwargs", [
    ("pi_average", {}),
    ("pi_corrected_mni_false", {"corrected_mni": False}),
    ("pi_lr_mirror_bidirectional", {"lr_mirror": "bidirectional"}),
    ("pi_sim_threshold_2", {"sim_threshold": 2}),
])
def test_samples_kept_match_abagen(parity_dir, case, kwargs):
    expected_file = parity_dir / "expected" / case / "samples_kept.csv.gz"
    if not expected_file.exists():
        pytest.skip(f"{case} not in this parity set")
    expected = pd.read_csv(expected_file, index_col=0)
    got = _prepared(parity_dir, **kwargs)
    assert got.shape == expected.shape
    for col in expected.columns:
        if expected[col].dtype.kind == "f":
            np.testing.assert_allclose(got[col], expected[col], rtol=0, atol=1e-9)
        else:
            assert (got[col].astype(str).to_numpy() == expected[col].astype(str).to_numpy()).all(), col


def _toy_annotation():
    return pd.DataFrame({
        "well_id": [1, 2, 3, 4],
        "structure_id": [10, 11, 12, 10],
        "hemisphere": ["L", "R", "B", "L"],
        "structure": ["cortex"] * 4,
        "mni_x": [-5.0, 5.0, 0.0, 3.0],
        "mni_y": [0.0] * 4,
        "mni_z": [0.0] * 4,
    }, index=pd.Index([1, 2, 3, 4], name="sample_id"))


def _toy_ontology():
    return pd.DataFrame({
        "id": [10, 11, 12],
        "acronym": ["A", "A", "M"],
        "name": ["a, left", "a, right", "mid"],
        "parent_structure_id": [5, 5, 5],
        "hemisphere": ["L", "R", np.nan],
        "graph_order": [1, 2, 3],
        "structure_id_path": ["/1/4008/10/", "/1/4008/11/", "/1/4249/12/"],
        "color_hex_triplet": ["x", "y", "z"],
    })


def test_drop_mismatch_keeps_only_consistent_hemispheres():
    kept = samples.drop_mismatch_samples(_toy_annotation())
    # sample 4 is 'L' with x > 0; the midline sample is kept because x == 0
    assert kept.index.tolist() == [1, 2, 3]


def test_mirror_flips_x_hemisphere_and_structure():
    annot = samples.drop_mismatch_samples(_toy_annotation())
    out = samples.mirror_samples(annot, _toy_ontology(), "leftright")
    assert len(out) == 4
    copy = out.iloc[-1]
    assert copy.name == 1 and copy["mni_x"] == 5.0 and copy["hemisphere"] == "R"
    assert copy["structure_id"] == 11
    both = samples.mirror_samples(annot, _toy_ontology(), "bidirectional")
    assert both["hemisphere"].tolist() == ["L", "R", "B", "R", "L"]


def test_label_structures_classes():
    classes = samples.label_structures(_toy_ontology())
    assert classes.loc[10, "structure"] == "cortex"
    assert classes.loc[12, "structure"] == "subcortex/brainstem"
    assert classes.loc[12, "hemisphere"] == "B"


def test_invalid_lr_mirror_names_parameter():
    with pytest.raises(ValueError, match="lr_mirror"):
        samples.check_lr_mirror("sideways")


def test_corrected_coordinates_cover_all_samples():
    coords = samples.corrected_mni_coordinates()
    assert coords.shape == (3702, 3)
    assert coords.index.is_unique
