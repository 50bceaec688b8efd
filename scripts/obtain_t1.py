"""Snakemake adapter: the donor's T1w image (its affine maps native voxels to mm)."""

from abagen_core.datasets.raw import obtain_t1
from abagen_core.workflow.joblog import setup_logging

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
obtain_t1(
    snakemake.wildcards.donor,
    snakemake.output["t1"],
    source=snakemake.params.source,
    data_dir=snakemake.params.data_dir,
    download=snakemake.params.download,
    api_url=snakemake.params.api_url,
)
