# Per donor, atlas-independent: the probe annotation and the samples kept
# (corrected coordinates, hemisphere check, similarity filter, mirroring),
# with their PACall counts per probe.


rule prepare_probes:
    input:
        # Probes.csv is the same for every donor; read from the raw CSV so
        # this does not wait for a donor's conversion
        probes=TARGETS.raw_file(DONORS[0], "probes"),
    output:
        probes=paths.PROBES,
    log:
        log_file("prepare_probes", "{which}"),
    benchmark:
        benchmark_file("prepare_probes", "{which}")
    priority: PROBE_CHAIN_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code("prepare_probes"),
        reannotated=probe_table_is_reannotated,
    script:
        "../../scripts/prepare_probes.py"


rule prepare_samples:
    input:
        unpack(sample_inputs),
    output:
        samples=paths.SAMPLES,
        # samples with signal per probe (all probes): the donor's part of the
        # intensity filter, a small per-donor reduction
        pacall=paths.PACALL_COUNTS,
    log:
        log_file("prepare_samples", "{donor}_{key}"),
    benchmark:
        benchmark_file("prepare_samples", "{donor}_{key}")
    priority: PROBE_CHAIN_PRIORITY
    conda:
        "../envs/abagen.yaml"
    threads: 1
    resources:
        mem_mb=scaled_mem(1000),
        runtime=10,
    params:
        code=code("prepare_samples"),
        options=stage_options("samples"),
    script:
        "../../scripts/prepare_samples.py"
