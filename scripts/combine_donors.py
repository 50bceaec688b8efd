"""Snakemake adapter: final region x gene matrix, counts, methods text, metadata."""

from abagen_core.outputs.results import write_results
from abagen_core.storage.artifacts import count_rows, read_frame
from abagen_core.workflow.joblog import job_log


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
        )


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
