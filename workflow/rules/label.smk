# Per atlas and donor: sample labelling, then gene normalization. The atlas
# enters the DAG here and nowhere upstream.


rule label_samples:
    input:
        atlas=atlas_files,
        samples=samples_of_labels,
    output:
        labels="resources/labels/{atlas}/{key}/labels_{donor}.parquet",
    params:
        code=code("label_samples"),
        atlas=atlas_spec,
        options=stage_options("labels"),
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/label_samples/{atlas}_{key}_{donor}.log",
    benchmark:
        "logs/benchmarks/label_samples/{atlas}_{key}_{donor}.tsv"
    threads: 1
    priority: PROBE_CHAIN_PRIORITY
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    script:
        "../../scripts/label_samples.py"


rule normalize_donor:
    input:
        genes=genes_of_regional,
        samples=samples_of_regional,
        labels=labels_of_regional,
        atlas=atlas_files,
    output:
        normalized="resources/regional/{atlas}/{key}/normalized_{donor}.parquet",
    params:
        code=code("normalize_donor"),
        atlas=atlas_spec,
        options=stage_options("regional"),
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/normalize_donor/{atlas}_{key}_{donor}.log",
    benchmark:
        "logs/benchmarks/normalize_donor/{atlas}_{key}_{donor}.tsv"
    threads: 1
    priority: FINISH_PRIORITY
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    script:
        "../../scripts/normalize_donor.py"
