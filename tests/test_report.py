"""Tests of abagen_core.outputs.report: byte parity with abagen 0.1.3 and option texts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from abagen_core.errors import InvalidOptionError
from abagen_core.outputs.report import (
    ABAGEN_SOFTWARE,
    REFERENCES,
    AtlasDescriptor,
    Report,
    as_abagen_text,
    describe_atlas,
    generate_report,
    software_sentence,
)
from abagen_core.utils import data_path

DK = data_path("atlas-desikankilliany.nii.gz")
DK_INFO = data_path("atlas-desikankilliany.csv")
DK_SURF = (data_path("atlas-desikankilliany-lh.label.gii.gz"),
           data_path("atlas-desikankilliany-rh.label.gii.gz"))
INPUTS = {"dk_volume": DK, "dk_info": DK_INFO}
#: probes left by intensity filtering in the two parity runs (data-dependent,
#: computed by the pipeline; taken from abagen's reports)
N_PROBES = {"return_report": 609, "return_report_options": 774}
NOT_REPORT_OPTIONS = ("data_dir", "return_counts", "return_report")


def _case(parity_dir, name):
    cases = json.loads((parity_dir / "expected" / "cases.json").read_text())["cases"]
    found = [c for c in cases if c["name"] == name]
    if not found:
        pytest.skip(f"{name} is only in the full parity set (../shared/parity)")
    return found[0]


@pytest.mark.parametrize("name", ["return_report", "return_report_options"])
def test_parity_bytes(parity_dir, name):
    case = _case(parity_dir, name)
    kwargs = {k: (INPUTS[v["$input"]] if isinstance(v, dict) else v)
              for k, v in case["kwargs"].items() if k not in NOT_REPORT_OPTIONS}
    folder = parity_dir / "expected" / name
    counts = pd.read_csv(folder / "counts.csv", index_col=0)
    n_genes = case["outputs"]["expression"]["shape"][1]
    report = Report(**kwargs, counts=counts, n_probes=N_PROBES[name],
                    n_genes=n_genes).gen_report()
    expected = (folder / "report.txt").read_bytes()
    # abagen's text byte for byte, except the software sentence (deliberate)
    assert ABAGEN_SOFTWARE not in report and report.count(software_sentence()) == 1
    assert as_abagen_text(report).encode("utf-8") == expected
    assert generate_report(**kwargs, counts=counts, n_probes=N_PROBES[name],
                           n_genes=n_genes) == report


#: the DK atlas as the report sees it (reading the image each time is slow)
DK_DESC = describe_atlas(DK)


def _default(**kwargs):
    return Report(DK_DESC, DK_INFO, **kwargs).gen_report()


def test_manual_example_without_counts():
    text = _default()
    assert "were discarded . When multiple probes" in text  # abagen's stray space
    assert text.split("\n\nREFERENCES")[0].endswith(
        "averaged separately for each donor and then across donors, yielding a regional "
        "expression matrix \b.")


def test_demographics():
    assert "6 post-mortem brains (1 female, ages 24.0--57.0, 42.50 +/- 13.38)" in _default()
    text = _default(donors=["9861", "H0351.1015"])
    assert "2 post-mortem brains (1 female, ages 24.0--49.0, 36.50 +/- 17.68)" in text
    # abagen 0.1.3's text for one donor
    assert "1 post-mortem brains (0 female, ages 39.0--39.0, 39.00 +/- nan)" in _default(
        donors="10021")


def test_references_cited_sorted():
    for kwargs in ({}, {"lr_mirror": "rightleft", "sample_norm": "zscore",
                        "gene_norm": "zscore", "reannotated": False}):
        text = _default(**kwargs)
        body, refs = text.split("\n\nREFERENCES\n----------\n")
        # abagen 0.1.3 sorts the list by reference text
        cited = sorted(set(re.findall(r"\[([A-Z]\d{4}[A-Z])\]", body)), key=REFERENCES.get)
        listed = [line[1:7] for line in refs.splitlines()]
        assert listed == cited
        assert all(REFERENCES[k] in refs for k in cited)
    assert "[F2013J]" not in _default(sample_norm="zscore", gene_norm="center")
    assert "[H2015N]" not in _default(probe_selection="max_variance")
    assert refs.endswith(".\n")


@pytest.mark.parametrize(("option", "value", "snippet"), [
    ("probe_selection", "average", "we calculated the mean expression across probes"),
    ("probe_selection", "max_intensity", "highest mean intensity across samples"),
    ("probe_selection", "max_variance", "highest variance across samples"),
    ("probe_selection", "pc_loading", "first principal component"),
    ("probe_selection", "corr_intensity", "only two probes were available we selected the "
                                          "probe with the highest mean intensity"),
    ("probe_selection", "corr_variance", "only two probes were available we selected the "
                                         "probe with the highest variance"),
    ("probe_selection", "rnaseq", "pattern of regional expression to RNA-seq data"),
    ("ibf_threshold", 0.25, ">=25.00% of samples"),
    ("reannotated", False, "First, microarray probes not matched to a valid Entrez ID"),
    ("corrected_mni", False, "Samples were assigned to brain regions"),
    ("sim_threshold", 3, "more than 3 standard deviations below the mean"),
    ("lr_mirror", "bidirectional", "mirrored bilaterally across the left and right "
                                   "hemispheres [R2018N]"),
    ("lr_mirror", "leftright", "left hemisphere were mirrored into the right hemisphere"),
    ("lr_mirror", "rightleft", "right hemisphere were mirrored into the left hemisphere"),
    ("missing", "centroids", "closest to the centroid of that parcel was identified "
                             "independently for each donor"),
    ("missing", "interpolate", "dense, interpolated expression map"),
    ("tolerance", 0, "only if their MNI coordinates were directly within a voxel"),
    ("tolerance", 3, "within 3 mm of a given parcel"),
    ("sample_norm", "center", "addressed by demeaning tissue sample expression"),
    ("sample_norm", "zscore", "(i.e., z-scoring) tissue sample expression values across "
                              "genes independently for each donor"),
    ("sample_norm", "minmax", r"\frac{{x - \min(x)}}"),
    ("sample_norm", "sigmoid", r"\sigma_{{x}}"),
    ("sample_norm", "scaled_sigmoid", "rescaled to the unit interval"),
    ("sample_norm", "scaled_sigmoid_quantiles", "5\u201395th percentile range"),
    ("sample_norm", "robust_sigmoid", "robust sigmoid function [F2013J]"),
    ("sample_norm", "mixed_sigmoid", "mixed sigmoid function [F2013J]"),
    ("sample_norm", "batch", "linear model of donor membership"),
    ("sample_norm", None, "Inter-subject variation was addressed by normalizing gene "
                          "expression values across tissue samples"),
    ("gene_norm", "zscore", "Inter-subject variation in gene expression was then addressed by "
                            "mean- and variance-normalizing (i.e., z-scoring) gene expression "
                            "values across tissue samples"),
    ("gene_norm", None, "single tissue sample across genes. Normalized expression values"),
    ("norm_matched", False, "All available tissue samples were used in the normalization"),
    ("norm_structures", True, "separately for samples in distinct structural classes"),
    ("region_agg", "samples", "averaged across all donors"),
    ("agg_metric", "median", "The median value of samples assigned to the same brain region "
                             "was computed separately for each donor and then across donors"),
    ("agg_metric", np.nanmedian, "aggregated using the function nanmedian"),
    ("return_donors", True, "averaged separately for each donor, yielding a regional "
                            "expression matrix for each donor \b."),
    ("donors", ["12876", "15496", "15697"], "3 post-mortem brains (1 female, ages "
                                            "49.0--57.0, 53.67 +/- 4.16)"),
    ("donor_probes", "independent", "independently for each donor, such that the probes"),
    ("synthetic", True, "synthetic"),
])
def test_option_changes_text(option, value, snippet):
    kwargs = {option: value}
    if option == "donor_probes":
        kwargs["probe_selection"] = "max_intensity"
    base = _default(**{k: v for k, v in kwargs.items() if k != option})
    text = _default(**kwargs)
    assert text != base
    assert snippet in text


def test_option_details():
    default = _default()
    assert "MNI coordinates of tissue samples were updated" in default
    assert "MNI coordinates of tissue samples" not in _default(corrected_mni=False)
    assert "All tissue samples not assigned" not in _default(norm_matched=False)
    assert "Gene expression values were then normalized" not in _default(gene_norm=None)
    assert "To reduce the potential" not in Report(DK_DESC).gen_report()
    assert "Inter-subject" not in _default(sample_norm=None, gene_norm=None)  # as abagen
    # a negative volumetric tolerance: abagen 0.1.3 leaves out the matching sentence
    assert "within 2 mm" in default and "Samples were assigned" not in _default(tolerance=-2)
    # aliases, deprecated spellings
    assert _default(sample_norm="rs") == _default(sample_norm="robust_sigmoid")
    assert _default(gene_norm="scaled_rsig") == default
    assert _default(probe_selection="mean") == _default(probe_selection="average")
    assert _default(exact=False) == _default(missing="centroids")
    assert _default(exact=True) == default
    assert _default(lr_mirror=True) == _default(lr_mirror="bidirectional")
    # abagen 0.1.3 describes donor_probes except 'aggregate' for diff_stability
    assert "The selection of probes" not in default
    common = _default(probe_selection="pc_loading", donor_probes="common")
    assert "the probe most commonly selected across all donors" in common
    # options without effect on the text
    assert _default(return_counts=True, data_dir="x", verbose=2, n_proc=4) == default


def test_synthetic_first_line():
    text = _default(synthetic=True)
    first, rest = text.split("\n\n", 1)
    assert "synthetic" in first and "\n" not in first
    assert rest == _default()


def test_counts_and_shape_clauses():
    counts = pd.DataFrame(np.ones((80, 6), dtype=int), index=pd.RangeIndex(1, 81))
    text = _default(n_probes=123, n_genes=45, counts=counts)
    assert "discarded , yielding 123 probes . When" in text
    assert ("yielding a regional expression matrix with 80 rows, corresponding to brain "
            "regions, and 45 columns, corresponding to the retained genes \b.") in text
    text = _default(n_genes=45, region_agg="samples", agg_metric="median")
    assert "computed across donors, yielding a single regional expression matrix with 83" in text
    text = _default(n_genes=45, return_donors=True, donors=["9861", "10021"])
    assert "yielding a regional expression matrix for each donor with 83 rows" in text


def test_latex_braces_verbatim():
    # abagen 0.1.3 printed its LaTeX templates unformatted: doubled braces
    for norm in ("srs", "rs", "sigmoid", "scaled_sigmoid", "scaled_sigmoid_quantiles",
                 "mixed_sigmoid", "minmax"):
        text = _default(sample_norm=norm, gene_norm=None)
        assert ("x_{{norm}}" if norm != "minmax" else "x_{{scaled}}") in text
        assert not re.search(r"(?<!\{)\{[a-z]+\}(?!\})", text)


def test_atlas_forms():
    img = nib.load(str(DK))
    texts = {
        Report(DK).gen_report(),
        Report(img).gen_report(),
        Report(AtlasDescriptor(83)).gen_report(),
        Report((83, "volumetric", "MNI")).gen_report(),
        Report({"n_regions": 83}).gen_report(),
    }
    assert len(texts) == 1
    assert "a 83-region volumetric atlas in MNI space." in texts.pop()
    assert describe_atlas(DK_SURF) == AtlasDescriptor(68, "surface", "fsaverage5")
    surf = Report(DK_SURF, tolerance=-3, missing="interpolate").gen_report()
    assert "68-region surface-based atlas in MNI space" in surf  # abagen 0.1.3's words
    assert "nearest surface vertex" in surf and "more than 3mm were excluded" in surf
    assert "every vertex in the region" in surf and "all vertices in the region" in surf
    native = {d: data_path("native_dk", d, "atlas-desikankilliany.nii.gz")
              for d in ("9861", "10021")}
    text = Report(native, DK_INFO).gen_report()
    assert "2 post-mortem brains" in text and "volumetric atlas in native space" in text
    assert "native-space coordinates" in text and "ANTs" not in text


@pytest.mark.parametrize(("option", "value"), [
    ("probe_selection", "best"), ("donor_probes", "all"), ("lr_mirror", "left"),
    ("missing", "nearest"), ("sample_norm", "robust"), ("gene_norm", "batchy"),
    ("region_agg", "regions"), ("agg_metric", "max"),
])
def test_invalid_options(option, value):
    with pytest.raises(InvalidOptionError, match=option):
        _default(**{option: value})


def test_unknown_option():
    with pytest.raises(InvalidOptionError, match="atlas_space"):
        generate_report(atlas=DK, atlas_space="MNI")
    with pytest.raises(ValueError, match="kind"):
        AtlasDescriptor(10, "voxels")


# --------------------------------------------------------------------------- abagen's own texts

#: abagen 0.1.3's Report(...).gen_report() for a spread of options (black box)
ABAGEN_REPORTS = json.loads((Path(__file__).parent / "fixtures" / "abagen_reports.json")
                            .read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("name", sorted(ABAGEN_REPORTS))
def test_text_is_abagens(name):
    case = ABAGEN_REPORTS[name]
    kwargs = dict(case["kwargs"])
    atlas = DK_DESC if kwargs.pop("atlas") == "vol" else DK_SURF
    info = DK_INFO if kwargs.pop("atlas_info") else None
    report = Report(atlas, info, **kwargs).gen_report()
    assert as_abagen_text(report) == case["report"]


def test_software_sentence_names_abagen_core():
    from abagen_core import __version__

    text = _default()
    sentence = software_sentence()
    assert sentence in text and ABAGEN_SOFTWARE not in text
    assert f"abagen-core (version {__version__})" in sentence
    assert "reproduces the processing pipeline of the abagen toolbox (version 0.1.3" in sentence
    assert as_abagen_text(text) == text.replace(sentence, ABAGEN_SOFTWARE)


def test_body_attribute():
    report = Report(DK_DESC, DK_INFO)
    assert report.body == report.gen_report()
    report.ibf_threshold = 0.9  # as in abagen: body is the text as constructed
    assert report.gen_report() != report.body


def test_surface_label_tables_constrain_matching():
    # abagen 0.1.3: GIFTI label tables stand in for atlas_info
    assert "To reduce the potential" in Report(DK_SURF).gen_report()
    assert "To reduce the potential" not in Report(DK).gen_report()
