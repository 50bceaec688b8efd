"""Quality-control and robustness figures (matplotlib, no pyplot state).

Every function takes DataFrames (and, for brain maps, an
:class:`abagen_core.atlas.matching.AtlasTree`) and returns a
:class:`matplotlib.figure.Figure`. Figures are created without pyplot, so
nothing global is touched; ``fig.savefig(path)`` renders them with the Agg
backend.

- :func:`counts_figure`: samples per region and donor, regions without samples;
- :func:`brain_map_figure`: region values on the atlas: axial and coronal
  slices of a volumetric atlas, or lateral and medial views of a surface
  atlas; drawn with nilearn over its bundled MNI152 template / fsaverage5
  meshes where the atlas is in those spaces, else with matplotlib alone
  (:func:`brain_engine`);
- :func:`donor_agreement_figure`: donor-to-donor agreement of the regional
  matrices;
- :func:`qc_figures`: all of the above for one result (atlas and variant);
  what does not depend on the variant (templates, surface views, an
  atlas' region image) is cached per process, so calling it for each
  variant of an atlas in one job pays for it once;
- :func:`correlation_figure`, :func:`decision_figure`,
  :func:`gene_spread_figure`: the robustness summary of a sweep
  (:func:`abagen_core.outputs.robustness.robustness_summary`).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import textwrap
import warnings
import weakref
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from abagen_core.errors import InvalidOptionError
from abagen_core.outputs.names import describe_regions, region_names
from abagen_core.outputs.robustness import RobustnessSummary, donor_agreement
from abagen_core.utils import data_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "pick_gene",
    "counts_figure",
    "brain_engine",
    "brain_map_figure",
    "donor_agreement_figure",
    "qc_figures",
    "correlation_figure",
    "decision_figure",
    "gene_spread_figure",
    "robustness_figures",
]

#: colour of regions without a value (NaN) in brain maps
NAN_COLOR = "#c8c8c8"
#: colour of regions without any sample in coverage maps and bar charts
EMPTY_COLOR = "#d62728"
#: at most this many tick labels are written on a region axis
_MAX_LABELS = 100
#: ways of drawing brain maps (see :func:`brain_map_figure`)
ENGINES = ("auto", "nilearn", "matplotlib")

log = logging.getLogger(__name__)


@functools.cache
def _mpl() -> SimpleNamespace:
    """The matplotlib names this module draws with, imported at the first figure.

    Jobs that draw no figure (QC off, sweep batches) import this module
    without paying matplotlib's ~0.3 s of import.
    """
    # lazy: matplotlib takes ~0.3 s to import, which jobs without figures skip
    import matplotlib
    from matplotlib.cm import ScalarMappable  # lazy, as above
    from matplotlib.collections import PolyCollection  # lazy, as above
    from matplotlib.colors import ListedColormap, Normalize  # lazy, as above
    from matplotlib.figure import Figure  # lazy, as above
    from matplotlib.transforms import blended_transform_factory  # lazy, as above

    return SimpleNamespace(colormaps=matplotlib.colormaps, ScalarMappable=ScalarMappable,
                           PolyCollection=PolyCollection, ListedColormap=ListedColormap,
                           Normalize=Normalize, Figure=Figure,
                           blended_transform_factory=blended_transform_factory)


def _cmap(name: str, under: str | None = None) -> Any:
    cmap = _mpl().colormaps[name].with_extremes(bad=NAN_COLOR)
    if under is not None:
        cmap = cmap.with_extremes(under=under)
    return cmap


def pick_gene(expression: pd.DataFrame, gene: str | None = None) -> str:
    """The gene to map: `gene` if given, else the most variable one across regions.

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_regions, n_genes)
    gene : str, optional
        Requested gene symbol.

    Returns
    -------
    gene : str
        With `gene` None: the gene with the largest variance across regions
        (NaN regions ignored; ties: first in column order), so the map shows
        contrast.

    Raises
    ------
    ValueError
        If `gene` is not a column of `expression`, or no gene has values.
    """
    if gene is not None:
        if gene not in expression.columns:
            near = [c for c in expression.columns if str(c).upper() == str(gene).upper()]
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ValueError(f"qc.gene: gene {gene!r} is not in the expression matrix{hint}.")
        return gene
    values = expression.to_numpy(dtype=np.float64)
    counts = np.isfinite(values).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN genes
        spread = np.nanvar(np.where(counts >= 2, values, np.nan), axis=0) if values.size \
            else np.array([])
    spread = np.where(np.isfinite(spread), spread, -np.inf)
    if not spread.size or not np.isfinite(spread).any():
        raise ValueError("no gene of the expression matrix has values to map.")
    return str(expression.columns[int(np.argmax(spread))])


# --------------------------------------------------------------------------- counts


def counts_figure(counts: pd.DataFrame, *, title: str | None = None,
                  names: pd.Series | None = None) -> Figure:
    """Samples per region and donor, with the regions that have none.

    Parameters
    ----------
    counts : pandas.DataFrame of shape (n_regions, n_donors)
        Samples matched to each region (rows) in each donor (columns), as in
        a result's ``counts.csv``.
    title : str, optional
    names : pandas.Series, optional
        Region id -> name (:func:`abagen_core.outputs.names.region_names`):
        region tick labels and the list of regions without samples show
        ``id name``.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two panels: a region x donor heatmap of the counts (zero cells
        white), and the total per region as bars; regions without any sample
        are marked in red and listed (with their names) in the panel's title.
    """
    counts = counts.fillna(0)
    values = counts.to_numpy(dtype=np.float64)
    n_regions, n_donors = values.shape
    total = values.sum(axis=1)
    empty = counts.index[total == 0]
    none = np.flatnonzero(total == 0)
    ticks: list[str] = []
    fontsize = max(4, min(8, 600 // max(n_regions, 1)))
    if n_regions <= _MAX_LABELS:
        lookup = {} if names is None else names.to_dict()
        for r in counts.index:
            try:
                name = lookup.get(int(r))
            except (TypeError, ValueError):
                name = None
            ticks.append(f"{r} {name}" if name else str(r))
    # wrap between regions only (non-breaking spaces inside each "id (name)")
    listed = textwrap.fill(", ".join(describe_regions([r], names).replace(" ", "\u00a0")
                                     for r in empty[:12])
                           + (f", ... ({len(empty) - 12} more)" if len(empty) > 12 else ""),
                           width=48).replace("\u00a0", " ")
    bar_title = f"{len(empty)} of {n_regions} regions without samples" \
        + (f":\n{listed}" if len(empty) else "")
    height = min(max(4.0, 0.12 * n_regions + 1.5), 24.0)
    width = 10.0
    fig = _mpl().Figure(figsize=(width, height))
    # fixed margins from the text sizes instead of a layout engine, which measures
    # every tick label several times per draw
    longest = max((len(t) for t in ticks), default=3)
    left = (0.62 * fontsize * longest + 40) / (72 * width)
    donor_chars = max((len(str(c)) for c in counts.columns), default=1)
    bottom = (0.5 * 10 * donor_chars + 36) / (72 * height)
    top_lines = (1 if title else 0) + 1 + bar_title.count("\n")
    top = 1 - (16 * top_lines + 14) / (72 * height)
    fig.subplots_adjust(left=min(left, 0.45), right=0.97, bottom=min(bottom, 0.3),
                        top=max(top, 0.55), wspace=0.45)
    ax_map, ax_bar = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.2, 1]})
    # cap the colours at the 95th percentile: a few regions hold most samples
    vmax = max(float(np.percentile(values, 95)), 1.0) if values.size else 1.0
    im = ax_map.imshow(values, aspect="auto", cmap=_cmap("viridis", under="white"),
                       vmin=0.5, vmax=vmax, interpolation="nearest")
    ax_map.set_xticks(range(n_donors), [str(c) for c in counts.columns], rotation=45,
                      ha="right")
    # axis labels at fixed places near the figure's edges (no measuring of tick labels)
    ax_map.set_xlabel("donor", va="bottom")
    ax_map.xaxis.set_label_coords(0.5, 4 / (72 * height),
                                  transform=_mpl().blended_transform_factory(ax_map.transAxes,
                                                                      fig.transFigure))
    ax_map.set_ylabel("region", va="top")
    ax_map.yaxis.set_label_coords(4 / (72 * width), 0.5,
                                  transform=_mpl().blended_transform_factory(fig.transFigure,
                                                                      ax_map.transAxes))
    # titles at a fixed height: nothing is drawn above the panels
    ax_map.set_title("samples per region and donor (white: none)", y=1.0)
    fig.colorbar(im, ax=ax_map, label="samples", extend="both", shrink=0.6, pad=0.02)
    # the bars share the heatmap's rows (same limits), without a second set of ticks
    ax_bar.barh(np.arange(n_regions), total, color="#4c72b0")
    ax_bar.scatter(np.zeros(len(none)), none, marker="x", color=EMPTY_COLOR, zorder=3,
                   label="no sample")
    if len(none):
        ax_bar.legend(loc="lower right", fontsize=8)
    ax_bar.set_xlabel("samples (all donors)")
    ax_bar.set_yticks([])
    ax_bar.set_title(bar_title, fontsize=9, y=1.0)
    if n_regions <= _MAX_LABELS:
        ax_map.set_yticks(range(n_regions), ticks, fontsize=fontsize)
        labels = ax_map.get_yticklabels()
        for k in none:
            labels[k].set_color(EMPTY_COLOR)
    ax_map.set_ylim(n_regions - 0.5, -0.5)
    ax_bar.set_ylim(n_regions - 0.5, -0.5)
    if title:
        fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------- brain maps


def _region_lut(values: pd.Series, labels: np.ndarray) -> np.ndarray:
    """Value per label id (NaN for labels without a value), indexable by label."""
    top = int(max(labels.max(initial=0), max((int(i) for i in values.index), default=0)))
    lut = np.full(top + 1, np.nan)
    for region, value in values.items():
        if 0 <= int(region) <= top:
            lut[int(region)] = value
    return lut


def _canonical_volume(tree: Any) -> tuple[np.ndarray, np.ndarray]:
    """Label volume reoriented to RAS+ axes and its affine."""
    # lazy: nibabel is slow to import
    from nibabel.orientations import apply_orientation, inv_ornt_aff, io_orientation

    data = np.asarray(tree.atlas)
    ornt = io_orientation(tree.affine)
    canon = apply_orientation(data, ornt)
    affine = tree.affine @ inv_ornt_aff(ornt, data.shape)
    return canon, affine


def _slices(mask: np.ndarray, axis: int, n: int) -> list[int]:
    """`n` slice indices spread over the labelled extent along `axis`."""
    others = tuple(i for i in range(3) if i != axis)
    present = np.flatnonzero(mask.any(axis=others))
    if not present.size:
        return []
    lo, hi = present[0], present[-1]
    return sorted({int(round(lo + f * (hi - lo))) for f in np.linspace(0.2, 0.8, n)})


def _volume_panels(fig: Figure, tree: Any, lut: np.ndarray, cmap: Any, norm: dict,
                   n_slices: int) -> Any:
    data, affine = _atlas_cached(tree, "canonical", lambda: _canonical_volume(tree))
    labelled = data != 0
    image = np.where(labelled, lut[np.clip(data, 0, len(lut) - 1)], np.nan)
    zooms = np.abs(np.diag(affine)[:3])
    origin = affine[:3, 3]
    clear = cmap.with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    grey = _mpl().ListedColormap([NAN_COLOR]).with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    axes = fig.subplots(2, n_slices, squeeze=False)
    mappable = None
    views = (("axial", 2, "z", (0, 1)), ("coronal", 1, "y", (0, 2)))
    for row, (name, axis, coord, (h, v)) in enumerate(views):
        picks = _slices(labelled, axis, n_slices)
        for col in range(n_slices):
            ax = axes[row, col]
            ax.set_axis_off()
            if col >= len(picks):
                continue
            k = picks[col]
            plane = np.take(image, k, axis=axis)
            inside = np.take(labelled, k, axis=axis)
            extent = (origin[h], origin[h] + zooms[h] * (data.shape[h] - 1),
                      origin[v], origin[v] + zooms[v] * (data.shape[v] - 1))
            # grey under every labelled voxel, the values on top; background transparent
            ax.imshow(np.where(inside, 1.0, np.nan).T, origin="lower", extent=extent,
                      cmap=grey, interpolation="nearest")
            mappable = ax.imshow(plane.T, origin="lower", extent=extent, cmap=clear,
                                 interpolation="nearest", **norm)
            mm = origin[axis] + zooms[axis] * k
            ax.set_title(f"{name} {coord} = {mm:.0f} mm", fontsize=9)
            ax.set_aspect("equal")
    return axes, mappable


def _surface_hemispheres(tree: Any, labels: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Whether each labelled vertex is in the left hemisphere.

    From the atlas info's hemisphere of the vertex's region where it says L or
    R, else from the sign of x.
    """
    left = coords[:, 0] < 0
    info = getattr(tree, "atlas_info", None)
    if info is not None and "hemisphere" in info:
        hemi = info["hemisphere"].astype(str)
        side = pd.Series(labels).map(hemi).to_numpy(dtype=object)
        left = np.where(side == "L", True, np.where(side == "R", False, left))
    return left.astype(bool)


