# Per atlas: sample labelling of every donor in one lean job. The atlas enters
# the DAG here and nowhere upstream.


rule label_samples:
    input:
        unpack(label_inputs),
    output:
        labels=expand(paths.LABELS, donor=DONORS, allow_missing=True),
    log:
        log_file("label_samples", "{atlas}_{key}"),
    benchmark:
        benchmark_file("label_samples", "{atlas}_{key}")
    priority: PROBE_CHAIN_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    params:
        code=code("label_samples"),
        atlas=atlas_description,
        donors=DONORS,
        options=stage_options("labels"),
    script:
        "../../scripts/label_samples.py"
