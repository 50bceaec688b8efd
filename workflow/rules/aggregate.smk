# The regional stage, one job per batch of variants of an atlas that share
# genes and labels (abagen_core.workflow.batches): gene normalization, region
# aggregation, filling, counts, methods text; every donor in one process.
# A named variant is a batch of its own and writes its result folder (QC
# figures included); a sweep branch writes one compact file.


rule regional_variant:
    input:
        unpack(variant_inputs),
    output:
        **VARIANT_OUTPUTS,
    log:
        log_file("regional_variant", "{atlas}_{variant}"),
    benchmark:
        benchmark_file("regional_variant", "{atlas}_{variant}")
    priority: FINISH_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(2000),
        runtime=10,
    params:
        code=code("regional_variant"),
        options=variant_params,
        atlas=atlas_description,
        donors=DONORS,
        synthetic=SYNTHETIC,
        qc_gene=QC["gene"],
        dpi=100,
    script:
        "../../scripts/regional_variant.py"


rule regional_batch:
    input:
        unpack(batch_inputs),
    output:
        batch=paths.SWEEP_BATCH,
    log:
        log_file("regional_batch", "{atlas}_{batch}"),
    benchmark:
        benchmark_file("regional_batch", "{atlas}_{batch}")
    priority: FINISH_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(2000),
        runtime=60,
    params:
        code=code("regional_batch"),
        variants=batch_variants,
        atlas=atlas_description,
        donors=DONORS,
        synthetic=SYNTHETIC,
        chunk_mb=SWEEP_CHUNK_MB,
    script:
        "../../scripts/regional_batch.py"


rule sweep_index:
    input:
        batches=sweep_batch_files,
    output:
        index=paths.SWEEP_INDEX,
    log:
        log_file("sweep_index", "{atlas}"),
    localrule: True
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code("sweep_index"),
    script:
        "../../scripts/sweep_index.py"