def _surface_panels(fig: Figure, tree: Any, lut: np.ndarray, cmap: Any, norm: dict,
                    marker_size: float) -> Any:
    coords = np.asarray(tree.coords, dtype=np.float64)
    atlas = np.asarray(tree.atlas)
    labels = atlas[atlas != 0]
    vals = lut[np.clip(labels, 0, len(lut) - 1)]
    scale = _mpl().Normalize(norm["vmin"], norm["vmax"])
    # one RGBA per vertex (NaN -> grey) so that a single scatter keeps the depth order
    colors = cmap(np.ma.masked_invalid(scale(vals)))
    left = _surface_hemispheres(tree, labels, coords)
    axes = fig.subplots(1, 4, squeeze=False)
    # (title, hemisphere mask, sign of y on the horizontal axis, viewer on the -x side?)
    views = (("left lateral", left, -1, True), ("left medial", left, 1, False),
             ("right medial", ~left, -1, True), ("right lateral", ~left, 1, False))
    for ax, (title, hemi, ysign, from_minus_x) in zip(axes[0], views, strict=True):
        ax.set_axis_off()
        ax.set_title(title, fontsize=9)
        if not hemi.any():
            continue
        xyz, rgba = coords[hemi], colors[hemi]
        # painter's order: farthest from the viewer first
        order = np.argsort(-xyz[:, 0] if from_minus_x else xyz[:, 0], kind="stable")
        ax.scatter(ysign * xyz[order, 1], xyz[order, 2], s=marker_size, c=rgba[order],
                   linewidths=0)
        ax.set_aspect("equal")
    mappable = _mpl().ScalarMappable(norm=scale, cmap=cmap) if np.isfinite(vals).any() else None
    return axes, mappable


