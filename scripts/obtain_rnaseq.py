"""Snakemake adapter: one donor's RNA-seq TPM matrix and sample annotation."""

from pathlib import Path

from abagen_core.datasets.raw import obtain_rnaseq
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``obtain_rnaseq`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        obtain_rnaseq(
            snakemake.wildcards.donor,
            Path(snakemake.output["tpm"]).parent,
            source=snakemake.params.source,
            data_dir=snakemake.params.data_dir,
            download=snakemake.params.download,
            api_url=snakemake.params.api_url,
            synthetic=snakemake.params.synthetic,
        )


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
