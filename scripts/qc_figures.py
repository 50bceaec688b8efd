"""Snakemake adapter: quality-control figures of one atlas and variant."""

import pandas as pd

from abagen_core import io, pipeline, qc
from abagen_core.artifacts import read_frame, setup_logging, write_figure_atomic

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
donors = snakemake.params.donors
expression = io.read_frame_parquet(snakemake.input["expression"])
counts = pd.read_csv(snakemake.input["counts"], index_col=0)
normalized = {d: read_frame(p, kind="normalized")
              for d, p in zip(donors, snakemake.input["normalized"], strict=True)}
# donor-level matrices, as `save_donors` writes them
_, per_donor = pipeline.combine_donors(normalized, [int(r) for r in expression.index],
                                       region_agg="donors",
                                       agg_metric=snakemake.params.agg_metric)
# donor-specific atlases are drawn in the first donor's space
tree = pipeline.load_atlas(snakemake.params.atlas, donors[0])
figures = qc.qc_figures(expression, counts, per_donor, tree, gene=snakemake.params.gene,
                        name=f"{snakemake.wildcards.atlas} / {snakemake.wildcards.variant}")
for name, fig in figures.items():
    write_figure_atomic(fig, snakemake.output[name], dpi=snakemake.params.dpi)
    log.info("wrote %s", snakemake.output[name])
