"""Snakemake adapter: one donor's CSVs -> parquet (+ sha256 of each matrix CSV)."""

from abagen_core import io
from abagen_core.artifacts import setup_logging, write_frame
from abagen_core.raw import convert_matrix_with_checksum

snakemake = globals()["snakemake"]
setup_logging(snakemake.log[0])
inp, out = snakemake.input, snakemake.output
write_frame(io.read_annotation(inp["annotation"]), out["annotation"], kind="annotation_raw")
write_frame(io.read_ontology(inp["ontology"]), out["ontology"], kind="ontology")
for kind in ("microarray", "pacall"):
    convert_matrix_with_checksum(inp[kind], out[kind], out[f"{kind}_checksum"], kind=kind)
