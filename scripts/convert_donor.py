"""Snakemake adapter: one donor's CSVs -> parquet (+ sha256 of each matrix CSV)."""

from abagen_core.datasets.raw import convert_donor
from abagen_core.workflow.joblog import setup_logging

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
convert_donor(snakemake.input, snakemake.output)
