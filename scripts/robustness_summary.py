"""Snakemake adapter: robustness of one atlas' results across its variants."""

import itertools

from abagen_core.outputs import qc, robustness, sweep
from abagen_core.storage.atomic import write_figure_atomic, write_text_atomic
from abagen_core.storage.parquet import read_frame_parquet
from abagen_core.workflow.joblog import job_log


def _reference(name, named, batches):
    if name in named:
        return read_frame_parquet(named[name])
    for path in batches:
        if name in sweep.batch_metadata(path)["variants"]:
            return sweep.read_batch_variant(path, name)
    raise KeyError(f"reference variant {name!r} has no matrix")


def main(snakemake) -> None:
    """Run one ``robustness_summary`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]) as log:
        named = dict(zip(snakemake.params.named, snakemake.input["expression"], strict=True))
        batches = list(snakemake.input["batches"])
        reference = snakemake.params.reference
        # one matrix in memory at a time (plus the reference), whatever the number of variants
        matrices = itertools.chain(
            ((name, read_frame_parquet(path)) for name, path in named.items()),
            itertools.chain.from_iterable(sweep.iter_batch(path) for path in batches))
        summary = robustness.robustness_summary(
            matrices, snakemake.params.options, reference=reference,
            reference_matrix=_reference(reference, named, batches))
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
