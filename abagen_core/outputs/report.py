r"""Methods report: the text abagen 0.1.3 returns with ``return_report=True``.

:class:`Report` assembles a methods description from option-dependent
sentences. The text is abagen 0.1.3's output byte for byte (checked against
abagen's own ``Report`` option by option, and against the parity set's
reports), including its quirks (the "microarry" typo, "a 83-region", "1
post-mortem brains", the stray spaces before punctuation where abagen leaves
an optional clause empty, the backspace character in the final "\b." and
the doubled ``{{``/``}}`` in the LaTeX, which abagen never passed through
``str.format``). The one deliberate change is the software sentence, which
names abagen-core (:func:`software_sentence`, :func:`as_abagen_text`).

The data-dependent numbers (probes kept by intensity filtering, number of
genes, counts per region) are keyword arguments supplied by the pipeline;
without them the corresponding clauses are left out.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from abagen_core._version import __version__
from abagen_core.atlas import images
from abagen_core.donors import check_donors, donor_info
from abagen_core.errors import InvalidOptionError
from abagen_core.stages.normalize import check_norm
from abagen_core.stages.samples import SampleCoordinates
from abagen_core.utils import check_choice

__all__ = [
    "ABAGEN_VERSION",
    "ABAGEN_SOFTWARE",
    "REFERENCES",
    "AtlasDescriptor",
    "Report",
    "describe_atlas",
    "generate_report",
    "software_sentence",
    "as_abagen_text",
]

#: version printed in the report: the text reproduces abagen 0.1.3's report
ABAGEN_VERSION = "0.1.3"

#: abagen 0.1.3's software sentence (start of the intro's second sentence)
ABAGEN_SOFTWARE = ("Data were processed with the abagen toolbox (version 0.1.3; "
                   "https://github.com/rmarkello/abagen)")


def software_sentence() -> str:
    """The report's software sentence: the one deliberate change to abagen's text.

    abagen's report credits "the abagen toolbox (version 0.1.3)"; ours names
    abagen-core and its version and says that it reproduces abagen 0.1.3's
    pipeline. The atlas clause follows (" using a 83-region ...").

    Returns
    -------
    sentence : str
        Without the atlas clause.
    """
    return (f"Data were processed with abagen-core (version {__version__}), which "
            f"reproduces the processing pipeline of the abagen toolbox (version "
            f"{ABAGEN_VERSION}; https://github.com/rmarkello/abagen),")


def as_abagen_text(report: str) -> str:
    """`report` with abagen 0.1.3's software sentence in place of ours.

    Everything else in our report is abagen's text; this is what parity
    checks compare with abagen's reports.

    Parameters
    ----------
    report : str
        Output of :meth:`Report.gen_report`.

    Returns
    -------
    report : str
    """
    return report.replace(software_sentence(), ABAGEN_SOFTWARE, 1)

#: citation key -> full reference (verbatim from abagen 0.1.3's reports)
REFERENCES = MappingProxyType({
    "A2019N": "Arnatkevic\u0306i\u016bt\u0117, A., Fulcher, B. D., & Fornito, A. (2019). "
              "A practical guide to linking brain-wide gene expression and neuroimaging "
              "data. Neuroimage, 189, 353-367.",
    "F2013J": "Fulcher, B. D., Little, M. A., & Jones, N. S. (2013). Highly comparative "
              "time-series analysis: the empirical structure of time series and their "
              "methods. Journal of the Royal Society Interface, 10(83), 20130048.",
    "F2016P": "Fulcher, B. D., & Fornito, A. (2016). A transcriptional signature of hub "
              "connectivity in the mouse connectome. Proceedings of the National Academy of "
              "Sciences, 113(5), 1435-1440.",
    "H2012N": "Hawrylycz, M. J., Lein, E. S., Guillozet-Bongaarts, A. L., Shen, E. H., "
              "Ng, L., Miller, J. A., ... & Jones, A. R. (2012). An anatomically "
              "comprehensive atlas of the adult human brain transcriptome. Nature, "
              "489(7416), 391-399.",
    "H2015N": "Hawrylycz, M., Miller, J. A., Menon, V., Feng, D., Dolbeare, T., "
              "Guillozet-Bongaarts, A. L., ... & Lein, E. (2015). Canonical genetic "
              "signatures of the adult human brain. Nature Neuroscience, 18(12), 1832.",
    "P2017G": "Parkes, L., Fulcher, B. D., Y\u00fccel, M., & Fornito, A. (2017). "
              "Transcriptional signatures of connectomic subregions of the human striatum. "
              "Genes, Brain and Behavior, 16(7), 647-663.",
    "Q2002N": "Quackenbush, J. (2002). Microarray data normalization and transformation. "
              "Nature Genetics, 32(4), 496-501.",
    "R2018N": "Romero-Garcia, R., Whitaker, K. J., V\u00e1\u0161a, F., Seidlitz, J., "
              "Shinn, M., Fonagy, P., ... & NSPN Consortium. (2018). Structural "
              "covariance networks are coupled to expression of genes enriched in "
              "supragranular layers of the human cortex. NeuroImage, 171, 256-267.",
})

# --------------------------------------------------------------------------
# LaTeX. The doubled braces are abagen 0.1.3's output verbatim (its templates
# were never formatted); TeX renders {{x}} like {x}, so the new formulas use
# the same spelling for consistency.

_DS_FORMULA = (r"$$ \Delta_{{S}}(p) = \frac{{1}}{{\binom{{N}}{{2}}}} \, "
               r"\sum_{{i=1}}^{{N-1}} \sum_{{j=i+1}}^{{N}} \rho[B_{{i}}(p), B_{{j}}(p)] $$")
_RS_FORMULA = (r"$$ x_{{norm}} = \frac{{1}}{{1 + \exp(-\frac{{(x-\langle x \rangle)}} "
               r"{{\text{{IQR}}_{{x}}}})}} $$")
_SCALED_FORMULA = (r"$$ x_{{scaled}} = \frac{{x_{{norm}} - \min(x_{{norm}})}} "
                   r"{{\max(x_{{norm}}) - \min(x_{{norm}})}} $$")
_MINMAX_FORMULA = r"$$ x_{{scaled}} = \frac{{x - \min(x)}}{{\max(x) - \min(x)}} $$"
#: the sigmoid as abagen 0.1.3 prints it (\overline, spaces around the minus)
_SIG_FORMULA_ABAGEN = (r"$$ x_{{norm}} = \frac{{1}}{{1 + \exp(-\frac{{(x - \overline{{x}})}} "
                       r"{{\sigma_{{x}}}})}} $$")
_MIXED_FORMULA = (r"$$ x_{{norm}} = \left\{{\begin{{array}}{{r r}} \frac{{1}}{{1 + "
                  r"\exp(-\frac{{(x-\overline{{x}})}} {{\sigma_{{x}}}})}} ,& "
                  r"\text{{IQR}}_{{x}} = 0 \frac{{1}}{{1 + \exp(-\frac{{(x-\langle x "
                  r"\rangle)}} {{\text{{IQR}}_{{x}}}})}} ,& \text{{IQR}}_{{x}} \neq 0 "
                  r"\end{{array}}\right. $$")


def _fill(template: str, **slots: str) -> str:
    # plain substitution, not str.format: the LaTeX braces must survive
    for key, value in slots.items():
        template = template.replace("{" + key + "}", value)
    return template


def _block(formula: str) -> str:
    return "\n\n" + formula + "\n\n"


# --------------------------------------------------------------------------
# probe selection

_GENE_INTRO = "When multiple probes indexed the expression of the same gene, "

_GENE_INTRO_SELECT = ("When multiple probes indexed the expression of the same gene we "
                      "selected and used ")
_CORR_TEXT = (_GENE_INTRO_SELECT + "the expression profile of a single representative probe. "
              "For genes where only two probes were available we selected the probe with the "
              "{two}; where three or more probes were available, we calculated the correlation "
              "of probe expression across samples and selected the probe with the highest "
              "average correlation. ")

_PROBE_TEXT: Mapping[str, str] = MappingProxyType({
    "diff_stability": (
        _GENE_INTRO + "we selected and used the probe with the most consistent pattern of "
        "regional variation across donors (i.e., differential stability; [H2015N]), "
        "calculated with:" + _block(_DS_FORMULA) + "where $ \\rho $ is Spearman's rank "
        "correlation of the expression of a single probe, p, across regions in two donors "
        "$B_{{i}}$ and $B_{{j}}$, and N is the total number of donors. Here, regions "
        "correspond to the structural designations provided in the ontology from the AHBA. "
    ),
    "average": ("When multiple probes indexed the expression of the same gene we calculated "
                "the mean expression across probes. "),
    "rnaseq": (
        _GENE_INTRO_SELECT + "the probe with the most consistent pattern of regional "
        "expression to RNA-seq data (available for two donors in the AHBA). That is, we "
        "calculated the Spearman\u2019s rank correlation between each probes' microarray "
        "expression and RNA-seq expression data of the corresponding gene, and selected the "
        "probe with the highest correspondence. Here, regions correspond to the structural "
        "designations provided in the ontology from the AHBA. "
    ),
    "max_intensity": _GENE_INTRO_SELECT + "the probe with the highest mean intensity across "
                                          "samples. ",
    "max_variance": _GENE_INTRO_SELECT + "the probe with the highest variance across samples. ",
    "pc_loading": (_GENE_INTRO_SELECT + "the probe with the highest loading on the first "
                   "principal component taken from a decomposition of probe expression across "
                   "samples from all donors [P2017G]. "),
    "corr_intensity": _CORR_TEXT.replace("{two}", "highest mean intensity across samples"),
    "corr_variance": _CORR_TEXT.replace("{two}", "highest variance across samples"),
})
_PROBE_ALIASES = {"mean": "average"}
#: no sentence on donor_probes='aggregate' for these (abagen 0.1.3's reports)
_NO_DONOR_TEXT_IF_AGGREGATE = ("diff_stability", "average", "rnaseq")
_DONOR_PROBES_TEXT: Mapping[str, str] = MappingProxyType({
    "aggregate": ("The selection of probes was performed using sample expression data "
                  "aggregated across all donors."),
    "independent": ("The selection of probes was performed independently for each donor, "
                    "such that the probes chosen to represent each gene could differ across "
                    "donors."),
    "common": ("The selection of probes was performed independently for each donor, and the "
               "probe most commonly selected across all donors was chosen to represent the "
               "expression of each gene for all donors."),
})

# --------------------------------------------------------------------------
# normalization: gerund phrases with slots for what is normalized

_RESCALE = ("Normalized expression values were then rescaled to the unit interval: "
            + _block(_SCALED_FORMULA))
_SIG_WHERE = ("where $\\bar{{x}}$ is the arithmetic mean and $\\sigma_{{x}}$ is the sample "
              "standard deviation of the expression of {unit}")
_RS_BODY = ("normalizing {values} {across} using a robust sigmoid function [F2013J]:"
            + _block(_RS_FORMULA) + "where $\\langle x \\rangle$ is the median and "
            "$\\text{{IQR}}_{{x}}$ is the normalized interquartile range of the expression of "
            "{unit}. ")
_SIG_BODY = ("normalizing {values} {across} independently for each donor using a sigmoid "
             "function [F2016P]:" + _block(_SIG_FORMULA_ABAGEN) + _SIG_WHERE)

#: abagen 0.1.3's sentences (its reports, option by option; 'batch' is ours)
_NORM_TEXT: Mapping[str, str] = MappingProxyType({
    "center": "demeaning {values} {across} independently for each donor. ",
    "zscore": ("mean- and variance-normalizing (i.e., z-scoring) {values} {across} "
               "independently for each donor. "),
    "minmax": ("rescaling {values} {across} to the unit interval independently for each "
               "donor: " + _block(_MINMAX_FORMULA)),
    "sigmoid": _SIG_BODY + ". ",
    "scaled_sigmoid": _SIG_BODY + ". " + _RESCALE,
    "scaled_sigmoid_quantiles": (
        _SIG_BODY + ", calculated using only data in the 5\u201395th percentile range to "
        "downweight the impact of outliers. " + _RESCALE
    ),
    "robust_sigmoid": _RS_BODY,
    "scaled_robust_sigmoid": _RS_BODY + _RESCALE,
    "mixed_sigmoid": (
        "normalizing {values} {across} using a mixed sigmoid function [F2013J]:"
        + _block(_MIXED_FORMULA) + "where $\\bar{{x}}$ is the arithmetic mean, "
        "$\\sigma_{{x}}$ is the sample standard deviation, $\\langle x \\rangle$ is the "
        "median, and $\\text{{IQR}}_{{x}}$ is the normalized interquartile range of the "
        "expression value of {unit}. " + _RESCALE
    ),
    "batch": ("removing donor effects from {values} with a linear model of donor "
              "membership fitted to all donors simultaneously; values were residualized "
              "with the estimated donor coefficients while retaining the intercept. "),
})

_INTER_SUBJECT = "Inter-subject variation was addressed by "
_SAMPLE_SLOTS = {"values": "tissue sample expression values", "across": "across genes",
                 "unit": "a single tissue sample across genes", "plural": "tissue samples"}
_GENE_SLOTS = {"values": "gene expression values", "across": "across tissue samples",
               "unit": "a single gene across tissue samples", "plural": "genes"}

# --------------------------------------------------------------------------
# samples, matching, aggregation

_MNI_TEXT = ("The MNI coordinates of tissue samples were updated to those generated via "
             "non-linear registration using the Advanced Normalization Tools (ANTs; "
             "https://github.com/chrisfilo/alleninf). ")
# abagen-core addition (corrected_mni=<table>): not in abagen 0.1.3's text
_TABLE_MNI_TEXT = ("The MNI coordinates of {n} tissue samples were replaced by those of a "
                   "user-supplied table (SHA-256 {sha}); the other samples' coordinates were "
                   "updated to those generated via non-linear registration using the "
                   "Advanced Normalization Tools (ANTs; https://github.com/chrisfilo/alleninf). ")
_SIM_TEXT = ("Tissue samples whose total inter-areal similarity (i.e., the summed "
             "correlation of their expression across probes with all other samples from the "
             "same donor) was more than {threshold} standard deviations below the mean across "
             "samples were discarded [A2019N]. ")
_MIRROR_TEXT: Mapping[str, str] = MappingProxyType({
    "bidirectional": ("To increase spatial coverage, tissue samples were mirrored bilaterally "
                      "across the left and right hemispheres [R2018N]. "),
    "leftright": ("To increase spatial coverage, tissue samples in the left hemisphere were "
                  "mirrored into the right hemisphere [R2018N]. "),
    "rightleft": ("To increase spatial coverage, tissue samples in the right hemisphere were "
                  "mirrored into the left hemisphere [R2018N]. "),
})
_CONSTRAIN_TEXT = ("To reduce the potential for misassignment, sample-to-region matching was "
                   "constrained by hemisphere and gross structural divisions (i.e., cortex, "
                   "subcortex/brainstem, and cerebellum, such that e.g., a sample in the left "
                   "cortex could only be assigned to an atlas parcel in the left cortex; "
                   "[A2019N]). ")
_MISSING_TEXT: Mapping[str, str] = MappingProxyType({
    "centroids": ("If a brain region was not assigned a sample from any donor based on the "
                  "above procedure, the tissue sample closest to the centroid of that parcel "
                  "was identified independently for each donor. The average of these samples "
                  "was taken across donors, weighted by the distance between the parcel "
                  "centroid and the sample, to obtain an estimate of the parcellated "
                  "expression values for the missing region. "),
    "interpolate": ("If a brain region was not assigned a tissue sample based on the above "
                    "procedure, every {node} in the region was mapped to the nearest tissue "
                    "sample from the donor in order to generate a dense, interpolated "
                    "expression map. The average of these expression values was taken across "
                    "all {nodes} in the region, weighted by the distance between each {node} "
                    "and the sample mapped to it, in order to obtain an estimate of the "
                    "parcellated expression values for the missing region. "),
})
_DISCARD_TEXT = ("All tissue samples not assigned to a brain region in the provided atlas "
                 "were discarded. ")
_ALL_SAMPLES_TEXT = ("All available tissue samples were used in the normalization process "
                     "regardless of whether they were assigned to a brain region. ")
_STRUCTURES_TEXT = ("Normalization was performed separately for samples in distinct "
                    "structural classes (i.e., cortex, subcortex/brainstem, cerebellum). ")
_ALL_SAMPLES_STRUCTURES_TEXT = (
    "All available tissue samples were used in the normalization process regardless of "
    "whether they were matched to a brain region; however, normalization was performed "
    "separately for samples in distinct structural classes (i.e., cortex, "
    "subcortex/brainstem, cerebellum). ")
_AGG_SUBJECT = {
    "mean": "Samples assigned to the same brain region were averaged",
    "median": "The median value of samples assigned to the same brain region was computed",
}
_REGION_AGG = ("donors", "samples")
_MISSING = (None, "centroids", "interpolate")
_LR_MIRROR = (None, "bidirectional", "leftright", "rightleft")

_SYNTHETIC_TEXT = ("WARNING: the expression data processed here are synthetic (simulated in "
                   "the AHBA file format), not Allen Human Brain Atlas measurements; the text "
                   "below describes the processing only.")


# --------------------------------------------------------------------------
# atlases


@dataclass(frozen=True)
class AtlasDescriptor:
    """What the report says about an atlas.

    Parameters
    ----------
    n_regions : int
        Number of parcels (unique non-zero labels).
    kind : {'volumetric', 'surface'}, default='volumetric'
    space : str, default='MNI'
        E.g. 'MNI', 'fsaverage5', 'native'.
    """

    n_regions: int
    kind: str = "volumetric"
    space: str = "MNI"

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, ["volumetric", "surface"])


_FSAVERAGE = {2562: "fsaverage4", 10242: "fsaverage5", 40962: "fsaverage6",
              163842: "fsaverage"}


def _load(img: Any) -> Any:
    if isinstance(img, str | PathLike):
        import nibabel as nib  # lazy: slow to import

        return nib.load(str(img))
    return img


def _labels_of(img: Any) -> tuple[set[int], str, int]:
    """(non-zero labels, kind, number of vertices or 0) of one image."""
    import nibabel as nib  # lazy: slow to import

    img = _load(img)
    if isinstance(img, nib.GiftiImage):
        data = np.asarray(img.darrays[0].data)
        kind, n_vert = "surface", data.shape[0]
    elif hasattr(img, "dataobj"):
        data = np.asanyarray(img.dataobj)
        kind, n_vert = "volumetric", 0
    else:
        data = np.asarray(img)
        kind, n_vert = "volumetric", 0
    labels = {int(v) for v in np.unique(data) if v != 0 and np.isfinite(v)}
    return labels, kind, n_vert


def _describe_group(atlas: Any) -> tuple[set[int], str, int]:
    if isinstance(atlas, tuple | list):
        parts = [_labels_of(hemi) for hemi in atlas]
        labels = set().union(*(p[0] for p in parts))
        kinds = {p[1] for p in parts}
        if kinds != {"surface"}:
            raise ValueError("A tuple atlas must hold GIFTI label images (one per hemisphere).")
        return labels, "surface", parts[0][2]
    return _labels_of(atlas)


def describe_atlas(atlas: Any) -> AtlasDescriptor:
    """Summarise an atlas for the report.

    Parameters
    ----------
    atlas : AtlasDescriptor, mapping, tuple, path, nibabel image or dict
        An :class:`AtlasDescriptor`; a mapping with keys ``n_regions`` (and
        optionally ``kind``, ``space``); a tuple ``(n_regions, kind[, space])``;
        a volumetric image (path or nibabel image) in MNI space; a tuple of
        two GIFTI label images (paths or images) in fsaverage space; or a
        dict donor -> image / GIFTI tuple (donor-specific atlases, native
        space).

    Returns
    -------
    descriptor : AtlasDescriptor
        Number of unique non-zero labels (union over hemispheres / donors),
        kind and space.
    """
    if isinstance(atlas, AtlasDescriptor):
        return atlas
    if isinstance(atlas, Mapping) and "n_regions" in atlas:
        return AtlasDescriptor(**atlas)
    if (isinstance(atlas, tuple | list) and atlas and isinstance(atlas[0], int | np.integer)
            and all(isinstance(a, str) for a in atlas[1:])):
        return AtlasDescriptor(int(atlas[0]), *atlas[1:])
    if isinstance(atlas, Mapping):
        parts = [_describe_group(img) for img in atlas.values()]
        labels = set().union(*(p[0] for p in parts))
        return AtlasDescriptor(len(labels), parts[0][1], "native")
    labels, kind, n_vert = _describe_group(atlas)
    space = _FSAVERAGE.get(n_vert, "native") if kind == "surface" else "MNI"
    return AtlasDescriptor(len(labels), kind, space)


def _has_label_tables(atlas: Any) -> bool:
    """Whether `atlas` is a pair of GIFTI images whose label tables give atlas_info."""
    if not (isinstance(atlas, tuple | list) and len(atlas) == 2):
        return False
    if isinstance(atlas[0], int | np.integer):  # a (n_regions, kind) descriptor
        return False
    try:
        info = images.check_atlas(tuple(atlas)).atlas_info
    except Exception:  # not loadable as a surface atlas: nothing to intuit
        return False
    return info is not None


def _fmt_number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------


class Report:
    """Methods text for a run of :func:`get_expression_data`.

    Parameters
    ----------
    atlas : see :func:`describe_atlas`
        The atlas (image, GIFTI tuple, donor dict) or a descriptor.
    atlas_info : pandas.DataFrame or path, optional
        Only whether it is given matters (matching is then constrained by
        hemisphere and structure).
    ibf_threshold, probe_selection, donor_probes, sim_threshold, lr_mirror, \
