"""Snakemake adapter: one donor's RNA-seq TPM matrix and sample annotation."""

from pathlib import Path

from abagen_core.datasets.raw import obtain_rnaseq
from abagen_core.workflow.joblog import setup_logging

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
obtain_rnaseq(
    snakemake.wildcards.donor,
    Path(snakemake.output["tpm"]).parent,
    source=snakemake.params.source,
    data_dir=snakemake.params.data_dir,
    download=snakemake.params.download,
    api_url=snakemake.params.api_url,
    synthetic=snakemake.params.synthetic,
)
