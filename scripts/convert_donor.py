"""Snakemake adapter: one donor's CSVs -> parquet (+ sha256 of each matrix CSV)."""

from abagen_core.datasets.raw import convert_donor
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``convert_donor`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        convert_donor(snakemake.input, snakemake.output)


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
