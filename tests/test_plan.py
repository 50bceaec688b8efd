"""abagen_core.workflow.targets: the plan turned into the workflow's files."""

from __future__ import annotations

from fnmatch import fnmatch

import pytest

from abagen_core.options import stage_key
from abagen_core.utils import data_path
from abagen_core.workflow import paths
from abagen_core.workflow.plan import build_plan
from abagen_core.workflow.targets import (
    FINISH_PRIORITY,
    PROBE_CHAIN_PRIORITY,
    QC_FIGURES,
    ROBUSTNESS_FIGURES,
    ROBUSTNESS_TABLES,
    Targets,
    convert_priority,
    qc_variants,
    upstream_keys,
)

DONORS = ["9861", "12876", "15496"]


def _config(**over) -> dict:
    config = {
        "donors": DONORS,
        "atlases": {"dk": {"builtin": "dk-volume"}},
        "variants": {"default": {}, "zs": {"gene_norm": "zscore"}},
        "sweep": {"grid": {"ibf_threshold": [0.25, 0.5]}},
        "qc": {"enabled": True, "sweep_figures": False, "reference": None},
        "outputs": {"save_donors": False},
    }
    config.update(over)
    return config


def _targets(raw=None, **over) -> Targets:
    config = _config(**over)
    return Targets(build_plan(config), config, raw or {})


def test_upstream_keys_of_every_variant_and_mask_target():
    dk = str(data_path("atlas-desikankilliany.nii.gz"))
    config = _config(samples_in_mask={"m": {"mask": dk}},
                     interpolated_maps={"p": {"mask": dk, "genes": ["A"]}})
    plan = build_plan(config)
    up = upstream_keys(plan)
    # stage -> the stages whose files its jobs read (workflow/rules)
    reads = {"ibf": ["samples"], "psummary": ["samples"], "probes": ["psummary", "ibf"],
             "genes": ["samples", "ibf", "probes"], "labels": ["samples"],
             "regional": ["genes", "samples", "labels"]}
    for keys in plan.keys.values():
        for stage, earlier in reads.items():
            for other in [stage, *earlier]:
                assert up[stage][keys[stage]][other] == keys[other], (stage, other)
    for target in [*plan.samples_in_mask.values(), *plan.interpolated_maps.values()]:
        for stage, key in target.keys.items():
            assert key in up[stage]
    # gene_norm is applied after labelling: the variants share every earlier key
    default, zs = plan.keys["dk", "default"], plan.keys["dk", "zs"]
    assert default["genes"] == zs["genes"] and default["regional"] != zs["regional"]


def test_final_outputs_results_qc_and_robustness():
    t = _targets()
    outs = t.final_outputs()
    assert len(outs) == len(set(outs))
    # named variants: a result folder with QC figures each
    for v in ["default", "zs"]:
        for f in paths.RESULT_FILES:
            assert f"results/dk/{v}/{f}" in outs
    figures = [o for o in outs if "/qc/" in o]
    assert len(figures) == 2 * len(QC_FIGURES)
    # swept variants: no folder, an index over their batch files
    assert not [o for o in outs if "sweep-" in o]
    assert "results/dk/sweeps/index.csv" in outs
    robust = [o for o in outs if o.startswith("results/robustness/dk/")]
    assert len(robust) == len(ROBUSTNESS_TABLES) + len(ROBUSTNESS_FIGURES)
    assert not [o for o in outs if "/donors/" in o]


