"""Snakemake adapter: every donor's samples x genes matrix, sample-normalised."""

from abagen_core import io
from abagen_core.stages import probes
from abagen_core.stages import regional as pipeline
from abagen_core.stages.samples import matrix_columns
from abagen_core.storage.artifacts import read_frame, write_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``donor_genes`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]) as log:
        opts = snakemake.params.options
        kept = read_frame(snakemake.input["kept"], kind="kept_probes")
        selection, attrs = read_frame(snakemake.input["selection"], kind="selection",
                                      with_attrs=True)
        if attrs.get("average"):
            selection = None
        for donor, matrix, src, dest in zip(snakemake.params.donors, snakemake.input["microarray"],
                                            snakemake.input["samples"],
                                            snakemake.output["genes"], strict=True):
            samples = read_frame(src, kind="samples")
            # only the rows the genes are made of: the chosen probes (all kept ones for 'average')
            rows = probes.probes_used(kept, selection, donor=donor)
            microarray = io.read_matrix_parquet(matrix, "microarray",
                                                columns=matrix_columns(samples), rows=rows)
            genes = pipeline.donor_genes(microarray, samples, kept, selection,
                                         probe_selection=opts["probe_selection"],
                                         sample_norm=opts["sample_norm"], donor=donor)
            del microarray
            write_frame(genes, dest, kind="genes")
            log.info("donor %s: %d samples x %d genes", donor, *genes.shape)


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
