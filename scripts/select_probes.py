"""Snakemake adapter: choose one probe per gene from all donors' summaries (gather)."""

import pandas as pd

from abagen_core import io
from abagen_core.outputs.results import explained_genes
from abagen_core.stages import probes
from abagen_core.storage.artifacts import read_frame, read_probe_summary, write_frame
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``select_probes`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        opts = snakemake.params.options
        donors = snakemake.params.donors
        kept = read_frame(snakemake.input["kept"], kind="kept_probes")
        summaries = {donor: read_probe_summary(path)
                     for donor, path in zip(donors, snakemake.input["summaries"], strict=True)}
        rnaseq = None
        if opts["probe_selection"] == "rnaseq":
            rnaseq = {}
            for donor, tpm_path, annot_path in zip(snakemake.params.rnaseq_donors,
                                                   snakemake.input["tpm"],
                                                   snakemake.input["rnaseq_annotation"],
                                                   strict=True):
                tpm = io.read_tpm(tpm_path)
                annot = read_frame(annot_path, kind="rnaseq_annotation")
                rnaseq[donor] = probes.rnaseq_region_expression(tpm, annot)
        selection = probes.choose_probes(summaries, kept, opts["probe_selection"],
                                         opts["donor_probes"], rnaseq)
        # genes.csv of every result made from this selection, explained once here
        genes = explained_genes(pacall=snakemake.input["pacall"], donors=donors,
                                probe_table=snakemake.input["probe_table"], kept=kept,
                                selection=selection, options=opts)
        if selection is None:
            selection = pd.DataFrame(index=pd.Index([], name="gene_symbol"))
        write_frame(selection, snakemake.output["selection"], kind="selection",
                    attrs={"n_kept_probes": len(kept), "average": selection.shape[1] == 0})
        write_frame(genes, snakemake.output["explained"], kind="genes_explained")


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
