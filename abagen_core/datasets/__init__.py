"""The AHBA data: downloads, the data-folder layout, conversion, synthetic datasets.

``abagen_core.datasets`` is also abagen's public module path of the fetchers
(``abagen.datasets``); they are implemented in :mod:`abagen_core.datasets.fetch`.
"""

from abagen_core.datasets.fetch import (
    fetch_desikan_killiany,
    fetch_donor_info,
    fetch_freesurfer,
    fetch_fsaverage5,
    fetch_fsnative,
    fetch_gene_group,
    fetch_microarray,
    fetch_raw_mri,
    fetch_rnaseq,
)

__all__ = ["fetch_microarray", "fetch_rnaseq", "fetch_raw_mri", "fetch_freesurfer", "fetch_fsnative", "fetch_fsaverage5", "fetch_desikan_killiany", "fetch_donor_info", "fetch_gene_group"]
