"""Materialising raw donor files for the workflow (resources/raw/<donor>/).

Three sources, one interface:

- ``'synthetic'``: the project's generator writes the donor (demo, tests);
- ``'folder'``: an existing AHBA download in abagen's layout, linked (never
  modified: the data directory is only read);
- a download from the Allen Institute when the folder lacks the donor and
  downloading is enabled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from abagen_core import io
from abagen_core.datasets import checks, fetch, layout, synth
from abagen_core.storage.artifacts import write_frame
from abagen_core.storage.atomic import copy_atomic, link_or_copy, sha256_file, write_text_atomic

__all__ = ["obtain_donor", "obtain_t1", "t1_candidates", "obtain_rnaseq",
           "convert_matrix_with_checksum", "convert_donor"]

LOG = logging.getLogger("abagen_core")


@contextlib.contextmanager
def _scratch_dir(near: Path, prefix: str) -> Iterator[Path]:
    """A temporary folder beside `near` (same file system: files move out by rename)."""
    near.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f".{prefix}", suffix=".tmp", dir=near))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _synthetic_donor(donor: str, settings: Mapping[str, Any], *, kind: str,
                     names: Iterable[str], out_dir: Path) -> None:
    """Generate one donor's `kind` data beside `out_dir` and move `names` into it."""
    with _scratch_dir(out_dir.parent, f"synth_{donor}_") as root:
        synth.generate_dataset(
            root,
            n_probes=int(settings.get("n_probes", 2000)),
            donors=[donor],
            seed=int(settings.get("seed", 1)),
            precision=settings.get("precision", "short"),
            rnaseq=kind == "rnaseq",
            mri=False,
        )
        folder = layout.donor_folder(root, kind, donor)
        for name in names:
            os.replace(folder / name, out_dir / name)


