"""Snakemake adapter: Probes / SampleAnnot / Ontology CSV -> parquet."""

from abagen_core import io
from abagen_core.artifacts import setup_logging, write_frame

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
write_frame(io.read_probes(snakemake.input["probes"]), snakemake.output["probes"],
            kind="probes_raw")
write_frame(io.read_annotation(snakemake.input["annotation"]), snakemake.output["annotation"],
            kind="annotation_raw")
write_frame(io.read_ontology(snakemake.input["ontology"]), snakemake.output["ontology"],
            kind="ontology")
