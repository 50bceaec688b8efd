"""Snakemake adapter: the probe table (reannotated or original, Entrez ids only)."""

from abagen_core import io, pipeline
from abagen_core.artifacts import setup_logging, write_frame

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
raw = io.read_probes(snakemake.input["probes"])
table = pipeline.prepare_probes(raw, reannotated=snakemake.params.reannotated)
write_frame(table, snakemake.output["probes"], kind="probes")
