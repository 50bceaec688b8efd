"""Snakemake adapter: metadata.json of an interpolated-maps folder (written last)."""

from abagen_core import pipeline
from abagen_core.artifacts import read_frame, setup_logging

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
_, attrs = read_frame(snakemake.input["samples"], kind="map_samples", with_attrs=True)
pipeline.write_map_metadata(
    attrs,
    mask=snakemake.params.mask,
    genes=snakemake.params.genes,
    n_neighbors=snakemake.params.n_neighbors,
    options=snakemake.params.options,
    files=snakemake.input["maps"],
    dest=snakemake.output["metadata"],
)
