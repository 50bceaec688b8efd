"""Snakemake adapter: one donor's probe-selection summary over every annotated probe.

Not restricted to the probes passing the intensity filter, so that it runs
beside that gather; select_probes restricts the choice to them.
"""

from abagen_core import io
from abagen_core.stages import probes
from abagen_core.stages.samples import matrix_columns
from abagen_core.storage.artifacts import read_frame, write_probe_summary
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``probe_summary`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        samples = read_frame(snakemake.input["samples"], kind="samples")
        table = read_frame(snakemake.input["probes"], kind="probes")
        method = snakemake.params.options["probe_selection"]
        # each sample once (the moment methods repeat mirrored samples block by
        # block), or every annotated sample, repeats included, as the other
        # methods use the matrix (no second copy either way)
        columns = (matrix_columns(samples) if probes.reads_sample_columns_once(method)
                   else [int(x) for x in samples.index])
        summary = probes.probe_summaries(
            io.read_matrix_parquet(snakemake.input["microarray"], "microarray",
                                   columns=columns, rows=table.index),
            samples, table, method)
        write_probe_summary(summary, snakemake.output["summary"])


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
