# CSV -> parquet, one job per donor (its two matrices and two tables;
# Probes.csv, the same for all donors, is read by prepare_probes): the
# expensive parse happens once, streamed block by block; everything downstream
# reads column subsets of these files. Raw CSVs are read where they are
# (data_dir, never written) or from resources/raw (downloads, synthetic data).


rule convert_donor:
    input:
        unpack(raw_files),
    output:
        microarray=paths.MICROARRAY,
        microarray_checksum=CHECKSUM["microarray"],
        pacall=paths.PACALL,
        pacall_checksum=CHECKSUM["pacall"],
        annotation=paths.ANNOTATION,
        ontology=paths.ONTOLOGY,
    log:
        log_file("convert_donor", "{donor}"),
    benchmark:
        benchmark_file("convert_donor", "{donor}")
    priority: convert_priority
    conda:
        "../envs/abagen.yaml"
    # the streamed parse is single-threaded: one core per donor, donors in parallel
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=20,
    params:
        code=code("convert_donor"),
    script:
        "../../scripts/convert_donor.py"


rule convert_rnaseq:
    input:
        tpm=paths.RNASEQ_RAW_TPM,
        annotation=paths.RNASEQ_RAW_ANNOTATION,
    output:
        tpm=paths.RNASEQ_TPM,
        annotation=paths.RNASEQ_ANNOTATION,
    log:
        log_file("convert_rnaseq", "{donor}"),
    benchmark:
        benchmark_file("convert_rnaseq", "{donor}")
    conda:
        "../envs/abagen.yaml"
    threads: 2
    resources:
        mem_mb=scaled_mem(1000),
        runtime=20,
    params:
        code=code("convert_rnaseq"),
    script:
        "../../scripts/convert_rnaseq.py"