def test_sweep_batches_group_branches_and_have_stable_ids():
    grid = {"ibf_threshold": [0.25, 0.5], "sample_norm": ["srs", "zscore"],
            "gene_norm": ["srs", "zscore", None]}
    t = _targets(sweep={"grid": grid})
    # two probe selections (ibf), one label set: two batches of six variants,
    # each reading the genes of its selection before sample normalization
    assert len(t.batches) == 2
    for batch in t.batches.values():
        assert len(batch.variants) == 6
        probes = {t.plan.keys["dk", v]["probes"] for v in batch.variants}
        assert len(probes) == 1
        genes = {t.plan.keys["dk", v]["genes"] for v in batch.variants}
        assert len(genes) == 2 and batch.keys["genes"] not in genes
        raw = t.plan.options_for("genes", batch.keys["genes"])
        assert raw["sample_norm"] is None
        assert stage_key(dict(raw, sample_norm="srs"), "genes") in genes
        inputs = t.genes_inputs(batch.keys["genes"])
        assert inputs["selection"] == t.upstream_file("genes", "probes", key=next(iter(genes)))
    assert t.named == ["default", "zs"]
    assert t.robustness_inputs(atlas="dk")["batches"] == t.batch_files("dk")
    # the same sweep plans the same ids; a changed option changes only its branch's
    again = _targets(sweep={"grid": grid})
    assert set(again.batches) == set(t.batches)
    changed = _targets(sweep={"grid": grid, "list": [{"ibf_threshold": 0.25,
                                                      "gene_norm": "minmax"}]})
    assert len(set(changed.batches) & set(t.batches)) == 1
    # so does a new sample_norm: it joins its probe selection's batch
    changed = _targets(sweep={"grid": grid, "list": [{"ibf_threshold": 0.25,
                                                      "sample_norm": "minmax"}]})
    assert len(set(changed.batches) & set(t.batches)) == 1
    # a new atlas adds its own batches and leaves the others
    two = _targets(sweep={"grid": grid}, atlases={"dk": {"builtin": "dk-volume"},
                                                  "s": {"builtin": "dk-surface"}})
    assert set(t.batches) < set(two.batches)
    inputs = t.batch_inputs(atlas="dk", batch=next(iter(t.batches))[1])
    assert len(inputs["genes"]) == len(inputs["labels"]) == len(DONORS)
    opts = t.batch_variants(atlas="dk", batch=next(iter(t.batches))[1])
    assert all(o["ibf_threshold"] == 0.25 for o in opts.values())


def test_final_outputs_options():
    t = _targets(outputs={"save_donors": True},
                 qc={"enabled": True, "sweep_figures": True, "reference": None})
    outs = t.final_outputs()
    donors = [o for o in outs if "/donors/" in o]
    # sweep_figures: swept variants get folders (and figures) like named ones
    assert len(donors) == 4 * len(DONORS)
    assert "results/dk/default/donors/expression_12876.csv" in donors
    assert len([o for o in outs if "/qc/" in o]) == 4 * len(QC_FIGURES)
    single = _targets(variants={"default": {}}, sweep=None)
    assert not [o for o in single.final_outputs() if "robustness" in o]
    off = _targets(qc={"enabled": False, "sweep_figures": False, "reference": None})
    assert off.qc_outputs() == []
    assert not [o for o in off.final_outputs() if "/qc/" in o or "robustness" in o]


def test_qc_variants_without_variants_key():
    config = _config(variants=None)
    assert qc_variants(build_plan(config), config) == ["default"]


def test_sample_inputs_follow_the_options():
    t = _targets(variants={"default": {}, "sim": {"sim_threshold": 2.0, "reannotated": False}},
                 sweep=None)
    plain = t.sample_inputs(donor="12876", key=t.plan.keys["dk", "default"]["samples"])
    assert plain == {"annotation": "resources/parquet/12876/annotation.parquet",
                     "ontology": "resources/parquet/12876/ontology.parquet",
                     "pacall": "resources/parquet/12876/pacall.parquet"}
    sim = t.sample_inputs(donor="12876", key=t.plan.keys["dk", "sim"]["samples"])
    assert list(sim) == ["annotation", "ontology", "microarray", "probes", "pacall"]
    assert sim["probes"] == "resources/probes/probes_original.parquet"


def test_native_atlas_reads_t1():
    t = _targets(atlases={"n": {"builtin": "dk-native"}})
    key = t.plan.keys["n", "default"]["samples"]
    assert t.sample_inputs(donor="9861", key=key)["t1"] == "resources/raw/9861/T1.nii.gz"
    assert t.atlas_files("n", "9861")[0] != t.atlas_files("n", "12876")[0]