# --------------------------------------------------------------------------- nilearn views

#: vertices per hemisphere of fsaverage5
_FSAVERAGE5_VERTICES = 10242
#: approximate bounding box (mm) of the MNI152 brain; a group volume whose
#: labelled voxels reach beyond it (plus the margin) is not drawn on the template
_MNI_BOX = np.array([[-91.0, -126.0, -72.0], [91.0, 91.0, 109.0]])
_MNI_MARGIN = 20.0


@functools.lru_cache(maxsize=1)
def _fsaverage5_faces() -> tuple[np.ndarray, np.ndarray]:
    """Triangles of the bundled fsaverage5 meshes (lh, rh): the identity of the mesh."""
    import nibabel as nib  # lazy: slow to import

    faces = []
    for hemi in ("lh", "rh"):
        img = nib.load(str(data_path(f"fsaverage5-pial-{hemi}.surf.gii.gz")))
        faces.append(np.asarray(img.agg_data("triangle"), dtype=np.int64))
    return faces[0], faces[1]


#: per atlas (AtlasTree) what its maps share, e.g. its region image at 2 mm: kept
#: while the atlas is alive, so that the variants of one atlas drawn in one
#: process compute it once
_ATLAS_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _atlas_cached(atlas_tree: Any, what: str, make: Any) -> Any:
    """``make()``, computed once per atlas object (and its current labels and points)."""
    # the atlas' points can be moved (AtlasTree.coords setter): part of the key
    key = (what, id(atlas_tree.atlas), id(atlas_tree.coords))
    try:
        entries = _ATLAS_CACHE.setdefault(atlas_tree, {})
    except TypeError:                                 # not weakly referable: no cache
        return make()
    if key not in entries:
        entries[key] = make()
    return entries[key]


def _coord_bounds(atlas_tree: Any) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest coordinate of the atlas' points along each axis."""
    def bounds() -> tuple[np.ndarray, np.ndarray]:
        coords = np.asarray(atlas_tree.coords)
        return coords.min(axis=0), coords.max(axis=0)

    return _atlas_cached(atlas_tree, "bounds", bounds)


def _template_space(atlas_tree: Any) -> str | None:
    """'mni152', 'fsaverage5' or None (an atlas nilearn's templates cannot show).

    A group volume whose labelled voxels lie within the MNI152 brain is in
    MNI152 space; a group surface is on fsaverage5 when its triangles are
    those of fsaverage5 (any fsaverage5 geometry: pial, white, inflated).
    Donor-specific (native) atlases and other meshes (fsLR, CIVET, fsnative,
    denser fsaverage) are None.
    """
    if not getattr(atlas_tree, "group_atlas", True):
        return None
    if atlas_tree.volumetric:
        lo, hi = _coord_bounds(atlas_tree)
        inside = (lo >= _MNI_BOX[0] - _MNI_MARGIN).all() and (hi <= _MNI_BOX[1] + _MNI_MARGIN).all()
        return "mni152" if inside else None
    triangles = atlas_tree.triangles
    if triangles is None or len(atlas_tree.atlas) != 2 * _FSAVERAGE5_VERTICES:
        return None
    lh, rh = _fsaverage5_faces()
    if triangles.shape != (len(lh) + len(rh), 3):
        return None
    same = np.array_equal(triangles[:len(lh)], lh) and \
        np.array_equal(triangles[len(lh):], rh + _FSAVERAGE5_VERTICES)
    return "fsaverage5" if same else None


def brain_engine(atlas_tree: Any, engine: str = "auto") -> str:
    """How :func:`brain_map_figure` draws an atlas: 'nilearn' or 'matplotlib'.

    Parameters
    ----------
    atlas_tree : abagen_core.atlas.matching.AtlasTree
    engine : {'auto', 'nilearn', 'matplotlib'}, default='auto'
        'auto': nilearn for group atlases in MNI152 space (volumes) or on
        the fsaverage5 mesh (surfaces), the spaces of nilearn's bundled
        templates, and matplotlib for the others (native, fsLR, CIVET,
        fsnative, ...). 'nilearn' on another atlas raises.

    Returns
    -------
    engine : {'nilearn', 'matplotlib'}

    Raises
    ------
    abagen_core.errors.InvalidOptionError
        If `engine` is unknown (a ValueError).
    ValueError
        If `engine` is 'nilearn' for an atlas outside MNI152 / fsaverage5.
    """
    if engine not in ENGINES:
        raise InvalidOptionError("engine", engine, ENGINES)
    if engine == "matplotlib":
        return engine
    space = _template_space(atlas_tree)
    if space is None:
        if engine == "nilearn":
            raise ValueError("engine='nilearn' draws MNI152 volumes and fsaverage5 surfaces "
                             "only; this atlas is neither (use 'auto' or 'matplotlib').")
        return "matplotlib"
    return "nilearn"


