"""abagen_core.outputs.qc: quality-control and robustness figures."""

from __future__ import annotations

import matplotlib
import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from abagen_core.atlas.matching import AtlasTree
from abagen_core.atlas.spec import load_atlas
from abagen_core.outputs import qc
from abagen_core.outputs import robustness as rb


def _panels(fig: Figure) -> list:
    """Axes that are not colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _colorbars(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def _volume_atlas(affine=None) -> AtlasTree:
    """A 12^3 volume with three box-shaped regions (1, 2, 3)."""
    data = np.zeros((12, 12, 12), dtype=np.int32)
    data[2:6, 2:10, 2:10] = 1
    data[6:10, 2:10, 2:6] = 2
    data[6:10, 2:10, 6:10] = 3
    if affine is None:
        affine = np.diag([2.0, 2.0, 2.0, 1.0])
        affine[:3, 3] = -12
    return AtlasTree(nib.Nifti1Image(data, affine))


def _surface_atlas() -> AtlasTree:
    """Two hemispheres of 50 vertices each: x < 0 left (labels 1, 2), x > 0 right (3)."""
    rng = np.random.default_rng(0)
    left = rng.normal(size=(50, 3)) + [-30, 0, 0]
    right = rng.normal(size=(50, 3)) + [30, 0, 0]
    labels = np.r_[np.where(np.arange(50) < 25, 1, 2), np.full(50, 3)]
    labels[:5] = 0                                     # medial wall
    return AtlasTree(labels, np.vstack([left, right]))


def test_counts_figure_marks_regions_without_samples():
    counts = pd.DataFrame({"9861": [3, 0, 0, 5], "10021": [1, 0, 2, 0]},
                          index=pd.Index([1, 2, 3, 4], name="label"))
    fig = qc.counts_figure(counts, title="dk")
    heat, bars = _panels(fig)
    assert len(_colorbars(fig)) == 1
    image = heat.get_images()[0].get_array()
    np.testing.assert_array_equal(np.asarray(image), counts.to_numpy())
    assert len(bars.patches) == 4
    assert [p.get_width() for p in bars.patches] == [4, 0, 2, 5]
    assert bars.get_title().startswith("1 of 4 regions without samples")
    assert "2" in bars.get_title().splitlines()[-1]
    empty_marks = [c for c in bars.collections if isinstance(c, PathCollection)]
    assert empty_marks[0].get_offsets().tolist() == [[0.0, 1.0]]
    assert fig._suptitle.get_text() == "dk"


def test_volume_brain_map_panels_and_values():
    tree = _volume_atlas()
    values = pd.Series({1: 0.25, 2: 0.75})               # region 3 has no value
    # a 24 mm toy volume inside the MNI box: nilearn would draw it; test the fallback
    fig = qc.brain_map_figure(values, tree, label="x", n_slices=4, engine="matplotlib")
    assert fig.get_label() == "brain_map:matplotlib"
    panels = _panels(fig)
    assert len(panels) == 8 and len(_colorbars(fig)) == 1
    titles = [ax.get_title() for ax in panels]
    assert sum(t.startswith("axial") for t in titles) == 4
    assert sum(t.startswith("coronal") for t in titles) == 4
    shown = set()
    for ax in panels:
        grey, vals = ax.get_images()
        arr = np.ma.filled(vals.get_array().astype(float), np.nan)
        shown |= set(np.unique(arr[np.isfinite(arr)]).tolist())
        # the grey layer covers every labelled voxel of the slice, values a subset
        assert np.isfinite(np.ma.filled(grey.get_array().astype(float), np.nan)).sum() >= \
            np.isfinite(arr).sum()
    assert shown == {0.25, 0.75}


def test_volume_brain_map_is_orientation_independent():
    tree = _volume_atlas()
    flipped_affine = np.diag([-2.0, 2.0, 2.0, 1.0])
    flipped_affine[:3, 3] = [10, -12, -12]
    data = np.asarray(tree.atlas)[::-1].astype(np.int32)
    flipped = AtlasTree(nib.Nifti1Image(data, flipped_affine))
    values = pd.Series({1: 1.0, 2: 2.0, 3: 3.0})
    a = qc.brain_map_figure(values, tree, engine="matplotlib")
    b = qc.brain_map_figure(values, flipped, engine="matplotlib")
    for pa, pb in zip(_panels(a), _panels(b), strict=True):
        assert pa.get_title() == pb.get_title()
        np.testing.assert_array_equal(np.ma.filled(pa.get_images()[1].get_array(), -1),
                                      np.ma.filled(pb.get_images()[1].get_array(), -1))


def test_surface_brain_map_views_and_depth_order():
    tree = _surface_atlas()
    values = pd.Series({1: 1.0, 2: 2.0, 3: 3.0})
    fig = qc.brain_map_figure(values, tree)
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == ["left lateral", "left medial",
                                                 "right medial", "right lateral"]
    assert len(_colorbars(fig)) == 1
    coords = tree.coords
    for ax, n in zip(panels, (45, 45, 50, 50), strict=True):
        (dots,) = ax.collections
        assert len(dots.get_offsets()) == n
    # left lateral: seen from -x, so the last dot drawn is the left vertex with smallest x
    (dots,) = panels[0].collections
    left = coords[coords[:, 0] < 0]
    nearest = left[np.argmin(left[:, 0])]
    np.testing.assert_allclose(dots.get_offsets()[-1], [-nearest[1], nearest[2]])
    # right lateral: seen from +x; anterior (y) to the right
    (dots,) = panels[3].collections
    right = coords[coords[:, 0] > 0]
    nearest = right[np.argmax(right[:, 0])]
    np.testing.assert_allclose(dots.get_offsets()[-1], [nearest[1], nearest[2]])


def test_surface_brain_map_missing_values_are_grey():
    tree = _surface_atlas()
    fig = qc.brain_map_figure(pd.Series({1: 1.0, 2: 2.0}), tree)   # region 3: no value
    (dots,) = _panels(fig)[3].collections
    grey = matplotlib.colors.to_rgba(qc.NAN_COLOR)
    np.testing.assert_allclose(dots.get_facecolors(), np.tile(grey, (50, 1)))


def test_bundled_surface_atlas_map():
    from abagen_core.workflow.plan import build_plan

    spec = build_plan({"atlases": {"s": {"builtin": "dk-surface"}}}).atlases["s"]
    tree = load_atlas({"kind": spec.kind, "files": spec.files, "info": spec.info})
    values = pd.Series(np.arange(len(tree.labels), dtype=float), index=tree.labels)
    fig = qc.brain_map_figure(values, tree, engine="matplotlib")   # fsaverage5: the fallback
    sizes = [len(ax.collections[0].get_offsets()) for ax in _panels(fig)]
    # both views of a hemisphere show all its labelled vertices; hemispheres from atlas_info
    assert sizes[0] == sizes[1] and sizes[2] == sizes[3]
    assert sizes[0] + sizes[2] == len(tree.coords)


def test_pick_gene():
    expr = pd.DataFrame({"A": [1.0, 1.1, 0.9], "B": [0.0, 5.0, np.nan], "C": [np.nan] * 3})
    assert qc.pick_gene(expr) == "B"
    assert qc.pick_gene(expr, "A") == "A"
    with pytest.raises(ValueError, match="did you mean 'A'"):
        qc.pick_gene(expr, "a")
    with pytest.raises(ValueError, match="no gene"):
        qc.pick_gene(expr[["C"]])


def _per_donor(seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(3, 20))
    cols = pd.Index([f"G{i}" for i in range(20)], name="gene_symbol")
    index = pd.Index([1, 2, 3], name="label")
    return {d: pd.DataFrame(base + 0.1 * rng.normal(size=base.shape), index=index,
                            columns=cols) for d in ("9861", "10021", "12876")}


def test_donor_agreement_figure():
    per_donor = _per_donor()
    fig = qc.donor_agreement_figure(per_donor)
    mat, hist = _panels(fig)
    assert len(mat.texts) == 9 and mat.texts[0].get_text() == "1.00"
    pairs, _ = rb.donor_agreement(per_donor)
    np.testing.assert_allclose(mat.get_images()[0].get_array(), pairs.to_numpy())
    assert len(hist.patches) > 0 and hist.get_title() == "20 genes"


def test_qc_figures_and_files_written(tmp_path):
    per_donor = _per_donor()
    expr = sum(per_donor.values()) / 3
    counts = pd.DataFrame({"9861": [2, 0, 1], "10021": [1, 0, 0], "12876": [0, 0, 4]},
                          index=pd.Index([1, 2, 3], name="label"))
    tree = _volume_atlas()
    figures = qc.qc_figures(expr, counts, per_donor, tree, gene="G3", name="toy / default",
                            engine="matplotlib")
    assert list(figures) == ["counts", "coverage_map", "gene_map", "donor_agreement"]
    assert "G3" in figures["gene_map"]._suptitle.get_text()
    assert figures["counts"]._suptitle.get_text().startswith("toy / default")
    # coverage: region 2 has no sample and is drawn below the colour range (red)
    cov = _panels(figures["coverage_map"])
    arr = np.concatenate([np.ma.filled(ax.get_images()[1].get_array().astype(float),
                                       np.nan).ravel() for ax in cov])
    assert 0.0 in arr and figures["coverage_map"].axes[-1].get_label() == "<colorbar>"
    for name, fig in figures.items():
        path = tmp_path / f"{name}.png"
        fig.savefig(path, dpi=40)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_robustness_figures(tmp_path):
    rng = np.random.default_rng(0)
    ref = pd.DataFrame(rng.normal(size=(6, 15)), columns=[f"G{i}" for i in range(15)])
    matrices = {"default": ref, "a": ref * 2, "b": ref.iloc[::-1].set_axis(ref.index),
                "c": ref + 0.3 * rng.normal(size=ref.shape)}
    options = {"default": {"x": 1, "y": "p"}, "a": {"x": 2, "y": "p"},
               "b": {"x": 1, "y": "q"}, "c": {"x": 2, "y": "q"}}
    summary = rb.robustness_summary(matrices, options, reference="default")
    figures = qc.robustness_figures(summary, name="dk")
    assert list(figures) == ["correlations", "decisions", "gene_spread"]
    dots, hist = _panels(figures["correlations"])
    assert [t.get_text() for t in dots.get_yticklabels()] == list(
        summary.variants.drop(index="default").sort_values("genewise_r_median").index)
    eta, values = _panels(figures["decisions"])
    assert [t.get_text() for t in eta.get_yticklabels()] == list(summary.decisions.index)
    assert len(eta.patches) == 2
    assert len(values.texts) == len(summary.decision_values)
    _, top = _panels(figures["gene_spread"])
    assert [t.get_text() for t in top.get_yticklabels()][0] == summary.genes.index[0]
    for name, fig in figures.items():
        fig.savefig(tmp_path / f"{name}.png", dpi=40)
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_no_pyplot_state():
    import sys

    qc.counts_figure(pd.DataFrame({"1": [1, 2]}, index=[1, 2]))
    # figures are made without pyplot, so nothing accumulates between calls
    assert "matplotlib.pyplot" not in sys.modules or not sys.modules[
        "matplotlib.pyplot"].get_fignums()


def test_qc_figures_gene_not_in_matrix_falls_back():
    per_donor = _per_donor()
    expr = sum(per_donor.values()) / 3
    counts = pd.DataFrame({"9861": [1, 1, 1]}, index=pd.Index([1, 2, 3], name="label"))
    figures = qc.qc_figures(expr, counts, per_donor, _volume_atlas(), gene="PVALB")
    title = figures["gene_map"]._suptitle.get_text()
    assert "PVALB is not in this matrix" in title
    assert qc.pick_gene(expr) in title


# --------------------------------------------------------------------------- nilearn views


def _builtin(kind, donor=None):
    from abagen_core.workflow.plan import build_plan

    spec = build_plan({"atlases": {"a": {"builtin": kind}}}).atlases["a"]
    return load_atlas({"kind": spec.kind, "files": spec.files, "info": spec.info}, donor)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No network, and empty nilearn data folders that must stay empty."""
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network access in a QC test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    data = tmp_path / "nilearn_data"
    data.mkdir()
    monkeypatch.setenv("NILEARN_DATA", str(data))
    monkeypatch.setenv("NILEARN_SHARED_DATA", str(data))
    yield data
    assert list(data.iterdir()) == []                 # nothing was downloaded


