"""Snakemake adapter: intensity-based filtering over all donors (gather)."""

from abagen_core.stages import probes
from abagen_core.storage.artifacts import read_frame, read_pacall_summary, write_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``intensity_filter`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]) as log:
        summaries = [read_pacall_summary(path) for path in snakemake.input["summaries"]]
        table = read_frame(snakemake.input["probes"], kind="probes")
        kept = probes.intensity_filter(summaries, table, snakemake.params.options["ibf_threshold"])
        log.info("%d of %d probes pass intensity-based filtering", len(kept), len(table))
        write_frame(kept, snakemake.output["kept"], kind="kept_probes")


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
