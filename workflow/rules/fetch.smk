# Obtaining each donor's raw files: the synthetic generator (demo), an
# existing folder in the AHBA download layout (read only, linked), or a
# download from the Allen Institute. The only rule that touches the network.


rule obtain_raw:
    output:
        microarray=temp(RAW["microarray"]),
        pacall=temp(RAW["pacall"]),
        probes=RAW["probes"],
        annotation=RAW["annotation"],
        ontology=RAW["ontology"],
    log:
        log_file("obtain_raw", "{donor}"),
    benchmark:
        benchmark_file("obtain_raw", "{donor}")
    retries: 2
    localrule: True
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        code=code("obtain_raw"),
        source=RAW_SOURCE,
        data_dir=DATA_DIR,
        download=config["download"],
        api_url=config["api_url"],
        synthetic=config["synthetic"],
    script:
        "../../scripts/obtain_raw.py"


rule obtain_t1:
    output:
        t1=paths.T1,
    log:
        log_file("obtain_t1", "{donor}"),
    benchmark:
        benchmark_file("obtain_t1", "{donor}")
    retries: 2
    localrule: True
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    params:
        code=code("obtain_t1"),
        source=RAW_SOURCE,
        data_dir=DATA_DIR,
        download=config["download"],
        api_url=config["api_url"],
    script:
        "../../scripts/obtain_t1.py"


rule obtain_rnaseq:
    output:
        tpm=temp(paths.RNASEQ_RAW_TPM),
        annotation=paths.RNASEQ_RAW_ANNOTATION,
    log:
        log_file("obtain_rnaseq", "{donor}"),
    benchmark:
        benchmark_file("obtain_rnaseq", "{donor}")
    retries: 2
    localrule: True
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=60,
    params:
        code=code("obtain_rnaseq"),
        source=RAW_SOURCE,
        data_dir=DATA_DIR,
        download=config["download"],
        api_url=config["api_url"],
        synthetic=config["synthetic"],
    script:
        "../../scripts/obtain_rnaseq.py"
