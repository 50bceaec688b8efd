# Per atlas and donor: sample labelling, then gene normalization. The atlas
# enters the DAG here and nowhere upstream.


rule label_samples:
    input:
        unpack(label_inputs),
    output:
        labels=paths.LABELS,
    log:
        log_file("label_samples", "{atlas}_{key}_{donor}"),
    benchmark:
        benchmark_file("label_samples", "{atlas}_{key}_{donor}")
    priority: PROBE_CHAIN_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    params:
        code=code("label_samples"),
        atlas=atlas_spec,
        options=stage_options("labels"),
    script:
        "../../scripts/label_samples.py"


rule normalize_donor:
    input:
        unpack(normalize_inputs),
    output:
        normalized=paths.NORMALIZED,
    log:
        log_file("normalize_donor", "{atlas}_{key}_{donor}"),
    benchmark:
        benchmark_file("normalize_donor", "{atlas}_{key}_{donor}")
    priority: FINISH_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    params:
        code=code("normalize_donor"),
        atlas=atlas_spec,
        options=stage_options("regional"),
    script:
        "../../scripts/normalize_donor.py"
