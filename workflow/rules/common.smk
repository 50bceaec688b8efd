# Wiring between the config and the rules. The logic lives in tested Python:
# abagen_core.workflow.plan (donors, atlases, variants, stage keys),
# .targets (input files, priorities, final outputs), .paths (every path
# template), .workdir (repair of the working folder when a run starts).
# Parsing this file, `snakemake -n` and `snakemake --lint` write nothing.

import inspect
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import validate

from abagen_core.datasets.checks import check_data_dir
from abagen_core.datasets.synth import is_synthetic
from abagen_core.options import check_options
from abagen_core.options import stage_options as options_of_stage
from abagen_core.outputs.robustness import choose_reference
from abagen_core.workflow import paths, workdir
from abagen_core.workflow.checks import check_atlases, check_config
from abagen_core.workflow.codehash import code_digest
from abagen_core.workflow.plan import (
    cached_plan,
    resolve_data_dir,
    save_plan,
    sweep_chunk_mb,
)
from abagen_core.workflow.targets import (
    AFTER_SELECTION_PRIORITY,
    FINISH_PRIORITY,
    PROBE_CHAIN_PRIORITY,
    QC_FIGURES,
    ROBUSTNESS_FIGURES,
    ROBUSTNESS_TABLES,
    Targets,
    donors_in_data_dir,
)

REPO = Path(workflow.basedir).parent

# one short line per problem (key, allowed values, received value); then
# Snakemake's own validation, which also fills in the defaults
check_config(config, REPO / "config" / "schema" / "config.schema.yaml")
validate(config, schema="../../config/schema/config.schema.yaml")

# the plan of a large sweep takes seconds to build: a real run's main process
# saves it (when the run starts), and the processes of cluster jobs, which
# parse this file again, read it (rebuilt whenever an input differs)
PLAN_CACHE = Path(workdir.STATE_DIR) / "plan"
PLAN = cached_plan(config, REPO, PLAN_CACHE, write=False)
DONORS = PLAN.donors
# GENERATE: make synthetic data on the fly; SYNTHETIC: results come from
# synthetic data (generated here, or a data_dir written by the generator)
GENERATE = bool(config["synthetic"]["enabled"])
DATA_DIR = None if GENERATE else resolve_data_dir(config.get("data_dir"))
SYNTHETIC = GENERATE or (DATA_DIR is not None and is_synthetic(DATA_DIR))
RAW_SOURCE = "synthetic" if GENERATE else "folder"

# Read-only checks before any job (main process only): the data folder and
# the atlases (the atlas check results are saved when a real run starts).
if workflow.is_main_process:
    if DATA_DIR is not None:
        check_data_dir(DATA_DIR, DONORS, download=config["download"])
    check_atlases(
        PLAN.atlases, state_dir=workdir.STATE_DIR, log=logger.warning, save=False
    )


# donors read straight from data_dir (only read); the others (downloads,
# synthetic data) come from obtain_raw in resources/raw
TARGETS = Targets(PLAN, config, donors_in_data_dir(DATA_DIR, DONORS))
RNASEQ_DONORS = TARGETS.rnaseq_donors
QC = config["qc"]
# MiB of sample x gene values a sweep batch holds at once
SWEEP_CHUNK_MB = sweep_chunk_mb(config["sweep"])
# checked now, so that a wrong qc.reference fails before any job
ROBUSTNESS_REFERENCE = (
    choose_reference(PLAN.variants, QC["reference"], check_options({"donors": DONORS}))
    if QC["enabled"]
    else None
)


def _save_atlas_checks():
    check_atlases(PLAN.atlases, state_dir=workdir.STATE_DIR)


def _save_plan():
    save_plan(PLAN, config, REPO, PLAN_CACHE)


# The start of a real run (not -n, --lint, --report, nor a cluster job's own
# process): take the run lock and repair what interrupted runs left in this
# folder, before Snakemake looks at any file. Called by every input function.
START_RUN = workdir.RunStart(
    workflow, Path.cwd(), log=logger.warning, also=(_save_atlas_checks, _save_plan)
)


# fallback for targets whose jobs have no input function (the obtain_* rules):
# too late to change Snakemake's plan, but the run lock is taken all the same
onstart:
    START_RUN(late=True)


wildcard_constraints:
    donor="|".join(DONORS),
    atlas="|".join(PLAN.atlases),
    variant="[A-Za-z0-9_.-]+",
    key="[0-9a-f]{10}",
    batch="[0-9a-f]{10}",
    kind="microarray|pacall",
    which="reannotated|original",


