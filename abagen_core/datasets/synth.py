"""Deterministic synthetic datasets in the on-disk format of the AHBA download.

The generator writes a folder laid out like the Allen Human Brain Atlas
download (``microarray/normalized_microarray_donor<ID>/``, optionally
``rnaseq/rnaseq_donor<ID>/`` and ``mri/mri_donor<ID>/``) that the loaders of
this package read exactly like the real data. It is used for the demo, the
tests and full-scale benchmarks.

What is real and what is made up:

- Samples are the real 3,702 AHBA tissue samples: real ``well_id``, donor
  membership, structure annotation and (corrected) MNI coordinates, read from
  the bundled ``synth_samples.csv.gz``, ``synth_ontology.csv.gz`` and
  ``corrected_mni_coordinates.csv.gz``.
- Probes mix real probe names and genes from the bundled reannotation table
  with made-up probes (extra probes of real genes, probes of made-up genes,
  non-RefSeq probes without an Entrez id). ``Probes.csv`` carries an
  "original" annotation that differs from the reannotation for some probes,
  as the real file does.
- Intensities are synthetic: every gene has a smooth spatial pattern (a
  function of the corrected MNI coordinates plus structure-class offsets),
  donors add offsets, probes are reliable, attenuated, noisy, low-intensity or
  cross-hybridising, and PACall is 1 with a probability that rises with the
  intensity.

Every value is a deterministic function of ``seed``, the donor and the
probe block, so the output is byte-identical between runs whatever
``n_jobs``. ``synth_manifest.json`` at the root records ``"synthetic": true``
with the parameters and counts; :func:`is_synthetic` reads it.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import logging
import math
import multiprocessing as mp
import os
import re
import shutil
import sys
import time
import zipfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from abagen_core._version import __version__
from abagen_core.datasets import layout
from abagen_core.donors import DONORS, RNASEQ_DONORS, check_donors
from abagen_core.utils import check_choice, data_path

__all__ = [
    "MICROARRAY_FILES",
    "N_PROBES_REAL",
    "N_SAMPLES",
    "PRECISIONS",
    "RNASEQ_DONORS",
    "RNASEQ_FILES",
    "build_reference_tables",
    "generate_dataset",
    "is_synthetic",
    "main",
    "make_donor_zip",
    "write_mri",
]

logger = logging.getLogger(__name__)

#: number of probes in the real AHBA ``Probes.csv``
N_PROBES_REAL = 58_692
#: number of microarray samples per donor
N_SAMPLES: dict[str, int] = {
    "9861": 946,
    "10021": 893,
    "12876": 363,
    "14380": 529,
    "15496": 470,
    "15697": 501,
}
#: allowed values of `precision`
PRECISIONS: tuple[str, ...] = ("short", "full")
#: members of a donor's microarray folder (and of the Allen zip), in zip order
MICROARRAY_FILES: tuple[str, ...] = tuple(layout.MICROARRAY_FILES.values())
#: members of a donor's RNA-seq folder (and of the Allen zip), in zip order
RNASEQ_FILES: tuple[str, ...] = tuple(layout.RNASEQ_FILES.values())

MANIFEST = "synth_manifest.json"
SAMPLES_TABLE = "synth_samples.csv.gz"
ONTOLOGY_TABLE = "synth_ontology.csv.gz"

_SAMPLE_COLUMNS = (
    "structure_id",
    "slab_num",
    "well_id",
    "slab_type",
    "structure_acronym",
    "structure_name",
    "polygon_id",
    "mri_voxel_x",
    "mri_voxel_y",
    "mri_voxel_z",
    "mni_x",
    "mni_y",
    "mni_z",
)
_QUOTED_SAMPLE_COLUMNS = frozenset({"structure_acronym", "structure_name"})
_PROBES_HEADER = "probe_id,probe_name,gene_id,gene_symbol,gene_name,entrez_id,chromosome"
_GENES_COLUMNS = (
    "gene_symbol",
    "gene_id",
    "entrez_id",
    "chromosome",
    "strand",
    "number_of_transcripts",
    "median_transcriptome_length",
    "median_genome_length",
    "median_number_of_exons",
    "median_gene_start",
    "median_gene_end",
)
_RNA_SAMPLE_COLUMNS = (
    "RNAseq_sample_name",
    "replicate_sample",
    "sample_name",
    "well_id",
    "microarray_run_id",
    "ontology_color",
    "main_structure",
    "sub_structure",
    "ontology_structure_id",
    "ontology_structure_acronym",
    "hemisphere",
    "brain",
    "million_clusters",
    "clip_percentage",
    "RIN_RNA_quality",
    "rnaseq_run_id",
    "A.Pct",
    "C.Pct",
    "G.Pct",
    "T.Pct",
    "N.Pct",
)
#: order in which donors appear in the corrected-coordinates table
_COORD_ORDER = ("14380", "9861", "15697", "12876", "10021", "15496")

# Probes per block. Each block draws from its own random stream keyed on
# (seed, donor, block), so changing this value changes the output bytes.
_BLOCK = 2048
_N_RNASEQ_SAMPLES = 121
_MIN_PROBES = 10
_MAX_PROBES = 1_000_000

# structure classes of the expression model (ontology sub-trees, by id)
_CLASSES = ("cortex", "subcortex", "brainstem", "cerebellum", "wm", "other")
_CLASS_RULES = (  # first match wins
    ("wm", ("9218",)),
    ("subcortex", ("4249", "4275", "4391")),  # hippocampal formation, nuclei, diencephalon
    ("cortex", ("4008",)),
    ("cerebellum", ("4696",)),
    ("brainstem", ("9001", "9131", "9512")),  # midbrain, pons, medulla
)
# spread of the class offsets of a gene (cortex is the reference)
_CLASS_SD = np.array([0.0, 0.45, 0.6, 1.0, 0.7, 0.4])

# probe behaviours: how a probe relates to the gene it is meant to measure
_PTYPES = ("good", "atten", "noise", "low", "cross")
_PTYPE_P = np.array([0.53, 0.23, 0.14, 0.05, 0.05])

# PACall: present when intensity + N(0, _PA_SD) exceeds a probe's threshold
_PA_CENTER = 4.45
_PA_SD = 0.6

# random-stream salts
_S_PROBES, _S_GENES, _S_BASIS, _S_DONOR, _S_BLOCK, _S_RNA, _S_RNA_DONOR = range(1, 8)

# spatial basis: linear gradients + Gaussian bumps
_N_BUMPS = 10


def _rng(seed: int, *keys: int) -> np.random.Generator:
    """Independent random stream for (seed, keys...)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, keys)]))


# --------------------------------------------------------------------------
# bundled reference tables
# --------------------------------------------------------------------------


