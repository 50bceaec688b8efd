"""Snakemake adapter: gene normalization of one donor and filling of its empty regions."""

from abagen_core import pipeline
from abagen_core.artifacts import read_frame, setup_logging, write_frame

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
opts = snakemake.params.options
genes = read_frame(snakemake.input["genes"], kind="genes")
samples = read_frame(snakemake.input["samples"], kind="samples")
labels = read_frame(snakemake.input["labels"], kind="labels")["label"].to_numpy()
# the atlas geometry is only needed to fill empty regions
tree = None
if opts["missing"] is not None:
    tree = pipeline.load_atlas(snakemake.params.atlas, snakemake.wildcards.donor)
normalized = pipeline.normalize_donor(
    genes, samples.reset_index(), labels, tree, gene_norm=opts["gene_norm"],
    norm_matched=opts["norm_matched"], norm_structures=opts["norm_structures"],
    missing=opts["missing"], region_agg=opts["region_agg"], agg_metric=opts["agg_metric"])
write_frame(normalized, snakemake.output["normalized"], kind="normalized")
