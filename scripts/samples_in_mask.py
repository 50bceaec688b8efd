"""Snakemake adapter: processed expression and MNI coordinates of the samples in a mask."""

from abagen_core.outputs.results import write_samples_in_mask
from abagen_core.storage.artifacts import count_rows, read_donor_genes
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``samples_in_mask`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        donors = snakemake.params.donors
        genes, samples = read_donor_genes(donors, snakemake.input["genes"],
                                          snakemake.input["samples"])
        try:
            write_samples_in_mask(
                genes, samples,
                mask=snakemake.params.mask,
                options=snakemake.params.options,
                n_kept_probes=count_rows(snakemake.input["kept"]),
                checksums=snakemake.input["checksums"],
                synthetic=snakemake.params.synthetic,
                outputs=dict(snakemake.output),
            )
        except ValueError as exc:  # name the config entry (e.g. a mask no sample falls into)
            raise ValueError(f"samples_in_mask.{snakemake.wildcards.name}: {exc}") from None


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
