"""Snakemake adapter: the probe table (reannotated or original, Entrez ids only)."""

from abagen_core import io
from abagen_core.stages import regional as pipeline
from abagen_core.storage.artifacts import write_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``prepare_probes`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        raw = io.read_probes(snakemake.input["probes"])
        table = pipeline.prepare_probes(raw, reannotated=snakemake.params.reannotated)
        write_frame(table, snakemake.output["probes"], kind="probes")


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