def _overlay_colormaps(fig):
    """The per-region colormaps handed to nilearn (one colour per atlas label)."""
    from matplotlib.colors import ListedColormap

    found = [im.get_cmap() for ax in fig.axes for im in ax.get_images()]
    found += [c.get_cmap() for ax in fig.axes for c in ax.collections
              if c.get_array() is not None]
    return [c for c in found if isinstance(c, ListedColormap)]


def test_brain_engine_choice():
    vol, surf, native = _builtin("dk-volume"), _builtin("dk-surface"), \
        _builtin("dk-native", "9861")
    assert qc.brain_engine(vol) == "nilearn"
    assert qc.brain_engine(surf) == "nilearn"
    assert qc.brain_engine(native) == "matplotlib"             # donor space
    assert qc.brain_engine(_surface_atlas()) == "matplotlib"   # no fsaverage5 mesh
    far = np.diag([2.0, 2.0, 2.0, 1.0])
    far[:3, 3] = 400                                           # not in MNI152 space
    assert qc.brain_engine(_volume_atlas(far)) == "matplotlib"
    # the same vertex count with another mesh is not fsaverage5
    shuffled = AtlasTree(surf.atlas, _all_coords(surf), triangles=surf.triangles[:, ::-1],
                         atlas_info=surf.atlas_info)
    assert qc.brain_engine(shuffled) == "matplotlib"
    assert qc.brain_engine(vol, "matplotlib") == "matplotlib"
    with pytest.raises(ValueError, match="MNI152 volumes and fsaverage5"):
        qc.brain_engine(native, "nilearn")
    with pytest.raises(ValueError, match="engine"):
        qc.brain_engine(vol, "plotly")


