"""The Snakemake workflow's Python side: plan, checks, working-folder repair, CLI."""
