"""Snakemake adapter: the donor's T1w image (its affine maps native voxels to mm)."""

from abagen_core.datasets.raw import obtain_t1
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``obtain_t1`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        obtain_t1(
            snakemake.wildcards.donor,
            snakemake.output["t1"],
            source=snakemake.params.source,
            data_dir=snakemake.params.data_dir,
            download=snakemake.params.download,
            api_url=snakemake.params.api_url,
        )


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
