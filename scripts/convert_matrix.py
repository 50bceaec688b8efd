"""Snakemake adapter: headerless expression/PACall CSV -> parquet (+ sha256 of the CSV)."""

from abagen_core.artifacts import setup_logging
from abagen_core.raw import convert_matrix_with_checksum

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
convert_matrix_with_checksum(
    snakemake.input["csv"], snakemake.output["parquet"], snakemake.output["checksum"],
    kind=snakemake.params.kind,
)
