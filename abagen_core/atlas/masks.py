"""Masks for sample-level outputs: their AtlasTree, their points, dense maps over them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from abagen_core.atlas import images
from abagen_core.atlas.matching import AtlasTree

__all__ = ["mask_tree", "mask_points", "dense_maps"]


def mask_tree(mask: Any) -> Any:
    """The AtlasTree of a group mask (NIfTI in MNI152, or (lh, rh) GIFTIs on fsaverage5).

    Only non-zero matters in a mask, so a GIFTI pair that uses the same
    value in both hemispheres (a plain binary mask) is accepted: it is
    binarised as 1 (left) and 2 (right), since the matching code needs
    distinct values per hemisphere, as for a parcellation.

    Parameters
    ----------
    mask : niimg-like or (lh, rh) tuple of GIFTI images
        Volume in MNI152 space, or GIFTI images on fsaverage5; non-zero = inside.

    Returns
    -------
    tree : abagen_core.atlas.matching.AtlasTree
    """
    if not isinstance(mask, tuple | list):
        return images.check_atlas(mask)
    if len(mask) != 2:
        raise ValueError(f"A surface mask must be a (lh, rh) pair of GIFTI images; got "
                         f"{len(mask)} item(s).")
    lh, rh = (images.load_gifti(m) for m in mask)
    values = [np.asarray(img.darrays[0].data).reshape(-1) if img.darrays else np.zeros(0)
              for img in (lh, rh)]
    if np.intersect1d(values[0][values[0] != 0], values[1][values[1] != 0]).size:
        import nibabel as nib  # lazy: slow to import

        lh, rh = (nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(
            np.where(v != 0, value, 0).astype(np.int32), intent="NIFTI_INTENT_LABEL",
            datatype="NIFTI_TYPE_INT32")]) for v, value in zip(values, (1, 2), strict=True))
    return images.check_atlas((lh, rh))

def mask_points(mask: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    """The non-zero points of a mask: the mask's space, their indices and MNI coordinates.

    Parameters
    ----------
    mask : niimg-like or (lh, rh) tuple of GIFTI images
        Volume in MNI152 space, or GIFTI images on fsaverage5.

    Returns
    -------
    space : nibabel.Nifti1Image or abagen_core.atlas.matching.AtlasTree
    index : numpy.ndarray of shape (n_points, 3) or (n_points,)
        Voxel indices, or vertex positions in (lh, rh) order.
    points : numpy.ndarray of shape (n_points, 3)
    """
    if isinstance(mask, tuple | list):
        tree = mask_tree(mask)
        inside = np.flatnonzero(np.asarray(tree.atlas) != 0)
        points = np.asarray(tree.coords)  # the labelled vertices, in vertex order
        space, index = tree, inside
    else:
        space = images.check_img(mask)
        index = np.argwhere(np.asanyarray(space.dataobj) != 0)
        points = index @ space.affine[:3, :3].T + space.affine[:3, 3]
    if len(points) == 0:
        raise ValueError("The mask has no non-zero voxel/vertex; nothing to interpolate.")
    return space, index, points

def dense_maps(values: np.ndarray, space: Any, index: np.ndarray, genes: Sequence[str]
               ) -> dict[str, Any]:
    """Per gene, a map in the mask's space that is zero outside the mask.

    Parameters
    ----------
    values : numpy.ndarray of shape (n_points, n_genes)
    space, index
        From :func:`mask_points`.
    genes : sequence of str

    Returns
    -------
    dense : dict of str -> nibabel.Nifti1Image or numpy.ndarray of shape (n_vertices,)
        float64 NIfTI images for volumes; arrays over all (lh, then rh) vertices
        for surfaces.
    """
    import nibabel as nib  # lazy: slow to import


    out = {}
    for j, gene in enumerate(genes):
        if isinstance(space, AtlasTree):
            dense = np.zeros(len(np.asarray(space.atlas)))
            dense[index] = values[:, j]
            out[gene] = dense
        else:
            dense = np.zeros(space.shape[:3])
            dense[tuple(np.asarray(index).T)] = values[:, j]
            out[gene] = nib.Nifti1Image(dense, space.affine)
    return out
