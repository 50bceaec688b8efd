"""Snakemake adapter: metadata.json of an interpolated-maps folder (written last)."""

from abagen_core.outputs.results import write_map_metadata
from abagen_core.storage.artifacts import read_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``map_metadata`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        _, attrs = read_frame(snakemake.input["samples"], kind="map_samples", with_attrs=True)
        write_map_metadata(
            attrs,
            mask=snakemake.params.mask,
            genes=snakemake.params.genes,
            n_neighbors=snakemake.params.n_neighbors,
            options=snakemake.params.options,
            files=snakemake.input["maps"],
            dest=snakemake.output["metadata"],
        )


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
