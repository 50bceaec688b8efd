# Gather per atlas and variant: donor aggregation, counts, methods report,
# final outputs with a metadata sidecar.


rule combine_donors:
    input:
        unpack(regional_inputs),
    output:
        expression=report(
            "results/{atlas}/{variant}/expression.csv",
            caption="../report/expression.rst",
            category="Expression",
            labels={"atlas": "{atlas}", "variant": "{variant}", "file": "expression"},
        ),
        parquet="results/{atlas}/{variant}/expression.parquet",
        counts=report(
            "results/{atlas}/{variant}/counts.csv",
            caption="../report/counts.rst",
            category="Counts",
            labels={"atlas": "{atlas}", "variant": "{variant}", "file": "counts"},
        ),
        methods=report(
            "results/{atlas}/{variant}/report.md",
            caption="../report/methods.rst",
            category="Methods",
            labels={"atlas": "{atlas}", "variant": "{variant}", "file": "methods"},
        ),
        metadata="results/{atlas}/{variant}/metadata.json",
    params:
        code=code("combine_donors"),
        options=variant_params,
        atlas=atlas_description,
        donors=DONORS,
        synthetic=SYNTHETIC,
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/combine_donors/{atlas}_{variant}.log",
    benchmark:
        "logs/benchmarks/combine_donors/{atlas}_{variant}.tsv"
    threads: 1
    priority: FINISH_PRIORITY
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    script:
        "../../scripts/combine_donors.py"


rule donor_expression:
    input:
        normalized=donor_normalized,
        labels=donor_labels,
    output:
        expression="results/{atlas}/{variant}/donors/expression_{donor}.csv",
    params:
        code=code("donor_expression"),
        options=variant_params,
        atlas=atlas_description,
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/donor_expression/{atlas}_{variant}_{donor}.log",
    benchmark:
        "logs/benchmarks/donor_expression/{atlas}_{variant}_{donor}.tsv"
    threads: 1
    priority: FINISH_PRIORITY
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/donor_expression.py"
