"""Snakemake adapter: region label of every sample of one donor in one atlas."""

import pandas as pd

from abagen_core import pipeline
from abagen_core.artifacts import read_frame, setup_logging, write_frame

snakemake = globals()["snakemake"]
log = setup_logging(snakemake.log[0])
samples = read_frame(snakemake.input["samples"], kind="samples")
tree = pipeline.load_atlas(snakemake.params.atlas, snakemake.wildcards.donor)
labels = pipeline.label_donor(samples, tree, tolerance=snakemake.params.options["tolerance"])
log.info("%d of %d samples matched to a region", int((labels != 0).sum()), len(labels))
write_frame(pd.DataFrame({"label": labels}), snakemake.output["labels"], kind="labels",
            attrs={"regions": pipeline.atlas_regions(tree)})
