"""Snakemake adapter: robustness of one atlas' results across the variants of a sweep."""

from abagen_core.outputs import qc, robustness
from abagen_core.storage.atomic import write_figure_atomic, write_text_atomic
from abagen_core.storage.parquet import read_frame_parquet
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``robustness_summary`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]) as log:
        names = snakemake.params.variants
        paths = dict(zip(names, snakemake.input["expression"], strict=True))
        reference = snakemake.params.reference
        # one matrix in memory at a time (plus the reference), whatever the number of variants
        summary = robustness.robustness_summary(
            ((name, read_frame_parquet(path)) for name, path in paths.items()),
            snakemake.params.options, reference=reference,
            reference_matrix=read_frame_parquet(paths[reference]))
        log.info("%d variants compared with %r; most influential option: %s", len(summary.variants),
                 reference, summary.decisions.index[0] if len(summary.decisions) else "none")
        write_text_atomic(summary.variants.to_csv(), snakemake.output["variants"])
        write_text_atomic(summary.genes.to_csv(), snakemake.output["genes"])
        write_text_atomic(summary.decisions.to_csv(), snakemake.output["decisions"])
        write_text_atomic(summary.decision_values.to_csv(index=False), snakemake.output["values"])
        for name, fig in qc.robustness_figures(summary, name=snakemake.wildcards.atlas).items():
            write_figure_atomic(fig, snakemake.output[f"fig_{name}"], dpi=snakemake.params.dpi)


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
