"""Snakemake adapter: one donor's region x gene matrix (save_donors)."""

from abagen_core import pipeline
from abagen_core.artifacts import read_frame, setup_logging

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
normalized = read_frame(snakemake.input["normalized"], kind="normalized")
_, attrs = read_frame(snakemake.input["labels"], kind="labels", with_attrs=True)
pipeline.write_donor_expression(normalized, regions=attrs["regions"],
                                options=snakemake.params.options,
                                dest=snakemake.output["expression"],
                                donor=snakemake.wildcards.donor)
