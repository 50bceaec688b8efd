"""Snakemake adapter: samples with signal per probe for one donor."""

from abagen_core import io, probes
from abagen_core.artifacts import read_frame, setup_logging, write_frame

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
samples = read_frame(snakemake.input["samples"], kind="samples")
table = read_frame(snakemake.input["probes"], kind="probes")
columns = sorted(set(samples.index.tolist()))
pacall = io.read_matrix_parquet(snakemake.input["pacall"], "pacall", columns=columns,
                                rows=table.index)
summary = probes.pacall_summary(pacall.loc[table.index], samples)
write_frame(summary.counts.to_frame(), snakemake.output["summary"], kind="pacall_summary",
            attrs={"n_samples": summary.n_samples})
