"""Snakemake adapter: one donor's region x gene matrix (save_donors)."""

from abagen_core.outputs.results import write_donor_expression
from abagen_core.storage.artifacts import read_frame
from abagen_core.workflow.joblog import setup_logging

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
normalized = read_frame(snakemake.input["normalized"], kind="normalized")
_, attrs = read_frame(snakemake.input["labels"], kind="labels", with_attrs=True)
write_donor_expression(normalized, regions=attrs["regions"],
                                options=snakemake.params.options,
                                dest=snakemake.output["expression"],
                                donor=snakemake.wildcards.donor)
