"""Snakemake adapter: one gene's dense map over a mask (NIfTI, or a GIFTI pair)."""

from abagen_core.outputs.results import write_interpolated_map
from abagen_core.storage.artifacts import read_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``interpolated_map`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        table = read_frame(snakemake.input["samples"], kind="map_samples")
        write_interpolated_map(
            table,
            gene=snakemake.wildcards.gene,
            mask=snakemake.params.mask,
            n_neighbors=snakemake.params.n_neighbors,
            outputs=dict(snakemake.output),
        )


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
