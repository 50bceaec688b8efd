"""Snakemake adapter: the probe table (reannotated or original, Entrez ids only)."""

from abagen_core import pipeline
from abagen_core.artifacts import read_frame, setup_logging, write_frame

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
raw = read_frame(snakemake.input["probes"], kind="probes_raw")
table = pipeline.prepare_probes(raw, reannotated=snakemake.params.reannotated)
write_frame(table, snakemake.output["probes"], kind="probes")
