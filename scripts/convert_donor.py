"""Snakemake adapter: one donor's CSVs -> parquet (+ sha256 of each matrix CSV)."""

from abagen_core.artifacts import setup_logging
from abagen_core.raw import convert_donor

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
convert_donor(snakemake.input, snakemake.output)
