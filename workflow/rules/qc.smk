# Quality control and robustness: figures of every result (samples per region
# and donor, brain maps of coverage and of one gene, donor-to-donor
# agreement) and, with several variants, how much the processing choices
# move each atlas' results. Everything here is shown in the Snakemake report.


rule qc_figures:
    input:
        unpack(qc_inputs),
    output:
        counts=report(
            "results/{atlas}/{variant}/qc/counts.png",
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
            "results/{atlas}/{variant}/qc/coverage_map.png",
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
            "results/{atlas}/{variant}/qc/gene_map.png",
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
            "results/{atlas}/{variant}/qc/donor_agreement.png",
            caption="../report/qc_donor_agreement.rst",
            category="Quality control",
            subcategory="{atlas}",
            labels={
                "atlas": "{atlas}",
                "variant": "{variant}",
                "figure": "donor agreement",
            },
        ),
    params:
        code=code("qc_figures"),
        atlas=atlas_description,
        donors=DONORS,
        gene=QC["gene"],
        agg_metric=variant_agg_metric,
        dpi=100,
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/qc_figures/{atlas}_{variant}.log",
    benchmark:
        "logs/benchmarks/qc_figures/{atlas}_{variant}.tsv"
    threads: 1
    resources:
        mem_mb=scaled_mem(2000),
        runtime=10,
    script:
        "../../scripts/qc_figures.py"


rule robustness_summary:
    input:
        expression=robustness_inputs,
    output:
        variants=report(
            "results/robustness/{atlas}/variants.csv",
            caption="../report/robustness_variants.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "per variant (table)"},
        ),
        genes=report(
            "results/robustness/{atlas}/genes.csv",
            caption="../report/robustness_genes.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "per gene (table)"},
        ),
        decisions=report(
            "results/robustness/{atlas}/decisions.csv",
            caption="../report/robustness_decisions.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "decision points (table)"},
        ),
        values="results/robustness/{atlas}/decision_values.csv",
        fig_correlations=report(
            "results/robustness/{atlas}/correlations.png",
            caption="../report/robustness_correlations.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "agreement with the reference"},
        ),
        fig_decisions=report(
            "results/robustness/{atlas}/decisions.png",
            caption="../report/robustness_decisions.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "decision points"},
        ),
        fig_gene_spread=report(
            "results/robustness/{atlas}/gene_spread.png",
            caption="../report/robustness_genes.rst",
            category="Robustness",
            subcategory="{atlas}",
            labels={"atlas": "{atlas}", "file": "gene spread"},
        ),
    params:
        code=code("robustness_summary"),
        variants=list(PLAN.variants),
        options=PLAN.variants,
        reference=ROBUSTNESS_REFERENCE,
        dpi=100,
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/robustness_summary/{atlas}.log",
    benchmark:
        "logs/benchmarks/robustness_summary/{atlas}.tsv"
    threads: 1
    resources:
        mem_mb=scaled_mem(2000),
        runtime=30,
    script:
        "../../scripts/robustness_summary.py"