def _region_colors(values: pd.Series, labels: np.ndarray, cmap: Any, norm: dict) -> Any:
    """One colour per atlas label (in `labels` order) as a ListedColormap.

    Regions are drawn as an image of their position in `labels` (1..n), so
    that each gets exactly the colour of its value: missing values in the
    colormap's 'bad' colour, values below vmin in its 'under' colour.
    """
    vals = values.reindex([int(x) for x in labels]).to_numpy(dtype=np.float64)
    scaled = _mpl().Normalize(norm["vmin"], norm["vmax"])(np.ma.masked_invalid(vals))
    return _mpl().ListedColormap(cmap(scaled))


@contextlib.contextmanager
def _frozen_gc() -> Any:
    """Keep the objects that exist now out of garbage collections.

    nilearn calls ``gc.collect()`` each time it reads an image's data (a dozen
    times per map), and each collection walks every object of the process
    (about 0.4 s in a QC job); frozen objects are skipped.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _subsample(data: np.ndarray, affine: np.ndarray, mm: float = 2.0
               ) -> tuple[np.ndarray, np.ndarray]:
    """Every k-th voxel of a RAS+ volume so that voxels are about `mm` wide (nearest)."""
    size = float(np.min(np.abs(np.diag(affine)[:3])))
    step = max(1, int(np.floor(mm / size + 1e-6))) if size > 0 else 1
    if step == 1:
        return data, affine
    scaled = affine.copy()
    scaled[:3, :3] = affine[:3, :3] * step
    return np.ascontiguousarray(data[::step, ::step, ::step]), scaled


@functools.lru_cache(maxsize=1)
def _mni_template() -> Any:
    """The bundled MNI152 template (no download), at about 2 mm (cheap to draw)."""
    import nibabel as nib  # lazy: slow to import
    from nilearn import datasets  # lazy: nilearn costs ~1 s to import

    template = datasets.load_mni152_template()
    data, affine = _subsample(np.asarray(template.dataobj, dtype=np.float32),
                              np.asarray(template.affine, dtype=np.float64))
    return nib.Nifti1Image(data, affine)


def _nilearn_volume(fig: Figure, atlas_tree: Any, colors: Any, n_slices: int) -> list:
    # nilearn (and the scikit-learn it imports) costs about a second to import:
    # imported here so that only jobs drawing brains pay for it
    import nibabel as nib  # lazy: slow to import
    from nilearn import plotting  # lazy: nilearn costs ~1 s to import

    def region_image() -> Any:
        # QC thumbnails: 2 mm voxels are enough, and a 1 mm atlas costs 8 times more
        data, affine = _subsample(*_canonical_volume(atlas_tree))
        labels = np.asarray(atlas_tree.labels)
        index = np.where(data != 0, np.searchsorted(labels, data) + 1, 0).astype(np.int32)
        return nib.Nifti1Image(index, affine)

    # the same for every map of this atlas: made once
    img = _atlas_cached(atlas_tree, "region_image", region_image)
    labels = np.asarray(atlas_tree.labels)
    template = _mni_template()
    lo, hi = _coord_bounds(atlas_tree)
    cuts = {axis: [float(lo[axis] + f * (hi[axis] - lo[axis]))
                   for f in np.linspace(0.2, 0.8, n_slices)] for axis in (1, 2)}
    rows = []
    for (name, mode, axis), bottom in zip((("axial", "z", 2), ("coronal", "y", 1)),
                                          (0.46, 0.0), strict=True):
        ax = fig.add_axes((0.0, bottom, 0.9, 0.42))
        ax.set_title(name, fontsize=10, loc="left")
        plotting.plot_roi(img, bg_img=template, display_mode=mode, cut_coords=cuts[axis],
                          figure=fig, axes=ax, annotate=True, draw_cross=False,
                          black_bg=False, colorbar=False, cmap=colors, vmin=0.5,
                          vmax=len(labels) + 0.5, alpha=1.0,
                          resampling_interpolation="nearest")
        rows.append(ax)
    return rows


@functools.lru_cache(maxsize=2)
def _fsaverage5_inflated(hemi: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices, faces and sulcal depth of nilearn's fsaverage5 inflated `hemi`."""
    from nilearn import datasets  # lazy: nilearn costs ~1 s to import
    from nilearn.surface import load_surf_data, load_surf_mesh  # lazy: as above

    # fsaverage5 ships with nilearn (no download); the inflated mesh shows every parcel
    fsavg = datasets.fetch_surf_fsaverage("fsaverage5")
    mesh = load_surf_mesh(fsavg[f"infl_{hemi}"])
    return (np.asarray(mesh[0]), np.asarray(mesh[1]),
            np.asarray(load_surf_data(fsavg[f"sulc_{hemi}"])))


#: size (inches) of one surface view: the figure is 12 x 3.4 in, the views take
#: 90% of its width and 85% of its height
_SURFACE_PANEL = (12 * 0.9 / 4, 3.4 * 0.85)
#: resolution of the cached surface views (pixels per inch); drawn at 100 dpi they
#: are slightly oversampled
_SURFACE_DPI = 150
_SURFACE_VIEWS = (("left", "lateral"), ("left", "medial"), ("right", "medial"),
                  ("right", "lateral"))


def _nilearn_surface_axes(hemi: str, view: str, roi: np.ndarray, colors: Any, vmax: float
                          ) -> tuple[Figure, Any]:
    """One view by nilearn's ``plot_surf_roi``, in a scratch figure of panel size (not drawn)."""
    # nilearn (and the scikit-learn it imports) costs about a second to import:
    # imported here so that only jobs drawing brains pay for it
    from nilearn import plotting  # lazy: nilearn costs ~1 s to import

    vertices, faces, sulc = _fsaverage5_inflated(hemi)
    fig = _mpl().Figure(figsize=_SURFACE_PANEL, dpi=_SURFACE_DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0), projection="3d")
    plotting.plot_surf_roi([vertices, faces], roi_map=roi, bg_map=sulc, hemi=hemi,
                           view=view, engine="matplotlib", cmap=colors, vmin=0.5, vmax=vmax,
                           colorbar=False, bg_on_data=True, threshold=0.5, axes=ax,
                           figure=fig)
    return fig, ax


