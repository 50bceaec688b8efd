"""Snakemake adapter: every variant of one sweep branch, written as one compact file."""

from abagen_core.outputs.branch import AtlasTrees, read_branch, write_sweep_batch
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``regional_batch`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]) as log:
        donors, inp = snakemake.params.donors, snakemake.input
        # the batch reads genes before sample normalization and applies each
        # variant's sample_norm itself
        branch = read_branch(donors, genes=inp["genes"], samples=inp["samples"],
                             labels=inp["labels"], unnormalized=True)
        names = write_sweep_batch(
            branch, AtlasTrees(snakemake.params.atlas, donors), snakemake.params.variants,
            snakemake.output["batch"], chunk_mb=snakemake.params.chunk_mb,
            extra={"atlas": snakemake.params.atlas, "synthetic": snakemake.params.synthetic})
        log.info("batch %s: %d variants written", snakemake.wildcards.batch, len(names))


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
