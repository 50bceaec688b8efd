# Shared helpers: config validation, the plan (donors, atlases, variants and
# their stage keys), input functions and wildcard constraints.

import json
from pathlib import Path

from snakemake.utils import validate

from abagen_core.plan import build_plan, resolve_data_dir
from abagen_core.synth import is_synthetic


validate(config, schema="../../config/schema/config.schema.yaml")

PLAN = build_plan(config, base=Path(workflow.basedir).parent)
DONORS = PLAN.donors
SYNTHETIC = bool(config["synthetic"]["enabled"])
DATA_DIR = None if SYNTHETIC else resolve_data_dir(config.get("data_dir"))
if DATA_DIR is not None and is_synthetic(DATA_DIR):
    SYNTHETIC = True
RNASEQ_DONORS = [d for d in ("9861", "10021") if d in DONORS]
RNASEQ_NEEDED = any(
    opts["probe_selection"] == "rnaseq" for opts in PLAN.variants.values()
)


wildcard_constraints:
    donor="|".join(DONORS),
    atlas="|".join(PLAN.atlases) if PLAN.atlases else "none",
    variant="[A-Za-z0-9_.-]+",
    key="[0-9a-f]{10}",
    kind="microarray|pacall",


def code(*modules):
    """Library modules a rule's script uses: inputs so code changes re-run it."""
    return [workflow.source_path(f"../../abagen_core/{m}.py") for m in modules]


def raw_file(donor, name):
    return f"resources/raw/{donor}/{name}"


def rnaseq_inputs(wildcards):
    """RNA-seq parquet files, only for variants selecting probes with 'rnaseq'."""
    opts = PLAN.options_for("probes", wildcards.key)
    if opts["probe_selection"] != "rnaseq":
        return {}
    return {
        f"tpm_{d}": f"resources/parquet/rnaseq_{d}/tpm.parquet" for d in RNASEQ_DONORS
    } | {
        f"rnaseq_annotation_{d}": f"resources/parquet/rnaseq_{d}/annotation.parquet"
        for d in RNASEQ_DONORS
    }


def stage_options(stage):
    def _params(wildcards):
        return PLAN.options_for(stage, wildcards.key)

    return _params


def donor_summaries(wildcards):
    return expand(
        "resources/probes/{key}/summary_{donor}.parquet", key=wildcards.key, donor=DONORS
    )


def donor_samples_for_probe_key(wildcards):
    skey = PLAN_SAMPLE_KEY_OF["probes"][wildcards.key]
    return expand("resources/samples/{donor}/samples_{skey}.parquet", donor=DONORS, skey=skey)


def samples_of_genes(wildcards):
    skey = PLAN_SAMPLE_KEY_OF["genes"][wildcards.key]
    return f"resources/samples/{wildcards.donor}/samples_{skey}.parquet"


def selection_of_genes(wildcards):
    pkey = PLAN_PROBE_KEY_OF_GENES[wildcards.key]
    return f"resources/probes/{pkey}/selection.parquet"


def samples_of_labels(wildcards):
    skey = PLAN_SAMPLE_KEY_OF["labels"][wildcards.key]
    return f"resources/samples/{wildcards.donor}/samples_{skey}.parquet"


def atlas_files(wildcards):
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


def t1_of_donor(wildcards):
    if PLAN.atlases[wildcards.atlas].kind != "native":
        return []
    return [f"resources/raw/{wildcards.donor}/T1.nii.gz"]


def regional_inputs(wildcards):
    keys = PLAN.keys[wildcards.variant]
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
        "selection": f"resources/probes/{keys['probes']}/selection.parquet",
    }


def variant_params(wildcards):
    return PLAN.variants[wildcards.variant]


def atlas_description(wildcards):
    spec = PLAN.atlases[wildcards.atlas]
    return {
        "name": spec.name,
        "kind": spec.kind,
        "files": spec.files,
        "info": spec.info,
        "space": spec.space,
    }


def final_outputs():
    outs = []
    for atlas in PLAN.atlases:
        for variant, opts in PLAN.variants.items():
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