@functools.lru_cache(maxsize=4)
def _surface_face_map(hemi: str, view: str) -> np.ndarray:
    """Which face of the inflated fsaverage5 mesh nilearn shows at each pixel of a view.

    nilearn draws a surface view as a 3-D collection of the mesh's 20480
    triangles, depth-sorted and rendered one by one (most of a surface map's
    cost). The view does not depend on the values, so it is rendered once per
    process with each face painted in a colour that encodes its number
    (no antialiasing, edges as nilearn draws them); the pixels read back give
    the face in front, -1 for the background. A map is then that image with
    each face's colour (:func:`_surface_view_image`).
    """
    # lazy: only surface maps render off-screen
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    vertices, faces, _ = _fsaverage5_inflated(hemi)
    fig, ax = _nilearn_surface_axes(hemi, view, np.zeros(len(vertices)),
                                    _mpl().ListedColormap(["k"]), 1.0)
    fig.patch.set_facecolor((0.0, 0.0, 0.0, 1.0))           # code 0: background
    (mesh,) = ax.collections
    codes = np.arange(1, len(faces) + 1)
    rgba = np.column_stack([(codes >> 16) & 255, (codes >> 8) & 255, codes & 255,
                            np.full(len(codes), 255)]) / 255.0
    mesh.set_facecolors(rgba)
    mesh.set_edgecolors(rgba)
    mesh.set_antialiased(False)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3].astype(np.int64)
    face = (pixels[..., 0] << 16) + (pixels[..., 1] << 8) + pixels[..., 2] - 1
    face[(face < 0) | (face >= len(faces))] = -1
    face = face.astype(np.int32)
    face.setflags(write=False)
    return face


def _surface_face_colors(hemi: str, roi: np.ndarray, colors: Any, vmax: float
                         ) -> np.ndarray:
    """The colour nilearn gives each face of the inflated fsaverage5 `hemi` for `roi`.

    ``plot_surf_roi`` over the sulcal depth (:func:`_nilearn_surface_axes`)
    sets them without rendering; they do not depend on the view.
    """
    _, ax = _nilearn_surface_axes(hemi, "lateral", roi, colors, vmax)
    (mesh,) = ax.collections
    # in face order (a 3-D collection's own getter returns them depth-sorted)
    return np.asarray(_mpl().PolyCollection.get_facecolor(mesh), dtype=np.float64)


def _surface_view_image(face_rgba: np.ndarray, hemi: str, view: str) -> np.ndarray:
    """RGBA image of one nilearn view of `hemi` with the faces in `face_rgba`.

    Pixels from :func:`_surface_face_map`; the background is transparent.
    """
    face = _surface_face_map(hemi, view)
    image = np.zeros(face.shape + (4,))
    shown = face >= 0
    image[shown] = face_rgba[face[shown]]
    return image


def _nilearn_surface(fig: Figure, atlas_tree: Any, colors: Any) -> list:
    labels = np.asarray(atlas_tree.labels)
    atlas = np.asarray(atlas_tree.atlas)
    index = np.where(atlas != 0, np.searchsorted(labels, atlas) + 1, 0).astype(np.float64)
    face_colors = {}
    for hemi, part in (("left", index[:_FSAVERAGE5_VERTICES]),
                       ("right", index[_FSAVERAGE5_VERTICES:])):
        face_colors[hemi] = _surface_face_colors(hemi, part, colors, len(labels) + 0.5)
    axes = []
    for k, (hemi, view) in enumerate(_SURFACE_VIEWS):
        ax = fig.add_subplot(1, 4, k + 1)
        ax.imshow(_surface_view_image(face_colors[hemi], hemi, view),
                  extent=(0.0, 1.0, 0.0, 1.0), aspect="auto", interpolation="antialiased")
        ax.set_axis_off()
        ax.set_title(f"{hemi} {view}", fontsize=9)
        axes.append(ax)
    return axes


def _nilearn_panels(atlas_tree: Any, values: pd.Series, cmap: Any, norm: dict,
                    n_slices: int) -> tuple[Figure, list]:
    colors = _region_colors(values, np.asarray(atlas_tree.labels), cmap, norm)
    with _frozen_gc():
        if atlas_tree.volumetric:
            fig = _mpl().Figure(figsize=(2.4 * n_slices + 1.0, 5.4))
            axes = _nilearn_volume(fig, atlas_tree, colors, n_slices)
        else:
            fig = _mpl().Figure(figsize=(12, 3.4))
            fig.subplots_adjust(left=0.0, right=0.9, bottom=0.0, top=0.85, wspace=0.0)
            axes = _nilearn_surface(fig, atlas_tree, colors)
    return fig, axes


def brain_map_figure(values: pd.Series, atlas_tree: Any, *, title: str | None = None,
                     cmap: str = "viridis", label: str = "", vmin: float | None = None,
                     vmax: float | None = None, under_color: str | None = None,
                     n_slices: int = 4, marker_size: float = 8.0,
                     engine: str = "auto") -> Figure:
    """Region values drawn on the atlas.

    Atlases in the spaces of nilearn's bundled templates are drawn with
    nilearn: group volumes in MNI152 space as ROI maps over the MNI152
    template (axial and coronal slices, with L/R marks and slice
    coordinates), group surfaces on the fsaverage5 mesh on its inflated
    surface with sulcal depth (lateral and medial views of both
    hemispheres; nilearn's views, rendered once per process and then
    coloured per map, placed as images of about 150 dpi). Nothing is
    downloaded: both templates ship with nilearn.
    Other atlases (donor-specific native volumes or surfaces, fsLR, CIVET,
    fsnative or denser fsaverage meshes given with ``geometry``/``space``)
    are drawn with matplotlib alone: slices of the volume, or the vertices
    as dots seen from the side (see :func:`brain_engine`).

    Parameters
    ----------
    values : pandas.Series of shape (n_regions,)
        Value per region, indexed by region id; regions without a value
        (missing or NaN) are grey.
    atlas_tree : abagen_core.atlas.matching.AtlasTree
        A volumetric atlas (any orientation; shown in RAS+ with the left
        hemisphere on the left; nilearn draws it at about 2 mm, enough for
        a QC view) or a surface atlas (matplotlib engine: labelled vertices
        drawn as dots, nearest to the viewer on top; hemisphere from the
        atlas info, else from the sign of x).
    title : str, optional
    cmap : str, default='viridis'
    label : str, default=''
        Colour bar label.
    vmin, vmax : float, optional
        Colour limits (default: range of the finite values).
    under_color : str, optional
        Colour of values below `vmin` (coverage maps use it for regions
        without samples).
    n_slices : int, default=4
        Axial and coronal slices of a volumetric atlas (evenly placed over
        the middle 60% of the labelled extent).
    marker_size : float, default=8.0
        Vertex marker size of surface views (matplotlib engine).
    engine : {'auto', 'nilearn', 'matplotlib'}, default='auto'
        See :func:`brain_engine`. With 'auto', a failure of nilearn falls
        back to matplotlib with a warning in the log.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Volumes: two rows (axial, coronal) of `n_slices` panels; surfaces:
        four panels (left lateral, left medial, right medial, right lateral);
        plus a colour bar. ``fig.get_label()`` is ``"brain_map:nilearn"`` or
        ``"brain_map:matplotlib"``, the engine that drew it.
    """
    values = pd.Series(values, dtype=np.float64)
    finite = values[np.isfinite(values.to_numpy())]
    if vmin is None:
        vmin = float(finite.min()) if len(finite) else 0.0
    if vmax is None:
        vmax = float(finite.max()) if len(finite) else 1.0
    if vmax <= vmin:
        vmax = vmin + 1.0
    norm = {"vmin": vmin, "vmax": vmax}
    labels = np.asarray(atlas_tree.labels)
    cm = _cmap(cmap, under=under_color)
    over = bool(len(finite)) and float(finite.max()) > vmax
    extend = {(True, True): "both", (True, False): "min", (False, True): "max",
              (False, False): "neither"}[bool(under_color), over]
    used = brain_engine(atlas_tree, engine)
    if used == "nilearn":
        try:
            fig, axes = _nilearn_panels(atlas_tree, values, cm, norm, n_slices)
        except Exception as exc:  # noqa: BLE001 - any nilearn failure: draw the fallback
            if engine == "nilearn":
                raise
            log.warning("nilearn could not draw the atlas (%s: %s); drawing it with "
                        "matplotlib instead.", type(exc).__name__, exc)
            used = "matplotlib"
        else:
            if len(finite) or under_color:
                cax = fig.add_axes((0.92, 0.15, 0.015, 0.6), label="<colorbar>")
                fig.colorbar(_mpl().ScalarMappable(_mpl().Normalize(vmin, vmax), cm), cax=cax,
                             label=label, extend=extend)
    if used == "matplotlib":
        lut = _region_lut(values, labels)
        if atlas_tree.volumetric:
            fig = _mpl().Figure(figsize=(3 * n_slices + 1.5, 6.8), layout="constrained")
            axes, mappable = _volume_panels(fig, atlas_tree, lut, cm, norm, n_slices)
        else:
            fig = _mpl().Figure(figsize=(14, 4), layout="constrained")
            axes, mappable = _surface_panels(fig, atlas_tree, lut, cm, norm, marker_size)
        if mappable is not None:
            fig.colorbar(mappable, ax=axes.ravel().tolist(), label=label, shrink=0.8,
                         extend=extend)
    fig.set_label(f"brain_map:{used}")
    if title:
        fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------- donors


