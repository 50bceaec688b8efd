# Quality control and robustness: figures of every result (samples per region
# and donor, brain maps of coverage and of one gene, donor-to-donor
# agreement) and, with several variants, how much the processing choices
# move each atlas' results. Everything here is shown in the Snakemake report.


rule qc_figures:
    input:
        unpack(qc_inputs),
    output:
        counts=report(
            QC_FIGURE["counts"],
            caption="../report/qc_counts.rst",
            category="Quality control",
            subcategory="{atlas}",
            labels={
                "atlas": "{atlas}",
                "variant": "{variant}",
                "figure": "samples per region",
            },
        ),
        coverage_map=report(
            QC_FIGURE["coverage_map"],
            caption="../report/qc_coverage_map.rst",
            category="Quality control",
            subcategory="{atlas}",
            labels={
                "atlas": "{atlas}",
                "variant": "{variant}",
                "figure": "coverage map",
            },
        ),
        gene_map=report(
            QC_FIGURE["gene_map"],
            caption="../report/qc_gene_map.rst",
            category="Quality control",
            subcategory="{atlas}",
            labels={
                "atlas": "{atlas}",
                "variant": "{variant}",
                "figure": "gene map",
            },
        ),
        donor_agreement=report(
            QC_FIGURE["donor_agreement"],
            caption="../report/qc_donor_agreement.rst",
            category="Quality control",
            subcategory="{atlas}",
            labels={
                "atlas": "{atlas}",
                "variant": "{variant}",
                "figure": "donor agreement",
            },
        ),
    log:
        log_file("qc_figures", "{atlas}_{variant}"),
    benchmark:
        benchmark_file("qc_figures", "{atlas}_{variant}")
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(2000),
        runtime=10,
    params:
        code=code("qc_figures"),
        atlas=atlas_description,
        donors=DONORS,
        gene=QC["gene"],
        agg_metric=variant_agg_metric,
        dpi=100,
    script:
        "../../scripts/qc_figures.py"


rule robustness_summary:
    input:
        expression=robustness_inputs,
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
        variants=list(PLAN.variants),
        options=PLAN.variants,
        reference=ROBUSTNESS_REFERENCE,
        dpi=100,
    script:
        "../../scripts/robustness_summary.py"
