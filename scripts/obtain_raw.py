"""Snakemake adapter: materialise one donor's five raw CSVs under resources/raw/."""

from pathlib import Path

from abagen_core.datasets.raw import obtain_donor
from abagen_core.workflow.joblog import setup_logging

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
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
