# Probe filtering and selection as per-donor reductions and small gathers:
# PACall counts per donor (prepare_samples) -> intensity filter (gather);
# method summaries per donor over every annotated probe (probe_summary, in
# parallel with the filter: it does not wait for the gather) -> probe choice
# among the probes passing the filter (gather) -> per-donor collapse to genes
# with sample normalization (one job per gene set, every donor; sweep batches
# read genes without it and normalize samples themselves).


rule intensity_filter:
    input:
        unpack(filter_inputs),
    output:
        kept=paths.KEPT,
    log:
        log_file("intensity_filter", "{key}"),
    benchmark:
        benchmark_file("intensity_filter", "{key}")
    priority: PROBE_CHAIN_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code("intensity_filter"),
        options=stage_options("ibf"),
    script:
        "../../scripts/intensity_filter.py"


rule probe_summary:
    input:
        unpack(probe_summary_inputs),
    output:
        summary=directory(paths.SUMMARY),
    log:
        log_file("probe_summary", "{key}_{donor}"),
    benchmark:
        benchmark_file("probe_summary", "{key}_{donor}")
    priority: PROBE_CHAIN_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    params:
        code=code("probe_summary"),
        options=stage_options("psummary"),
    script:
        "../../scripts/probe_summary.py"


rule select_probes:
    input:
        unpack(selection_inputs),
    output:
        selection=paths.SELECTION,
        explained=paths.EXPLAINED,
    log:
        log_file("select_probes", "{key}"),
    benchmark:
        benchmark_file("select_probes", "{key}")
    priority: PROBE_CHAIN_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    params:
        code=code("select_probes"),
        options=stage_options("probes"),
        donors=DONORS,
        rnaseq_donors=RNASEQ_DONORS,
    script:
        "../../scripts/select_probes.py"


rule donor_genes:
    input:
        unpack(genes_inputs),
    output:
        genes=expand(paths.GENES, donor=DONORS, allow_missing=True),
    log:
        log_file("donor_genes", "{key}"),
    benchmark:
        benchmark_file("donor_genes", "{key}")
    priority: AFTER_SELECTION_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    params:
        code=code("donor_genes"),
        options=stage_options("genes"),
        donors=DONORS,
    script:
        "../../scripts/donor_genes.py"
