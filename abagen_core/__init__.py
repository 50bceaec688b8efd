"""abagen_core: AHBA microarray data to region x gene matrices.

A re-implementation of the abagen 0.1.3 processing pipeline as small, pure
stage functions shared by an in-memory Python API and a cached Snakemake
workflow.

``import abagen_core as abagen`` gives abagen's public names at abagen's
paths (its manual, section 7.7): ``abagen.get_expression_data``,
``abagen.fetch_microarray``, ``abagen.AtlasTree``, ``abagen.Report``, ...
and the modules ``abagen.allen``, ``abagen.datasets``, ``abagen.images``,
``abagen.correct``, ``abagen.matching``, ``abagen.reporting``, ``abagen.io``
and ``abagen.mouse``. They are imported on first use (module
``__getattr__``), so ``import abagen_core`` stays light: it imports neither
pandas nor nibabel, and the ``abagen`` command answers ``--help`` at once.
"""

from __future__ import annotations

import importlib
from typing import Any

from abagen_core._version import __version__

#: abagen's top-level names -> the module (a string, imported lazily) that
#: defines them. Modules map to themselves (``None`` attribute).
_API = "abagen_core.api"
_FETCH = "abagen_core.datasets.fetch"
_IMAGES = "abagen_core.atlas.images"
_CORRECT = "abagen_core.stages.correct"
_LAZY: dict[str, tuple[str, str | None]] = {
    # modules at abagen's paths
    **{name: (f"abagen_core.{name}", None) for name in (
        "allen", "datasets", "images", "correct", "matching", "reporting", "io", "mouse")},
    # abagen.allen: primary workflows
    "get_expression_data": (_API, "get_expression_data"),
    "get_samples_in_mask": (_API, "get_samples_in_mask"),
    "get_interpolated_map": (_API, "get_interpolated_map"),
    # abagen-core additions
    "explain_genes": (_API, "explain_genes"),
    # abagen.datasets
    **{name: (_FETCH, name) for name in (
        "fetch_desikan_killiany", "fetch_donor_info", "fetch_freesurfer", "fetch_gene_group",
        "fetch_microarray", "fetch_raw_mri", "fetch_rnaseq")},
    # abagen.images
    **{name: (_IMAGES, name) for name in (
        "leftify_atlas", "check_atlas", "annot_to_gifti", "relabel_gifti")},
    # abagen.correct
    **{name: (_CORRECT, name) for name in (
        "remove_distance", "keep_stable_genes", "normalize_expression")},
    # abagen.matching, abagen.reporting
    "AtlasTree": ("abagen_core.atlas.matching", "AtlasTree"),
    "Report": ("abagen_core.outputs.report", "Report"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    """Import abagen's public name `name` on first access (PEP 562)."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'abagen_core' has no attribute {name!r}") from None
    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    """Module attributes, including the lazily imported public names."""
    return sorted(set(globals()) | set(_LAZY))
