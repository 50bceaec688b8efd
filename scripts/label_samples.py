"""Snakemake adapter: region label of every sample of every donor in one atlas."""

import pandas as pd

from abagen_core.atlas.spec import atlas_regions
from abagen_core.outputs.branch import AtlasTrees
from abagen_core.stages import regional as pipeline
from abagen_core.storage.artifacts import read_frame, write_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``label_samples`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]) as log:
        donors = snakemake.params.donors
        trees = AtlasTrees(snakemake.params.atlas, donors)
        tolerance = snakemake.params.options["tolerance"]
        for donor, src, dest in zip(donors, snakemake.input["samples"],
                                    snakemake.output["labels"], strict=True):
            samples = read_frame(src, kind="samples")
            labels = pipeline.label_donor(samples, trees[donor], tolerance=tolerance)
            log.info("donor %s: %d of %d samples matched to a region", donor,
                     int((labels != 0).sum()), len(labels))
            write_frame(pd.DataFrame({"label": labels}), dest, kind="labels",
                        attrs={"regions": atlas_regions(trees[donor])})


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