def obtain_donor(donor: str, out_dir: str | os.PathLike, *, source: str = "folder",
                 data_dir: str | None = None, download: bool = False,
                 api_url: str | None = None,
                 synthetic: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Put a donor's five microarray CSVs in `out_dir`.

    The workflow reads the donors that `data_dir` holds where they are (no
    job); this step generates, links or downloads the others.

    Parameters
    ----------
    donor : str
        Donor number.
    out_dir : path-like
        Destination folder (``resources/raw/<donor>``).
    source : {'folder', 'synthetic'}, default='folder'
    data_dir : str, optional
        AHBA download folder to read from (abagen layout); its files are
        linked (:func:`abagen_core.datasets.fetch.fetch_donor`).
    download : bool, default=False
        Download the donor when `data_dir` lacks it.
    api_url : str, optional
        Allen API base URL.
    synthetic : mapping, optional
        Generator settings (``n_probes``, ``seed``, ``precision``).

    Returns
    -------
    files : dict of str -> str
        File key (as in :data:`~abagen_core.datasets.layout.MICROARRAY_FILES`) -> path.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if source == "synthetic":
        LOG.warning("Generating SYNTHETIC data for donor %s (not AHBA data).", donor)
        _synthetic_donor(donor, synthetic or {}, kind="microarray",
                         names=layout.MICROARRAY_FILES.values(), out_dir=out_dir)
        return {key: str(out_dir / name) for key, name in layout.MICROARRAY_FILES.items()}
    if data_dir and layout.locate(Path(data_dir), "microarray", donor) is not None:
        LOG.info("Linking donor %s from %s", donor, data_dir)
        return fetch.fetch_donor(donor, out_dir, source_dir=data_dir, verbose=0)
    if not download:
        raise FileNotFoundError(
            f"Donor {donor} is not in data_dir={data_dir!r} (expected "
            f"{layout.donor_folder('<data_dir>', 'microarray', donor)}/ with "
            f"{', '.join(layout.MICROARRAY_FILES.values())}). Point `data_dir` at your AHBA "
            "download, or set `download: true` to fetch it."
        )
    LOG.info("Downloading donor %s from the Allen Institute.", donor)
    return fetch.fetch_donor(donor, out_dir, api_url=api_url)


def t1_candidates(data_dir: str | os.PathLike | None, donor: str) -> list[Path]:
    """Where a donor's T1w image may already be: the AHBA MRI layouts under `data_dir`.

    Parameters
    ----------
    data_dir : path-like or None
        The data folder (None or empty: no candidates).
    donor : str
        Donor number.

    Returns
    -------
    candidates : list of pathlib.Path
        In order of preference; they need not exist.
    """
    if not data_dir:
        return []
    root = Path(data_dir)
    return [root / "mri" / f"mri_donor{donor}" / "T1.nii.gz",
            root / "rawmri" / f"donor{donor}" / "T1w.nii.gz",
            root / "rawmri" / f"donor{donor}" / "T1w.nii"]


def obtain_t1(donor: str, dest: str | os.PathLike, *, source: str = "folder",
              data_dir: str | None = None, download: bool = False,
              api_url: str | None = None) -> Path:
    """Put the donor's T1w image (used for its affine) at `dest`.

    Parameters
    ----------
    donor : str
        Donor number.
    dest : path-like
        Destination file (``.nii.gz``).
    source : {'folder', 'synthetic'}, default='folder'
        Link the image of `data_dir` (or download it), or generate an
        all-zero image on the grid of the donor's native atlas.
    data_dir : str, optional
        Folder searched with :func:`t1_candidates`.
    download : bool, default=False
        Download the donor's MRI when `data_dir` lacks it (into the
        workflow's ``resources/``, never into `data_dir`).
    api_url : str, optional
        Allen API base URL.

    Returns
    -------
    dest : pathlib.Path

    Raises
    ------
    FileNotFoundError
        Without the image and without `download`.
    """
    dest = Path(dest)
    if source == "synthetic":
        with _scratch_dir(dest.parent, f"synth_mri_{donor}_") as root:
            os.replace(synth.write_mri(root, donor) / "T1.nii.gz", dest)
        return dest
    candidates = t1_candidates(data_dir, donor)
    for cand in candidates:
        if cand.is_file():
            link_or_copy(cand, dest)
            return dest
    if not download:
        raise FileNotFoundError(
            f"No T1w image for donor {donor} under {data_dir!r} (looked for "
            f"{', '.join(map(str, candidates)) or 'mri/mri_donor<ID>/T1.nii.gz'}). Donor-specific "
            "(native) atlases need it; set `download: true` or add the file."
        )
    # downloads go to the workflow's own resources/, never into data_dir
    files = fetch.fetch_raw_mri(data_dir=str(dest.parent.parent / "download"), donors=[donor],
                                api_url=api_url)
    copy_atomic(Path(files[donor]["t1w"]), dest)
    return dest


def obtain_rnaseq(donor: str, out_dir: str | os.PathLike, *, source: str = "folder",
                  data_dir: str | None = None, download: bool = False,
                  api_url: str | None = None,
                  synthetic: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Put a donor's RNA-seq ``RNAseqTPM.csv`` and ``SampleAnnot.csv`` in `out_dir`.

    Parameters
    ----------
    donor : str
        Donor number (one of :data:`abagen_core.donors.RNASEQ_DONORS`).
    out_dir : path-like
        Destination folder.
    source : {'folder', 'synthetic'}, default='folder'
        Link the files of `data_dir` (or download them), or generate them.
    data_dir : str, optional
        AHBA download folder to read from (abagen layout).
    download : bool, default=False
        Download the donor's RNA-seq data when `data_dir` lacks it (into the
        workflow's ``resources/``, never into `data_dir`).
    api_url : str, optional
        Allen API base URL.
    synthetic : mapping, optional
        Settings of the synthetic generator, as for :func:`obtain_donor`.

    Returns
    -------
    files : dict of str -> str
        File name -> path in `out_dir`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = (layout.RNASEQ_FILES["tpm"], layout.RNASEQ_FILES["annotation"])
    if source == "synthetic":
        _synthetic_donor(donor, synthetic or {}, kind="rnaseq", names=names, out_dir=out_dir)
    else:
        try:
            files = _existing_rnaseq(data_dir, donor)
        except FileNotFoundError:
            if not download:
                raise
            # downloads go to the workflow's own resources/, never into data_dir
            files = fetch.fetch_rnaseq(data_dir=str(out_dir.parent.parent / "download"),
                                       donors=[donor], api_url=api_url)[donor]
        link_or_copy(Path(files["tpm"]), out_dir / names[0])
        link_or_copy(Path(files["annotation"]), out_dir / names[1])
    return {name: str(out_dir / name) for name in names}


def _existing_rnaseq(data_dir: str | None, donor: str) -> dict[str, str]:
    folder = layout.donor_folder(data_dir or ".", "rnaseq", donor)
    tpm, annot = folder / layout.RNASEQ_FILES["tpm"], folder / layout.RNASEQ_FILES["annotation"]
    if not (tpm.is_file() and annot.is_file()):
        raise FileNotFoundError(
            f"RNA-seq data of donor {donor} not found in {folder} (needed by "
            "probe_selection='rnaseq'). Set `download: true` or add the files."
        )
    return {"tpm": str(tpm), "annotation": str(annot)}


def convert_matrix_with_checksum(csv: str | os.PathLike, parquet: str | os.PathLike,
                                 checksum: str | os.PathLike, *, kind: str) -> None:
    """CSV -> parquet, and record the CSV's sha256 (provenance of the results).

    The checksum is computed in a thread while pyarrow parses the file (the
    hash releases the GIL), so it costs little extra wall time. The parquet
    file is checked against the donor's tables and removed when it fails.

    Parameters
    ----------
    csv : path-like
        The donor's ``MicroarrayExpression.csv`` or ``PACall.csv`` (probes x
        samples, no header).
    parquet : path-like
        Destination parquet file.
    checksum : path-like
        Destination text file, ``<sha256>  <csv name>``.
    kind : {'microarray', 'pacall'}
        Which matrix (see :data:`abagen_core.storage.parquet.MATRIX_KINDS`).
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(sha256_file, csv)
        io.csv_to_parquet(csv, parquet, kind)
        digest = future.result()
    try:  # the matrix must match the donor's Probes.csv and SampleAnnot.csv
        checks.check_converted_matrix(parquet, kind, csv)
    except Exception:
        Path(parquet).unlink(missing_ok=True)
        raise
    write_text_atomic(f"{digest}  {Path(csv).name}\n", checksum)
    LOG.info("Converted %s -> %s (sha256 %s)", csv, parquet, digest[:12])


def convert_donor(files: Mapping[str, str | os.PathLike],
                  outputs: Mapping[str, str | os.PathLike]) -> None:
    """One donor's raw CSVs -> parquet (the workflow's ``convert_donor`` step).

    Parameters
    ----------
    files : mapping
        Paths of ``annotation`` (SampleAnnot.csv), ``ontology``,
        ``microarray`` and ``pacall``.
    outputs : mapping
        Parquet paths for the same keys, plus ``microarray_checksum`` and
        ``pacall_checksum`` (sha256 of each matrix CSV).
    """
    write_frame(io.read_annotation(files["annotation"]), outputs["annotation"],
                kind="annotation_raw")
    write_frame(io.read_ontology(files["ontology"]), outputs["ontology"], kind="ontology")
    for kind in ("microarray", "pacall"):
        convert_matrix_with_checksum(files[kind], outputs[kind], outputs[f"{kind}_checksum"],
                                     kind=kind)
