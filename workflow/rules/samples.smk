# Per donor, atlas-independent: the probe annotation and the samples kept
# (corrected coordinates, hemisphere check, similarity filter, mirroring).


rule prepare_probes:
    input:
        probes=f"resources/parquet/{DONORS[0]}/probes.parquet",
        code=code("probes", "pipeline"),
    output:
        probes="resources/probes/probes_{which}.parquet",
    params:
        reannotated=probe_table_is_reannotated,
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/prepare_probes/{which}.log",
    benchmark:
        "benchmarks/prepare_probes/{which}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/prepare_probes.py"


rule prepare_samples:
    input:
        unpack(sample_inputs),
        code=code("samples", "pipeline"),
    output:
        samples="resources/samples/{donor}/samples_{key}.parquet",
    params:
        options=stage_options("samples"),
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/prepare_samples/{donor}_{key}.log",
    benchmark:
        "benchmarks/prepare_samples/{donor}_{key}.tsv"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    script:
        "../../scripts/prepare_samples.py"
