# Per donor, atlas-independent: the probe annotation and the samples kept
# (corrected coordinates, hemisphere check, similarity filter, mirroring),
# with their PACall counts per probe.


rule prepare_probes:
    input:
        # Probes.csv is the same for every donor; read from the raw CSV so
        # this does not wait for a donor's conversion
        probes=raw_file(DONORS[0], "probes"),
    output:
        probes="resources/probes/probes_{which}.parquet",
    params:
        code=code("prepare_probes"),
        reannotated=probe_table_is_reannotated,
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/prepare_probes/{which}.log",
    benchmark:
        "logs/benchmarks/prepare_probes/{which}.tsv"
    threads: 1
    priority: PROBE_CHAIN_PRIORITY
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/prepare_probes.py"


rule prepare_samples:
    input:
        unpack(sample_inputs),
        pacall="resources/parquet/{donor}/pacall.parquet",
    output:
        samples="resources/samples/{donor}/samples_{key}.parquet",
        # samples with signal per probe (all probes): the donor's part of the
        # intensity filter, a small per-donor reduction
        pacall="resources/samples/{donor}/pacall_{key}.parquet",
    params:
        code=code("prepare_samples"),
        options=stage_options("samples"),
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/prepare_samples/{donor}_{key}.log",
    benchmark:
        "logs/benchmarks/prepare_samples/{donor}_{key}.tsv"
    threads: 1
    priority: PROBE_CHAIN_PRIORITY
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    script:
        "../../scripts/prepare_samples.py"