def _upstream_keys():
    """Map downstream stage keys to the upstream keys they need."""
    sample_of = {"probes": {}, "genes": {}, "labels": {}, "regional": {}}
    probe_of_genes = {}
    genes_of_regional = {}
    labels_of_regional = {}
    for variant, keys in PLAN.keys.items():
        for stage in sample_of:
            sample_of[stage][keys[stage]] = keys["samples"]
        probe_of_genes[keys["genes"]] = keys["probes"]
        genes_of_regional[keys["regional"]] = keys["genes"]
        labels_of_regional[keys["regional"]] = keys["labels"]
    return sample_of, probe_of_genes, genes_of_regional, labels_of_regional


(
    PLAN_SAMPLE_KEY_OF,
    PLAN_PROBE_KEY_OF_GENES,
    PLAN_GENES_KEY_OF_REGIONAL,
    PLAN_LABELS_KEY_OF_REGIONAL,
) = _upstream_keys()


def genes_of_regional(wildcards):
    gkey = PLAN_GENES_KEY_OF_REGIONAL[wildcards.key]
    return f"resources/genes/{gkey}/genes_{wildcards.donor}.parquet"


def labels_of_regional(wildcards):
    lkey = PLAN_LABELS_KEY_OF_REGIONAL[wildcards.key]
    return f"resources/labels/{wildcards.atlas}/{lkey}/labels_{wildcards.donor}.parquet"


def samples_of_regional(wildcards):
    skey = PLAN_SAMPLE_KEY_OF["regional"][wildcards.key]
    return f"resources/samples/{wildcards.donor}/samples_{skey}.parquet"


def samples_of_genes_key(wildcards):
    skey = PLAN_SAMPLE_KEY_OF["genes"][wildcards.key]
    return f"resources/samples/{wildcards.donor}/samples_{skey}.parquet"


def samples_of_probe_key(wildcards):
    skey = PLAN_SAMPLE_KEY_OF["probes"][wildcards.key]
    return f"resources/samples/{wildcards.donor}/samples_{skey}.parquet"


def probes_table_of(stage):
    def _table(wildcards):
        opts = PLAN.options_for(stage, wildcards.key)
        which = "reannotated" if opts["reannotated"] else "original"
        return f"resources/probes/probes_{which}.parquet"

    return _table


MATRIX_CSV = {"microarray": "MicroarrayExpression.csv", "pacall": "PACall.csv"}


def matrix_csv(wildcards):
    return f"resources/raw/{wildcards.donor}/{MATRIX_CSV[wildcards.kind]}"


def scaled_mem(base_mb):
    """Memory request growing with the retry attempt."""

    def _mem(wildcards, attempt):
        return base_mb * attempt

    return _mem


def donor_normalized(wildcards):
    key = PLAN.keys[wildcards.variant]["regional"]
    return f"resources/regional/{wildcards.atlas}/{key}/normalized_{wildcards.donor}.parquet"


def probe_table_is_reannotated(wildcards):
    return wildcards.which == "reannotated"


def _probe_table(opts):
    which = "reannotated" if opts["reannotated"] else "original"
    return f"resources/probes/probes_{which}.parquet"


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
    return files


def summary_inputs(wildcards):
    opts = PLAN.options_for("probes", wildcards.key)
    skey = PLAN_SAMPLE_KEY_OF["probes"][wildcards.key]
    files = {
        "microarray": f"resources/parquet/{wildcards.donor}/microarray.parquet",
        "pacall": f"resources/parquet/{wildcards.donor}/pacall.parquet",
        "samples": f"resources/samples/{wildcards.donor}/samples_{skey}.parquet",
        "probes": _probe_table(opts),
    }
    if opts["probe_selection"] == "rnaseq" and wildcards.donor in RNASEQ_DONORS:
        files["tpm"] = f"resources/parquet/rnaseq_{wildcards.donor}/tpm.parquet"
        files["rnaseq_annotation"] = (
            f"resources/parquet/rnaseq_{wildcards.donor}/annotation.parquet"
        )
    return files


def selection_inputs(wildcards):
    opts = PLAN.options_for("probes", wildcards.key)
    return {
        "summaries": expand(
            "resources/probes/{key}/summary_{donor}.parquet",
            key=wildcards.key,
            donor=DONORS,
        ),
        "probes": _probe_table(opts),
    }
