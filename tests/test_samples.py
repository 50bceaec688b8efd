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


def _rewired_ontology():
    # paths with two class ids in either order, 'sulci & spaces' and none
    return pd.DataFrame({
        "id": [20, 21, 22, 23, 24, 30, 31],
        "acronym": ["C", "D", "E", "F", "G", "S", "S"],
        "name": ["c", "d", "e", "f", "g", "s, left", "s, right"],
        "parent_structure_id": [5, 5, 5, 5, 5, 5, 6],
        "hemisphere": [np.nan] * 5 + ["L", "R"],
        "graph_order": list(range(7)),
        "structure_id_path": ["/1/4249/4008/20/", "/1/4008/4249/21/", "/1/4008/9218/22/",
                              "/1/9352/9418/23/", "/1/9418/24/", "/1/4008/30/",
                              "/1/4008/4219/4249/31/"],
        "color_hex_triplet": ["x"] * 7,
    })


def test_class_is_the_deepest_class_id_on_the_path():
    # abagen 0.1.3 (black-box probes with rewired ontologies, #18): the class
    # id lowest on the path decides; 9352 (sulci & spaces) is 'other'; a path
    # without class ids gives no class. The old rule (fixed priority,
    # subcortex before cortex before white matter, 'other' by default) gave
    # subcortex, subcortex, cortex, other, other.
    classes = samples.label_structures(_rewired_ontology())["structure"]
    assert classes.loc[[20, 21, 22, 23]].tolist() == ["cortex", "subcortex/brainstem",
                                                       "white matter", "other"]
    assert pd.isna(classes.loc[24])
    assert classes.loc[[30, 31]].tolist() == ["cortex", "subcortex/brainstem"]


def test_mirrored_copy_takes_counterpart_by_acronym_and_its_class():
    # the counterpart is the same acronym in the other hemisphere (its parent
    # may differ), and the copy takes that structure's class (abagen 0.1.3,
    # black-box probes); the old rule needed the same parent and kept the
    # class of the original
    annot = pd.DataFrame({
        "well_id": [1, 2], "structure_id": [30, 31], "hemisphere": ["L", "R"],
        "structure": ["cortex", "subcortex/brainstem"],
        "mni_x": [-5.0, 5.0], "mni_y": [0.0, 0.0], "mni_z": [0.0, 0.0],
    }, index=pd.Index([1, 2], name="sample_id"))
    out = samples.mirror_samples(annot, _rewired_ontology(), "bidirectional")
    copies = out.iloc[2:]
    assert copies.index.tolist() == [1, 2]
    assert copies["structure_id"].tolist() == [31, 30]
    assert copies["hemisphere"].tolist() == ["R", "L"]
    assert copies["structure"].tolist() == ["subcortex/brainstem", "cortex"]


def test_invalid_lr_mirror_names_parameter():
    with pytest.raises(ValueError, match="lr_mirror"):
        samples.check_lr_mirror("sideways")


def test_corrected_coordinates_cover_all_samples():
    coords = samples.corrected_mni_coordinates()
    assert coords.shape == (3702, 3)
    assert coords.index.is_unique
