"""Snakemake adapter: final region x gene matrix, counts, genes, methods text, metadata."""

from abagen_core import io
from abagen_core.outputs.results import write_results
from abagen_core.stages import probes
from abagen_core.stages.explain import explain_genes
from abagen_core.storage.artifacts import count_rows, read_frame, read_pacall_summary
from abagen_core.workflow.joblog import job_log


def _explained(snakemake, donors, options):
    """Why each gene symbol is or is not in the result (``genes.csv``)."""
    pacall = {donor: read_pacall_summary(path)
              for donor, path in zip(donors, snakemake.input["pacall"], strict=True)}
    selection, attrs = read_frame(snakemake.input["selection"], kind="selection",
                                  with_attrs=True)
    table = io.read_probes(snakemake.input["probe_table"])
    annotated = probes.reannotate_probes(table) if options["reannotated"] else table
    return explain_genes(table, annotated, pacall,
                         read_frame(snakemake.input["kept"], kind="kept_probes"),
                         None if attrs.get("average") else selection,
                         ibf_threshold=options["ibf_threshold"],
                         reannotated=options["reannotated"])


def main(snakemake) -> None:
    """Run one ``combine_donors`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        donors = snakemake.params.donors
        normalized = {d: read_frame(p, kind="normalized")
                      for d, p in zip(donors, snakemake.input["normalized"], strict=True)}
        labels, regions = {}, set()
        for donor, path in zip(donors, snakemake.input["labels"], strict=True):
            frame, attrs = read_frame(path, kind="labels", with_attrs=True)
            labels[donor] = frame["label"].to_numpy()
            regions.update(attrs["regions"])
        write_results(
            normalized, labels,
            regions=sorted(regions),
            options=snakemake.params.options,
            atlas=snakemake.params.atlas,
            n_kept_probes=count_rows(snakemake.input["kept"]),
            checksums=snakemake.input["checksums"],
            synthetic=snakemake.params.synthetic,
            outputs=dict(snakemake.output),
            genes=_explained(snakemake, donors, snakemake.params.options),
        )


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
