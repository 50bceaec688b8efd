"""Atlases described by the workflow's plan (file paths, kind, space) as AtlasTrees."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from abagen_core.atlas import images

__all__ = ["load_atlas", "atlas_regions"]


def load_atlas(spec: Mapping[str, Any], donor: str | None = None) -> Any:
    """Build the AtlasTree of a workflow atlas spec for one donor.

    Parameters
    ----------
    spec : mapping
        ``kind`` ('volume', 'surface', 'native'), ``files`` (list of the
        donor's image paths, or a dict as in the plan), ``info``,
        ``geometry``, ``space``.
    donor : str, optional
        Needed for native atlases given as a dict.
    """
    files = spec["files"]
    if isinstance(files, Mapping):
        if spec["kind"] == "volume":
            files = [files["image"]]
        elif spec["kind"] == "surface":
            files = [files["lh"], files["rh"]]
        else:
            files = [files[donor if donor is not None else next(iter(files))]]
    image = files[0] if len(files) == 1 else tuple(files)
    geometry = tuple(spec["geometry"]) if spec.get("geometry") else None
    kwargs = {}
    if spec["kind"] == "native":
        kwargs["donor"] = donor
    return images.check_atlas(image, spec.get("info"), geometry=geometry,
                              space=spec.get("space"), **kwargs)

def atlas_regions(tree: Any) -> list[int]:
    """Region ids of an atlas (sorted, background excluded).

    Parameters
    ----------
    tree : abagen_core.atlas.matching.AtlasTree
        The loaded atlas.

    Returns
    -------
    regions : list of int
        Its labels as Python integers.
    """
    return [int(x) for x in tree.labels]
