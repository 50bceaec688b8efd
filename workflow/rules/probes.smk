# Probe filtering and selection: a per-donor reduction, a small gather over
# donors, then the per-donor collapse to genes with sample normalization.


rule summarise_donor:
    input:
        unpack(summary_inputs),
        code=code("probes", "pipeline"),
    output:
        summary="resources/probes/{key}/summary_{donor}.parquet",
    params:
        options=stage_options("probes"),
    log:
        "logs/summarise_donor/{key}_{donor}.log",
    benchmark:
        "benchmarks/summarise_donor/{key}_{donor}.tsv"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    script:
        "../../scripts/summarise_donor.py"


rule select_probes:
    input:
        unpack(selection_inputs),
        code=code("probes", "pipeline"),
    output:
        selection="resources/probes/{key}/selection.parquet",
    params:
        options=stage_options("probes"),
        donors=DONORS,
    log:
        "logs/select_probes/{key}.log",
    benchmark:
        "benchmarks/select_probes/{key}.tsv"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    script:
        "../../scripts/select_probes.py"


rule donor_genes:
    input:
        microarray="resources/parquet/{donor}/microarray.parquet",
        samples=samples_of_genes_key,
        probes=probes_table_of("genes"),
        selection=selection_of_genes,
        code=code("probes", "normalize", "pipeline"),
    output:
        genes="resources/genes/{key}/genes_{donor}.parquet",
    params:
        options=stage_options("genes"),
    log:
        "logs/donor_genes/{key}_{donor}.log",
    benchmark:
        "benchmarks/donor_genes/{key}_{donor}.tsv"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    script:
        "../../scripts/donor_genes.py"
