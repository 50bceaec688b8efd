"""Snakemake adapter: the index of an atlas' swept variants (name -> batch file, options)."""

from abagen_core.outputs.sweep import write_index
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``sweep_index`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]) as log:
        index = write_index(list(snakemake.input["batches"]), snakemake.output["index"])
        log.info("%d swept variants in %d batch files", len(index),
                 len(snakemake.input["batches"]))


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
