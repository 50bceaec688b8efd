# Sample-level targets, abagen's get_samples_in_mask and get_interpolated_map:
# they read the cached atlas-independent per-donor files (samples, genes) and
# never an atlas. Config: `samples_in_mask` and `interpolated_maps`
# (config/README.md).


rule samples_in_mask:
    input:
        unpack(samples_in_mask_inputs),
    output:
        expression=report(
            "results/samples_in_mask/{name}/expression.csv",
            caption="../report/samples_in_mask.rst",
            category="Samples in mask",
            labels={"name": "{name}", "file": "expression"},
        ),
        parquet="results/samples_in_mask/{name}/expression.parquet",
        coordinates="results/samples_in_mask/{name}/coordinates.csv",
        metadata="results/samples_in_mask/{name}/metadata.json",
    params:
        code=code("samples_in_mask"),
        mask=samples_in_mask_mask,
        options=samples_in_mask_options,
        donors=DONORS,
        synthetic=SYNTHETIC,
    wildcard_constraints:
        name="[A-Za-z0-9_.-]+",
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/samples_in_mask/{name}.log",
    benchmark:
        "logs/benchmarks/samples_in_mask/{name}.tsv"
    threads: 1
    resources:
        mem_mb=scaled_mem(4000),
        runtime=20,
    script:
        "../../scripts/samples_in_mask.py"


rule map_samples:
    input:
        unpack(map_samples_inputs),
    output:
        samples="resources/maps/{name}/samples.parquet",
    params:
        code=code("map_samples"),
        options=map_options,
        genes=map_genes,
        donors=DONORS,
        synthetic=SYNTHETIC,
    wildcard_constraints:
        name="[A-Za-z0-9_.-]+",
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/map_samples/{name}.log",
    benchmark:
        "logs/benchmarks/map_samples/{name}.tsv"
    threads: 1
    resources:
        mem_mb=scaled_mem(4000),
        runtime=20,
    script:
        "../../scripts/map_samples.py"


rule interpolated_map_volume:
    input:
        samples="resources/maps/{name}/samples.parquet",
        mask=map_mask_files,
    output:
        image="results/maps/{name}/{gene}.nii.gz",
    params:
        code=code("interpolated_map"),
        mask=map_mask,
        n_neighbors=map_n_neighbors,
    wildcard_constraints:
        name="[A-Za-z0-9_.-]+",
        gene="[^/]+",
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/interpolated_map/{name}_{gene}.log",
    benchmark:
        "logs/benchmarks/interpolated_map/{name}_{gene}.tsv"
    threads: 1
    resources:
        mem_mb=scaled_mem(2000),
        runtime=10,
    script:
        "../../scripts/interpolated_map.py"


rule interpolated_map_surface:
    input:
        samples="resources/maps/{name}/samples.parquet",
        mask=map_mask_files,
    output:
        lh="results/maps/{name}/{gene}_lh.func.gii",
        rh="results/maps/{name}/{gene}_rh.func.gii",
    params:
        code=code("interpolated_map"),
        mask=map_mask,
        n_neighbors=map_n_neighbors,
    wildcard_constraints:
        name="[A-Za-z0-9_.-]+",
        gene="[^/]+",
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/interpolated_map/{name}_{gene}_surface.log",
    benchmark:
        "logs/benchmarks/interpolated_map/{name}_{gene}_surface.tsv"
    threads: 1
    resources:
        mem_mb=scaled_mem(2000),
        runtime=10,
    script:
        "../../scripts/interpolated_map.py"


rule map_metadata:
    input:
        samples="resources/maps/{name}/samples.parquet",
        maps=map_files_of,
    output:
        metadata="results/maps/{name}/metadata.json",
    params:
        code=code("map_metadata"),
        mask=map_mask,
        genes=map_genes,
        n_neighbors=map_n_neighbors,
        options=map_options,
    wildcard_constraints:
        name="[A-Za-z0-9_.-]+",
    conda:
        "../envs/abagen.yaml"
    log:
        "logs/map_metadata/{name}.log",
    benchmark:
        "logs/benchmarks/map_metadata/{name}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/map_metadata.py"