def _all_coords(tree):
    """One coordinate per vertex (labelled or not) of a surface tree."""
    coords = np.zeros((len(tree.atlas), 3))
    coords[tree.atlas != 0] = tree.coords
    return coords


def test_nilearn_volume_map_offline(offline, tmp_path):
    tree = _builtin("dk-volume")
    values = pd.Series(np.linspace(1, 10, len(tree.labels)), index=tree.labels)
    values[5] = np.nan                                    # grey
    values[73] = 0.0                                      # below vmin: red
    fig = qc.brain_map_figure(values, tree, label="samples", vmin=0.5,
                              under_color=qc.EMPTY_COLOR)
    assert fig.get_label() == "brain_map:nilearn"
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {"L", "R"} <= texts                            # annotate=True
    assert any(t.startswith("z=") for t in texts) and any(t.startswith("y=") for t in texts)
    cmaps = [c for c in _overlay_colormaps(fig) if c.N == len(tree.labels)]
    assert len(cmaps) == 8                                # one per slice
    colors = cmaps[0](np.arange(cmaps[0].N))
    for other in cmaps[1:]:
        np.testing.assert_array_equal(other(np.arange(other.N)), colors)
    pos = {int(r): i for i, r in enumerate(tree.labels)}
    np.testing.assert_allclose(colors[pos[5]], matplotlib.colors.to_rgba(qc.NAN_COLOR))
    np.testing.assert_allclose(colors[pos[73]], matplotlib.colors.to_rgba(qc.EMPTY_COLOR))
    # the template is drawn under the regions: an image with many grey levels
    assert any(len(np.unique(np.ma.compressed(im.get_array()))) > 50
               for ax in fig.axes for im in ax.get_images())
    fig.savefig(tmp_path / "map.png", dpi=40)
    assert (tmp_path / "map.png").stat().st_size > 1000
    import matplotlib.pyplot as plt

    assert not plt.get_fignums()                          # nilearn drew into our Figure


