"""Snakemake adapter: one gene's dense map over a mask (NIfTI, or a GIFTI pair)."""

from abagen_core import pipeline
from abagen_core.artifacts import read_frame, setup_logging

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
table = read_frame(snakemake.input["samples"], kind="map_samples")
pipeline.write_interpolated_map(
    table,
    gene=snakemake.wildcards.gene,
    mask=snakemake.params.mask,
    n_neighbors=snakemake.params.n_neighbors,
    outputs=dict(snakemake.output),
)
