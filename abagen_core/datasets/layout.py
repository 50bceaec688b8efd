"""Where the AHBA data live: file names, donor folders and the data folder.

The one place for the layout of an AHBA download (abagen's layout)::

    <data_dir>/microarray/normalized_microarray_donor<ID>/   MICROARRAY_FILES
    <data_dir>/rnaseq/rnaseq_donor<ID>/                      RNASEQ_FILES (donors 9861, 10021)
    <data_dir>/rawmri/donor<ID>/                             T1w.nii.gz, T2w.nii.gz
    <data_dir>/freesurfer/donor<ID>/                         a FreeSurfer subject

A donor folder is also found directly under ``<data_dir>``
(``<data_dir>/normalized_microarray_donor<ID>/``). :func:`resolve_data_dir`
chooses the data folder when none is given; the fetchers
(:mod:`abagen_core.datasets.fetch`), the workflow
(:func:`abagen_core.workflow.plan.resolve_data_dir`) and the ``abagen``
command all use it, so they read the same data.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from abagen_core.donors import DONORS, RNASEQ_DONORS, check_donors
from abagen_core.utils import check_choice

__all__ = ["MICROARRAY_FILES", "RNASEQ_FILES", "RNASEQ_DONORS", "LAYOUTS", "DataDirError",
           "Layout", "donor_folder", "existing_file", "locate", "missing_files", "probe_writable",
           "resolve_data_dir", "candidate_data_dirs", "rnaseq_donors", "kind_donors"]

PathLike = str | os.PathLike

#: microarray file key (as in abagen's ``fetch_microarray``) -> file name, in the
#: order of the Allen archive's members
MICROARRAY_FILES: Mapping[str, str] = {
    "microarray": "MicroarrayExpression.csv",
    "pacall": "PACall.csv",
    "probes": "Probes.csv",
    "annotation": "SampleAnnot.csv",
    "ontology": "Ontology.csv",
}
#: RNA-seq file key (as in abagen's ``fetch_rnaseq``) -> file name, in the order of
#: the Allen archive's members
RNASEQ_FILES: Mapping[str, str] = {
    "tpm": "RNAseqTPM.csv",
    "counts": "RNAseqCounts.csv",
    "genes": "Genes.csv",
    "annotation": "SampleAnnot.csv",
    "ontology": "Ontology.csv",
}


class DataDirError(PermissionError):
    """The data directory cannot be created or written to."""


@dataclass(frozen=True)
class Layout:
    """Where one dataset (kind) lives in a data folder.

    Attributes
    ----------
    subdir : str
        Folder inside the data folder where downloads go.
    folder : str
        Per-donor folder name, formatted with ``donor``.
    files : mapping of str -> str
        File key -> file name; empty for datasets that are a whole folder.
    source_kinds : tuple of str
        Rows of the sources table (``ahba_files.csv``) to download.
    what : str
        Words for messages.
    """

    subdir: str
    folder: str
    files: Mapping[str, str]
    source_kinds: tuple[str, ...]
    what: str


#: dataset kind -> its layout
LAYOUTS: Mapping[str, Layout] = {
    "microarray": Layout("microarray", "normalized_microarray_donor{donor}",
                         MICROARRAY_FILES, ("microarray",), "microarray"),
    "rnaseq": Layout("rnaseq", "rnaseq_donor{donor}", RNASEQ_FILES, ("rnaseq",), "RNA-seq"),
    "raw_mri": Layout("rawmri", "donor{donor}", {"t1w": "T1w.nii.gz", "t2w": "T2w.nii.gz"},
                      ("t1w", "t2w"), "raw MRI"),
    "freesurfer": Layout("freesurfer", "donor{donor}", {}, ("freesurfer",), "FreeSurfer"),
}


def donor_folder(data_dir: PathLike, kind: str, donor: str) -> Path:
    """The folder of one donor's `kind` data in abagen's layout (where downloads go).

    Parameters
    ----------
    data_dir : path-like
    kind : {'microarray', 'rnaseq', 'raw_mri', 'freesurfer'}
    donor : str
        Donor number.

    Returns
    -------
    folder : pathlib.Path
        E.g. ``<data_dir>/microarray/normalized_microarray_donor<donor>``.
    """
    layout = LAYOUTS[kind]
    return Path(data_dir) / layout.subdir / layout.folder.format(donor=donor)


def _candidate_folders(data_dir: Path, layout: Layout, donor: str) -> list[Path]:
    name = layout.folder.format(donor=donor)
    return [data_dir / layout.subdir / name, data_dir / name]


def existing_file(folder: Path, name: str) -> Path | None:
    """``folder / name`` if it is a file (a ``.nii.gz`` may be uncompressed), else None.

    Parameters
    ----------
    folder : pathlib.Path
    name : str
        A file name, e.g. ``T1w.nii.gz``.

    Returns
    -------
    path : pathlib.Path or None
    """
    path = folder / name
    if path.is_file():
        return path
    if name.endswith(".nii.gz") and (folder / name[:-3]).is_file():  # uncompressed NIfTI
        return folder / name[:-3]
    return None


def missing_files(folder: Path, kind: str) -> list[str]:
    """Names of the files of a `kind` donor folder that `folder` lacks.

    Parameters
    ----------
    folder : pathlib.Path
    kind : {'microarray', 'rnaseq', 'raw_mri', 'freesurfer'}

    Returns
    -------
    names : list of str
        Empty when the folder is complete (for FreeSurfer: not empty).
    """
    layout = LAYOUTS[kind]
    if not layout.files:  # a directory dataset: complete when non-empty
        return [] if folder.is_dir() and any(folder.iterdir()) else [folder.name + "/"]
    return [name for name in layout.files.values() if existing_file(folder, name) is None]


def locate(data_dir: Path, kind: str, donor: str) -> dict[str, Path] | None:
    """Files of one donor under `data_dir`, or None when not all are there.

    Parameters
    ----------
    data_dir : pathlib.Path
    kind : {'microarray', 'rnaseq', 'raw_mri', 'freesurfer'}
    donor : str

    Returns
    -------
    files : dict of str -> pathlib.Path or None
        File key -> path (``{'dir': folder}`` for FreeSurfer).
    """
    layout = LAYOUTS[kind]
    for folder in _candidate_folders(data_dir, layout, donor):
        if folder.is_dir() and not missing_files(folder, kind):
            if not layout.files:
                return {"dir": folder}
            return {key: existing_file(folder, name) for key, name in layout.files.items()}
    return None


def probe_writable(path: Path) -> str | None:
    """Create `path` if needed and test writing there.

    Parameters
    ----------
    path : pathlib.Path
        A folder.

    Returns
    -------
    reason : str or None
        None when writable, else why not.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def rnaseq_donors(donors: Any) -> list[str]:
    """Donor numbers of a donor specification, all of them donors with RNA-seq data.

    Parameters
    ----------
    donors : 'all', str, int or list
        ``'all'`` means the RNA-seq donors.

    Returns
    -------
    donors : list of str

    Raises
    ------
    ValueError
        For a donor without RNA-seq data.
    """
    if isinstance(donors, str | int):
        donors = [donors]
    donors = list(donors)
    out = list(RNASEQ_DONORS) if "all" in donors else check_donors(donors)
    bad = [d for d in out if d not in RNASEQ_DONORS]
    if bad:
        raise ValueError(
            f"RNA-seq data exist only for donors {list(RNASEQ_DONORS)}; got {bad}."
        )
    return out


