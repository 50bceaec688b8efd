"""Snakemake adapter: every sample's expression of a map's genes, with MNI coordinates."""

from abagen_core.outputs.results import write_map_samples
from abagen_core.storage.artifacts import count_rows, read_donor_genes
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``map_samples`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        donors = snakemake.params.donors
        genes, samples = read_donor_genes(donors, snakemake.input["genes"],
                                          snakemake.input["samples"])
        try:
            write_map_samples(
                genes, samples,
                wanted=snakemake.params.genes,
                options=snakemake.params.options,
                n_kept_probes=count_rows(snakemake.input["kept"]),
                checksums=snakemake.input["checksums"],
                synthetic=snakemake.params.synthetic,
                dest=snakemake.output["samples"],
            )
        except ValueError as exc:  # name the config entry (e.g. an unknown gene)
            raise ValueError(f"interpolated_maps.{snakemake.wildcards.name}: {exc}") from None


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
