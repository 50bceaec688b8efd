"""Snakemake adapter: one donor's samples x genes matrix, sample-normalised."""

from abagen_core import io
from abagen_core.stages import probes
from abagen_core.stages import regional as pipeline
from abagen_core.stages.samples import matrix_columns
from abagen_core.storage.artifacts import read_frame, write_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``donor_genes`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        opts = snakemake.params.options
        samples = read_frame(snakemake.input["samples"], kind="samples")
        kept = read_frame(snakemake.input["kept"], kind="kept_probes")
        selection, attrs = read_frame(snakemake.input["selection"], kind="selection",
                                      with_attrs=True)
        if attrs.get("average"):
            selection = None
        columns = matrix_columns(samples)
        # only the rows the genes are made of: the chosen probes (all kept ones for 'average')
        rows = probes.probes_used(kept, selection, donor=snakemake.wildcards.donor)
        microarray = io.read_matrix_parquet(snakemake.input["microarray"], "microarray",
                                            columns=columns, rows=rows)
        genes = pipeline.donor_genes(microarray, samples, kept, selection,
                                     probe_selection=opts["probe_selection"],
                                     sample_norm=opts["sample_norm"],
                                     donor=snakemake.wildcards.donor)
        write_frame(genes, snakemake.output["genes"], kind="genes")


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
