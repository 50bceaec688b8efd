"""Snakemake adapter: materialise one donor's five raw CSVs under resources/raw/."""

from pathlib import Path

from abagen_core.datasets.raw import obtain_donor
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``obtain_raw`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        out_dir = Path(snakemake.output["microarray"]).parent
        obtain_donor(
            snakemake.wildcards.donor,
            out_dir,
            source=snakemake.params.source,
            data_dir=snakemake.params.data_dir,
            download=snakemake.params.download,
            api_url=snakemake.params.api_url,
            synthetic=snakemake.params.synthetic,
        )


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