def test_nilearn_surface_map_offline(offline, tmp_path):
    from matplotlib.collections import PolyCollection

    tree = _builtin("dk-surface")
    values = pd.Series(np.arange(len(tree.labels), dtype=float), index=tree.labels)
    fig = qc.brain_map_figure(values, tree)
    assert fig.get_label() == "brain_map:nilearn"
    views = _panels(fig)
    assert [ax.get_title() for ax in views] == ["left lateral", "left medial",
                                                "right medial", "right lateral"]
    assert len(_colorbars(fig)) == 1
    labels = np.asarray(tree.labels)
    index = np.where(tree.atlas != 0, np.searchsorted(labels, tree.atlas) + 1, 0)
    colors = qc._region_colors(values, labels, qc._cmap("viridis"),
                               {"vmin": values.min(), "vmax": values.max()})
    seen = {"left": set(), "right": set()}
    for ax, (hemi, view) in zip(views, qc._SURFACE_VIEWS, strict=True):
        (image,) = ax.get_images()
        shown = np.asarray(image.get_array())
        # nilearn's own drawing of the view, every face in its colour
        part = index[:10242] if hemi == "left" else index[10242:]
        _, ax3d = qc._nilearn_surface_axes(hemi, view, part.astype(float), colors,
                                           len(labels) + 0.5)
        (mesh,) = ax3d.collections
        face_rgba = np.asarray(PolyCollection.get_facecolor(mesh))
        assert len(face_rgba) == 20480                   # the fsaverage5 mesh, every face
        face = qc._surface_face_map(hemi, view)
        np.testing.assert_allclose(shown[face >= 0], face_rgba[face[face >= 0]])
        assert (shown[face < 0, 3] == 0).all()           # transparent background
        vertices, faces, _ = qc._fsaverage5_inflated(hemi)
        visible = np.unique(face[face >= 0])
        seen[hemi] |= set(visible.tolist())
        # the faces in front: a lateral view shows the outer side of the hemisphere
        x = vertices[faces, 0].mean(axis=1)
        hidden = np.setdiff1d(np.arange(len(faces)), visible)
        outward = -1 if (hemi == "left") == (view == "lateral") else 1
        assert outward * (x[visible].mean() - x[hidden].mean()) > 5
    # lateral and medial views together show most of each hemisphere
    assert min(len(v) for v in seen.values()) > 0.7 * 20480
    fig.savefig(tmp_path / "surf.png", dpi=40)
    assert (tmp_path / "surf.png").stat().st_size > 1000


