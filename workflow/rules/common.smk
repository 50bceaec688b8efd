# Shared helpers: config validation, the plan (donors, atlases, variants and
# their stage keys), input functions and wildcard constraints.

from pathlib import Path

from snakemake.utils import validate

from abagen_core.options import stage_options as options_of_stage
from abagen_core.plan import build_plan, resolve_data_dir
from abagen_core.synth import is_synthetic


validate(config, schema="../../config/schema/config.schema.yaml")

PLAN = build_plan(config, base=Path(workflow.basedir).parent)
DONORS = PLAN.donors
# GENERATE: make synthetic data on the fly; SYNTHETIC: results come from
# synthetic data (generated here, or a data_dir written by the generator)
GENERATE = bool(config["synthetic"]["enabled"])
DATA_DIR = None if GENERATE else resolve_data_dir(config.get("data_dir"))
SYNTHETIC = GENERATE or (DATA_DIR is not None and is_synthetic(DATA_DIR))
RAW_SOURCE = "synthetic" if GENERATE else "folder"
RNASEQ_DONORS = [d for d in ("9861", "10021") if d in DONORS]
MATRIX_CSV = {"microarray": "MicroarrayExpression.csv", "pacall": "PACall.csv"}

# upstream key of every (stage, key): UPSTREAM[stage][key][upstream_stage]
UPSTREAM = {}
for _keys in PLAN.keys.values():
    for _stage, _key in _keys.items():
        UPSTREAM.setdefault(_stage, {})[_key] = _keys


wildcard_constraints:
    donor="|".join(DONORS),
    atlas="|".join(PLAN.atlases),
    variant="[A-Za-z0-9_.-]+",
    key="[0-9a-f]{10}",
    kind="microarray|pacall",
    which="reannotated|original",


def code(*modules):
    """Library modules a rule's script uses: inputs, so code changes re-run it."""
    return [workflow.source_path(f"../../abagen_core/{m}.py") for m in modules]


def scaled_mem(base_mb):
    """Memory request growing with the retry attempt."""

    def _mem(wildcards, attempt):
        return base_mb * attempt

    return _mem


def stage_options(stage):
    """params function: exactly the (validated) options a stage depends on."""

    def _params(wildcards):
        return options_of_stage(PLAN.options_for(stage, wildcards.key), stage)

    return _params


def upstream(stage, wildcards, upstream_stage):
    return UPSTREAM[stage][wildcards.key][upstream_stage]


def _probe_table(opts):
    which = "reannotated" if opts["reannotated"] else "original"
    return f"resources/probes/probes_{which}.parquet"


def probes_table_of(stage):
    def _table(wildcards):
        return _probe_table(PLAN.options_for(stage, wildcards.key))

    return _table


def probe_table_is_reannotated(wildcards):
    return wildcards.which == "reannotated"


def matrix_csv(wildcards):
    return f"resources/raw/{wildcards.donor}/{MATRIX_CSV[wildcards.kind]}"


def sample_inputs(wildcards):
    """Raw tables, plus expression and probes when sim_threshold needs them."""
    opts = PLAN.options_for("samples", wildcards.key)
    files = {
        "annotation": f"resources/parquet/{wildcards.donor}/annotation.parquet",
        "ontology": f"resources/parquet/{wildcards.donor}/ontology.parquet",
    }
    if opts["sim_threshold"] is not None:
        files["microarray"] = f"resources/parquet/{wildcards.donor}/microarray.parquet"
        files["probes"] = _probe_table(opts)
    if opts["native"]:
        files["t1"] = f"resources/raw/{wildcards.donor}/T1.nii.gz"
    return files


def pacall_summaries_of_ibf(wildcards):
    skey = upstream("ibf", wildcards, "samples")
    return expand(
        "resources/probes/pacall/{skey}/pacall_{donor}.parquet", skey=skey, donor=DONORS
    )


def probe_summary_inputs(wildcards):
    return {
        "microarray": f"resources/parquet/{wildcards.donor}/microarray.parquet",
        "samples": samples_file(wildcards.donor, upstream("probes", wildcards, "samples")),
        "kept": kept_file(upstream("probes", wildcards, "ibf")),
    }


