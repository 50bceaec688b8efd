# Gather per atlas and variant: donor aggregation, counts, methods report,
# final outputs with a metadata sidecar.


rule combine_donors:
    input:
        unpack(combine_inputs),
    output:
        expression=report(
            RESULT["expression.csv"],
            caption="../report/expression.rst",
            category="Expression",
            labels={"atlas": "{atlas}", "variant": "{variant}", "file": "expression"},
        ),
        parquet=RESULT["expression.parquet"],
        counts=report(
            RESULT["counts.csv"],
            caption="../report/counts.rst",
            category="Counts",
            labels={"atlas": "{atlas}", "variant": "{variant}", "file": "counts"},
        ),
        regions=RESULT["regions.csv"],
        genes=RESULT["genes.csv"],
        methods=report(
            RESULT["report.md"],
            caption="../report/methods.rst",
            category="Methods",
            labels={"atlas": "{atlas}", "variant": "{variant}", "file": "methods"},
        ),
        metadata=RESULT["metadata.json"],
    log:
        log_file("combine_donors", "{atlas}_{variant}"),
    benchmark:
        benchmark_file("combine_donors", "{atlas}_{variant}")
    priority: FINISH_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    params:
        code=code("combine_donors"),
        options=variant_params,
        atlas=atlas_description,
        donors=DONORS,
        synthetic=SYNTHETIC,
    script:
        "../../scripts/combine_donors.py"


rule donor_expression:
    input:
        unpack(donor_expression_inputs),
    output:
        expression=paths.DONOR_EXPRESSION,
    log:
        log_file("donor_expression", "{atlas}_{variant}_{donor}"),
    benchmark:
        benchmark_file("donor_expression", "{atlas}_{variant}_{donor}")
    priority: FINISH_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code("donor_expression"),
        options=variant_params,
        atlas=atlas_description,
    script:
        "../../scripts/donor_expression.py"
