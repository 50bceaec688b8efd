"""Every file path template of the workflow, written once.

The templates are relative to the working folder and use Snakemake's
wildcard syntax (``{donor}``, ``{key}``, ``{atlas}``, ...). Rules take their
outputs from here, the input functions of ``workflow/rules/common.smk`` and
:mod:`abagen_core.workflow.targets` fill them in with :func:`fill`, and the
start-up repair (:mod:`abagen_core.workflow.workdir`) derives its glob
patterns from them with :func:`glob_pattern`.

Examples
--------
>>> fill(GENES, key="0123456789", donor="9861")
'resources/genes/0123456789/genes_9861.parquet'
>>> fill(CHECKSUM, kind="pacall")
'resources/parquet/{donor}/pacall.sha256'
>>> glob_pattern(SUMMARY)
'resources/probes/summary/*/summary_*'
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "RESOURCES", "RESULTS", "LOGS", "STATE_DIR", "RAW_NAMES", "RAW", "T1",
    "RNASEQ_RAW_TPM", "RNASEQ_RAW_ANNOTATION", "MICROARRAY", "PACALL", "ANNOTATION",
    "ONTOLOGY", "CHECKSUM", "RNASEQ_TPM", "RNASEQ_ANNOTATION", "PROBES", "SAMPLES",
    "PACALL_COUNTS", "KEPT", "SUMMARY", "SUMMARY_MARKER", "SELECTION", "EXPLAINED", "GENES", "LABELS",
    "RESULT_FILES", "RESULT", "DONOR_EXPRESSION", "QC_FIGURE",
    "ROBUSTNESS", "MASK_RESULT_FILES", "MASK_RESULT", "MAP_SAMPLES", "MAP_VOLUME",
    "MAP_SURFACE", "MAP_METADATA", "SWEEPS", "SWEEP_BATCH", "SWEEP_INDEX", "LOG", "BENCHMARK", "fill", "glob_pattern",
    "wildcard_names",
]

#: top-level folders of a working folder
RESOURCES = "resources"
RESULTS = "results"
LOGS = "logs"
#: state of the start-up checks (run lock, checked files and atlases)
STATE_DIR = ".snakemake/abagen"

# ---------------------------------------------------------------- raw files
#: file key -> name of a donor's raw CSV in the AHBA download layout
RAW_NAMES = {
    "microarray": "MicroarrayExpression.csv",
    "pacall": "PACall.csv",
    "probes": "Probes.csv",
    "annotation": "SampleAnnot.csv",
    "ontology": "Ontology.csv",
}
#: a donor's raw CSV obtained by the workflow (download, synthetic data)
RAW = "resources/raw/{donor}/{name}"
T1 = "resources/raw/{donor}/T1.nii.gz"
RNASEQ_RAW_TPM = "resources/raw/rnaseq_{donor}/RNAseqTPM.csv"
RNASEQ_RAW_ANNOTATION = "resources/raw/rnaseq_{donor}/SampleAnnot.csv"

# ---------------------------------------------------------------- converted tables
MICROARRAY = "resources/parquet/{donor}/microarray.parquet"
PACALL = "resources/parquet/{donor}/pacall.parquet"
ANNOTATION = "resources/parquet/{donor}/annotation.parquet"
ONTOLOGY = "resources/parquet/{donor}/ontology.parquet"
#: SHA-256 of a converted matrix; kind: microarray or pacall
CHECKSUM = "resources/parquet/{donor}/{kind}.sha256"
RNASEQ_TPM = "resources/parquet/rnaseq_{donor}/tpm.parquet"
RNASEQ_ANNOTATION = "resources/parquet/rnaseq_{donor}/annotation.parquet"

# ---------------------------------------------------------------- stage caches
#: probe annotation; which: reannotated or original
PROBES = "resources/probes/probes_{which}.parquet"
SAMPLES = "resources/samples/{donor}/samples_{key}.parquet"
PACALL_COUNTS = "resources/samples/{donor}/pacall_{key}.parquet"
KEPT = "resources/probes/ibf/{key}/kept.parquet"
#: a directory output, complete only with its marker file
SUMMARY = "resources/probes/summary/{key}/summary_{donor}"
SUMMARY_MARKER = "summary.json"
SELECTION = "resources/probes/{key}/selection.parquet"
#: why each gene is or is not in a result of this probe selection (genes.csv)
EXPLAINED = "resources/probes/{key}/genes_explained.parquet"
GENES = "resources/genes/{key}/genes_{donor}.parquet"
LABELS = "resources/labels/{atlas}/{key}/labels_{donor}.parquet"

# ---------------------------------------------------------------- results
#: the files of one result folder (atlas, variant); metadata.json is written last
RESULT_FILES = ("expression.csv", "expression.parquet", "counts.csv", "regions.csv",
                "genes.csv", "report.md", "metadata.json")
RESULT = "results/{atlas}/{variant}/{file}"
DONOR_EXPRESSION = "results/{atlas}/{variant}/donors/expression_{donor}.csv"
QC_FIGURE = "results/{atlas}/{variant}/qc/{figure}.png"
#: folder of an atlas' sweep files, beside its variants' folders (no variant may take it)
SWEEPS = "sweeps"
#: a sweep batch's compact file (abagen_core.outputs.sweep); batch: its id
SWEEP_BATCH = "results/{atlas}/" + SWEEPS + "/batch-{batch}.parquet"
#: swept variant -> batch file and options, per atlas
SWEEP_INDEX = "results/{atlas}/" + SWEEPS + "/index.csv"
#: robustness tables (.csv) and figures (.png) of an atlas
ROBUSTNESS = "results/robustness/{atlas}/{file}"
MASK_RESULT_FILES = ("expression.csv", "expression.parquet", "coordinates.csv",
                     "metadata.json")
MASK_RESULT = "results/samples_in_mask/{name}/{file}"
MAP_SAMPLES = "resources/maps/{name}/samples.parquet"
MAP_VOLUME = "results/maps/{name}/{gene}.nii.gz"
#: hemi: lh or rh
MAP_SURFACE = "results/maps/{name}/{gene}_{hemi}.func.gii"
MAP_METADATA = "results/maps/{name}/metadata.json"

# ---------------------------------------------------------------- records
LOG = "logs/{rule}/{job}.log"
BENCHMARK = "logs/benchmarks/{rule}/{job}.tsv"

_WILDCARD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:,[^{}]*)?\}")


def wildcard_names(template: str) -> list[str]:
    """Names of the wildcards of `template`, in order of appearance.

    Parameters
    ----------
    template : str

    Returns
    -------
    names : list of str
    """
    return list(dict.fromkeys(m.group(1) for m in _WILDCARD.finditer(template)))


def fill(template: str, **values: Any) -> str:
    """Fill some wildcards of `template`; the others stay wildcards.

    Parameters
    ----------
    template : str
        A path template of this module.
    **values
        Wildcard name -> value (formatted with ``str``).

    Returns
    -------
    path : str

    Raises
    ------
    KeyError
        A name of `values` is not a wildcard of `template`.
    """
    unknown = sorted(set(values) - set(wildcard_names(template)))
    if unknown:
        raise KeyError(f"{template} has no wildcard(s) {unknown}")

    def _sub(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)

    return _WILDCARD.sub(_sub, template)


def glob_pattern(template: str, **values: Any) -> str:
    """The :mod:`fnmatch` / :meth:`pathlib.Path.glob` pattern of `template`.

    Parameters
    ----------
    template : str
    **values
        Wildcards to fill in first (see :func:`fill`); the others become ``*``.

    Returns
    -------
    pattern : str
    """
    return _WILDCARD.sub("*", fill(template, **values))