def _gzip_bytes(raw: bytes) -> bytes:
    """Deterministic gzip (no name, mtime 0)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    return buf.getvalue()


def build_reference_tables(
    source: str | os.PathLike, out_dir: str | os.PathLike | None = None
) -> dict[str, Path]:
    """Derive the bundled sample and ontology tables from an AHBA-format folder.

    One-off maintenance step: it produced ``abagen_core/data/synth_samples.csv.gz``
    and ``synth_ontology.csv.gz`` from the parity dataset (whose samples are
    the real AHBA samples). The generator only reads the bundled tables.

    Parameters
    ----------
    source : path-like
        Folder holding ``microarray/normalized_microarray_donor<ID>/`` for all
        six donors (e.g. ``../shared/parity/data``).
    out_dir : path-like, optional
        Where to write the tables. Default: the package data folder.

    Returns
    -------
    paths : dict
        ``{'samples': Path, 'ontology': Path}``.

    Raises
    ------
    ValueError
        If the samples do not match the bundled corrected coordinates (well_ids
        in the same order, donor blocks of the expected sizes) or the donors'
        Ontology.csv files differ.
    """
    source = Path(source)
    out = Path(out_dir) if out_dir is not None else data_path("donor_info.csv").parent
    coords = pd.read_csv(data_path("corrected_mni_coordinates.csv.gz"))
    blocks = _coord_blocks(coords)
    rows: list[list[str]] = []
    ontology: bytes | None = None
    for donor in DONORS:
        folder = layout.donor_folder(source, "microarray", donor)
        with open(folder / "SampleAnnot.csv", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            if tuple(header) != _SAMPLE_COLUMNS:
                raise ValueError(f"Unexpected SampleAnnot.csv header in {folder}: {header}")
            donor_rows = [[donor, *r] for r in reader]
        wells = np.array([int(r[3]) for r in donor_rows])
        if not np.array_equal(wells, blocks[donor]):
            raise ValueError(
                f"Samples of donor {donor} in {folder} differ from the bundled "
                "corrected coordinates (well_id or order)."
            )
        rows.extend(donor_rows)
        onto = (folder / "Ontology.csv").read_bytes()
        if ontology is None:
            ontology = onto
        elif onto != ontology:
            raise ValueError(f"Ontology.csv of donor {donor} differs from donor 9861's.")
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["donor", *_SAMPLE_COLUMNS])
    writer.writerows(rows)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"samples": out / SAMPLES_TABLE, "ontology": out / ONTOLOGY_TABLE}
    paths["samples"].write_bytes(_gzip_bytes(text.getvalue().encode()))
    assert ontology is not None
    paths["ontology"].write_bytes(_gzip_bytes(ontology))
    return paths


def _coord_blocks(coords: pd.DataFrame) -> dict[str, np.ndarray]:
    """Split the corrected-coordinate well_ids into the six donor blocks."""
    blocks: dict[str, np.ndarray] = {}
    start = 0
    wells = coords["well_id"].to_numpy(dtype=np.int64)
    for donor in _COORD_ORDER:
        stop = start + N_SAMPLES[donor]
        blocks[donor] = wells[start:stop]
        start = stop
    if start != len(wells):
        raise ValueError(f"corrected coordinates hold {len(wells)} rows, expected {start}")
    return blocks


@dataclass
class _Reference:
    """Per-sample reference information for all donors."""

    samples: pd.DataFrame  # string columns of SampleAnnot.csv + donor
    coords: np.ndarray  # (n_samples, 3) corrected MNI
    classes: np.ndarray  # (n_samples,) int index into _CLASSES
    hemisphere: np.ndarray  # (n_samples,) ontology hemisphere 'L'/'R'/''
    color: np.ndarray  # (n_samples,) ontology colour
    ontology_csv: bytes


def _load_reference() -> _Reference:
    samples = pd.read_csv(data_path(SAMPLES_TABLE), dtype=str, keep_default_na=False)
    ontology_csv = gzip.decompress(data_path(ONTOLOGY_TABLE).read_bytes())
    onto = pd.read_csv(io.BytesIO(ontology_csv), dtype=str, keep_default_na=False)
    coords = pd.read_csv(data_path("corrected_mni_coordinates.csv.gz"))
    blocks = _coord_blocks(coords)
    for donor in DONORS:
        wells = samples.loc[samples["donor"] == donor, "well_id"].astype(np.int64).to_numpy()
        if not np.array_equal(wells, blocks[donor]):
            raise ValueError(f"bundled {SAMPLES_TABLE} does not match the corrected coordinates")
    xyz = coords.set_index("well_id").loc[
        samples["well_id"].astype(np.int64),
        ["corrected_mni_x", "corrected_mni_y", "corrected_mni_z"],
    ]
    paths = dict(zip(onto["id"], onto["structure_id_path"], strict=True))
    hemi = dict(zip(onto["id"], onto["hemisphere"], strict=True))
    colour = dict(zip(onto["id"], onto["color_hex_triplet"], strict=True))
    sid = samples["structure_id"].tolist()
    return _Reference(
        samples=samples,
        coords=xyz.to_numpy(dtype=np.float64),
        classes=np.array([_CLASSES.index(_structure_class(paths[s])) for s in sid], np.int8),
        hemisphere=np.array([hemi[s] for s in sid], dtype=object),
        color=np.array([colour[s] for s in sid], dtype=object),
        ontology_csv=ontology_csv,
    )


def _structure_class(path: str) -> str:
    """Broad class of an ontology structure from its ``structure_id_path``."""
    nodes = set(path.strip("/").split("/"))
    for name, ids in _CLASS_RULES:
        if nodes.intersection(ids):
            return name
    return "other"


def _sample_annot_csv(samples: pd.DataFrame) -> bytes:
    """SampleAnnot.csv bytes (acronym and name quoted, as in the download)."""
    cols = []
    for col in _SAMPLE_COLUMNS:
        values = samples[col].astype(str)
        if col in _QUOTED_SAMPLE_COLUMNS:
            values = '"' + values.str.replace('"', '""', regex=False) + '"'
        cols.append(values.tolist())
    lines = [",".join(_SAMPLE_COLUMNS)]
    lines.extend(",".join(fields) for fields in zip(*cols, strict=True))
    return ("\n".join(lines) + "\n").encode()


# --------------------------------------------------------------------------
# the expression model
# --------------------------------------------------------------------------


@dataclass
class _Model:
    """Everything needed to write any donor; arrays in Probes.csv row order."""

    seed: int
    probes_csv: bytes
    probe_id: np.ndarray  # (n_probes,) int64, 7 digits
    gene: np.ndarray  # (n_probes,) true gene index (0 where gain is 0)
    gain: np.ndarray  # (n_probes,)
    cross: np.ndarray  # (n_probes,) second gene index
    cross_gain: np.ndarray  # (n_probes,)
    mu: np.ndarray  # (n_probes,) baseline log2 intensity
    noise_sd: np.ndarray  # (n_probes,)
    pa_thr: np.ndarray  # (n_probes,) PACall threshold
    load: np.ndarray  # (n_genes, n_features) spatial + class loadings
    delta: np.ndarray  # (n_genes, 6) donor x gene offsets
    gene_mu: np.ndarray  # (n_genes,)
    gene_symbol: np.ndarray  # (n_genes,) object
    gene_entrez: np.ndarray  # (n_genes,) float (nan = none)
    gene_new: np.ndarray  # (n_genes,) bool, made-up gene
    centers: np.ndarray  # (n_bumps, 3)
    widths: np.ndarray  # (n_bumps,)
    feat_mean: np.ndarray  # (n_basis,)
    feat_sd: np.ndarray  # (n_basis,)
    donor_shift: np.ndarray  # (6,)
    stats: dict = field(default_factory=dict)


def _basis(coords: np.ndarray, centers: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Unscaled smooth spatial functions of MNI coordinates.

    Returns
    -------
    basis : numpy.ndarray of shape (n_basis, n_samples)
        Mostly symmetric in x: gradients of |x|, y, z, one signed-x term and
        Gaussian bumps on (|x|, y, z).
    """
    ax = np.abs(coords[:, 0])
    sym = np.column_stack([ax, coords[:, 1], coords[:, 2]])
    d2 = ((sym[None, :, :] - centers[:, None, :]) ** 2).sum(-1)
    bumps = np.exp(-0.5 * d2 / widths[:, None] ** 2)
    return np.vstack([sym.T, coords[:, 0][None, :], bumps])


