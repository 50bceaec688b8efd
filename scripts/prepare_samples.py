"""Snakemake adapter: one donor's kept samples (coordinates, hemisphere check, mirroring)
and their PACall counts per probe."""

from abagen_core import io
from abagen_core.stages import probes
from abagen_core.stages import regional as pipeline
from abagen_core.stages.samples import matrix_columns
from abagen_core.storage.artifacts import read_frame, write_frame, write_pacall_summary
from abagen_core.workflow.joblog import job_log


def main(snakemake) -> None:
    """Run one ``prepare_samples`` job: Snakemake's inputs, params and outputs."""
    with job_log(snakemake.log[0]):
        opts = snakemake.params.options
        annotation = read_frame(snakemake.input["annotation"], kind="annotation_raw")
        ontology = read_frame(snakemake.input["ontology"], kind="ontology")
        microarray = probe_ids = None
        if opts["sim_threshold"] is not None:
            probe_ids = read_frame(snakemake.input["probes"], kind="probes").index
            microarray = io.read_microarray(snakemake.input["microarray"])
        native_affine = None
        if opts["native"]:
            import nibabel as nib

            native_affine = nib.load(snakemake.input["t1"]).affine
        samples = pipeline.prepare_samples(
            annotation, ontology, corrected_mni=opts["corrected_mni"], lr_mirror=opts["lr_mirror"],
            sim_threshold=opts["sim_threshold"], microarray=microarray, probe_ids=probe_ids,
            native_affine=native_affine)
        write_frame(samples, snakemake.output["samples"], kind="samples")
        # the donor's part of the intensity filter: samples with signal, per probe
        pacall = io.read_matrix_parquet(snakemake.input["pacall"], "pacall",
                                        columns=matrix_columns(samples))
        write_pacall_summary(probes.pacall_summary(pacall, samples), snakemake.output["pacall"])


if "snakemake" in globals():  # run by Snakemake's `script:` directive
    main(globals()["snakemake"])
