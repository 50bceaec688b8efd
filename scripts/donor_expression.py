"""Snakemake adapter: one donor's region x gene matrix (save_donors)."""

from abagen_core.outputs.results import write_donor_expression
from abagen_core.storage.artifacts import read_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``donor_expression`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        normalized = read_frame(snakemake.input["normalized"], kind="normalized")
        _, attrs = read_frame(snakemake.input["labels"], kind="labels", with_attrs=True)
        write_donor_expression(normalized, regions=attrs["regions"],
                               options=snakemake.params.options,
                               dest=snakemake.output["expression"],
                               donor=snakemake.wildcards.donor)


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
