# Shared helpers: config validation, the plan (donors, atlases, variants and
# their stage keys), input functions and wildcard constraints.

import os
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import validate

from abagen_core.workflow import workdir
from abagen_core.workflow.checks import check_config
from abagen_core.workflow.codehash import code_digest
from abagen_core.options import stage_options as options_of_stage
from abagen_core.options import check_options
from abagen_core.workflow.plan import build_plan, expand_sweep, resolve_data_dir
from abagen_core.outputs.robustness import choose_reference
from abagen_core.datasets.synth import is_synthetic
from abagen_core.workflow.checks import check_atlases
from abagen_core.datasets.checks import check_data_dir


# one short line per problem (key, allowed values, received value); then
# Snakemake's own validation, which also fills in the defaults
check_config(config, Path(workflow.basedir).parent / "config" / "schema" / "config.schema.yaml")
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

# Before any job (main Snakemake process only, not the jobs): the data folder
# and the atlases are checked, and what an interrupted run left in this
# working folder is repaired: Snakemake's stale lock, temporary files, results
# of interrupted jobs, cached files failing their parquet footer / schema
# check (abagen_core.workflow.workdir). RUN_LOCK is held while this run lasts.
if workflow.is_main_process:
    if DATA_DIR is not None:
        check_data_dir(DATA_DIR, DONORS, download=config["download"])
    check_atlases(PLAN.atlases, state_dir=workdir.STATE_DIR, log=logger.warning)
    RUN_LOCK = workdir.prepare_workdir(Path.cwd(), log=logger.warning)

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


def code(script):
    """Digest of a rule's script and the library code it imports (a param: changes re-run it)."""
    return code_digest(Path(workflow.basedir).parent / "scripts" / f"{script}.py")


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


def _donors_in_data_dir():
    """Donors whose five CSVs are in data_dir: converted from there directly."""
    if DATA_DIR is None:
        return {}
    from abagen_core.datasets.fetch import find_donor_files

    found = {}
    for donor in DONORS:
        try:
            found[donor] = find_donor_files(DATA_DIR, [donor], download=False)[donor]
        except (FileNotFoundError, ValueError):
            pass
    return found


# donor -> {file key: path} for donors read straight from data_dir (only read);
# the others (downloads, synthetic data) come from obtain_raw in resources/raw
RAW_IN_DATA_DIR = _donors_in_data_dir()
RAW_KEYS = {
    "microarray": "MicroarrayExpression.csv",
    "pacall": "PACall.csv",
    "probes": "Probes.csv",
    "annotation": "SampleAnnot.csv",
    "ontology": "Ontology.csv",
}


def raw_file(donor, key):
    """A donor's raw CSV: in data_dir when it is there, else under resources/raw/."""
    if donor in RAW_IN_DATA_DIR:
        return RAW_IN_DATA_DIR[donor][key]
    return f"resources/raw/{donor}/{RAW_KEYS[key]}"


def raw_files(wildcards):
    return {key: raw_file(wildcards.donor, key) for key in RAW_KEYS}


# Scheduling (Snakemake runs the highest priority first among ready jobs, then
# the one with the largest inputs): conversions first, largest first
# (convert_priority); then the atlas-independent chain up to probe selection,
# a gather every atlas waits for, and labelling (cheap; it fills the second
# core while the one-job gathers run); the per-donor genes below them.
# Normalization and the per-variant gathers rank above the genes: a variant is
# finished as soon as its inputs exist, depth first, so that in a sweep the set
# of ready jobs stays small (Snakemake's scheduler re-reads every input of
# every ready job at each step: with thousands of ready normalize_donor jobs
# it became the bottleneck).
PROBE_CHAIN_PRIORITY = 2
AFTER_SELECTION_PRIORITY = 1
FINISH_PRIORITY = PROBE_CHAIN_PRIORITY


def convert_priority(wildcards):
    """Above every other rule; larger donors first (+ expression CSV size in MiB).

    The conversions are the run's longest jobs; started largest first, they
    end close together instead of leaving the largest one alone at the end.
    """
    try:
        size_mib = os.path.getsize(raw_file(wildcards.donor, "microarray")) >> 20
    except OSError:  # not downloaded / generated yet
        size_mib = 0
    return PROBE_CHAIN_PRIORITY + 1 + size_mib


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
        "resources/samples/{donor}/pacall_{skey}.parquet", skey=skey, donor=DONORS
    )


def probe_summary_inputs(wildcards):
    return {
        "microarray": f"resources/parquet/{wildcards.donor}/microarray.parquet",
        "samples": samples_file(wildcards.donor, upstream("psummary", wildcards, "samples")),
        "probes": probes_table_of("psummary")(wildcards),
    }


