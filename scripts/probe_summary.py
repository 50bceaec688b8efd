"""Snakemake adapter: one donor's probe-selection summary over the kept probes."""

from abagen_core import io, probes
from abagen_core.artifacts import read_frame, setup_logging, write_probe_summary

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
samples = read_frame(snakemake.input["samples"], kind="samples")
kept = read_frame(snakemake.input["kept"], kind="kept_probes")
columns = sorted(set(samples.index.tolist()))
microarray = io.read_matrix_parquet(snakemake.input["microarray"], "microarray", columns=columns,
                                    rows=kept.index)
summary = probes.probe_summaries(microarray, samples, kept,
                                 snakemake.params.options["probe_selection"])
write_probe_summary(summary, snakemake.output["summary"])