def test_surface_views_are_rendered_once_per_process(offline):
    tree = _builtin("dk-surface")
    values = pd.Series(np.arange(len(tree.labels), dtype=float), index=tree.labels)
    qc.brain_map_figure(values, tree)
    before = qc._surface_face_map.cache_info()
    qc.brain_map_figure(values[::-1].set_axis(values.index), tree, cmap="magma")
    after = qc._surface_face_map.cache_info()
    assert after.misses == before.misses and after.hits == before.hits + 4


def test_volume_atlas_prepared_once_per_atlas(offline, monkeypatch):
    tree = _builtin("dk-volume")
    calls = []
    original = qc._canonical_volume

    def counting(atlas_tree):
        calls.append(atlas_tree)
        return original(atlas_tree)

    monkeypatch.setattr(qc, "_canonical_volume", counting)
    values = pd.Series(np.linspace(1, 10, len(tree.labels)), index=tree.labels)
    first = qc.brain_map_figure(values, tree)
    second = qc.brain_map_figure(values * 2, tree, cmap="magma")
    assert first.get_label() == second.get_label() == "brain_map:nilearn"
    assert len(calls) == 1                            # the second map reuses the region image
    other = _builtin("dk-volume")                     # another atlas object: its own entry
    qc.brain_map_figure(values, other)
    assert len(calls) == 2