def selection_inputs(wildcards):
    opts = PLAN.options_for("probes", wildcards.key)
    files = {
        "summaries": expand(
            "resources/probes/summary/{key}/summary_{donor}",
            key=upstream("probes", wildcards, "psummary"),
            donor=DONORS,
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
    # samples_in_mask and interpolated_maps (workflow/rules/maps.smk)
    outs += mask_target_outputs()
    # QC figures and robustness summaries (workflow/rules/qc.smk)
    outs += qc_outputs()
    return outs


# ---------------------------------------------------------------------------
# samples_in_mask and interpolated_maps (rules in workflow/rules/maps.smk)

# The targets' options are stage keys like the variants': register them so
# the upstream rules (prepare_samples ... donor_genes) resolve their inputs.
for _target in [*PLAN.samples_in_mask.values(), *PLAN.interpolated_maps.values()]:
    for _stage, _key in _target.keys.items():
        UPSTREAM.setdefault(_stage, {}).setdefault(_key, _target.keys)


def _cached_inputs(target):
    """Per-donor genes and samples of a target's options, its probe list and checksums."""
    return {
        "genes": expand(
            "resources/genes/{key}/genes_{donor}.parquet",
            key=target.keys["genes"],
            donor=DONORS,
        ),
        "samples": [samples_file(d, target.keys["samples"]) for d in DONORS],
        "kept": kept_file(target.keys["ibf"]),
        "checksums": expand(
            "resources/parquet/{donor}/{kind}.sha256",
            donor=DONORS,
            kind=["microarray", "pacall"],
        ),
    }


def samples_in_mask_inputs(wildcards):
    target = PLAN.samples_in_mask[wildcards.name]
    files = _cached_inputs(target)
    if target.mask is not None:
        files["mask"] = target.mask["files"]
    return files


def samples_in_mask_mask(wildcards):
    return PLAN.samples_in_mask[wildcards.name].mask


def samples_in_mask_options(wildcards):
    return PLAN.samples_in_mask[wildcards.name].options


def map_samples_inputs(wildcards):
    return _cached_inputs(PLAN.interpolated_maps[wildcards.name])


def map_options(wildcards):
    return PLAN.interpolated_maps[wildcards.name].options


def map_genes(wildcards):
    return list(PLAN.interpolated_maps[wildcards.name].genes)


def map_mask(wildcards):
    return PLAN.interpolated_maps[wildcards.name].mask


def map_mask_files(wildcards):
    return PLAN.interpolated_maps[wildcards.name].mask["files"]


def map_n_neighbors(wildcards):
    return PLAN.interpolated_maps[wildcards.name].n_neighbors


def map_files(name):
    """The map files of an interpolated_maps entry: one NIfTI, or a GIFTI pair, per gene."""
    target = PLAN.interpolated_maps[name]
    if target.mask["kind"] == "volume":
        return [f"results/maps/{name}/{gene}.nii.gz" for gene in target.genes]
    return [
        f"results/maps/{name}/{gene}_{hemi}.func.gii"
        for gene in target.genes
        for hemi in ("lh", "rh")
    ]


def map_files_of(wildcards):
    return map_files(wildcards.name)


def mask_target_outputs():
    """Every file of the configured samples_in_mask and interpolated_maps entries."""
    outs = []
    for name in PLAN.samples_in_mask:
        outs += expand(
            "results/samples_in_mask/{name}/{file}",
            name=name,
            file=[
                "expression.csv",
                "expression.parquet",
                "coordinates.csv",
                "metadata.json",
            ],
        )
    for name in PLAN.interpolated_maps:
        outs += map_files(name) + [f"results/maps/{name}/metadata.json"]
    return outs


# ---------------------------------------------------------------------------
# QC figures and robustness summaries (rules in workflow/rules/qc.smk)

QC = config["qc"]
QC_FIGURES = ("counts", "coverage_map", "gene_map", "donor_agreement")
ROBUSTNESS_TABLES = ("variants", "genes", "decisions", "decision_values")
ROBUSTNESS_FIGURES = ("correlations", "decisions", "gene_spread")


def _qc_variants():
    """Variants with QC figures: those under `variants`, all with qc.sweep_figures."""
    if QC["sweep_figures"]:
        return list(PLAN.variants)
    configured = set(config.get("variants") or {"default": None})
    swept = set(expand_sweep(config.get("sweep")))
    return [v for v in PLAN.variants if v in configured or v not in swept]


QC_VARIANTS = _qc_variants()
# checked now, so that a wrong qc.reference fails before any job
ROBUSTNESS_REFERENCE = (
    choose_reference(PLAN.variants, QC["reference"], check_options({"donors": DONORS}))
    if QC["enabled"]
    else None
)


def qc_outputs():
    if not QC["enabled"]:
        return []
    outs = []
    for atlas in PLAN.atlases:
        outs += expand(
            "results/{atlas}/{variant}/qc/{figure}.png",
            atlas=atlas,
            variant=QC_VARIANTS,
            figure=QC_FIGURES,
        )
        if len(PLAN.variants) > 1:
            outs += expand(
                "results/robustness/{atlas}/{table}.csv",
                atlas=atlas,
                table=ROBUSTNESS_TABLES,
            )
            outs += expand(
                "results/robustness/{atlas}/{figure}.png",
                atlas=atlas,
                figure=ROBUSTNESS_FIGURES,
            )
    return outs


def qc_inputs(wildcards):
    """A result's matrix and counts, its donors' normalized tables, the atlas files."""
    key = PLAN.keys[wildcards.atlas, wildcards.variant]["regional"]
    folder = f"results/{wildcards.atlas}/{wildcards.variant}"
    spec = PLAN.atlases[wildcards.atlas]
    atlas = spec.donor_files(DONORS[0]) + ([spec.info] if spec.info else [])
    return {
        "expression": f"{folder}/expression.parquet",
        "counts": f"{folder}/counts.csv",
        "normalized": expand(
            "resources/regional/{atlas}/{key}/normalized_{donor}.parquet",
            atlas=wildcards.atlas,
            key=key,
            donor=DONORS,
        ),
        "atlas": atlas + (list(spec.geometry) if spec.geometry else []),
    }


def variant_agg_metric(wildcards):
    return PLAN.variants[wildcards.variant]["agg_metric"]


def robustness_inputs(wildcards):
    return expand(
        "results/{atlas}/{variant}/expression.parquet",
        atlas=wildcards.atlas,
        variant=list(PLAN.variants),
    )