def test_probe_stage_inputs():
    t = _targets(variants={"default": {}, "rna": {"probe_selection": "rnaseq"}}, sweep=None)
    keys = t.plan.keys["dk", "default"]
    sel = t.selection_inputs(key=keys["probes"])
    assert sel["summaries"] == [f"resources/probes/summary/{keys['psummary']}/summary_{d}"
                                for d in DONORS]
    assert sel["kept"] == f"resources/probes/ibf/{keys['ibf']}/kept.parquet"
    assert "tpm" not in sel
    rna = t.selection_inputs(key=t.plan.keys["dk", "rna"]["probes"])
    assert rna["tpm"] == ["resources/parquet/rnaseq_9861/tpm.parquet"]  # 10021 not a donor
    filt = t.filter_inputs(key=keys["ibf"])
    assert filt["summaries"] == [f"resources/samples/{d}/pacall_{keys['samples']}.parquet"
                                 for d in DONORS]
    assert filt["probes"] == "resources/probes/probes_reannotated.parquet"
    genes = t.genes_inputs(key=keys["genes"])
    assert genes == {"microarray": [f"resources/parquet/{d}/microarray.parquet" for d in DONORS],
                     "samples": [f"resources/samples/{d}/samples_{keys['samples']}.parquet"
                                 for d in DONORS],
                     "kept": f"resources/probes/ibf/{keys['ibf']}/kept.parquet",
                     "selection": f"resources/probes/{keys['probes']}/selection.parquet"}
    summary = t.probe_summary_inputs(key=keys["psummary"], donor="9861")
    assert summary["samples"] == f"resources/samples/9861/samples_{keys['samples']}.parquet"


def test_atlas_stage_and_gather_inputs():
    t = _targets()
    keys = t.plan.keys["dk", "zs"]
    label = t.label_inputs(atlas="dk", key=keys["labels"])
    assert label["samples"] == [f"resources/samples/{d}/samples_{keys['samples']}.parquet"
                                for d in DONORS]
    assert label["atlas"] == t.atlas_files("dk", "9861")  # one image for every donor
    var = t.variant_inputs(atlas="dk", variant="zs")
    assert var["labels"] == [f"resources/labels/dk/{keys['labels']}/labels_{d}.parquet"
                             for d in DONORS]
    assert var["genes"] == [f"resources/genes/{keys['genes']}/genes_{d}.parquet"
                            for d in DONORS]
    assert var["checksums"][:2] == ["resources/parquet/9861/microarray.sha256",
                                    "resources/parquet/9861/pacall.sha256"]
    assert len(var["checksums"]) == 2 * len(DONORS)
    assert var["explained"] == f"resources/probes/{keys['probes']}/genes_explained.parquet"
    selection = t.selection_inputs(key=keys["probes"])
    assert selection["pacall"] == [f"resources/samples/{d}/pacall_{keys['samples']}.parquet"
                                   for d in DONORS]
    assert selection["probe_table"] == t.raw_file(DONORS[0], "probes")
    assert t.robustness_inputs(atlas="dk")["expression"] == [
        f"results/dk/{v}/expression.parquet" for v in ("default", "zs")]
    native = _targets(atlases={"n": {"builtin": "dk-native"}})
    nkeys = native.plan.keys["n", "default"]
    assert len(native.label_inputs(atlas="n", key=nkeys["labels"])["atlas"]) == \
        len(DONORS) + 1  # each donor's image and the info table


def test_every_input_matches_a_template():
    t = _targets()
    templates = [getattr(paths, n) for n in paths.__all__
                 if isinstance(getattr(paths, n), str) and "{" in getattr(paths, n)]
    keys = t.plan.keys["dk", "default"]
    found = [*t.variant_inputs(atlas="dk", variant="default").values(),
             *t.batch_inputs(atlas="dk", batch=next(iter(t.batches))[1]).values(),
             *t.genes_inputs(key=keys["genes"]).values(),
             *t.sample_inputs(donor="9861", key=keys["samples"]).values()]
    flat = [p for item in found for p in ([item] if isinstance(item, str) else item)
            if not p.startswith("/")]  # the atlas files are the user's (or bundled)
    for path in flat + t.final_outputs():
        assert any(fnmatch(path, paths.glob_pattern(tpl)) for tpl in templates), path