def _features(model: _Model, coords: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Standardised basis stacked on class indicators, shape (n_features, n_samples)."""
    basis = (
        _basis(coords, model.centers, model.widths) - model.feat_mean[:, None]
    ) / model.feat_sd[:, None]
    onehot = (classes[None, :] == np.arange(len(_CLASSES))[:, None]).astype(np.float64)
    return np.vstack([basis, onehot])


def _fake_probe_names(n: int, rng: np.random.Generator, taken: set[str]) -> list[str]:
    """Unique made-up Agilent-style probe names not in `taken`."""
    out: list[str] = []
    seen = set(taken)
    suffixes = ("PI416261804", "PI416379584", "PI416408490")
    while len(out) < n:
        m = 2 * (n - len(out)) + 16
        kind = rng.integers(0, 4, m)
        num = rng.integers(100, 999_999, m)
        cust = rng.integers(1, 20_000, m)
        suf = rng.integers(0, 3, m)
        for k, a, c, s in zip(kind, num, cust, suf, strict=True):
            if k == 0:
                name = f"A_23_P{a}"
            elif k == 1:
                name = f"A_24_P{a}"
            elif k == 2:
                name = f"A_32_P{a}"
            else:
                name = f"CUST_{c}_{suffixes[s]}"
            if name not in seen:
                seen.add(name)
                out.append(name)
                if len(out) == n:
                    break
    return out


def _build_model(n_probes: int, seed: int, ref: _Reference) -> _Model:
    """Probe table, gene patterns and probe behaviours for one dataset."""
    rng = _rng(seed, _S_PROBES)
    reann = pd.read_csv(data_path("reannotated.csv.gz"))
    n_re = len(reann)
    n_real = min(n_re, round(n_probes * n_re / N_PROBES_REAL))

    # real probes: whole genes in random order, so most genes keep several probes
    codes, _ = pd.factorize(reann["gene_symbol"], sort=True)
    gene_rank = rng.permutation(codes.max() + 1)
    take = np.lexsort((rng.random(n_re), gene_rank[codes]))[:n_real]
    real = reann.iloc[np.sort(take)].reset_index(drop=True)

    # the "original" (Allen) annotation of real probes
    agree = reann[reann["compare"] == 1].drop_duplicates("entrez_id")
    sym_of = dict(zip(agree["entrez_id"].astype(np.int64), agree["gene_symbol"], strict=True))
    allen = real["allen_entrez_id"]
    differs = (real["compare"].isin([0, 3]) & allen.notna()).to_numpy()
    orig_sym = real["gene_symbol"].astype(object).to_numpy().copy()
    orig_entrez = real["entrez_id"].to_numpy(dtype=np.float64).copy()
    for i in np.flatnonzero(differs):
        e = int(allen.iat[i])
        orig_sym[i] = sym_of.get(e, f"LOC{e}")
        orig_entrez[i] = e
    nonref = allen.isna().to_numpy()  # no Allen gene: a non-RefSeq probe
    orig_sym[nonref] = None
    orig_entrez[nonref] = np.nan

    # made-up probes
    n_fake = n_probes - n_real
    n_nonref = round(0.35 * n_fake)
    n_new = round(0.25 * n_fake) if n_real else n_fake - n_nonref
    n_extra = n_fake - n_nonref - n_new
    names = _fake_probe_names(n_fake, rng, set(reann["probe_name"]))
    real_syms = np.unique(real["gene_symbol"].to_numpy(dtype=object).astype(str))
    n_new_genes = math.ceil(n_new / 2)
    entrez_taken = set(reann["entrez_id"].dropna().astype(np.int64))
    new_entrez = []
    for e in 200_000_000 + rng.choice(100_000_000, 2 * n_new_genes + 8, replace=False):
        if int(e) not in entrez_taken and len(new_entrez) < n_new_genes:
            new_entrez.append(int(e))
    new_syms = np.array([f"LOC{e}" for e in new_entrez], dtype=object)

    # true genes: reannotated genes in use, then made-up genes
    gene_symbol = np.concatenate([real_syms.astype(object), new_syms])
    n_genes = len(gene_symbol)
    gidx = {s: i for i, s in enumerate(gene_symbol)}
    entrez_of = (
        reann.dropna(subset=["entrez_id"]).drop_duplicates("gene_symbol").set_index("gene_symbol")
    )["entrez_id"]
    gene_entrez = np.array(
        [float(entrez_of.get(s, np.nan)) for s in real_syms] + [float(e) for e in new_entrez]
    )
    gene_new = np.r_[np.zeros(len(real_syms), bool), np.ones(len(new_syms), bool)]

    extra_gene = rng.integers(0, len(real_syms), n_extra) if n_extra else np.empty(0, int)
    new_gene = (
        np.r_[np.arange(n_new_genes), rng.integers(0, n_new_genes, n_new - n_new_genes)]
        if n_new
        else np.empty(0, int)
    )
    true_gene = np.concatenate(
        [
            np.array([gidx[s] for s in real["gene_symbol"]], dtype=np.int64),
            extra_gene,
            len(real_syms) + new_gene,
            np.full(n_nonref, -1),
        ]
    ).astype(np.int64)
    probe_name = np.concatenate(
        [real["probe_name"].to_numpy(dtype=object), np.array(names, object)]
    )
    o_sym = np.concatenate(
        [
            orig_sym,
            real_syms[extra_gene].astype(object),
            new_syms[new_gene],
            np.full(n_nonref, None),
        ]
    )
    o_entrez = np.concatenate(
        [
            orig_entrez,
            gene_entrez[extra_gene],
            np.array(new_entrez, float)[new_gene] if n_new else np.empty(0),
            np.full(n_nonref, np.nan),
        ]
    )

    # probe behaviours
    ptype = rng.choice(len(_PTYPES), n_probes, p=_PTYPE_P)
    orphan = true_gene < 0  # made-up non-RefSeq probes: noise or cross-hybridising
    ptype[orphan] = np.where(rng.random(orphan.sum()) < 0.6, 2, 4)

    # genes: baseline, spatial loadings, class offsets, donor offsets
    grng = _rng(seed, _S_GENES)
    expressed = grng.random(n_genes) < 0.75
    gene_mu = np.where(
        expressed,
        np.clip(grng.normal(8.4, 2.0, n_genes), 4.5, 13.0),
        grng.normal(3.6, 0.7, n_genes),
    )
    amp = grng.gamma(2.0, 0.33, n_genes)
    n_basis = 4 + _N_BUMPS
    comp_scale = np.r_[1.0, 0.8, 0.8, 0.15, grng.uniform(0.3, 1.0, _N_BUMPS)]
    weights = grng.standard_normal((n_genes, n_basis)) * comp_scale
    weights *= (amp / np.sqrt((comp_scale**2).sum()))[:, None]
    class_off = grng.standard_normal((n_genes, len(_CLASSES))) * _CLASS_SD * (0.5 + amp)[:, None]
    load = np.hstack([weights, class_off])
    delta = grng.normal(0.0, 0.2, (n_genes, len(DONORS)))

    # spatial basis, standardised over all samples
    brng = _rng(seed, _S_BASIS)
    pick = brng.choice(len(ref.coords), _N_BUMPS, replace=False)
    centers = ref.coords[pick].copy()
    centers[:, 0] = np.abs(centers[:, 0])
    widths = brng.uniform(18.0, 35.0, _N_BUMPS)
    raw = _basis(ref.coords, centers, widths)
    feat_mean, feat_sd = raw.mean(1), raw.std(1)
    donor_shift = brng.normal(0.0, 0.12, len(DONORS))

    # per-probe parameters
    prng = _rng(seed, _S_PROBES, 1)
    g = np.where(orphan, 0, true_gene)
    mu_g = np.where(orphan, prng.uniform(2.0, 9.0, n_probes), gene_mu[g])
    gain = np.zeros(n_probes)
    cross_gain = np.zeros(n_probes)
    noise_sd = np.zeros(n_probes)
    mu = mu_g.copy()
    for code, name in enumerate(_PTYPES):
        sel = ptype == code
        k = int(sel.sum())
        if name == "good":
            gain[sel] = prng.uniform(0.8, 1.2, k)
            noise_sd[sel] = prng.uniform(0.15, 0.35, k)
            mu[sel] += prng.normal(0.0, 0.4, k)
        elif name == "atten":
            gain[sel] = prng.uniform(0.25, 0.6, k)
            noise_sd[sel] = prng.uniform(0.25, 0.45, k)
            mu[sel] += prng.normal(-0.5, 0.6, k)
        elif name == "noise":
            noise_sd[sel] = prng.uniform(0.3, 0.6, k)
            mu[sel] += prng.normal(-0.5, 1.0, k)
        elif name == "low":
            gain[sel] = prng.uniform(0.1, 0.3, k)
            noise_sd[sel] = prng.uniform(0.2, 0.4, k)
            mu[sel] = prng.uniform(1.8, 3.2, k)
        else:  # cross-hybridising: mostly another gene's pattern
            gain[sel] = prng.uniform(0.1, 0.4, k)
            cross_gain[sel] = prng.uniform(0.6, 1.0, k)
            noise_sd[sel] = prng.uniform(0.25, 0.4, k)
    gain[orphan] = 0.0
    cross = prng.integers(0, n_genes, n_probes)
    pa_thr = _PA_CENTER + prng.normal(0.0, 0.3, n_probes)

    # Probes.csv order: annotated genes in random order, then non-RefSeq probes
    has_gene = np.array([s is not None for s in o_sym])
    ann_syms = pd.unique(pd.Series(o_sym[has_gene], dtype=object))
    gene_order = rng.permutation(len(ann_syms))
    gene_id_of = {s: int(i) + 1 for s, i in zip(ann_syms, np.argsort(gene_order), strict=True)}
    gid = np.array([gene_id_of[s] if s is not None else 0 for s in o_sym], dtype=np.int64)
    nonref_rows = np.flatnonzero(~has_gene)
    gid[nonref_rows] = 1_000_000 + rng.permutation(len(nonref_rows))
    order = np.lexsort((rng.random(n_probes), gid))
    span = max(80_000, 2 * n_probes)
    probe_id = 1_000_000 + rng.choice(span, n_probes, replace=False).astype(np.int64)
    chrom_names = np.array([str(i) for i in range(1, 23)] + ["X", "Y"], dtype=object)
    chrom_of = dict(zip(ann_syms, chrom_names[rng.integers(0, 24, len(ann_syms))], strict=True))

    lines = [_PROBES_HEADER]
    for row, pid in zip(order, probe_id, strict=True):
        name = probe_name[row]
        sym = o_sym[row]
        if sym is None:
            lines.append(
                f'{pid},"{name}",{gid[row]},"{name}","AGILENT probe {name} (non-RefSeq)",,'
            )
        else:
            e = o_entrez[row]
            ent = "" if np.isnan(e) else str(int(e))
            chrom = chrom_of[sym]
            lines.append(
                f'{pid},"{name}",{gid[row]},"{sym}","{sym} gene (synthetic annotation)",{ent},{chrom}'
            )
    probes_csv = ("\n".join(lines) + "\n").encode()

    stats = {
        "n_probes": int(n_probes),
        "n_reannotated_probes": int(n_real),
        "n_made_up_probes": int(n_fake),
        "n_genes_original_annotation": int(len(ann_syms)),
        "n_non_refseq_probes": int((~has_gene).sum()),
        "n_probes_without_entrez": int(np.isnan(o_entrez).sum()),
        "n_true_genes": int(n_genes),
        "n_new_genes": int(len(new_syms)),
        "probe_types": {name: int((ptype == i).sum()) for i, name in enumerate(_PTYPES)},
    }
    return _Model(
        seed=seed,
        probes_csv=probes_csv,
        probe_id=probe_id,
        # per-probe arrays, in Probes.csv order
        **{key: values[order] for key, values in {
            "gene": g, "gain": gain, "cross": cross, "cross_gain": cross_gain, "mu": mu,
            "noise_sd": noise_sd, "pa_thr": pa_thr}.items()},
        # per-gene arrays
        load=load, delta=delta, gene_mu=gene_mu,
        gene_symbol=gene_symbol, gene_entrez=gene_entrez, gene_new=gene_new,
        # spatial basis and donor offsets
        centers=centers, widths=widths, feat_mean=feat_mean, feat_sd=feat_sd,
        donor_shift=donor_shift, stats=stats,
    )


def _soft_bounds(x: np.ndarray) -> np.ndarray:
    """Squash log2 intensities smoothly into (1, 15.9), in place."""
    low = x < 1.5
    x[low] = 1.0 + 0.5 * np.exp((x[low] - 1.5) / 0.5)
    high = x > 15.0
    x[high] = 15.9 - 0.9 * np.exp(-(x[high] - 15.0) / 0.9)
    return x


def _block_data(
    model: _Model,
    rows: slice,
    donor_index: int,
    feats: np.ndarray,
    sample_shift: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Intensities and PACall of one block of probes for one donor.

    Returns
    -------
    x : numpy.ndarray of shape (n_block, n_samples)
        log2 intensities in (1, 15.9).
    pa : numpy.ndarray of shape (n_block, n_samples)
        bool, detected above background.
    """
    g, c = model.gene[rows], model.cross[rows]
    gain, cgain = model.gain[rows], model.cross_gain[rows]
    loadings = gain[:, None] * model.load[g] + cgain[:, None] * model.load[c]
    base = model.mu[rows] + gain * model.delta[g, donor_index] + cgain * model.delta[c, donor_index]
    shape = (len(g), feats.shape[1])
    x = loadings @ feats
    x += base[:, None]
    x += sample_shift[None, :]
    z = rng.standard_normal(shape, dtype=np.float32)  # float32 draws: faster
    z *= model.noise_sd[rows, None].astype(np.float32)
    x += z
    _soft_bounds(x)
    z = rng.standard_normal(shape, dtype=np.float32)
    z *= np.float32(_PA_SD)
    pa = z > model.pa_thr[rows, None] - x
    return x, pa


# --------------------------------------------------------------------------
# fast CSV formatting of numeric matrices
# --------------------------------------------------------------------------


class _RowFormatter:
    """Formats blocks of (probe_id, values...) rows into reusable byte buffers.

    ``full`` writes every value with exactly 15 significant digits (the last
    digit is nudged off 0 so no trailing zero is ever stripped): a fixed 16
    characters for values in [1, 100). ``short`` writes ``%.5f``.
    PACall rows are ``,0``/``,1`` pairs.
    """

    PREFIX = 7  # probe ids have 7 digits

    def __init__(self, n_rows: int, n_cols: int, precision: str) -> None:
        self.precision = precision
        self.n_cols = n_cols
        self.width = 17 if precision == "full" else 9
        p = self.PREFIX
        self.values = np.empty((n_rows, p + n_cols * self.width + 1), dtype=np.uint8)
        self.values[:, -1] = ord("\n")
        self._vbody()[..., 0] = ord(",")
        if precision == "short":
            self.keep = np.ones(self.values.shape, dtype=bool)
            self._vbody()[..., 3] = ord(".")
        self.pacall = np.empty((n_rows, p + 2 * n_cols + 1), dtype=np.uint8)
        self.pacall[:, -1] = ord("\n")
        self.pacall[:, p:-1].reshape(n_rows, n_cols, 2)[..., 0] = ord(",")

    def _vbody(self, n: int | None = None) -> np.ndarray:
        n = self.values.shape[0] if n is None else n
        return self.values[:n, self.PREFIX : -1].reshape(n, self.n_cols, self.width)

    def format_values(self, prefix: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bytes of one block and the exact values they encode.

        Parameters
        ----------
        prefix : numpy.ndarray of shape (n, 7)
            ASCII probe ids.
        x : numpy.ndarray of shape (n, n_cols)
            Values in [1, 100).

        Returns
        -------
        out : numpy.ndarray of uint8
            Contiguous bytes to write.
        values : numpy.ndarray of shape (n, n_cols)
            The float64 values the text parses back to.
        """
        n = len(x)
        self.values[:n, : self.PREFIX] = prefix
        body = self._vbody(n)
        if self.precision == "full":
            big = x >= 10.0
            q = np.rint(x * np.where(big, 1e13, 1e14))
            over = q >= 1e15  # e.g. 9.999999999999999 rounds up to the next decade
            if over.any():
                big |= over
                q[over] = np.rint(x[over] * 1e13)
            qi = q.astype(np.int64)
            hi = (qi // 10_000_000).astype(np.int32)  # first 8 digits
            lo = (qi - hi.astype(np.int64) * 10_000_000).astype(np.int32)  # last 7
            lo += lo % 10 == 0  # exactly 15 significant digits
            values = (hi * 1e7 + lo) / np.where(big, 1e13, 1e14)
            for pos in range(16, 9, -1):
                t = lo // 10
                body[..., pos] = lo - t * 10 + 48
                lo = t
            for pos in range(9, 3, -1):
                t = hi // 10
                body[..., pos] = hi - t * 10 + 48
                hi = t
            t = hi // 10
            d1 = (hi - t * 10 + 48).astype(np.uint8)
            body[..., 1] = t + 48
            body[..., 2] = np.where(big, d1, np.uint8(46))
            body[..., 3] = np.where(big, np.uint8(46), d1)
            return self.values[:n].reshape(-1), values
        qi = np.rint(x * 1e5).astype(np.int32)
        values = qi / 1e5
        big = qi >= 1_000_000
        t = qi
        for pos in (8, 7, 6, 5, 4, 2, 1):
            d = t // 10
            body[..., pos] = t - d * 10 + 48
            t = d
        keep = self.keep[:n, self.PREFIX : -1].reshape(n, self.n_cols, self.width)
        keep[..., 1] = big
        return self.values[:n][self.keep[:n]], values

    def format_pacall(self, prefix: np.ndarray, pa: np.ndarray) -> np.ndarray:
        """Bytes of one block of PACall rows."""
        n = len(pa)
        self.pacall[:n, : self.PREFIX] = prefix
        self.pacall[:n, self.PREFIX : -1].reshape(n, self.n_cols, 2)[..., 1] = pa
        self.pacall[:n, self.PREFIX : -1].reshape(n, self.n_cols, 2)[..., 1] += 48
        return self.pacall[:n].reshape(-1)


def _ascii_ids(ids: np.ndarray) -> np.ndarray:
    """ASCII digits of 7-digit integers, shape (n, 7)."""
    if len(ids) and (ids.min() < 1_000_000 or ids.max() > 9_999_999):
        raise ValueError("probe ids must have 7 digits")
    out = np.empty((len(ids), 7), dtype=np.uint8)
    t = ids.astype(np.int64)
    for pos in range(6, -1, -1):
        out[:, pos] = t % 10 + 48
        t = t // 10
    return out


def _decimal2_lines(labels: Sequence[str], x: np.ndarray) -> bytes:
    """Rows ``label,v1,v2,...`` with values as Python prints ``round(v, 2)``.

    Parameters
    ----------
    labels : sequence of str, length n
    x : numpy.ndarray of shape (n, m)
        Non-negative values below 1e13.
    """
    n, m = x.shape
    q = np.rint(x * 100).astype(np.int64)
    ip = q // 100
    frac = q - ip * 100
    n_int = max(1, len(str(int(ip.max())))) if q.size else 1
    width = n_int + 4  # ',' int '.' f1 f2
    buf = np.empty((n, m, width), dtype=np.uint8)
    keep = np.ones((n, m, width), dtype=bool)
    buf[..., 0] = ord(",")
    t = ip
    for pos in range(n_int, 0, -1):
        d = t // 10
        buf[..., pos] = t - d * 10 + 48
        if pos < n_int:
            keep[..., pos] = ip >= 10 ** (n_int - pos)
        t = d
    buf[..., n_int + 1] = ord(".")
    buf[..., n_int + 2] = frac // 10 + 48
    buf[..., n_int + 3] = frac % 10 + 48
    keep[..., n_int + 3] = frac % 10 != 0
    flat = buf.reshape(n, -1)
    kflat = keep.reshape(n, -1)
    lengths = kflat.sum(1)
    chars = flat[kflat].tobytes()
    out = []
    start = 0
    for label, length in zip(labels, lengths, strict=True):
        out.append(label.encode() + chars[start : start + length] + b"\n")
        start += length
    return b"".join(out)


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move a finished temporary folder into place (atomic rename)."""
    if final.exists():
        old = final.with_name(f".old-{final.name}-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old)
    else:
        os.rename(tmp, final)


def _tmp_dir(final: Path) -> Path:
    tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


@dataclass
class _DonorJob:
    root: str
    donor: str
    precision: str
    model: _Model
    samples_csv: bytes
    ontology_csv: bytes
    coords: np.ndarray
    classes: np.ndarray


def _write_microarray_donor(job: _DonorJob) -> dict:
    """Write one donor's microarray folder; returns timing and size figures."""
    t0 = time.perf_counter()
    donor, model = job.donor, job.model
    final = layout.donor_folder(job.root, "microarray", donor)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_dir(final)
    try:
        (tmp / "Probes.csv").write_bytes(model.probes_csv)
        (tmp / "SampleAnnot.csv").write_bytes(job.samples_csv)
        (tmp / "Ontology.csv").write_bytes(job.ontology_csv)
        di = list(DONORS).index(donor)
        feats = _features(model, job.coords, job.classes)
        n_samples = feats.shape[1]
        srng = _rng(model.seed, _S_DONOR, int(donor))
        sample_shift = model.donor_shift[di] + srng.normal(0.0, 0.1, n_samples)
        n_probes = len(model.probe_id)
        fmt = _RowFormatter(min(_BLOCK, n_probes), n_samples, job.precision)
        prefix = _ascii_ids(model.probe_id)
        n_blocks = -(-n_probes // _BLOCK)
        present = 0
        report_every = max(1, n_blocks // 10)
        with (
            open(tmp / "MicroarrayExpression.csv", "wb", buffering=1 << 22) as fx,
            open(tmp / "PACall.csv", "wb", buffering=1 << 22) as fp,
        ):
            for b in range(n_blocks):
                rows = slice(b * _BLOCK, min((b + 1) * _BLOCK, n_probes))
                rng = _rng(model.seed, _S_BLOCK, int(donor), b)
                x, pa = _block_data(model, rows, di, feats, sample_shift, rng)
                out, _ = fmt.format_values(prefix[rows], x)
                fx.write(out)
                fp.write(fmt.format_pacall(prefix[rows], pa))
                present += int(pa.sum())
                if (b + 1) % report_every == 0 and b + 1 < n_blocks:
                    logger.info("donor %s: %d/%d probes", donor, rows.stop, n_probes)
        _replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(f.stat().st_size for f in final.iterdir())
    return {
        "donor": donor,
        "path": str(final),
        "seconds": time.perf_counter() - t0,
        "bytes": size,
        "pacall_rate": present / max(1, n_probes * n_samples),
    }


def _rnaseq_genes(model: _Model, seed: int) -> pd.DataFrame:
    """Gene list of the RNA-seq data (shared by both donors), sorted by symbol."""
    rng = _rng(seed, _S_RNA)
    n_genes = len(model.gene_symbol)
    chosen = np.flatnonzero(rng.random(n_genes) < 0.72)
    n_only = max(1, round(0.02 * len(chosen)))
    only_entrez = 300_000_000 + rng.choice(99_999_999, n_only, replace=False)
    table = pd.DataFrame(
        {
            "gene_symbol": np.r_[
                model.gene_symbol[chosen], np.array([f"LOC{e}" for e in only_entrez], object)
            ],
            "model_gene": np.r_[chosen, np.full(n_only, -1)],
            "entrez_id": np.r_[model.gene_entrez[chosen], only_entrez.astype(float)],
        }
    )
    table = table.sort_values("gene_symbol", kind="stable").reset_index(drop=True)
    n = len(table)
    table["zero"] = rng.random(n) < 0.01
    table["gene_id"] = rng.permutation(n) + 1
    table["chromosome"] = np.array([str(i) for i in range(1, 23)] + ["X", "Y"], dtype=object)[
        rng.integers(0, 24, n)
    ]
    table["strand"] = np.where(rng.random(n) < 0.5, "+", "-")
    table["number_of_transcripts"] = rng.integers(1, 13, n)
    table["median_transcriptome_length"] = rng.integers(500, 12_000, n)
    table["median_genome_length"] = rng.integers(1_000, 500_000, n)
    table["median_number_of_exons"] = rng.integers(1, 41, n)
    table["median_gene_start"] = rng.integers(100_000, 240_000_000, n)
    table["median_gene_end"] = table["median_gene_start"] + table["median_genome_length"]
    table["rna_mu"] = np.where(
        table["model_gene"] >= 0,
        model.gene_mu[np.maximum(table["model_gene"].to_numpy(), 0)] - 3.5,
        rng.uniform(0.5, 6.0, n),
    ) + rng.normal(0.0, 0.6, n)
    table["length_factor"] = rng.uniform(5.0, 40.0, n)
    return table


def _write_rnaseq_donor(
    root: Path, donor: str, model: _Model, ref: _Reference, genes: pd.DataFrame
) -> Path:
    """Write one donor's RNA-seq folder (121 left-hemisphere samples)."""
    rng = _rng(model.seed, _S_RNA_DONOR, int(donor))
    in_donor = np.flatnonzero(ref.samples["donor"].to_numpy() == donor)
    left = in_donor[ref.hemisphere[in_donor] == "L"]
    pick = rng.choice(left, min(_N_RNASEQ_SAMPLES, len(left)), replace=False)
    n = len(pick)
    s = ref.samples.iloc[pick]
    uid = DONORS[donor]
    k = np.arange(1, n + 1)
    annot = pd.DataFrame(
        {
            "RNAseq_sample_name": [f"{uid}_R{i:04d}" for i in k],
            "replicate_sample": "no",
            "sample_name": [f"{donor}_S{i:04d}" for i in k],
            "well_id": s["well_id"].to_numpy(),
            "microarray_run_id": rng.integers(100_000_000, 200_000_000, n),
            "ontology_color": ref.color[pick],
            "main_structure": s["slab_type"].to_numpy(),
            "sub_structure": s["structure_acronym"].to_numpy(),
            "ontology_structure_id": s["structure_id"].to_numpy(),
            "ontology_structure_acronym": s["structure_acronym"].to_numpy(),
            "hemisphere": "L",
            "brain": uid,
            "million_clusters": np.round(rng.uniform(20.0, 60.0, n), 2),
            "clip_percentage": np.round(rng.uniform(0.0, 5.0, n), 2),
            "RIN_RNA_quality": np.round(rng.uniform(5.0, 9.0, n), 1),
            "rnaseq_run_id": rng.integers(1_000_000, 10_000_000, n),
            "A.Pct": np.round(rng.uniform(24.0, 26.0, n), 2),
            "C.Pct": np.round(rng.uniform(24.0, 26.0, n), 2),
            "G.Pct": np.round(rng.uniform(24.0, 26.0, n), 2),
            "T.Pct": np.round(rng.uniform(24.0, 26.0, n), 2),
            "N.Pct": np.round(rng.uniform(0.0, 0.1, n), 3),
        },
        columns=list(_RNA_SAMPLE_COLUMNS),
    )
    feats = _features(model, ref.coords[pick], ref.classes[pick])
    di = list(DONORS).index(donor)
    mg = genes["model_gene"].to_numpy()
    known = mg >= 0
    load = np.where(known[:, None], model.load[np.maximum(mg, 0)], 0.0)
    n_only = int((~known).sum())
    if n_only:
        extra = _rng(model.seed, _S_RNA, 1).standard_normal((n_only, load.shape[1])) * 0.3
        load[~known] = extra
    delta = np.where(known, model.delta[np.maximum(mg, 0), di], 0.0)
    log_tpm = (
        (load @ feats)
        + (genes["rna_mu"].to_numpy() + delta)[:, None]
        + rng.normal(0.0, 0.35, (len(genes), n))
    )
    tpm = np.maximum(np.exp2(log_tpm) - 1.0, 0.0)
    tpm[genes["zero"].to_numpy()] = 0.0
    depth = annot["million_clusters"].to_numpy() / 40.0
    counts = tpm * genes["length_factor"].to_numpy()[:, None] * depth[None, :]
    symbols = genes["gene_symbol"].tolist()

    final = layout.donor_folder(root, "rnaseq", donor)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_dir(final)
    try:
        (tmp / "RNAseqTPM.csv").write_bytes(_decimal2_lines(symbols, tpm))
        (tmp / "RNAseqCounts.csv").write_bytes(_decimal2_lines(symbols, counts))
        gt = genes.loc[:, list(_GENES_COLUMNS)].copy()
        gt["entrez_id"] = gt["entrez_id"].astype("Int64")
        gt.to_csv(tmp / "Genes.csv", index=False, lineterminator="\n")
        annot.to_csv(tmp / "SampleAnnot.csv", index=False, lineterminator="\n")
        (tmp / "Ontology.csv").write_bytes(ref.ontology_csv)
        _replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _write_mri_donor(root: Path, donor: str) -> Path:
    """All-zero T1/T2 images with the grid of the donor's native DK atlas."""
    import nibabel as nib  # lazy: slow to import, and only the MRI donors need it

    atlas = nib.load(data_path("native_dk", donor, "atlas-desikankilliany.nii.gz"))
    final = root / "mri" / f"mri_donor{donor}"
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_dir(final)
    try:
        zeros = np.zeros(atlas.shape[:3], dtype=np.uint8)
        for name in ("T1.nii.gz", "T2.nii.gz"):
            img = nib.Nifti1Image(zeros, atlas.affine)
            img.set_data_dtype(np.uint8)
            nib.save(img, tmp / name)
        _replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def write_mri(out_dir: str | os.PathLike, donor: str | int) -> Path:
    """Write a donor's fake MRI folder ``<out_dir>/mri/mri_donor<ID>/``.

    Parameters
    ----------
    out_dir : path-like
        Dataset root.
    donor : str or int
        Donor number or UID.

    Returns
    -------
    folder : pathlib.Path
        Holds ``T1.nii.gz`` and ``T2.nii.gz``: all-zero uint8 images with the
        affine and shape of the donor's bundled native DK atlas (only the T1
        affine matters downstream).
    """
    (donor,) = check_donors([donor])
    return _write_mri_donor(Path(out_dir), donor)


def _init_worker(level: int | None) -> None:
    if level is not None:
        logging.basicConfig(
            level=level, format="%(asctime)s %(levelname)s [%(processName)s] %(message)s"
        )


def _check_params(n_probes: int, seed: int, precision: str, n_jobs: int) -> int:
    if isinstance(n_probes, bool) or not isinstance(n_probes, int | np.integer):
        raise TypeError(f"n_probes must be an int, got {n_probes!r}")
    if not _MIN_PROBES <= n_probes <= _MAX_PROBES:
        raise ValueError(
            f"n_probes must be between {_MIN_PROBES} and {_MAX_PROBES} "
            f"(the real data has {N_PROBES_REAL}), got {n_probes}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    check_choice("precision", precision, PRECISIONS)
    if not isinstance(n_jobs, int | np.integer) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive int or -1 (all cores), got {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


def generate_dataset(
    out_dir: str | os.PathLike,
    *,
    n_probes: int = 2000,
    donors: str | int | Iterable[str | int] = "all",
    seed: int = 1,
    precision: str = "short",
    rnaseq: bool = True,
    mri: bool = True,
    n_jobs: int = 1,
) -> dict:
    """Write a synthetic dataset in the AHBA download format.

    Parameters
    ----------
    out_dir : path-like
        Root folder; created if needed. The folders of the donors written are
        replaced; other content is left alone.
    n_probes : int, default=2000
        Number of probes (rows of every microarray file); the real data has
        58,692. About 78% are real probe names from the reannotation table.
    donors : 'all', str, int or list, default='all'
        Donors to write (numbers or UIDs). Each donor's data does not depend
        on which other donors are written.
    seed : int, default=1
        Seed of every random choice; the same arguments give the same bytes.
    precision : {'short', 'full'}, default='short'
        ``'short'``: intensities with 5 decimals (like the parity dataset);
        ``'full'``: 15 significant digits (like the real files, ~4 GB at full
        size).
    rnaseq : bool, default=True
        Also write ``rnaseq/rnaseq_donor<ID>/`` for the selected donors among
        9861 and 10021.
    mri : bool, default=True
        Also write ``mri/mri_donor<ID>/T1.nii.gz, T2.nii.gz``: all-zero images
        on the grid (affine and shape) of the donor's native DK atlas.
    n_jobs : int, default=1
        Processes writing microarray donors in parallel (-1: all cores). The
        output does not depend on it.

    Returns
    -------
    paths : dict
        ``root`` and ``manifest`` (pathlib.Path), and ``microarray``,
        ``rnaseq``, ``mri``: dicts donor -> folder.

    Notes
    -----
    Every donor folder is written to a hidden temporary folder and renamed
    into place when complete, and ``synth_manifest.json`` (with
    ``"synthetic": true``, the parameters and counts) is removed first and
    written last, so an interrupted run never leaves a complete-looking donor
    or a manifest describing data it did not finish.

    At full size (58,692 probes, six donors, ``precision='full'``, about
    4.2 GB) a 2-core machine takes about one minute with ``n_jobs=2``.

    Examples
    --------
    >>> paths = generate_dataset(tmp_path, n_probes=200, donors=['9861'],
    ...                          mri=False)  # doctest: +SKIP
    >>> sorted(paths['microarray'])  # doctest: +SKIP
    ['9861']
    """
    t0 = time.perf_counter()
    jobs = _check_params(n_probes, seed, precision, n_jobs)
    wanted = check_donors(donors)
    donor_list = [d for d in DONORS if d in wanted]
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / MANIFEST
    if manifest_path.exists():
        manifest_path.unlink()

    ref = _load_reference()
    model = _build_model(int(n_probes), int(seed), ref)
    logger.info(
        "model: %d probes (%d reannotated), %d genes; writing donors %s (%s precision)",
        n_probes,
        model.stats["n_reannotated_probes"],
        model.stats["n_true_genes"],
        ", ".join(donor_list),
        precision,
    )

    donor_col = ref.samples["donor"].to_numpy()
    job_list = []
    for donor in donor_list:
        rows = np.flatnonzero(donor_col == donor)
        job_list.append(
            _DonorJob(
                root=str(root),
                donor=donor,
                precision=precision,
                model=model,
                samples_csv=_sample_annot_csv(ref.samples.iloc[rows]),
                ontology_csv=ref.ontology_csv,
                coords=ref.coords[rows],
                classes=ref.classes[rows],
            )
        )
    job_list.sort(key=lambda j: -len(j.coords))  # largest first balances the workers
    results: dict[str, dict] = {}
    paths: dict = {
        "root": root,
        "manifest": manifest_path,
        "microarray": {},
        "rnaseq": {},
        "mri": {},
    }

    def _done(res: dict) -> None:
        results[res["donor"]] = res
        logger.info(
            "donor %s: microarray written in %.1f s (%.1f MB)",
            res["donor"],
            res["seconds"],
            res["bytes"] / 1e6,
        )

    rna_donors = [d for d in donor_list if d in RNASEQ_DONORS] if rnaseq else []
    workers = min(jobs, len(job_list))
    if workers > 1:
        level = logger.getEffectiveLevel() if logging.getLogger().handlers else None
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(level,)
        ) as ex:
            futures = [ex.submit(_write_microarray_donor, job) for job in job_list]
            rna_stats = _write_extras(
                root, model, ref, rna_donors, donor_list if mri else [], paths
            )
            for fut in as_completed(futures):
                _done(fut.result())
    else:
        for job in job_list:
            _done(_write_microarray_donor(job))
        rna_stats = _write_extras(root, model, ref, rna_donors, donor_list if mri else [], paths)
    for donor in donor_list:
        paths["microarray"][donor] = Path(results[donor]["path"])

    classes = ref.classes[np.isin(donor_col, donor_list)]
    manifest = {
        "synthetic": True,
        "generator": "abagen_core.datasets.synth",
        "version": __version__,
        "seed": int(seed),
        "n_probes": int(n_probes),
        "precision": precision,
        "decimals": 5 if precision == "short" else None,
        "significant_digits": 15 if precision == "full" else None,
        "donors": donor_list,
        "rnaseq": rna_donors,
        "mri": bool(mri),
        "counts": {
            "samples": {d: N_SAMPLES[d] for d in donor_list},
            "n_samples": int(sum(N_SAMPLES[d] for d in donor_list)),
            **model.stats,
            "sample_classes": {c: int((classes == i).sum()) for i, c in enumerate(_CLASSES)},
            "pacall_rate": {d: round(results[d]["pacall_rate"], 4) for d in donor_list},
            "rnaseq": rna_stats,
        },
    }
    tmp_manifest = root / f".{MANIFEST}.tmp-{os.getpid()}"
    tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp_manifest, manifest_path)
    logger.info("dataset written to %s in %.1f s", root, time.perf_counter() - t0)
    return paths


def _write_extras(
    root: Path,
    model: _Model,
    ref: _Reference,
    rna_donors: list[str],
    mri_donors: list[str],
    paths: dict,
) -> dict:
    """RNA-seq and MRI folders (small; written by the parent process).

    Returns the RNA-seq counts for the manifest (empty without RNA-seq).
    """
    stats: dict = {}
    if rna_donors:
        genes = _rnaseq_genes(model, model.seed)
        for donor in rna_donors:
            paths["rnaseq"][donor] = _write_rnaseq_donor(root, donor, model, ref, genes)
            logger.info("donor %s: RNA-seq written", donor)
        stats = {
            "n_genes": len(genes),
            "n_rnaseq_only": int((genes["model_gene"] < 0).sum()),
            "n_zero": int(genes["zero"].sum()),
            "n_samples": {d: _N_RNASEQ_SAMPLES for d in rna_donors},
        }
    for donor in mri_donors:
        paths["mri"][donor] = _write_mri_donor(root, donor)
    if mri_donors:
        logger.info("MRI written for donors %s", ", ".join(mri_donors))
    return stats


# --------------------------------------------------------------------------
# helpers for users of synthetic data
# --------------------------------------------------------------------------

_LAYOUT_DIR = re.compile(r"(normalized_microarray|rnaseq|mri)_donor\d+")


def is_synthetic(data_dir: str | os.PathLike) -> bool:
    """Whether a data folder was made by this generator (or another synthesiser).

    Parameters
    ----------
    data_dir : path-like
        Dataset root, or one of its ``microarray``/``rnaseq``/``mri`` folders,
        or a donor folder inside them.

    Returns
    -------
    synthetic : bool
        True when the dataset root holds ``synth_manifest.json`` and the
        manifest does not say ``"synthetic": false``.
    """
    path = Path(data_dir)
    candidates = [path]
    if path.name in {"microarray", "rnaseq", "mri"}:
        candidates.append(path.parent)
    elif _LAYOUT_DIR.fullmatch(path.name):
        candidates.append(path.parent.parent)
    for folder in candidates:
        manifest = folder / MANIFEST
        if manifest.is_file():
            try:
                content = json.loads(manifest.read_text())
            except (OSError, ValueError):
                return True  # present but unreadable: still flag it
            return bool(content.get("synthetic", True)) if isinstance(content, dict) else True
    return False


def make_donor_zip(
    data_dir: str | os.PathLike,
    donor: str | int,
    zip_path: str | os.PathLike,
    *,
    modality: str = "microarray",
    compresslevel: int = 6,
) -> Path:
    """Pack a donor folder into a zip laid out like the Allen download.

    Parameters
    ----------
    data_dir : path-like
        Dataset root (holding ``microarray/`` or ``rnaseq/``).
    donor : str or int
        Donor number or UID.
    zip_path : path-like
        Zip file to write (replaced if present).
    modality : {'microarray', 'rnaseq'}, default='microarray'
        Which folder to pack. The members are the five CSVs at the zip root:
        ``MicroarrayExpression.csv, PACall.csv, Probes.csv, SampleAnnot.csv,
        Ontology.csv`` (microarray) or ``RNAseqTPM.csv, RNAseqCounts.csv,
        Genes.csv, SampleAnnot.csv, Ontology.csv`` (rnaseq).
    compresslevel : int, default=6
        Deflate level (0-9).

    Returns
    -------
    zip_path : pathlib.Path
        Written deterministically (fixed member order and timestamps).
    """
    check_choice("modality", modality, ("microarray", "rnaseq"))
    (donor,) = check_donors([donor])
    if modality == "microarray":
        folder = layout.donor_folder(data_dir, "microarray", donor)
        members = MICROARRAY_FILES
    else:
        folder = layout.donor_folder(data_dir, "rnaseq", donor)
        members = RNASEQ_FILES
    missing = [m for m in members if not (folder / m).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}")
    zip_path = Path(zip_path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_name(f".{zip_path.name}.tmp-{os.getpid()}")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
            for name in members:
                src = folder / name
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                info.file_size = src.stat().st_size
                with open(src, "rb") as fin, zf.open(info, "w") as fout:
                    shutil.copyfileobj(fin, fout, 1 << 22)
        os.replace(tmp, zip_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return zip_path


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="abagen-synth",
        description=(
            "Write a deterministic synthetic dataset in the Allen Human Brain Atlas\n"
            "download format (microarray, optional RNA-seq and MRI) for demos, tests\n"
            "and benchmarks. Samples are the real 3,702 AHBA samples; probes and\n"
            "intensities are synthetic. The root gets a synth_manifest.json marking\n"
            "the data as synthetic (see abagen_core.datasets.synth.is_synthetic)."
        ),
        epilog=(
            "Examples:\n"
            "  abagen-synth demo_data                       # 2,000 probes, all donors\n"
            "  abagen-synth big --full-size --precision full --n-jobs 2\n"
            "  abagen-synth small --n-probes 500 --donors 9861 10021 --no-mri"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out_dir", help="output folder (created; donor folders replaced)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--n-probes",
        type=int,
        default=2000,
        help=f"number of probes (default: 2000; the real data has {N_PROBES_REAL})",
    )
    size.add_argument(
        "--full-size",
        action="store_true",
        help=f"use the real number of probes ({N_PROBES_REAL})",
    )
    parser.add_argument(
        "--donors",
        nargs="+",
        default=["all"],
        metavar="DONOR",
        help="donor numbers or UIDs, or 'all' (default: all)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="short",
        help="'short': 5 decimals; 'full': 15 significant digits like the real files "
        "(default: short)",
    )
    parser.add_argument("--no-rnaseq", action="store_true", help="do not write RNA-seq data")
    parser.add_argument("--no-mri", action="store_true", help="do not write the MRI images")
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=1,
        help="donors written in parallel processes (-1: all cores; default: 1); "
        "the output does not depend on it",
    )
    parser.add_argument(
        "--zip",
        action="store_true",
        help="also pack every donor folder into <out_dir>/zips/<folder>.zip like the "
        "Allen download",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only warnings")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="debug messages")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``abagen-synth``, ``python -m abagen_core.datasets.synth``).

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 when the dataset could not be written (the error is
        logged).
    """
    args = _parser().parse_args(argv)
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s")
    logger.setLevel(level)
    t0 = time.perf_counter()
    try:
        paths = generate_dataset(
            args.out_dir,
            n_probes=N_PROBES_REAL if args.full_size else args.n_probes,
            donors=args.donors,
            seed=args.seed,
            precision=args.precision,
            rnaseq=not args.no_rnaseq,
            mri=not args.no_mri,
            n_jobs=args.n_jobs,
        )
        if args.zip:
            zips = Path(args.out_dir) / "zips"
            for donor, folder in paths["microarray"].items():
                make_donor_zip(args.out_dir, donor, zips / f"{folder.name}.zip")
            for donor, folder in paths["rnaseq"].items():
                make_donor_zip(args.out_dir, donor, zips / f"{folder.name}.zip", modality="rnaseq")
            logger.info("zips written to %s", zips)
    except (ValueError, TypeError, OSError) as err:
        logger.error("%s", err)
        return 1
    logger.info("done in %.1f s: %s", time.perf_counter() - t0, paths["root"])
    return 0


if __name__ == "__main__":
    from abagen_core.datasets.synth import main as _main

    sys.exit(_main())
