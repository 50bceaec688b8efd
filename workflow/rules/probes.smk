# Probe filtering and selection as per-donor reductions and small gathers:
# PACall counts per donor (prepare_samples) -> intensity filter (gather);
# method summaries per donor over every annotated probe (probe_summary, in
# parallel with the filter: it does not wait for the gather) -> probe choice
# among the probes passing the filter (gather) -> per-donor collapse to genes
# with sample normalization.


rule intensity_filter:
    input:
        summaries=pacall_summaries_of_ibf,
        probes=probes_table_of("ibf"),
    output:
        kept="resources/probes/ibf/{key}/kept.parquet",
    params:
        code=code("intensity_filter"),
        options=stage_options("ibf"),
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/intensity_filter/{key}.log",
    benchmark:
        "logs/benchmarks/intensity_filter/{key}.tsv"
    threads: 1
    priority: PROBE_CHAIN_PRIORITY
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/intensity_filter.py"


rule probe_summary:
    input:
        unpack(probe_summary_inputs),
    output:
        summary=directory("resources/probes/summary/{key}/summary_{donor}"),
    params:
        code=code("probe_summary"),
        options=stage_options("psummary"),
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/probe_summary/{key}_{donor}.log",
    benchmark:
        "logs/benchmarks/probe_summary/{key}_{donor}.tsv"
    threads: 1
    priority: PROBE_CHAIN_PRIORITY
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    script:
        "../../scripts/probe_summary.py"


rule select_probes:
    input:
        unpack(selection_inputs),
    output:
        selection="resources/probes/{key}/selection.parquet",
    params:
        code=code("select_probes"),
        options=stage_options("probes"),
        donors=DONORS,
        rnaseq_donors=RNASEQ_DONORS,
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/select_probes/{key}.log",
    benchmark:
        "logs/benchmarks/select_probes/{key}.tsv"
    threads: 1
    priority: PROBE_CHAIN_PRIORITY
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    script:
        "../../scripts/select_probes.py"


rule donor_genes:
    input:
        microarray="resources/parquet/{donor}/microarray.parquet",
        samples=samples_of_genes_key,
        kept=kept_of_genes,
        selection=selection_of_genes,
    output:
        genes="resources/genes/{key}/genes_{donor}.parquet",
    params:
        code=code("donor_genes"),
        options=stage_options("genes"),
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/donor_genes/{key}_{donor}.log",
    benchmark:
        "logs/benchmarks/donor_genes/{key}_{donor}.tsv"
    threads: 1
    priority: AFTER_SELECTION_PRIORITY
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    script:
        "../../scripts/donor_genes.py"