def test_raw_files_in_data_dir_or_resources(tmp_path):
    given = {name: str(tmp_path / name) for name in paths.RAW_NAMES}
    t = _targets(raw={"9861": given})
    assert t.raw_files("9861") == given
    assert t.raw_file("12876", "pacall") == "resources/raw/12876/PACall.csv"
    (tmp_path / "microarray").write_bytes(b"x" * (3 << 20))
    assert t.convert_priority("9861") == PROBE_CHAIN_PRIORITY + 1 + 3
    assert t.convert_priority("12876") == PROBE_CHAIN_PRIORITY + 1  # not there yet


@pytest.mark.parametrize(("size", "expected"), [(0, 3), ((1 << 20) - 1, 3), (5 << 20, 8)])
def test_convert_priority_above_every_other_rule(size, expected):
    assert convert_priority(size) == expected > FINISH_PRIORITY >= PROBE_CHAIN_PRIORITY


def test_mask_targets():
    dk = str(data_path("atlas-desikankilliany.nii.gz"))
    lh = str(data_path("atlas-desikankilliany-lh.label.gii.gz"))
    rh = str(data_path("atlas-desikankilliany-rh.label.gii.gz"))
    t = _targets(samples_in_mask={"all": None, "m": {"mask": dk}},
                 interpolated_maps={"vol": {"mask": dk, "genes": ["A", "B"]},
                                    "surf": {"mask": [lh, rh], "genes": ["A"]}})
    assert t.map_files("vol") == ["results/maps/vol/A.nii.gz", "results/maps/vol/B.nii.gz"]
    assert t.map_files("surf") == ["results/maps/surf/A_lh.func.gii",
                                   "results/maps/surf/A_rh.func.gii"]
    outs = t.mask_target_outputs()
    assert "results/samples_in_mask/all/coordinates.csv" in outs
    assert "results/maps/vol/metadata.json" in outs and "results/maps/surf/metadata.json" in outs
    assert len(outs) == 2 * len(paths.MASK_RESULT_FILES) + 3 + 3
    assert set(outs) <= set(t.final_outputs())
    assert "mask" not in t.samples_in_mask_inputs(name="all")
    assert t.samples_in_mask_inputs(name="m")["mask"] == [dk]
    keys = t.plan.interpolated_maps["vol"].keys
    inputs = t.map_samples_inputs(name="vol")
    assert inputs["genes"] == [f"resources/genes/{keys['genes']}/genes_{d}.parquet"
                               for d in DONORS]


def test_atlas_params():
    t = _targets()
    desc = t.atlas_description(atlas="dk")
    assert desc["kind"] == "volume" and [desc["files"]["image"]] == t.atlas_files("dk", "9861")[:1]
    assert desc["name"] == "dk" and desc["geometry"] is None


def test_mask_target_params():
    dk = str(data_path("atlas-desikankilliany.nii.gz"))
    t = _targets(samples_in_mask={"all": None},
                 interpolated_maps={"vol": {"mask": dk, "genes": ["A"], "n_neighbors": 3}})
    every = t.mask_target("samples_in_mask", "all")
    assert every["mask"] is None and every["mask_files"] == []
    vol = t.mask_target("interpolated_maps", "vol")
    assert vol["mask"] == {"kind": "volume", "files": [dk]} and vol["mask_files"] == [dk]
    assert vol["genes"] == ["A"] and vol["n_neighbors"] == 3
    assert vol["options"] == t.plan.interpolated_maps["vol"].options


def test_donors_in_data_dir(bundled_parity, tmp_path):
    from abagen_core.workflow.targets import donors_in_data_dir

    assert donors_in_data_dir(None, DONORS) == {}
    assert donors_in_data_dir(str(tmp_path), DONORS) == {}
    found = donors_in_data_dir(str(bundled_parity / "data"), ["12876", "9861"])
    assert "12876" in found
    assert set(found["12876"]) == set(paths.RAW_NAMES)


def test_sweep_chunk_mb_default_and_given():
    from abagen_core.workflow.plan import SWEEP_CHUNK_MB, sweep_chunk_mb

    assert sweep_chunk_mb(None) == SWEEP_CHUNK_MB == sweep_chunk_mb({"list": [{}]})
    assert sweep_chunk_mb({"list": [{}], "chunk_mb": 8.5}) == 8.5