# output templates with one wildcard filled in (abagen_core.workflow.paths)
RAW = {k: paths.fill(paths.RAW, name=v) for k, v in paths.RAW_NAMES.items()}
CHECKSUM = {k: paths.fill(paths.CHECKSUM, kind=k) for k in ("microarray", "pacall")}
RESULT = {f: paths.fill(paths.RESULT, file=f) for f in paths.RESULT_FILES}
MASK_RESULT = {
    f: paths.fill(paths.MASK_RESULT, file=f) for f in paths.MASK_RESULT_FILES
}
QC_FIGURE = {f: paths.fill(paths.QC_FIGURE, figure=f) for f in QC_FIGURES}
QC_FIGURE_TITLES = {
    "counts": "samples per region",
    "coverage_map": "coverage map",
    "gene_map": "gene map",
    "donor_agreement": "donor agreement",
}
ROBUSTNESS = {
    f: paths.fill(paths.ROBUSTNESS, file=f)
    for f in [f"{t}.csv" for t in ROBUSTNESS_TABLES]
    + [f"{f}.png" for f in ROBUSTNESS_FIGURES]
}


def _variant_outputs():
    """Outputs of a regional_variant job: its result folder (with donor
    matrices and QC figures when the config asks for them)."""
    labels = {"atlas": "{atlas}", "variant": "{variant}"}

    def _shown(path, caption, category, **more):
        return report(
            path,
            caption=f"../report/{caption}.rst",
            category=category,
            labels=dict(labels, **more),
        )

    outs = {
        "expression": _shown(
            RESULT["expression.csv"], "expression", "Expression", file="expression"
        ),
        "parquet": RESULT["expression.parquet"],
        "counts": _shown(RESULT["counts.csv"], "counts", "Counts", file="counts"),
        "regions": RESULT["regions.csv"],
        "genes": RESULT["genes.csv"],
        "methods": _shown(RESULT["report.md"], "methods", "Methods", file="methods"),
        "metadata": RESULT["metadata.json"],
    }
    if config["outputs"]["save_donors"]:
        outs["donors"] = expand(
            paths.DONOR_EXPRESSION, donor=DONORS, allow_missing=True
        )
    if QC["enabled"]:
        for figure, title in QC_FIGURE_TITLES.items():
            outs[f"qc_{figure}"] = report(
                QC_FIGURE[figure],
                caption=f"../report/qc_{figure}.rst",
                category="Quality control",
                subcategory="{atlas}",
                labels=dict(labels, figure=title),
            )
    return outs


VARIANT_OUTPUTS = _variant_outputs()


def log_file(rule, job):
    """The log file of a job (paths.LOG)."""
    return paths.fill(paths.LOG, rule=rule, job=job)


def benchmark_file(rule, job):
    """The benchmark record of a job (paths.BENCHMARK)."""
    return paths.fill(paths.BENCHMARK, rule=rule, job=job)


def by_wildcards(method, start=True):
    """Input/params function: `method` called with the job's wildcards it takes."""
    takes = set(inspect.signature(method).parameters)

    def _call(wildcards):
        if start:
            START_RUN()
        return method(**{k: v for k, v in wildcards.items() if k in takes})

    return _call


def code(script):
    """Digest of a rule's script and the library code it imports (a param: changes re-run it)."""
    return code_digest(REPO / "scripts" / f"{script}.py")


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


def probe_table_is_reannotated(wildcards):
    return wildcards.which == "reannotated"


def convert_priority(wildcards):
    return TARGETS.convert_priority(wildcards.donor)


def variant_params(wildcards):
    return PLAN.variants[wildcards.variant]


def final_outputs(wildcards):
    START_RUN()
    return TARGETS.final_outputs()


# input functions (abagen_core.workflow.targets.Targets)
raw_files = by_wildcards(TARGETS.raw_files)
sample_inputs = by_wildcards(TARGETS.sample_inputs)
filter_inputs = by_wildcards(TARGETS.filter_inputs)
probe_summary_inputs = by_wildcards(TARGETS.probe_summary_inputs)
selection_inputs = by_wildcards(TARGETS.selection_inputs)
genes_inputs = by_wildcards(TARGETS.genes_inputs)
label_inputs = by_wildcards(TARGETS.label_inputs)
variant_inputs = by_wildcards(TARGETS.variant_inputs)
batch_inputs = by_wildcards(TARGETS.batch_inputs)
sweep_batch_files = by_wildcards(TARGETS.batch_files)
robustness_inputs = by_wildcards(TARGETS.robustness_inputs)
samples_in_mask_inputs = by_wildcards(TARGETS.samples_in_mask_inputs)
map_samples_inputs = by_wildcards(TARGETS.map_samples_inputs)
map_files_of = by_wildcards(TARGETS.map_files)

# params functions
atlas_description = by_wildcards(TARGETS.atlas_description, start=False)
batch_variants = by_wildcards(TARGETS.batch_variants, start=False)


def mask_target(section, item, start=False):
    """params/input function: one item of a samples_in_mask / interpolated_maps entry."""

    def _item(wildcards):
        if start:
            START_RUN()
        return TARGETS.mask_target(section, wildcards.name)[item]

    return _item
