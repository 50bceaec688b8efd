# CSV -> parquet, one job per donor (its two matrices and two tables;
# Probes.csv, the same for all donors, is read by prepare_probes): the
# expensive parse happens once, streamed block by block; everything downstream
# reads column subsets of these files. Raw CSVs are read where they are
# (data_dir, never written) or from resources/raw (downloads, synthetic data).


rule convert_donor:
    input:
        unpack(raw_files),
    output:
        microarray="resources/parquet/{donor}/microarray.parquet",
        microarray_checksum="resources/parquet/{donor}/microarray.sha256",
        pacall="resources/parquet/{donor}/pacall.parquet",
        pacall_checksum="resources/parquet/{donor}/pacall.sha256",
        annotation="resources/parquet/{donor}/annotation.parquet",
        ontology="resources/parquet/{donor}/ontology.parquet",
    params:
        code=code("convert_donor"),
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/convert_donor/{donor}.log",
    benchmark:
        "logs/benchmarks/convert_donor/{donor}.tsv"
    # the streamed parse is single-threaded: one core per donor, donors in parallel
    threads: 1
    priority: convert_priority
    resources:
        mem_mb=scaled_mem(1000),
        runtime=20,
    script:
        "../../scripts/convert_donor.py"


rule convert_rnaseq:
    input:
        tpm="resources/raw/rnaseq_{donor}/RNAseqTPM.csv",
        annotation="resources/raw/rnaseq_{donor}/SampleAnnot.csv",
    output:
        tpm="resources/parquet/rnaseq_{donor}/tpm.parquet",
        annotation="resources/parquet/rnaseq_{donor}/annotation.parquet",
    params:
        code=code("convert_rnaseq"),
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/convert_rnaseq/{donor}.log",
    benchmark:
        "logs/benchmarks/convert_rnaseq/{donor}.tsv"
    threads: 2
    resources:
        mem_mb=scaled_mem(1000),
        runtime=20,
    script:
        "../../scripts/convert_rnaseq.py"