def selection_inputs(wildcards):
    opts = PLAN.options_for("probes", wildcards.key)
    files = {
        "summaries": expand(
            "resources/probes/{key}/summary_{donor}", key=wildcards.key, donor=DONORS
        ),
        "kept": kept_file(upstream("probes", wildcards, "ibf")),
    }
    if opts["probe_selection"] == "rnaseq":
        files["tpm"] = expand(
            "resources/parquet/rnaseq_{donor}/tpm.parquet", donor=RNASEQ_DONORS
        )
        files["rnaseq_annotation"] = expand(
            "resources/parquet/rnaseq_{donor}/annotation.parquet", donor=RNASEQ_DONORS
        )
    return files


def samples_file(donor, skey):
    return f"resources/samples/{donor}/samples_{skey}.parquet"


def kept_file(ikey):
    return f"resources/probes/ibf/{ikey}/kept.parquet"


def samples_of_genes_key(wildcards):
    return samples_file(wildcards.donor, upstream("genes", wildcards, "samples"))


def kept_of_genes(wildcards):
    return kept_file(upstream("genes", wildcards, "ibf"))


def selection_of_genes(wildcards):
    return f"resources/probes/{upstream('genes', wildcards, 'probes')}/selection.parquet"


def samples_of_labels(wildcards):
    return samples_file(wildcards.donor, upstream("labels", wildcards, "samples"))


def atlas_files(wildcards):
    """The image(s) labelling of this donor depends on, its info and geometry."""
    spec = PLAN.atlases[wildcards.atlas]
    files = spec.donor_files(wildcards.donor)
    if spec.info:
        files = files + [spec.info]
    if spec.geometry:
        files = files + list(spec.geometry)
    return files


def atlas_spec(wildcards):
    spec = PLAN.atlases[wildcards.atlas]
    return {
        "kind": spec.kind,
        "files": spec.donor_files(wildcards.donor),
        "info": spec.info,
        "geometry": list(spec.geometry) if spec.geometry else None,
        "space": spec.space,
    }


def genes_of_regional(wildcards):
    gkey = upstream("regional", wildcards, "genes")
    return f"resources/genes/{gkey}/genes_{wildcards.donor}.parquet"


def labels_of_regional(wildcards):
    lkey = upstream("regional", wildcards, "labels")
    return f"resources/labels/{wildcards.atlas}/{lkey}/labels_{wildcards.donor}.parquet"


def samples_of_regional(wildcards):
    return samples_file(wildcards.donor, upstream("regional", wildcards, "samples"))


def regional_inputs(wildcards):
    keys = PLAN.keys[wildcards.atlas, wildcards.variant]
    return {
        "normalized": expand(
            "resources/regional/{atlas}/{key}/normalized_{donor}.parquet",
            atlas=wildcards.atlas,
            key=keys["regional"],
            donor=DONORS,
        ),
        "labels": expand(
            "resources/labels/{atlas}/{key}/labels_{donor}.parquet",
            atlas=wildcards.atlas,
            key=keys["labels"],
            donor=DONORS,
        ),
        "kept": kept_file(keys["ibf"]),
        "checksums": expand(
            "resources/parquet/{donor}/{kind}.sha256",
            donor=DONORS,
            kind=["microarray", "pacall"],
        ),
    }


def donor_normalized(wildcards):
    key = PLAN.keys[wildcards.atlas, wildcards.variant]["regional"]
    return f"resources/regional/{wildcards.atlas}/{key}/normalized_{wildcards.donor}.parquet"


def donor_labels(wildcards):
    key = PLAN.keys[wildcards.atlas, wildcards.variant]["labels"]
    return f"resources/labels/{wildcards.atlas}/{key}/labels_{wildcards.donor}.parquet"


def variant_params(wildcards):
    return PLAN.variants[wildcards.variant]


def atlas_description(wildcards):
    spec = PLAN.atlases[wildcards.atlas]
    return {
        "name": spec.name,
        "kind": spec.kind,
        "files": spec.files,
        "info": spec.info,
        "geometry": list(spec.geometry) if spec.geometry else None,
        "space": spec.space,
    }


def final_outputs():
    outs = []
    for atlas in PLAN.atlases:
        for variant in PLAN.variants:
            folder = f"results/{atlas}/{variant}"
            outs += [
                f"{folder}/expression.csv",
                f"{folder}/expression.parquet",
                f"{folder}/counts.csv",
                f"{folder}/report.md",
                f"{folder}/metadata.json",
            ]
            if config["outputs"]["save_donors"]:
                outs += expand(
                    "{folder}/donors/expression_{donor}.csv", folder=folder, donor=DONORS
                )
    return outs
