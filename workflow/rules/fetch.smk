# Obtaining each donor's raw files: the synthetic generator (demo), an
# existing folder in the AHBA download layout (read only, linked), or a
# download from the Allen Institute. The only rule that touches the network.


rule obtain_raw:
    output:
        microarray=temp("resources/raw/{donor}/MicroarrayExpression.csv"),
        pacall=temp("resources/raw/{donor}/PACall.csv"),
        probes="resources/raw/{donor}/Probes.csv",
        annotation="resources/raw/{donor}/SampleAnnot.csv",
        ontology="resources/raw/{donor}/Ontology.csv",
    params:
        code=code("obtain_raw"),
        source=RAW_SOURCE,
        data_dir=DATA_DIR,
        download=config["download"],
        api_url=config["api_url"],
        synthetic=config["synthetic"],
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/obtain_raw/{donor}.log",
    benchmark:
        "logs/benchmarks/obtain_raw/{donor}.tsv"
    localrule: True
    retries: 2
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    script:
        "../../scripts/obtain_raw.py"


rule obtain_t1:
    output:
        t1="resources/raw/{donor}/T1.nii.gz",
    params:
        code=code("obtain_t1"),
        source=RAW_SOURCE,
        data_dir=DATA_DIR,
        download=config["download"],
        api_url=config["api_url"],
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/obtain_t1/{donor}.log",
    benchmark:
        "logs/benchmarks/obtain_t1/{donor}.tsv"
    localrule: True
    retries: 2
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    script:
        "../../scripts/obtain_t1.py"


rule obtain_rnaseq:
    output:
        tpm=temp("resources/raw/rnaseq_{donor}/RNAseqTPM.csv"),
        annotation="resources/raw/rnaseq_{donor}/SampleAnnot.csv",
    params:
        code=code("obtain_rnaseq"),
        source=RAW_SOURCE,
        data_dir=DATA_DIR,
        download=config["download"],
        api_url=config["api_url"],
        synthetic=config["synthetic"],
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/obtain_rnaseq/{donor}.log",
    benchmark:
        "logs/benchmarks/obtain_rnaseq/{donor}.tsv"
    localrule: True
    retries: 2
    threads: 1
    resources:
        mem_mb=500,
        runtime=60,
    script:
        "../../scripts/obtain_rnaseq.py"
