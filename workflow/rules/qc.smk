# Robustness: with several variants, how much the processing choices move
# each atlas' results (the QC figures of each result are drawn by its
# regional_variant job). Everything here is shown in the Snakemake report.


rule robustness_summary:
    input:
        unpack(robustness_inputs),
    output:
        variants=report(
            ROBUSTNESS["variants.csv"],
            caption="../report/robustness_variants.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "per variant (table)"},
        ),
        genes=report(
            ROBUSTNESS["genes.csv"],
            caption="../report/robustness_genes.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "per gene (table)"},
        ),
        decisions=report(
            ROBUSTNESS["decisions.csv"],
            caption="../report/robustness_decisions.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "decision points (table)"},
        ),
        values=ROBUSTNESS["decision_values.csv"],
        fig_correlations=report(
            ROBUSTNESS["correlations.png"],
            caption="../report/robustness_correlations.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "agreement with the reference"},
        ),
        fig_decisions=report(
            ROBUSTNESS["decisions.png"],
            caption="../report/robustness_decisions.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "decision points"},
        ),
        fig_gene_spread=report(
            ROBUSTNESS["gene_spread.png"],
            caption="../report/robustness_genes.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "gene spread"},
        ),
    log:
        log_file("robustness_summary", "{atlas}"),
    benchmark:
        benchmark_file("robustness_summary", "{atlas}")
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(2000),
        runtime=30,
    params:
        code=code("robustness_summary"),
        named=TARGETS.named,
        options=PLAN.variants,
        reference=ROBUSTNESS_REFERENCE,
        dpi=100,
    script:
        "../../scripts/robustness_summary.py"
