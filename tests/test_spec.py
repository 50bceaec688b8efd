"""abagen_core.atlas.spec: the workflow's atlas specs as AtlasTrees."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from abagen_core.atlas.spec import atlas_regions, load_atlas
from abagen_core.utils import data_path

DK = str(data_path("atlas-desikankilliany.nii.gz"))
DK_INFO = str(data_path("atlas-desikankilliany.csv"))
LH, RH = (str(data_path(f"atlas-desikankilliany-{h}.label.gii.gz")) for h in ("lh", "rh"))


def _native(donor):
    return str(data_path("native_dk", donor, "atlas-desikankilliany.nii.gz"))


@pytest.fixture(scope="module")
def dk_volume():
    return load_atlas({"kind": "volume", "files": [DK], "info": DK_INFO})


def test_volume_from_a_list_or_the_plans_dict(dk_volume):
    regions = atlas_regions(dk_volume)
    assert regions == sorted(regions) and len(regions) == 83 and 0 not in regions
    assert all(type(r) is int for r in regions)
    assert dk_volume.atlas_info is not None
    same = load_atlas({"kind": "volume", "files": {"image": DK}})
    assert atlas_regions(same) == regions and same.atlas_info is None
    np.testing.assert_array_equal(np.asarray(same.atlas), np.asarray(dk_volume.atlas))


def test_surface_from_the_plans_dict():
    tree = load_atlas({"kind": "surface", "files": {"lh": LH, "rh": RH}, "info": DK_INFO})
    assert len(atlas_regions(tree)) == 68  # cortical regions only
    assert tree.volumetric is False


def _n_labelled(path):
    return int(np.count_nonzero(np.asarray(nib.load(path).dataobj)))


def test_native_picks_the_donors_image():
    files = {"12876": _native("12876"), "15496": _native("15496")}
    assert _n_labelled(files["12876"]) != _n_labelled(files["15496"])
    tree = load_atlas({"kind": "native", "files": files}, donor="15496")
    assert np.count_nonzero(np.asarray(tree.atlas)) == _n_labelled(files["15496"])
    first = load_atlas({"kind": "native", "files": files})  # no donor: the first entry
    assert np.count_nonzero(np.asarray(first.atlas)) == _n_labelled(files["12876"])