def test_donor_agreement_fast_path_matches_general():
    rng = np.random.default_rng(3)
    regions = pd.Index(range(1, 9), name="label")
    genes = pd.Index([f"G{i}" for i in range(40)], name="gene_symbol")
    per_donor = {}
    for k, donor in enumerate(("9861", "10021", "12876", "14380")):
        frame = pd.DataFrame(rng.normal(size=(8, 40)), index=regions, columns=genes)
        frame["G5"] = 1.0                             # constant: no correlation
        frame.iloc[k] = np.nan                        # a region without this donor's samples
        per_donor[donor] = frame
    per_donor["14380"] = per_donor["14380"].iloc[::-1, ::-1]       # other order
    per_donor["10021"].iloc[:7] = np.nan              # fewer than two common regions
    fast = qc._donor_agreement(per_donor)
    assert qc._whole_row_frames(per_donor) is not None
    general = rb.donor_agreement(per_donor)
    pd.testing.assert_frame_equal(fast[0], general[0], rtol=1e-12)
    pd.testing.assert_series_equal(fast[1], general[1], rtol=1e-12)
    # scattered NaN: the general function
    per_donor["9861"].iloc[3, 2] = np.nan
    assert qc._whole_row_frames(per_donor) is None
    pd.testing.assert_frame_equal(qc._donor_agreement(per_donor)[0],
                                  rb.donor_agreement(per_donor)[0])


def _atlas_data(tree, empty=()):
    rng = np.random.default_rng(1)
    regions = pd.Index([int(r) for r in tree.labels], name="label")
    cols = [f"G{i}" for i in range(10)]
    per_donor = {d: pd.DataFrame(rng.normal(size=(len(regions), 10)), index=regions,
                                 columns=cols) for d in ("9861", "10021")}
    counts = pd.DataFrame(rng.integers(1, 5, size=(len(regions), 2)), index=regions,
                          columns=list(per_donor))
    counts.loc[list(empty)] = 0
    return sum(per_donor.values()) / 2, counts, per_donor


@pytest.mark.parametrize("kind, engine", [("dk-volume", "nilearn"),
                                          ("dk-surface", "nilearn"),
                                          ("dk-native", "matplotlib")])
def test_qc_figures_atlases_and_empty_regions_named(kind, engine, offline, tmp_path,
                                                    caplog):
    tree = _builtin(kind, "9861" if kind == "dk-native" else None)
    expr, counts, per_donor = _atlas_data(tree, empty=(2, 73))
    with caplog.at_level("WARNING", logger="abagen_core.outputs.qc"):
        figures = qc.qc_figures(expr, counts, per_donor, tree, name=kind)
    assert figures["coverage_map"].get_label() == f"brain_map:{engine}"
    assert figures["gene_map"].get_label() == f"brain_map:{engine}"
    (record,) = [r for r in caplog.records if "no samples" in r.getMessage()]
    assert "2 (left caudalanteriorcingulate), 73 (right temporalpole)" in record.getMessage()
    heat, bars = _panels(figures["counts"])
    ticks = [t.get_text() for t in heat.get_yticklabels()]
    assert "73 right temporalpole" in ticks
    assert "73 (right temporalpole)" in bars.get_title()
    for name, fig in figures.items():
        fig.savefig(tmp_path / f"{name}.png", dpi=30)
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_nilearn_failure_falls_back(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(qc, "_nilearn_panels", broken)
    tree = _volume_atlas()
    with caplog.at_level("WARNING", logger="abagen_core.outputs.qc"):
        fig = qc.brain_map_figure(pd.Series({1: 1.0, 2: 2.0, 3: 3.0}), tree)
    assert fig.get_label() == "brain_map:matplotlib"
    assert "RuntimeError: boom" in caplog.text
    with pytest.raises(RuntimeError):
        qc.brain_map_figure(pd.Series({1: 1.0}), tree, engine="nilearn")


def test_region_names():
    from abagen_core.outputs.names import describe_regions, region_names

    tree = _builtin("dk-surface")
    names = region_names(tree)
    assert names[73] == "right temporalpole" and names[1] == "left bankssts"
    assert len(names) == len(tree.atlas_info)
    assert region_names(None).empty and region_names(_volume_atlas()).empty
    info = pd.DataFrame({"id": [1, 2, 3], "name": ["a", None, "c"]})
    assert region_names(info).to_dict() == {1: "a", 3: "c"}          # no hemisphere column
    assert region_names(pd.DataFrame({"id": [1], "structure": ["cortex"]})).empty
    assert describe_regions([1, 2, 3, 4], region_names(info), limit=3) == \
        "1 (a), 2, 3 (c), ... (1 more)"