def kind_donors(kind: str, donors: Any) -> list[str]:
    """Donor numbers of a donor specification for one dataset `kind`.

    Parameters
    ----------
    kind : str
        ``'microarray'``, ``'rnaseq'``, ``'raw_mri'``...
    donors : str, int or list
        As for :func:`abagen_core.donors.check_donors`.

    Returns
    -------
    donors : list of str
    """
    if kind == "rnaseq":
        return rnaseq_donors(donors)
    return check_donors(donors)


def candidate_data_dirs(data_dir: PathLike | None = None) -> list[Path]:
    """The folders searched for data: `data_dir` alone when given, else the defaults.

    Parameters
    ----------
    data_dir : path-like, optional

    Returns
    -------
    folders : list of pathlib.Path
        ``$ABAGEN_DATA`` (when set), ``~/abagen-data`` and the working folder.
    """
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    out = []
    env = os.environ.get("ABAGEN_DATA")
    if env:
        out.append(Path(env).expanduser())
    out.append(Path.home() / "abagen-data")
    out.append(Path.cwd())
    return out


def resolve_data_dir(data_dir: PathLike | None = None, *, donors: Any = None,
                     kind: str = "microarray", writable: bool = True) -> Path:
    """Folder to read the AHBA data from (and download missing data to).

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Explicit folder; when given (not None or '') it is returned with
        ``~`` and environment variables expanded (it need not exist).
        Otherwise the candidates are ``$ABAGEN_DATA`` (if set),
        ``~/abagen-data`` and the current working directory.
    donors : 'all', str, int or list, optional
        Donors whose data decide where "the data already exist"; default:
        any donor.
    kind : {'microarray', 'rnaseq', 'raw_mri', 'freesurfer'}, default='microarray'
        Which dataset to look for.
    writable : bool, default=True
        Whether the folder must take downloads. When False (the workflow,
        which only reads the data folder) no folder is created or tested.

    Returns
    -------
    data_dir : pathlib.Path
        The first candidate that holds the data of all requested donors
        (of any donor when `donors` is None); else the first writable one
        that holds some of them; else the first that exists (or can be
        created) and is writable. With ``writable=False``: the first that
        holds the data, else the first that holds some, else the first.

    Raises
    ------
    DataDirError
        If no candidate holds the data or is writable (only with `writable`).
    """
    check_choice("kind", kind, list(LAYOUTS))
    if data_dir is not None and str(data_dir) != "":
        return Path(os.path.expandvars(os.path.expanduser(os.fspath(data_dir))))
    candidates = candidate_data_dirs()
    wanted = list(DONORS) if donors is None else kind_donors(kind, donors)
    found = {cand: [locate(cand, kind, d) is not None for d in wanted] for cand in candidates}
    for cand in candidates:  # 1. holds the data (all requested donors; any when unspecified)
        flags = found[cand]
        if all(flags) if donors is not None else any(flags):
            return cand
    for cand in candidates:  # 2. holds some of it and can take the rest
        if any(found[cand]) and (not writable or probe_writable(cand) is None):
            return cand
    if not writable:
        return candidates[0]
    reasons = []
    for cand in candidates:
        reason = probe_writable(cand)
        if reason is None:
            return cand
        reasons.append(f"{cand} ({reason})")
    raise DataDirError(
        "No usable data directory: none of " + ", ".join(reasons) + " holds the "
        f"{LAYOUTS[kind].what} data or is writable. Pass data_dir=... or set $ABAGEN_DATA "
        "to a writable folder (or to one that already holds the data)."
    )
