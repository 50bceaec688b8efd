"""Snakemake adapter: region label of every sample of one donor in one atlas."""

import pandas as pd

from abagen_core.atlas.spec import atlas_regions, load_atlas
from abagen_core.stages import regional as pipeline
from abagen_core.storage.artifacts import read_frame, write_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``label_samples`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]) as log:
        samples = read_frame(snakemake.input["samples"], kind="samples")
        tree = load_atlas(snakemake.params.atlas, snakemake.wildcards.donor)
        labels = pipeline.label_donor(samples, tree,
                                      tolerance=snakemake.params.options["tolerance"])
        log.info("%d of %d samples matched to a region", int((labels != 0).sum()), len(labels))
        write_frame(pd.DataFrame({"label": labels}), snakemake.output["labels"], kind="labels",
                    attrs={"regions": atlas_regions(tree)})


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
