# CSV -> parquet, per donor: the expensive parse happens once; everything
# downstream reads column subsets of these files.


rule convert_matrix:
    input:
        csv=matrix_csv,
        code=code("io"),
    output:
        parquet="resources/parquet/{donor}/{kind}.parquet",
        checksum="resources/parquet/{donor}/{kind}.sha256",
    params:
        kind="{kind}",
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/convert_matrix/{donor}_{kind}.log",
    benchmark:
        "benchmarks/convert_matrix/{donor}_{kind}.tsv"
    threads: 2
    resources:
        mem_mb=scaled_mem(1500),
        runtime=20,
    script:
        "../../scripts/convert_matrix.py"


rule convert_tables:
    input:
        probes="resources/raw/{donor}/Probes.csv",
        annotation="resources/raw/{donor}/SampleAnnot.csv",
        ontology="resources/raw/{donor}/Ontology.csv",
        code=code("io"),
    output:
        probes="resources/parquet/{donor}/probes.parquet",
        annotation="resources/parquet/{donor}/annotation.parquet",
        ontology="resources/parquet/{donor}/ontology.parquet",
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/convert_tables/{donor}.log",
    benchmark:
        "benchmarks/convert_tables/{donor}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../../scripts/convert_tables.py"


rule convert_rnaseq:
    input:
        tpm="resources/raw/rnaseq_{donor}/RNAseqTPM.csv",
        annotation="resources/raw/rnaseq_{donor}/SampleAnnot.csv",
        code=code("io"),
    output:
        tpm="resources/parquet/rnaseq_{donor}/tpm.parquet",
        annotation="resources/parquet/rnaseq_{donor}/annotation.parquet",
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/convert_rnaseq/{donor}.log",
    benchmark:
        "benchmarks/convert_rnaseq/{donor}.tsv"
    threads: 2
    resources:
        mem_mb=scaled_mem(1000),
        runtime=20,
    script:
        "../../scripts/convert_rnaseq.py"
