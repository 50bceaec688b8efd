"""Snakemake adapter: quality-control figures of one atlas and variant."""

import pandas as pd

from abagen_core.atlas.spec import load_atlas
from abagen_core.outputs import qc
from abagen_core.stages import regional as pipeline
from abagen_core.storage.artifacts import read_frame
from abagen_core.storage.atomic import write_figure_atomic
from abagen_core.storage.parquet import read_frame_parquet
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``qc_figures`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]) as log:
        donors = snakemake.params.donors
        expression = read_frame_parquet(snakemake.input["expression"])
        counts = pd.read_csv(snakemake.input["counts"], index_col=0)
        normalized = {d: read_frame(p, kind="normalized")
                      for d, p in zip(donors, snakemake.input["normalized"], strict=True)}
        # donor-level matrices, as `save_donors` writes them
        _, per_donor = pipeline.combine_donors(normalized, [int(r) for r in expression.index],
                                               region_agg="donors",
                                               agg_metric=snakemake.params.agg_metric)
        # donor-specific atlases are drawn in the first donor's space
        tree = load_atlas(snakemake.params.atlas, donors[0])
        figures = qc.qc_figures(expression, counts, per_donor, tree, gene=snakemake.params.gene,
                                name=f"{snakemake.wildcards.atlas} / {snakemake.wildcards.variant}")
        for name, fig in figures.items():
            write_figure_atomic(fig, snakemake.output[name], dpi=snakemake.params.dpi)
            log.info("wrote %s", snakemake.output[name])


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
