"""Snakemake adapter: RNA-seq TPM CSV + SampleAnnot -> parquet."""

from abagen_core import io
from abagen_core.storage.artifacts import write_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``convert_rnaseq`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        io.csv_to_parquet(snakemake.input["tpm"], snakemake.output["tpm"], "tpm")
        write_frame(io.read_rnaseq_annotation(snakemake.input["annotation"]),
                    snakemake.output["annotation"], kind="rnaseq_annotation")


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
