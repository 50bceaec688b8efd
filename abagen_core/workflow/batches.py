"""Batches of the regional stage: which variants one job computes together.

A regional job reads every donor's genes, samples and labels once and
computes all the variants it holds in one process
(:func:`abagen_core.stages.regional.branch_variants`):

- a **named variant** (``variants:`` in the config) is a batch of its own:
  its result folder ``results/<atlas>/<variant>/`` holds the job's outputs,
  and Snakemake deletes a job's outputs before running it, so grouping named
  variants would rewrite the untouched ones when one of them changes;
- the variants of a **sweep** are grouped by branch, i.e. by (atlas, probe
  selection, label set): the keys of the ``probes`` and ``labels`` stages.
  The batch reads the genes of its probe selection *before* sample
  normalization (``sample_norm=None``, one ``donor_genes`` job per probe
  selection) and normalises the samples itself, once for each
  ``sample_norm`` among its variants: one job per distinct set of inputs,
  the variants that share them computed together. A branch writes one
  compact file (every variant's matrix), never a folder per variant.

A sweep batch's identity is a hash over the names, the genes keys and the
regional options of the variants it holds (and of its branch): adding, removing or changing
a variant gives its branch a new identity, hence a new file, and leaves the
other branches' files untouched; a stale file can never be taken for a new
one, whatever Snakemake's rerun triggers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from abagen_core.workflow.plan import Plan

__all__ = ["Batch", "swept_variants", "plan_batches", "batch_id"]


@dataclass(frozen=True)
class Batch:
    """The variants of one atlas that one sweep job computes.

    Attributes
    ----------
    atlas : str
        Atlas name.
    id : str
        10 hex digits (:func:`batch_id`).
    keys : dict of str -> str
        The branch's stage keys (every stage but ``regional``; shared by
        all its variants), ``genes`` being the key of the genes it reads
        (without ``sample_norm``).
    variants : tuple of str
        Names of the variants, in plan order.
    """

    atlas: str
    id: str
    keys: Mapping[str, str]
    variants: tuple[str, ...]


def swept_variants(plan: Plan, config: Mapping[str, Any]) -> list[str]:
    """Variants of the plan that come from the ``sweep`` (and not from ``variants``).

    Parameters
    ----------
    plan : Plan
    config : mapping
        The workflow config (``qc.sweep_figures`` turns swept variants into
        named ones: none is swept then).

    Returns
    -------
    names : list of str
        In plan order.
    """
    if (config.get("qc") or {}).get("sweep_figures"):
        return []
    return list(plan.swept)


def batch_id(keys: Mapping[str, str], variants: Mapping[str, Mapping[str, str]]) -> str:
    """Stable identity of a batch: its branch and its variants' genes and regional keys.

    Parameters
    ----------
    keys : mapping of str -> str
        The branch's stage keys.
    variants : mapping of str -> mapping
        Variant name -> its stage keys (at least ``genes`` and ``regional``).

    Returns
    -------
    id : str
        First 10 hex digits of the SHA-1 of the canonical JSON of the keys and
        of every (name, genes key, regional key).
    """
    payload = {"keys": dict(sorted(keys.items())),
               "variants": sorted((name, vk["genes"], vk["regional"])
                                  for name, vk in variants.items())}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def plan_batches(plan: Plan, swept: list[str]) -> dict[tuple[str, str], Batch]:
    """Group the swept variants of every atlas by branch.

    Parameters
    ----------
    plan : Plan
    swept : list of str
        :func:`swept_variants` output.

    Returns
    -------
    batches : dict of (atlas, id) -> Batch
        In plan order (atlas, then first variant).
    """
    out: dict[tuple[str, str], Batch] = {}
    for atlas in plan.atlases:
        branches: dict[tuple[str, str], list[str]] = {}
        for name in swept:
            keys = plan.keys[atlas, name]
            branches.setdefault((keys["probes"], keys["labels"]), []).append(name)
        for (probes_key, _), names in branches.items():
            keys = {k: v for k, v in plan.keys[atlas, names[0]].items() if k != "regional"}
            keys["genes"] = plan.unnormalized[probes_key]
            ident = batch_id(keys, {n: plan.keys[atlas, n] for n in names})
            out[atlas, ident] = Batch(atlas, ident, keys, tuple(names))
    return out

