"""Snakemake adapter: RNA-seq TPM CSV + SampleAnnot -> parquet."""

from abagen_core import io
from abagen_core.storage.artifacts import write_frame
from abagen_core.workflow.joblog import setup_logging

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
io.csv_to_parquet(snakemake.input["tpm"], snakemake.output["tpm"], "tpm")
write_frame(io.read_rnaseq_annotation(snakemake.input["annotation"]),
            snakemake.output["annotation"], kind="rnaseq_annotation")
