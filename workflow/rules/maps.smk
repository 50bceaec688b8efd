# Sample-level targets, abagen's get_samples_in_mask and get_interpolated_map:
# they read the cached atlas-independent per-donor files (samples, genes) and
# never an atlas. Config: `samples_in_mask` and `interpolated_maps`
# (config/README.md).


rule samples_in_mask:
    input:
        unpack(samples_in_mask_inputs),
    output:
        expression=report(
            MASK_RESULT["expression.csv"],
            caption="../report/samples_in_mask.rst",
            category="Samples in mask",
            labels={"name": "{name}", "file": "expression"},
        ),
        parquet=MASK_RESULT["expression.parquet"],
        coordinates=MASK_RESULT["coordinates.csv"],
        metadata=MASK_RESULT["metadata.json"],
    log:
        log_file("samples_in_mask", "{name}"),
    benchmark:
        benchmark_file("samples_in_mask", "{name}")
    wildcard_constraints:
        name="[A-Za-z0-9_.-]+",
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(4000),
        runtime=20,
    params:
        code=code("samples_in_mask"),
        mask=mask_target("samples_in_mask", "mask"),
        options=mask_target("samples_in_mask", "options"),
        donors=DONORS,
        synthetic=SYNTHETIC,
    script:
        "../../scripts/samples_in_mask.py"


rule map_samples:
    input:
        unpack(map_samples_inputs),
    output:
        samples=paths.MAP_SAMPLES,
    log:
        log_file("map_samples", "{name}"),
    benchmark:
        benchmark_file("map_samples", "{name}")
    wildcard_constraints:
        name="[A-Za-z0-9_.-]+",
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(4000),
        runtime=20,
    params:
        code=code("map_samples"),
        options=mask_target("interpolated_maps", "options"),
        genes=mask_target("interpolated_maps", "genes"),
        donors=DONORS,
        synthetic=SYNTHETIC,
    script:
        "../../scripts/map_samples.py"


rule interpolated_map_volume:
    input:
        samples=paths.MAP_SAMPLES,
        mask=mask_target("interpolated_maps", "mask_files", start=True),
    output:
        image=paths.MAP_VOLUME,
    log:
        log_file("interpolated_map", "{name}_{gene}"),
    benchmark:
        benchmark_file("interpolated_map", "{name}_{gene}")
    wildcard_constraints:
        name="[A-Za-z0-9_.-]+",
        gene="[^/]+",
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(2000),
        runtime=10,
    params:
        code=code("interpolated_map"),
        mask=mask_target("interpolated_maps", "mask"),
        n_neighbors=mask_target("interpolated_maps", "n_neighbors"),
    script:
        "../../scripts/interpolated_map.py"


rule interpolated_map_surface:
    input:
        samples=paths.MAP_SAMPLES,
        mask=mask_target("interpolated_maps", "mask_files", start=True),
    output:
        lh=paths.fill(paths.MAP_SURFACE, hemi="lh"),
        rh=paths.fill(paths.MAP_SURFACE, hemi="rh"),
    log:
        log_file("interpolated_map", "{name}_{gene}_surface"),
    benchmark:
        benchmark_file("interpolated_map", "{name}_{gene}_surface")
    wildcard_constraints:
        name="[A-Za-z0-9_.-]+",
        gene="[^/]+",
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(2000),
        runtime=10,
    params:
        code=code("interpolated_map"),
        mask=mask_target("interpolated_maps", "mask"),
        n_neighbors=mask_target("interpolated_maps", "n_neighbors"),
    script:
        "../../scripts/interpolated_map.py"


rule map_metadata:
    input:
        samples=paths.MAP_SAMPLES,
        maps=map_files_of,
    output:
        metadata=paths.MAP_METADATA,
    log:
        log_file("map_metadata", "{name}"),
    benchmark:
        benchmark_file("map_metadata", "{name}")
    wildcard_constraints:
        name="[A-Za-z0-9_.-]+",
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code("map_metadata"),
        mask=mask_target("interpolated_maps", "mask"),
        genes=mask_target("interpolated_maps", "genes"),
        n_neighbors=mask_target("interpolated_maps", "n_neighbors"),
        options=mask_target("interpolated_maps", "options"),
    script:
        "../../scripts/map_metadata.py"
