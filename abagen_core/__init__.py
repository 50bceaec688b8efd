"""abagen_core: AHBA microarray data to region x gene matrices.

A re-implementation of the abagen 0.1.3 processing pipeline as small, pure
stage functions shared by an in-memory Python API and a cached Snakemake
workflow.
"""

from abagen_core._version import __version__

__all__ = ["__version__"]