exact, missing, tolerance, sample_norm, gene_norm, norm_matched, norm_structures, \
region_agg, agg_metric, corrected_mni, reannotated, return_counts, return_donors, \
donors, data_dir, verbose, n_proc, return_report
        As in :func:`get_expression_data`, same defaults. ``exact`` is
        abagen's deprecated spelling: False means ``missing='centroids'``
        (when `missing` is None). ``lr_mirror=True`` means 'bidirectional'.
        `return_counts`, `data_dir`, `verbose`, `n_proc` and `return_report`
        do not change the text.
    counts : pandas.DataFrame of shape (n_regions, n_donors), optional
        Samples per region and donor; its number of rows is the number of
        rows of the expression matrix (default: the atlas's region count).
    n_probes : int, optional
        Probes left after intensity-based filtering ("yielding N probes").
    n_genes : int, optional
        Genes (columns) of the returned expression; when given the report
        states the shape of the result.
    synthetic : bool, default=False
        Prepend a one-line warning that the data are synthetic.

    Attributes
    ----------
    body : str
        The report text as of construction (as abagen 0.1.3's attribute).

    Notes
    -----
    The text is abagen 0.1.3's, checked against abagen's ``Report`` for
    every option value, except the software sentence, which names
    abagen-core (see :func:`software_sentence`; :func:`as_abagen_text`
    restores abagen's). Remaining differences: ``sim_threshold`` adds a
    sentence (abagen's ``Report`` does not take it), 'batch' normalization
    has a sentence of its own (abagen refuses it), and
    ``probe_selection='mean'`` is described as 'average' (abagen omits the
    sentence).

    Examples
    --------
    >>> text = Report(AtlasDescriptor(83), {'given': True}).gen_report()
    >>> text.startswith('Regional microarry expression data')
    True
    """

    def __init__(
        self,
        atlas: Any,
        atlas_info: Any = None,
        *,
        ibf_threshold: float = 0.5,
        probe_selection: str = "diff_stability",
        donor_probes: str = "aggregate",
        sim_threshold: float | None = None,
        lr_mirror: str | bool | None = None,
        exact: bool | None = None,
        missing: str | None = None,
        tolerance: float = 2,
        sample_norm: str | None = "srs",
        gene_norm: str | None = "srs",
        norm_matched: bool = True,
        norm_structures: bool = False,
        region_agg: str = "donors",
        agg_metric: str | Callable = "mean",
        corrected_mni: bool = True,
        reannotated: bool = True,
        return_counts: bool = False,
        return_donors: bool = False,
        return_report: bool = False,
        donors: str | int | Iterable[str | int] = "all",
        data_dir: Any = None,
        verbose: int = 0,
        n_proc: int = 1,
        counts: pd.DataFrame | None = None,
        n_probes: int | None = None,
        n_genes: int | None = None,
        synthetic: bool = False,
    ) -> None:
        self.atlas = describe_atlas(atlas)
        by_donor = isinstance(atlas, Mapping) and "n_regions" not in atlas
        self.donor_specific = by_donor or self.atlas.space == "native"
        self.atlas_info = atlas_info
        # GIFTI label tables stand in for atlas_info (abagen 0.1.3 says matching
        # was constrained for such surface atlases even without atlas_info)
        self._labelled_surface = atlas_info is None and _has_label_tables(atlas)
        self.ibf_threshold = float(ibf_threshold)
        probe_selection = _PROBE_ALIASES.get(probe_selection, probe_selection)
        self.probe_selection = check_choice("probe_selection", probe_selection,
                                            list(_PROBE_TEXT) + list(_PROBE_ALIASES))
        self.donor_probes = check_choice("donor_probes", donor_probes, list(_DONOR_PROBES_TEXT))
        self.sim_threshold = sim_threshold
        if lr_mirror is True:
            lr_mirror = "bidirectional"
        elif lr_mirror is False:
            lr_mirror = None
        self.lr_mirror = check_choice("lr_mirror", lr_mirror, _LR_MIRROR)
        if exact is not None and missing is None:
            missing = None if exact else "centroids"
        self.missing = check_choice("missing", missing, _MISSING)
        self.tolerance = tolerance
        self.sample_norm = check_norm(sample_norm, "sample_norm")
        self.gene_norm = check_norm(gene_norm, "gene_norm")
        self.norm_matched = bool(norm_matched)
        self.norm_structures = bool(norm_structures)
        self.region_agg = check_choice("region_agg", region_agg, _REGION_AGG)
        if not callable(agg_metric):
            check_choice("agg_metric", agg_metric, list(_AGG_SUBJECT))
        self.agg_metric = agg_metric
        # a SampleCoordinates table (abagen-core) is kept to be described
        self.corrected_mni = corrected_mni if isinstance(corrected_mni, SampleCoordinates) \
            else bool(corrected_mni)
        self.reannotated = bool(reannotated)
        self.return_donors = bool(return_donors)
        if by_donor and donors == "all":
            donors = list(atlas)
        self.donors = check_donors(donors)
        self.counts = counts
        self.n_probes = n_probes
        self.n_genes = n_genes
        self.synthetic = bool(synthetic)
        #: the report as of construction (abagen 0.1.3's attribute; gen_report()
        #: regenerates it from the current attributes)
        self.body = self.gen_report()

    # ------------------------------------------------------------ paragraphs

    def _demographics(self) -> str:
        info = donor_info()
        info = info.set_index(info["uid"].astype(str)).loc[self.donors]
        ages = info["age"].to_numpy(dtype=np.float64)
        n_female = int((info["sex"] == "F").sum())
        # the SD is the sample SD (ddof=1): 42.50 +/- 13.38 for the six donors;
        # abagen 0.1.3 prints "nan" for one donor (and "1 post-mortem brains")
        sd = f"{ages.std(ddof=1):.2f}" if len(ages) > 1 else "nan"
        return (f"{n_female} female, ages {ages.min():.1f}--{ages.max():.1f}, "
                f"{ages.mean():.2f} +/- {sd}")

    def _intro(self) -> str:
        n = len(self.donors)
        atlas = self.atlas
        # abagen 0.1.3 says "surface-based atlas in MNI space" for fsaverage atlases
        kind, space = atlas.kind, atlas.space
        if kind == "surface":
            kind = "surface-based"
            space = "native" if self.donor_specific else "MNI"
        return (
            f"Regional microarry expression data were obtained from {n} post-mortem brains "
            f"({self._demographics()}) provided by the Allen Human Brain Atlas (AHBA, "
            f"https://human.brain-map.org; [H2012N]). {software_sentence()} using a "
            f"{atlas.n_regions}-region {kind} atlas in {space} space."
        )

    def _probes(self) -> str:
        if self.reannotated:
            text = ("First, microarray probes were reannotated using data provided by "
                    "[A2019N]; probes not matched to a valid Entrez ID were discarded. ")
        else:
            text = "First, microarray probes not matched to a valid Entrez ID were discarded. "
        # abagen prints the threshold itself as the percentage
        text += ("Next, probes were filtered based on their expression intensity relative to "
                 "background noise [Q2002N], such that probes with intensity less than the "
                 f"background in >={self.ibf_threshold * 100:.2f}% of samples across donors "
                 "were discarded")
        if self.n_probes is not None:
            text += f" , yielding {int(self.n_probes)} probes"
        text += " . "  # abagen 0.1.3: " ." with or without the optional clause
        method = self.probe_selection
        text += _PROBE_TEXT[method]
        if method in _NO_DONOR_TEXT_IF_AGGREGATE and self.donor_probes == "aggregate":
            return text
        return text + _DONOR_PROBES_TEXT[self.donor_probes]

    def _samples(self) -> str:
        surface = self.atlas.kind == "surface"
        text = ""
        if isinstance(self.corrected_mni, SampleCoordinates) and not self.donor_specific:
            text += _fill(_TABLE_MNI_TEXT, n=str(len(self.corrected_mni.coords)),
                          sha=self.corrected_mni.sha256[:16])
        elif self.corrected_mni and not self.donor_specific:
            text += _MNI_TEXT
        if self.sim_threshold is not None:
            text += _fill(_SIM_TEXT, threshold=_fmt_number(self.sim_threshold))
        if self.lr_mirror is not None:
            text += _MIRROR_TEXT[self.lr_mirror]
        coords = "native-space" if self.donor_specific else "MNI"
        tol = _fmt_number(self.tolerance)
        if surface:
            text += ("Samples were assigned to brain regions by minimizing the Euclidean "
                     f"distance between the {coords} coordinates of each sample and the "
                     "nearest surface vertex. Samples where the Euclidean distance to the "
                     "nearest vertex was ")
            if self.tolerance < 0:  # a distance in mm
                text += f"more than {_fmt_number(abs(self.tolerance))}mm were excluded. "
            elif self.tolerance == 0:
                text += ("greater than the mean distance for all samples belonging to that "
                         "donor were excluded. ")
            else:
                text += (f"more than {tol} standard deviations above the mean distance for "
                         "all samples belonging to that donor were excluded. ")
        elif self.tolerance == 0:
            text += ("Samples were assigned to brain regions in the provided atlas only if "
                     f"their {coords} coordinates were directly within a voxel belonging to a "
                     "parcel. ")
        elif self.tolerance > 0:
            text += (f"Samples were assigned to brain regions in the provided atlas if their "
                     f"{coords} coordinates were within {tol} mm of a given parcel. ")
        # a negative volumetric tolerance (|tolerance| mm are searched): abagen
        # 0.1.3 says nothing about the matching
        if self.atlas_info is not None or self._labelled_surface:
            text += _CONSTRAIN_TEXT
        if self.missing is not None:
            text += _fill(_MISSING_TEXT[self.missing], node="vertex" if surface else "voxel",
                          nodes="vertices" if surface else "voxels")
        if self.norm_matched:
            text += _DISCARD_TEXT
        return text

    def _normalization(self) -> str:
        sample, gene = self.sample_norm, self.gene_norm
        # abagen 0.1.3 says nothing when neither normalization is done
        text = ""
        if sample is not None:
            text += _INTER_SUBJECT + _fill(_NORM_TEXT[sample], **_SAMPLE_SLOTS)
        if gene is not None and gene == sample:
            text += ("Gene expression values were then normalized across tissue samples "
                     "using an identical procedure. ")
        elif gene is not None:
            lead = (_INTER_SUBJECT if sample is None else
                    "Inter-subject variation in gene expression was then addressed by ")
            text += lead + _fill(_NORM_TEXT[gene], **_GENE_SLOTS)
        # abagen 0.1.3's sentences, whichever normalizations are done
        if self.norm_matched:
            text += _STRUCTURES_TEXT if self.norm_structures else ""
        else:
            text += _ALL_SAMPLES_STRUCTURES_TEXT if self.norm_structures else _ALL_SAMPLES_TEXT
            if gene is not None:
                text += ("Tissue samples not matched to a brain region were discarded after "
                         "normalization. ")
        return text

    def _aggregation(self) -> str:
        metric = self.agg_metric
        if callable(metric):
            name = getattr(metric, "__name__", type(metric).__name__)
            text = ("Samples assigned to the same brain region were aggregated using the "
                    f"function {name}")
        else:
            text = _AGG_SUBJECT[metric]
        if self.return_donors:
            text += " separately for each donor"
            result = "a regional expression matrix for each donor"
        elif self.region_agg == "donors":
            text += " separately for each donor and then across donors"
            result = "a regional expression matrix"
        elif metric == "median":
            text += " across donors"
            result = "a single regional expression matrix"
        else:
            text += " across donors" if callable(metric) else " across all donors"
            result = "a regional expression matrix"
        shape = ""
        if self.n_genes is not None:
            rows = len(self.counts) if self.counts is not None else self.atlas.n_regions
            shape = (f" with {rows} rows, corresponding to brain regions, and "
                     f"{int(self.n_genes)} columns, corresponding to the retained genes")
        # " \b." (space, backspace, full stop) is abagen 0.1.3's output verbatim
        return f"{text}, yielding {result}{shape} \b."

    def _body(self) -> list[str]:
        paragraphs = [self._intro(), self._probes(), self._samples(),
                      self._normalization() + self._aggregation()]
        if self.synthetic:
            paragraphs.insert(0, _SYNTHETIC_TEXT)
        return paragraphs

    def gen_report(self) -> str:
        """Return the methods text.

        Returns
        -------
        report : str
            Paragraphs separated by blank lines, then ``REFERENCES`` listing
            (sorted by reference text) exactly the works cited in the text;
            ends with a newline.
        """
        body = "\n\n".join(self._body())
        # sorted by the reference text, as abagen 0.1.3 lists them ([F2016P]
        # "Fulcher, B. D., & Fornito" before [F2013J] "Fulcher, B. D., Little")
        keys = sorted(set(re.findall(r"\[([A-Z]\d{4}[A-Z])\]", body)), key=REFERENCES.get)
        refs = "\n".join(f"[{key}]: {REFERENCES[key]}" for key in keys)
        return f"{body}\n\nREFERENCES\n----------\n{refs}\n"


def generate_report(atlas: Any, atlas_info: Any = None, **options: Any) -> str:
    """Methods text for a run of :func:`get_expression_data` (see :class:`Report`).

    Parameters
    ----------
    atlas : niimg-like, tuple of GIFTI, dict or AtlasDescriptor
        The atlas (see :class:`Report`).
    atlas_info : path-like or pandas.DataFrame, optional
        Region table of the atlas.
    **options
        Processing options of :func:`get_expression_data`, with its defaults.

    Returns
    -------
    report : str

    Raises
    ------
    InvalidOptionError
        For invalid option values.
    """
    valid = [p for p in inspect.signature(Report).parameters if p not in ("atlas", "atlas_info")]
    for name in options:
        if name not in valid:
            raise InvalidOptionError("option", name, valid)
    return Report(atlas, atlas_info, **options).gen_report()
