"""Region names for figures and messages, from an atlas's region table.

- :func:`region_names`: region id -> readable name (``"right temporalpole"``);
- :func:`describe_regions`: ``"73 (right temporalpole), 83 (brainstem)"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

__all__ = ["region_names", "describe_regions"]

#: words put before a region's label for its ``hemisphere`` code
_HEMISPHERE_WORDS = {"L": "left", "R": "right"}


def region_names(atlas: Any) -> pd.Series:
    """Region id -> readable name, from an atlas's region table.

    Parameters
    ----------
    atlas : abagen_core.atlas.matching.AtlasTree, pandas.DataFrame or None
        An atlas (its ``atlas_info`` is used) or a region table indexed by
        region id (or with an ``id`` column), with a ``label`` (or ``name``)
        column and optionally ``hemisphere`` (L, R or B).

    Returns
    -------
    names : pandas.Series of shape (n_named_regions,)
        Names (str) indexed by region id (int), e.g. ``"right temporalpole"``
        for a region labelled ``temporalpole`` in hemisphere R; B (both) and
        other hemisphere codes add no word. Empty when there is no table or
        it has no label column; regions without a label are left out.

    Examples
    --------
    >>> info = pd.DataFrame({"id": [73, 83], "label": ["temporalpole", "brainstem"],
    ...                      "hemisphere": ["R", "B"]})
    >>> region_names(info).to_dict()
    {73: 'right temporalpole', 83: 'brainstem'}
    >>> region_names(None).empty
    True
    """
    info = atlas if isinstance(atlas, pd.DataFrame) or atlas is None \
        else getattr(atlas, "atlas_info", None)
    empty = pd.Series([], index=pd.Index([], dtype="int64", name="id"), dtype=object,
                      name="name")
    if info is None or len(info) == 0:
        return empty
    if "id" in info.columns:
        info = info.set_index("id")
    column = next((c for c in ("label", "name") if c in info.columns), None)
    if column is None:
        return empty
    labels = info[column]
    keep = labels.notna() & (labels.astype(str).str.strip() != "")
    labels = labels[keep].astype(str).str.strip()
    if "hemisphere" in info.columns:
        hemi = info.loc[keep, "hemisphere"].astype(str).str.upper().map(_HEMISPHERE_WORDS)
        labels = (hemi.fillna("") + " " + labels).str.strip()
    try:
        ids = pd.Index([int(i) for i in labels.index], dtype="int64", name="id")
    except (TypeError, ValueError):
        return empty
    return pd.Series(labels.to_numpy(dtype=object), index=ids, name="name")


def describe_regions(regions: Iterable[Any], names: pd.Series | None = None, *,
                     limit: int | None = None) -> str:
    """Region ids with their names: ``"73 (right temporalpole), 83 (brainstem)"``.

    Parameters
    ----------
    regions : iterable of int
        Region ids, in the order to list them.
    names : pandas.Series, optional
        Region id -> name (:func:`region_names`); ids without a name are
        listed alone.
    limit : int, optional
        List at most this many, then ``"... (N more)"``.

    Returns
    -------
    text : str

    Examples
    --------
    >>> describe_regions([73, 99], pd.Series({73: "right temporalpole"}))
    '73 (right temporalpole), 99'
    """
    regions = list(regions)
    shown = regions if limit is None else regions[:limit]
    lookup = {} if names is None else names.to_dict()
    parts = []
    for region in shown:
        try:
            name = lookup.get(int(region))
        except (TypeError, ValueError):
            name = lookup.get(region)
        parts.append(f"{region} ({name})" if name else str(region))
    text = ", ".join(parts)
    if len(shown) < len(regions):
        text += f", ... ({len(regions) - len(shown)} more)"
    return text
