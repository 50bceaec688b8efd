"""Snakemake adapter: gene normalization of one donor and filling of its empty regions."""

from abagen_core.atlas.spec import load_atlas
from abagen_core.stages import regional as pipeline
from abagen_core.storage.artifacts import read_frame, write_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``normalize_donor`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        opts = snakemake.params.options
        genes = read_frame(snakemake.input["genes"], kind="genes")
        samples = read_frame(snakemake.input["samples"], kind="samples")
        labels = read_frame(snakemake.input["labels"], kind="labels")["label"].to_numpy()
        # the atlas geometry is only needed to fill empty regions
        tree = None
        if opts["missing"] is not None:
            tree = load_atlas(snakemake.params.atlas, snakemake.wildcards.donor)
        normalized = pipeline.normalize_donor(
            genes, samples.reset_index(), labels, tree, gene_norm=opts["gene_norm"],
            norm_matched=opts["norm_matched"], norm_structures=opts["norm_structures"],
            missing=opts["missing"], region_agg=opts["region_agg"], agg_metric=opts["agg_metric"])
        write_frame(normalized, snakemake.output["normalized"], kind="normalized")


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
