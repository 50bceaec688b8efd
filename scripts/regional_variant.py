"""Snakemake adapter: one named variant's result folder, every donor in one process."""

from abagen_core.outputs.branch import AtlasTrees, read_branch, write_variant
from abagen_core.storage.artifacts import read_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``regional_variant`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        donors, opts, inp = snakemake.params.donors, snakemake.params.options, snakemake.input
        branch = read_branch(donors, genes=inp["genes"], samples=inp["samples"],
                             labels=inp["labels"])
        out = dict(snakemake.output)
        figures = {k[len("qc_"):]: v for k, v in out.items() if k.startswith("qc_")}
        write_variant(
            branch, AtlasTrees(snakemake.params.atlas, donors), snakemake.wildcards.variant,
            opts, outputs=out, atlas=snakemake.params.atlas, kept=inp["kept"],
            checksums=inp["checksums"], synthetic=snakemake.params.synthetic,
            genes=read_frame(inp["explained"], kind="genes_explained"),
            donor_outputs=dict(zip(donors, out["donors"], strict=True))
            if "donors" in out else None,
            qc_outputs=figures or None, qc_gene=snakemake.params.qc_gene,
            dpi=snakemake.params.dpi)


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