def _whole_row_frames(per_donor: Mapping[str, pd.DataFrame]
                      ) -> tuple[np.ndarray, np.ndarray, pd.Index] | None:
    """Donor matrices as one (n_donors, n_regions, n_genes) array, or None.

    None unless every donor has the same regions and genes (any order) and
    each region of a donor is either all finite or all NaN (a donor without
    samples in a region), the shape of the regional matrices of a result.
    Also returns the (n_donors, n_regions) mask of finite regions.
    """
    frames = list(per_donor.values())
    if len(frames) < 2:
        return None
    index, genes = frames[0].index, frames[0].columns
    if not (index.is_unique and genes.is_unique):
        return None
    stack, rows = [], []
    for frame in frames:
        if len(frame.index) != len(index) or len(frame.columns) != len(genes):
            return None
        if not (frame.index.equals(index) and frame.columns.equals(genes)):
            if not (frame.index.is_unique and frame.columns.is_unique
                    and index.isin(frame.index).all() and genes.isin(frame.columns).all()):
                return None
            frame = frame.reindex(index=index, columns=genes)
        values = frame.to_numpy(dtype=np.float64)
        finite = np.isfinite(values)
        full, some = finite.all(axis=1), finite.any(axis=1)
        if not np.array_equal(full, some):
            return None
        stack.append(values)
        rows.append(full)
    return np.stack(stack), np.array(rows), genes


def _donor_agreement(per_donor: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`abagen_core.outputs.robustness.donor_agreement`, faster on whole-row NaNs.

    Regional matrices of one result share regions and genes, and a donor's
    missing regions are NaN across every gene: then the common regions of two
    donors are a row subset without NaN, and each pair's gene-wise Pearson r
    takes a few passes over that subset instead of masking every cell. Other
    inputs go to the general function. Same values (to rounding) either way.
    """
    dense = _whole_row_frames(per_donor)
    if dense is None:
        return donor_agreement(per_donor)
    values, rows, genes = dense
    donors = list(per_donor)
    n_genes = values.shape[2]
    pairs = np.eye(len(donors))
    total = np.zeros(n_genes)
    count = np.zeros(n_genes)
    for i in range(len(donors)):
        for j in range(i + 1, len(donors)):
            common = rows[i] & rows[j]
            n = int(common.sum())
            r = np.full(n_genes, np.nan)
            if n >= 2:
                a, b = values[i][common], values[j][common]
                flat = np.zeros(n_genes, dtype=bool)
                centred = []
                for x in (a, b):
                    # constant profiles (deviations at rounding level) have no r
                    dx = x - x.sum(axis=0) / n
                    ss = np.einsum("ij,ij->j", dx, dx)
                    scale = np.abs(x).max(axis=0)
                    flat |= ss <= n * (1e-12 * np.maximum(scale, 1e-300)) ** 2
                    centred.append((dx, ss))
                (da, ssa), (db, ssb) = centred
                with np.errstate(invalid="ignore", divide="ignore"):
                    r = np.einsum("ij,ij->j", da, db) / np.sqrt(ssa * ssb)
                r = np.clip(np.where(flat, np.nan, r), -1.0, 1.0)
            fin = np.isfinite(r)
            pairs[i, j] = pairs[j, i] = float(np.median(r[fin])) if fin.any() else np.nan
            total += np.where(fin, r, 0.0)
            count += fin
    names = pd.Index(donors, name="donor")
    with np.errstate(invalid="ignore", divide="ignore"):
        stability = pd.Series(np.where(count > 0, total / np.maximum(count, 1), np.nan),
                              index=pd.Index(genes, name="gene_symbol"), name="stability")
    return pd.DataFrame(pairs, index=names, columns=names.copy()), stability


def donor_agreement_figure(per_donor: Mapping[str, pd.DataFrame], *,
                           title: str | None = None) -> Figure:
    """Donor-to-donor agreement of the regional expression matrices.

    Parameters
    ----------
    per_donor : mapping of str -> pandas.DataFrame of shape (n_regions, n_genes)
        Each donor's region x gene matrix.
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two panels: the donor x donor matrix of median gene-wise correlations
        (annotated), and the histogram of each gene's mean correlation over
        donor pairs (differential stability). See
        :func:`abagen_core.outputs.robustness.donor_agreement`.
    """
    pairs, stability = _donor_agreement(per_donor)
    n = len(pairs)
    fig = _mpl().Figure(figsize=(11, 4.8))
    # fixed margins (no layout engine measuring every text at each draw): room for
    # the donor ids on the left and below, the titles above
    chars = max((len(str(d)) for d in pairs.index), default=1)
    fig.subplots_adjust(left=(7 * chars + 20) / (72 * 11), right=0.98,
                        bottom=(5 * chars + 40) / (72 * 4.8),
                        top=0.84 if title else 0.9, wspace=0.3)
    ax_mat, ax_hist = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
    im = ax_mat.imshow(pairs.to_numpy(dtype=np.float64), cmap=_cmap("RdBu_r"), vmin=-1,
                       vmax=1, interpolation="nearest")
    for i in range(n):
        for j in range(n):
            val = pairs.iat[i, j]
            ax_mat.text(j, i, "-" if not np.isfinite(val) else f"{val:.2f}", ha="center",
                        va="center", fontsize=8)
    ax_mat.set_xticks(range(n), [str(d) for d in pairs.columns], rotation=45, ha="right")
    ax_mat.set_yticks(range(n), [str(d) for d in pairs.index])
    ax_mat.set_title("median gene-wise r between donors", y=1.0)
    fig.colorbar(im, ax=ax_mat, shrink=0.8, label="r")
    ds = stability.to_numpy(dtype=np.float64)
    ds = ds[np.isfinite(ds)]
    if ds.size:
        ax_hist.hist(ds, bins=min(50, max(10, ds.size // 20)), range=(-1, 1),
                     color="#4c72b0")
        ax_hist.axvline(float(np.median(ds)), color="k", linestyle="--",
                        label=f"median {np.median(ds):.2f}")
        ax_hist.legend(loc="upper left")
    else:
        ax_hist.text(0.5, 0.5, "fewer than two donors with shared regions", ha="center",
                     va="center", transform=ax_hist.transAxes)
    ax_hist.set_xlabel("mean r over donor pairs (differential stability)")
    ax_hist.set_ylabel("genes")
    ax_hist.set_title(f"{ds.size} genes", y=1.0)
    if title:
        fig.suptitle(title)
    return fig


def qc_figures(expression: pd.DataFrame, counts: pd.DataFrame,
               per_donor: Mapping[str, pd.DataFrame], atlas_tree: Any, *,
               gene: str | None = None, name: str = "",
               engine: str = "auto") -> dict[str, Figure]:
    """The quality-control figures of one result (atlas and variant).

    Parameters
    ----------
    expression : pandas.DataFrame of shape (n_regions, n_genes)
        The result's region x gene matrix.
    counts : pandas.DataFrame of shape (n_regions, n_donors)
        Samples per region and donor.
    per_donor : mapping of str -> pandas.DataFrame of shape (n_regions, n_genes)
        Donor-level matrices.
    atlas_tree : abagen_core.atlas.matching.AtlasTree
    gene : str, optional
        Gene for the expression map (default, and when `gene` is not in
        `expression`: :func:`pick_gene`, with a note in the title).
    name : str, default=''
        Prefix of the figure titles (e.g. ``"dk / default"``).
    engine : {'auto', 'nilearn', 'matplotlib'}, default='auto'
        How the two brain maps are drawn (:func:`brain_map_figure`): nilearn
        views for MNI152 volumes and fsaverage5 surfaces, matplotlib for
        other atlases.

    Returns
    -------
    figures : dict of str -> matplotlib.figure.Figure
        ``counts`` (:func:`counts_figure`, regions named from the atlas
        info), ``coverage_map`` (samples per region on the atlas, regions
        without samples in red), ``gene_map`` (the gene's expression on the
        atlas) and ``donor_agreement`` (:func:`donor_agreement_figure`).

    Notes
    -----
    Regions of the atlas without any sample are logged (a warning naming
    each region by id and, where the atlas info has one, by name).

    Meant to be called once per variant on what a job holds in memory: what
    does not depend on the variant is computed once per process and reused
    (the MNI152 template, nilearn's fsaverage5 views, and per atlas object
    its region image and extent), so a further variant of the same atlas
    costs only its own values. Render with ``fig.savefig`` (Agg); figures
    are not registered with pyplot and are freed when dropped.
    """
    prefix = f"{name}: " if name else ""
    note = ""
    if gene is not None and gene not in expression.columns:
        # a gene filtered out of this variant (e.g. by ibf_threshold) is no reason to fail
        note = f" ({gene} is not in this matrix)"
        gene = None
    try:
        gene = pick_gene(expression, gene)
        gene_values = expression[gene]
    except ValueError:
        gene, gene_values = "no gene", pd.Series(np.nan, index=expression.index)
    names = region_names(atlas_tree)
    total = counts.fillna(0).sum(axis=1).astype(np.float64)
    total = total.reindex([int(x) for x in atlas_tree.labels], fill_value=0.0)
    empty = [int(r) for r in total.index[total.to_numpy() == 0]]
    if empty:
        log.warning("%sno samples in %d of %d regions: %s", prefix, len(empty), len(total),
                    describe_regions(empty, names))
    # a few regions (brainstem) hold hundreds of samples: cap the scale at the 95th
    # percentile so the others stay distinguishable
    nonzero = total[total > 0]
    top = float(np.percentile(nonzero, 95)) if len(nonzero) else 1.0
    return {
        "counts": counts_figure(counts, title=f"{prefix}samples per region", names=names),
        "coverage_map": brain_map_figure(
            total, atlas_tree, title=f"{prefix}samples per region (red: none)",
            label="samples (all donors)", vmin=0.5, vmax=max(top, 1.0),
            under_color=EMPTY_COLOR, cmap="viridis", engine=engine),
        "gene_map": brain_map_figure(
            gene_values, atlas_tree,
            title=f"{prefix}expression of {gene}{note} (grey: no value)",
            label=f"{gene} expression", cmap="magma", engine=engine),
        "donor_agreement": donor_agreement_figure(
            per_donor, title=f"{prefix}donor-to-donor agreement"),
    }


# --------------------------------------------------------------------------- robustness


def _variant_axis(ax: Any, names: Sequence[str]) -> None:
    if len(names) <= 40:
        ax.set_yticks(range(len(names)), list(names), fontsize=7)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(names)} variants (sorted)")


def correlation_figure(variants: pd.DataFrame, *, reference: str,
                       title: str | None = None) -> Figure:
    """Each variant's agreement with the reference, region-wise and gene-wise.

    Parameters
    ----------
    variants : pandas.DataFrame of shape (n_variants, n_columns)
        ``RobustnessSummary.variants`` (columns ``regionwise_r_median``,
        ``genewise_r_median``, ...).
    reference : str
        Reference variant (left out of the plot).
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two panels: the median region-wise and gene-wise r of every variant
        (sorted by gene-wise r), and the histograms of both.
    """
    table = variants.drop(index=[reference], errors="ignore")
    table = table.sort_values("genewise_r_median", na_position="first", kind="stable")
    n = len(table)
    fig = _mpl().Figure(figsize=(11, min(max(4.0, 0.16 * n + 1.5), 12.0)), layout="constrained")
    ax_dot, ax_hist = fig.subplots(1, 2)
    y = np.arange(n)
    for col, color, lab in (("regionwise_r_median", "#dd8452", "region-wise"),
                            ("genewise_r_median", "#4c72b0", "gene-wise")):
        vals = table[col].to_numpy(dtype=np.float64)
        ax_dot.scatter(vals, y, s=12 if n <= 200 else 4, color=color, label=lab)
        fin = vals[np.isfinite(vals)]
        if fin.size:
            ax_hist.hist(fin, bins=min(40, max(5, fin.size // 3)), alpha=0.6, color=color,
                         label=lab)
    _variant_axis(ax_dot, [str(v) for v in table.index])
    ax_dot.set_xlabel(f"median r with {reference!r}")
    ax_dot.set_title("agreement with the reference, per variant")
    ax_dot.legend(loc="lower left", fontsize=8)
    ax_hist.set_xlabel(f"median r with {reference!r}")
    ax_hist.set_ylabel("variants")
    ax_hist.set_title(f"{n} variants")
    ax_hist.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def decision_figure(decisions: pd.DataFrame, decision_values: pd.DataFrame, *,
                    title: str | None = None) -> Figure:
    """Which decision points move the results most.

    Parameters
    ----------
    decisions : pandas.DataFrame
        By option (``RobustnessSummary.decisions``): ``eta_squared``, ``range``.
    decision_values : pandas.DataFrame
        By value (``RobustnessSummary.decision_values``): ``option``, ``value``,
        ``mean``, ``n_variants``.
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two panels: the share of the variance of the dissimilarity to the
        reference explained by each option (eta squared), and the mean
        dissimilarity (1 - median gene-wise r) of each option value.
    """
    options = list(decisions.index)
    n = max(len(options), 1)
    fig = _mpl().Figure(figsize=(12, min(max(3.0, 0.6 * n + 1.5), 12.0)), layout="constrained")
    ax_eta, ax_val = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(options))
    if options:
        eta = decisions["eta_squared"].to_numpy(dtype=np.float64)
        ax_eta.barh(y, np.nan_to_num(eta), color="#4c72b0")
        for yi, e in zip(y, eta, strict=True):
            ax_eta.text(np.nan_to_num(e), yi, f" {e:.2f}" if np.isfinite(e) else " n/a",
                        va="center", fontsize=8)
        ax_eta.set_yticks(y, options)
        ax_eta.set_ylim(len(options) - 0.5, -0.5)
        for yi, option in zip(y, options, strict=True):
            rows = decision_values[decision_values["option"] == option]
            ax_val.scatter(rows["mean"], np.full(len(rows), yi), s=30, color="#dd8452")
            for _, row in rows.iterrows():
                ax_val.annotate(f"{row['value']} ({row['n_variants']})", (row["mean"], yi),
                                xytext=(0, 6), textcoords="offset points", fontsize=7,
                                ha="center", rotation=30)
    else:
        ax_eta.text(0.5, 0.5, "no option varies between the variants", ha="center",
                    va="center", transform=ax_eta.transAxes)
    ax_eta.set_xlim(0, 1.1)
    ax_eta.set_xlabel("variance of the dissimilarity explained (eta squared)")
    ax_eta.set_title("decision points, most influential first")
    ax_val.set_xlabel("mean dissimilarity to the reference (1 - median gene-wise r)")
    ax_val.set_title("by option value (variants)")
    if title:
        fig.suptitle(title)
    return fig


def gene_spread_figure(genes: pd.DataFrame, *, top: int = 20,
                       title: str | None = None) -> Figure:
    """How much genes' regional profiles move across variants.

    Parameters
    ----------
    genes : pandas.DataFrame of shape (n_genes, n_columns)
        ``RobustnessSummary.genes`` (column ``spread``).
    top : int, default=20
        Genes named in the right panel.
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        Two panels: the histogram of the spread of all genes, and the `top`
        genes with the largest spread.
    """
    spread = genes["spread"].astype(np.float64)
    finite = spread[np.isfinite(spread.to_numpy())]
    fig = _mpl().Figure(figsize=(11, 4.8), layout="constrained")
    ax_hist, ax_top = fig.subplots(1, 2)
    if len(finite):
        ax_hist.hist(finite.to_numpy(), bins=50, color="#4c72b0")
        ax_hist.axvline(float(finite.median()), color="k", linestyle="--",
                        label=f"median {finite.median():.3f}")
        ax_hist.legend()
        best = finite.sort_values(ascending=False).head(top)
        ax_top.barh(np.arange(len(best)), best.to_numpy(), color="#dd8452")
        ax_top.set_yticks(np.arange(len(best)), [str(g) for g in best.index], fontsize=7)
        ax_top.set_ylim(len(best) - 0.5, -0.5)
    ax_hist.set_xlabel("spread across variants (mean SD of z-scored profile)")
    ax_hist.set_ylabel("genes")
    ax_hist.set_title(f"{len(finite)} genes")
    ax_top.set_xlabel("spread")
    ax_top.set_title(f"{min(top, len(finite))} least robust genes")
    if title:
        fig.suptitle(title)
    return fig


def robustness_figures(summary: RobustnessSummary, *, name: str = "") -> dict[str, Figure]:
    """The figures of a robustness summary.

    Parameters
    ----------
    summary : abagen_core.outputs.robustness.RobustnessSummary
    name : str, default=''
        Prefix of the figure titles (e.g. the atlas name).

    Returns
    -------
    figures : dict of str -> matplotlib.figure.Figure
        ``correlations`` (:func:`correlation_figure`), ``decisions``
        (:func:`decision_figure`) and ``gene_spread`` (:func:`gene_spread_figure`).
    """
    prefix = f"{name}: " if name else ""
    return {
        "correlations": correlation_figure(
            summary.variants, reference=summary.reference,
            title=f"{prefix}agreement of every variant with {summary.reference!r}"),
        "decisions": decision_figure(summary.decisions, summary.decision_values,
                                     title=f"{prefix}decision points"),
        "gene_spread": gene_spread_figure(summary.genes,
                                          title=f"{prefix}gene profiles across variants"),
    }
