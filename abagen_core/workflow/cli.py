"""The ``abagen`` command: abagen 0.1.3's command line on the cached workflow.

Same arguments and defaults as the ``abagen`` command of abagen 0.1.3 (its
manual, section 7.3). Every argument is validated before any work starts,
with the errors of the Python API (:func:`abagen_core.options.check_options`).
The work itself is done by the Snakemake workflow of this repository in a
persistent cache folder, so that a later call that differs only in the atlas
(or in downstream options) re-uses everything it shares with earlier calls.

Cache layout (``--cache-dir``, default ``$ABAGEN_CACHE`` or
``~/.cache/abagen-core``)::

    <cache>/<data key>/                 one Snakemake working folder per data folder
        atlases/a<sha1>/...             copies of the atlas files, named by content
        config/cli-<atlas>-<variant>.yaml
        resources/ results/ logs/       the workflow's own outputs
        logs/abagen-cli.log             Snakemake's output of the last call
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from abagen_core import __version__
from abagen_core.atlas import images
from abagen_core.errors import InvalidOptionError
from abagen_core.options import (
    DEFAULTS,
    DONOR_PROBES_OPTIONS,
    NORM_OPTIONS,
    PROBE_SELECTION_METHODS,
    check_options,
    stage_key,
)
from abagen_core.storage.atomic import atomic_path
from abagen_core.workflow.plan import resolve_data_dir

__all__ = ["main", "build_parser", "cache_root", "workdir_for", "jobs_run", "workflow_root",
           "SNAKEFILE"]


def workflow_root() -> Path:
    """The folder holding the workflow's ``workflow/``, ``scripts/`` and ``config/``.

    Returns
    -------
    root : pathlib.Path
        The repository when the package is run from a checkout (or an
        editable install), so that the workflow being edited is the one that
        runs; otherwise the copy installed with the package,
        ``abagen_core/_workflow`` (see setup.py).
    """
    package = Path(__file__).resolve().parents[1]
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "workflow" / "Snakefile").is_file():
        return checkout
    return package / "_workflow"


#: the workflow the command runs
SNAKEFILE = workflow_root() / "workflow" / "Snakefile"

_GIFTI = (".gii", ".gii.gz")
_ANNOT = (".annot",)
_LR_MIRROR = ["None", "bidirectional", "leftright", "rightleft"]
_MISSING = ["None", "centroids", "interpolate"]
_NORMS = [str(n) for n in NORM_OPTIONS if n is not None] + ["None"]
_LOG_NAME = "abagen-cli.log"
# jobs a call ran, as Snakemake 9 reports them
_FINISHED = re.compile(r"Finished jobid: \d+ \(Rule: (?P<rule>[A-Za-z0-9_]+)\)")
_PROGRESS = re.compile(r"^\d+ of \d+ steps \(\d+%\) done")

_DESCRIPTION = """\
Assign Allen Human Brain Atlas (AHBA) microarray expression data to the
regions of an atlas and write the region x gene matrix as a CSV file.

Processing follows abagen 0.1.3: probes are filtered by intensity
(--ibf_threshold), one probe is chosen per gene or probes are collapsed
(--probe_selection, --donor_probes), samples can be mirrored across the
hemispheres (--lr_mirror), and samples are matched to the atlas' regions, at
most --tol mm away from a region (standard deviations for surface atlases),
within the same hemisphere and tissue class when --atlas_info is given.
Expression is then normalised per sample (--sample_norm) and per gene
(--gene_norm, --norm_all, --norm_structures) and aggregated into regions and
across donors (--region_agg, --agg_metric).

The work runs as the abagen-core Snakemake workflow in a cache folder
(--cache-dir): every step that does not depend on the atlas is computed once
and re-used by later calls with other atlases or downstream options.
"""

_EPILOG = """\
examples:
  # the Desikan-Killiany volume atlas, abagen's default processing
  abagen --atlas_info atlas-desikankilliany.csv atlas-desikankilliany.nii.gz

  # two donors, one probe per gene by maximum intensity, counts and donor files
  abagen --donors 12876 15496 --probe_selection max_intensity \\
      --output-file dk.csv --save-counts --save-donors atlas.nii.gz

  # a surface atlas (fsaverage5 GIFTIs, left then right) piped to another tool
  abagen --stdout lh.label.gii rh.label.gii | head

  # FreeSurfer annotations on fsaverage5, left then right
  abagen --output-file aparc.csv lh.aparc.annot rh.aparc.annot

--donors takes every following value: give the atlas before it or after
another option (abagen ATLAS --donors 9861 10021).

Outputs: --output-file (the region x gene matrix, regions as rows), with
--save-counts <name>_counts<ext> (samples per region and donor), with
--save-donors <name>_<donor><ext> (one matrix per donor) and with
--save-genes <name>_genes<ext> (why each gene symbol is or is not a column).
"""


# --------------------------------------------------------------------------- parser


def _absolute(value: str) -> str:
    return os.path.abspath(os.path.expanduser(value))


class _ExistingFiles(argparse.Action):
    """Store absolute paths of existing files: a string for one value, a list for more.

    As abagen 0.1.3's parser does: a missing file is an error when the
    arguments are parsed, and one atlas parses to one path (two GIFTIs to a
    list of two).
    """

    def __call__(self, parser, namespace, values, option_string=None):
        given = [values] if isinstance(values, str) else list(values)
        for value in given:
            if not os.path.isfile(_absolute(value)):
                raise argparse.ArgumentError(self, f"file not found: {value}")
        paths = [_absolute(v) for v in given]
        setattr(namespace, self.dest, paths[0] if len(paths) == 1 else paths)


class _ExistingFolder(argparse.Action):
    """Store the absolute path of an existing folder (a typo is an error, not a download)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if not os.path.isdir(_absolute(values)):
            what = "is not a folder" if os.path.exists(_absolute(values)) else "folder not found"
            raise argparse.ArgumentError(self, f"{what}: {values}")
        setattr(namespace, self.dest, _absolute(values))


def _atlas_list(atlas: str | Sequence[str]) -> list[str]:
    """The parsed atlas argument (one path or a list of paths) as a list."""
    return [atlas] if isinstance(atlas, str) else list(atlas)



def _both(grp: Any, name: str, help: str, **kwargs: Any) -> None:
    """Add option `name` under its other spelling too (``--a_b`` and ``--a-b``).

    `name` is given first, as abagen lists it; ``dest`` defaults to its
    words joined by underscores.
    """
    words = name[2:]
    other = words.replace("_", "-") if "_" in words else words.replace("-", "_")
    kwargs.setdefault("dest", words.replace("-", "_"))
    grp.add_argument(name, "--" + other, help=help, **kwargs)


def _method(grp: Any, name: str, choices: Sequence[str], default: str, help: str) -> None:
    """Add a ``METHOD`` option (both spellings) taking one of `choices`."""
    _both(grp, name, help, metavar="METHOD", choices=choices, default=default)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``abagen`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        Parses every argument of abagen 0.1.3's command (both spellings of
        each option) plus ``--cache-dir``; values are *not* validated here
        beyond their type and allowed choices (see :func:`main`).
    """
    parser = argparse.ArgumentParser(
        prog="abagen",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "atlas", nargs="+", metavar="atlas", action=_ExistingFiles,
        help="The parcellation: one NIfTI image in MNI152 space, or two GIFTI label "
             "images or two FreeSurfer .annot files in fsaverage5 space (left hemisphere "
             "first, then right; .annot ids are renumbered as relabel_gifti does). Every "
             "parcel is labelled by its own integer id; 0 is background. Parsed as "
             "abagen does: one path (a string) or a list of two paths, made "
             "absolute; missing files are an error.")
    parser.add_argument("--version", action="version",
                        version=f"abagen (abagen_core) {__version__}",
                        help="Show the program's version and exit.")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="Report progress on stderr; give twice (-vv) to also show "
                             "Snakemake's own output. Default: quiet.")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="Print the parsed arguments and exit without doing any work "
                             "(as abagen's hidden --debug flag does).")

    grp = parser.add_argument_group("Options to specify information about the atlas used")
    _both(grp, "--atlas_info", metavar="PATH", default=None, action=_ExistingFiles,
          help="CSV table describing the atlas, with at least the columns 'id', "
               "'hemisphere' ('L', 'R' or 'B') and 'structure' ('cortex', "
               "'subcortex/brainstem', 'cerebellum'). When given, a sample can only be "
               "matched to a region of its own hemisphere and tissue class. For GIFTI "
               "atlases with label tables this information is derived from the files. "
               "Default: not used.")

    grp = parser.add_argument_group("Options to specify which AHBA data to use during "
                                    "processing")
    grp.add_argument(
        "--donors", nargs="+", default=["all"], metavar="DONOR_ID",
        help="Donors whose expression data are used: donor numbers (e.g. 9861 10021) or "
             "Allen UIDs (e.g. H0351.2001), or 'all' for all six. Default: all.")
    _both(grp, "--data_dir", metavar="PATH", default=None, action=_ExistingFolder,
          help="Folder holding the AHBA download (abagen's layout); it must exist. "
               "Default: $ABAGEN_DATA, else $HOME/abagen-data. Donors missing there are "
               "downloaded from the Allen Institute into the cache.")
    _both(grp, "--n_proc", metavar="N_PROC", type=int, default=1,
          help="Number of processes: downloads and workflow jobs run up to this many at "
               "a time (up to six downloads when all donors are used). Default: 1.")

    grp = parser.add_argument_group("Options to specify processing options")
    _both(grp, "--ibf_threshold", metavar="THRESHOLD", type=float,
          default=DEFAULTS["ibf_threshold"],
          help="Intensity-based filtering: a probe is kept only if its signal exceeds "
               "background noise in at least this fraction (0 to 1) of the samples of the "
               "selected donors. Default: 0.5.")
    _method(grp, "--probe_selection", sorted(PROBE_SELECTION_METHODS), DEFAULTS["probe_selection"],
            "How the probes of one gene are reduced to one value per sample: keep one "
            "probe (max_intensity, max_variance, pc_loading, corr_variance, "
            "corr_intensity, diff_stability, rnaseq) or average them (average, mean). "
            "Possible choices: %(choices)s. Default: diff_stability.")
    _method(grp, "--donor_probes", DONOR_PROBES_OPTIONS, DEFAULTS["donor_probes"],
            "How probe selection treats donors: 'aggregate' picks one probe per gene "
            "from all donors together, 'independent' picks one per donor, 'common' "
            "picks one per donor and keeps the probe most donors picked. "
            "diff_stability, rnaseq and average always select across all donors "
            "(aggregate). Possible choices: %(choices)s. Default: aggregate.")
    _method(grp, "--lr_mirror", _LR_MIRROR, "None",
            "Duplicate samples into the opposite hemisphere to cover more regions: "
            "'bidirectional' mirrors both hemispheres, 'leftright' copies left samples "
            "to the right, 'rightleft' right to left. Possible choices: %(choices)s. "
            "Default: None (no mirroring).")
    _both(grp, "--sim_threshold", metavar="THRESHOLD", type=float, default=None,
          help="Similarity filtering of samples: a sample whose summed correlation with all "
               "other samples is more than this many standard deviations below the mean is "
               "dropped. Default: None (no filtering).")
    grp.add_argument(
        "--missing", dest="missing", metavar="METHOD", choices=_MISSING, default="None",
        help="What regions without any matched sample get: 'centroids' takes the sample "
             "nearest the region's centroid, 'interpolate' gives every voxel/vertex of the "
             "region the nearest sample's expression and averages them weighted by "
             "inverse distance. Possible choices: %(choices)s. Default: None (such "
             "regions are NaN).")
    grp.add_argument(
        "--tol", "--tolerance", dest="tolerance", metavar="TOLERANCE", type=float,
        default=DEFAULTS["tolerance"],
        help="Largest distance (mm) between a sample and a region it is matched to. For "
             "a GIFTI atlas, samples are matched to their nearest vertex and this is a "
             "threshold in standard deviations of the matched distances. Default: 2.")
    _method(grp, "--sample_norm", _NORMS, DEFAULTS["sample_norm"],
            "Normalisation of each sample across genes (per donor) before samples are "
            "aggregated into regions; 'None' skips it. Possible choices: %(choices)s. "
            "Default: srs.")
    _method(grp, "--gene_norm", _NORMS, DEFAULTS["gene_norm"],
            "Normalisation of each gene across samples, for each donor separately, "
            "before donors are combined; 'None' skips it. Possible choices: "
            "%(choices)s. Default: srs.")
    _both(grp, "--norm_all", dest="norm_matched", action="store_false",
          help="Normalise genes (--gene_norm) over all samples of a donor, not only over "
               "those matched to a region; advisable for atlases with few regions. "
               "Default: only matched samples.")
    _both(grp, "--norm_structures", action="store_true",
          help="Normalise genes (--gene_norm) separately within each structural class "
               "(cortex, subcortex/brainstem, cerebellum). Default: off.")
    _method(grp, "--region_agg", ["donors", "samples"], DEFAULTS["region_agg"],
            "How the samples of a region are combined: 'donors' reduces each donor's "
            "samples first and then the donors, 'samples' pools the samples of all "
            "donors (see --agg_metric). Possible choices: %(choices)s. Default: donors.")
    _method(grp, "--agg_metric", ["mean", "median"], DEFAULTS["agg_metric"],
            "Statistic that reduces the samples of a region and the donor matrices to "
            "one value. Possible choices: %(choices)s. Default: mean.")

    grp = parser.add_argument_group("Options to modify the AHBA data used")
    _both(grp, "--no-reannotated", dest="reannotated", action="store_false",
          help="Use the probe-to-gene assignment shipped with the AHBA instead of the "
               "reannotation of Arnatkeviciute et al. (2019), which drops probes that do "
               "not match a gene reliably. Default: reannotated probes.")
    _both(grp, "--no-corrected-mni", dest="corrected_mni", action="store_false",
          help="Match samples by the MNI coordinates shipped with the AHBA instead of the "
               "corrected coordinates (alleninf). Default: corrected coordinates.")

    grp = parser.add_argument_group("Options to modify how data are output")
    grp.add_argument(
        "--stdout", action="store_true",
        help="Print the region x gene matrix (CSV) to stdout instead of writing "
             "--output-file; --save-counts and --save-donors are then ignored. Writing "
             "a file is usually the better choice. Default: off.")
    _both(grp, "--output-file", metavar="PATH", default=None,
          help="Where the region x gene matrix (CSV) is written. Default: "
               "$PWD/abagen_expression.csv.")
    _both(grp, "--save-counts", action="store_true",
          help="Also write the number of samples of each donor matched to each region, to "
               "the --output-file name with '_counts' appended before the extension. "
               "Default: off.")
    _both(grp, "--save-donors", action="store_true",
          help="Also write one region x gene matrix per donor (before aggregation across "
               "donors), to the --output-file name with '_<donor id>' appended before the "
               "extension. Needs --region_agg donors. Default: off.")

    grp = parser.add_argument_group("Options of abagen-core (not in abagen 0.1.3)")
    _both(grp, "--sample-coordinates", metavar="CSV", default=None,
          help="A table of sample MNI coordinates (columns well_id, mni_x, mni_y, mni_z; all "
               "samples or a subset) replacing the corrected coordinates, e.g. a refined "
               "registration. Default: abagen's corrected coordinates.")
    _both(grp, "--save-genes", action="store_true",
          help="Also write, for every gene symbol of the probe annotation, the step where it "
               "left the pipeline and why (reannotation, Entrez id, intensity filter with "
               "the fraction of samples above background per donor, probe selection) or the "
               "probe kept, to the --output-file name with '_genes' appended before the "
               "extension. Default: off.")
    _both(grp, "--cache-dir", metavar="PATH", default=None,
          help="Folder of the workflow cache shared by all calls (intermediate files, "
               "logs). Default: $ABAGEN_CACHE, else ~/.cache/abagen-core.")
    return parser


# --------------------------------------------------------------------------- validation


def _none(value: str | None) -> str | None:
    return None if value in (None, "None") else value


def _is(path: Path, suffixes: tuple[str, ...]) -> bool:
    return path.name.lower().endswith(suffixes)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """Processing options of get_expression_data from the parsed arguments."""
    return {
        "ibf_threshold": args.ibf_threshold,
        "probe_selection": args.probe_selection,
        "donor_probes": args.donor_probes,
        "sim_threshold": args.sim_threshold,
        "lr_mirror": _none(args.lr_mirror),
        "missing": _none(args.missing),
        "tolerance": args.tolerance,
        "sample_norm": _none(args.sample_norm),
        "gene_norm": _none(args.gene_norm),
        "norm_matched": args.norm_matched,
        "norm_structures": args.norm_structures,
        "region_agg": args.region_agg,
        "agg_metric": args.agg_metric,
        "corrected_mni": args.sample_coordinates or args.corrected_mni,
        "reannotated": args.reannotated,
        "donors": args.donors,
    }


def _check_files(parser: argparse.ArgumentParser, args: argparse.Namespace
                 ) -> tuple[list[Path], Path | None]:
    given = _atlas_list(args.atlas)
    if len(given) not in (1, 2):
        parser.error(f"argument atlas: expected one NIfTI image or two GIFTI images "
                     f"(lh rh); got {len(given)} files: {' '.join(given)}")
    atlas = [Path(a).expanduser().resolve() for a in given]
    for name, path in zip(given, atlas, strict=True):
        if not path.is_file():
            parser.error(f"argument atlas: file not found: {name}")
    if len(atlas) == 1 and _is(atlas[0], _GIFTI + _ANNOT):
        kind = "FreeSurfer .annot files" if _is(atlas[0], _ANNOT) else "GIFTI images"
        parser.error(f"argument atlas: a surface atlas needs two {kind} (left "
                     f"hemisphere, then right); got only {given[0]}")
    if len(atlas) == 2 and not (all(_is(p, _GIFTI) for p in atlas)
                                or all(_is(p, _ANNOT) for p in atlas)):
        parser.error(f"argument atlas: two files must be GIFTI label images (.gii or "
                     f".gii.gz) or FreeSurfer .annot files, left hemisphere then right; "
                     f"got {' '.join(given)}")
    info = None
    if args.atlas_info is not None:
        info = Path(args.atlas_info).expanduser().resolve()
        if not info.is_file():
            parser.error(f"argument --atlas_info: file not found: {args.atlas_info}")
    if args.sample_coordinates is not None:
        coords = Path(args.sample_coordinates).expanduser().resolve()
        if not coords.is_file():
            parser.error(f"argument --sample-coordinates: file not found: "
                         f"{args.sample_coordinates}")
        args.sample_coordinates = str(coords)
    return atlas, info


def _check_atlas(parser: argparse.ArgumentParser, atlas: list[Path], info: Path | None,
                 raw: Sequence[str]) -> None:
    """Load the atlas as the workflow will, so a bad file fails before any job."""
    image: Any = str(atlas[0]) if len(atlas) == 1 else tuple(str(p) for p in atlas)
    try:
        images.check_atlas(image, str(info) if info is not None else None)
    except Exception as exc:  # any loader error is a usage error here
        parser.error(f"argument atlas: cannot use {' '.join(raw)} as an atlas: "
                     f"{' '.join(str(exc).split())}")


def _validate(parser: argparse.ArgumentParser, args: argparse.Namespace
              ) -> tuple[dict[str, Any], list[Path], Path | None]:
    """Every check the command makes before starting any work."""
    if args.n_proc < 1:
        parser.error(f"argument --n_proc: must be a positive integer; got {args.n_proc}")
    atlas, info = _check_files(parser, args)
    try:
        opts = check_options(_options(args))
    except InvalidOptionError as exc:
        flag = "tol" if exc.name == "tolerance" else exc.name
        parser.error(f"argument --{flag}: {exc}")
    except ValueError as exc:
        parser.error(str(exc))
    if args.stdout:
        # the manual: --stdout overrides --save-counts and --save-donors
        args.save_counts = args.save_donors = args.save_genes = False
    if args.save_donors and opts["region_agg"] == "samples":
        parser.error("--save-donors needs --region_agg donors: donor-level matrices do not "
                     "exist when samples are pooled across donors.")
    _check_atlas(parser, atlas, info, _atlas_list(args.atlas))
    return opts, atlas, info


# --------------------------------------------------------------------------- cache


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder: `cache_dir`, else ``$ABAGEN_CACHE``, else ``~/.cache/abagen-core``.

    Parameters
    ----------
    cache_dir : path-like, optional
        The ``--cache-dir`` argument.

    Returns
    -------
    root : pathlib.Path
        Absolute (not created).
    """
    if cache_dir:
        return Path(cache_dir).expanduser().resolve()
    env = os.environ.get("ABAGEN_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "abagen-core"


def _data_dir(data_dir: str | None) -> Path:
    return Path(resolve_data_dir(data_dir)).expanduser().resolve()


def workdir_for(cache_dir: str | os.PathLike | None, data_dir: str | None) -> Path:
    """Snakemake working folder of the calls reading `data_dir`.

    One folder per data folder: the workflow's raw-data jobs have no inputs,
    so data from two folders must never share a working folder.

    Parameters
    ----------
    cache_dir : path-like, optional
        See :func:`cache_root`.
    data_dir : str, optional
        The data folder (resolved with :func:`abagen_core.workflow.plan.resolve_data_dir`).

    Returns
    -------
    workdir : pathlib.Path
        ``<cache>/data-<sha1 of the data folder's path>`` (not created).
    """
    key = hashlib.sha1(str(_data_dir(data_dir)).encode()).hexdigest()[:10]
    return cache_root(cache_dir) / f"data-{key}"


def _sha1_files(paths: Sequence[Path | None]) -> str:
    digest = hashlib.sha1()
    for path in paths:
        digest.update(b"\0none\0" if path is None else path.read_bytes())
        digest.update(b"\0|\0")
    return digest.hexdigest()[:10]


def _extension(path: Path) -> str:
    name = path.name.lower()
    for ext in (".nii.gz", ".gii.gz", ".csv.gz", ".tsv.gz"):
        if name.endswith(ext):
            return ext
    return path.suffix


def _atlas_entry(workdir: Path, atlas: list[Path], info: Path | None
                 ) -> tuple[str, dict[str, str | None]]:
    """Stable name (by file content) and workflow config entry of the atlas.

    The files are copied into the cache under that name (as ``image.nii.gz``,
    ``lh.gii.gz``, ``info.csv``, ...), so the paths the workflow sees do not
    depend on where the user keeps them or what they are called.
    """
    name = "a" + _sha1_files([*atlas, info])
    folder = workdir / "atlases" / name
    folder.mkdir(parents=True, exist_ok=True)
    keys = ["image"] if len(atlas) == 1 else ["lh", "rh"]
    entry: dict[str, str | None] = {"info": None}
    for key, src in zip(keys + ["info"], [*atlas, info], strict=True):
        if src is None:
            continue
        dest = folder / f"{key}{_extension(src)}"
        if not dest.exists():
            _copy(Path(src), dest)
        entry[key] = str(dest)
    return name, entry


@contextlib.contextmanager
def _locked(workdir: Path) -> Iterator[bool]:
    """Serialise calls sharing a working folder; yields whether a lock is held."""
    try:
        import fcntl  # lazy: POSIX only; other systems take the except below
    except ImportError:  # pragma: no cover - not POSIX
        yield False
        return
    with open(workdir / ".abagen-cli.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- running


def _say(verbose: int, message: str) -> None:
    if verbose:
        print(f"abagen: {message}", file=sys.stderr, flush=True)


def _write_config(workdir: Path, config: dict[str, Any], atlas: str, variant: str) -> Path:
    import yaml  # a dependency of snakemake

    path = workdir / "config" / f"cli-{atlas}-{variant}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = ("# Written by the `abagen` command (abagen_core.workflow.cli); re-used by later calls.\n"
            + yaml.safe_dump(config, sort_keys=False))
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _snakemake_command(workdir: Path, configfile: Path, cores: int, targets: list[str],
                       locked: bool) -> list[str]:
    cmd = [sys.executable, "-m", "snakemake",
           "--snakefile", str(SNAKEFILE),
           "--directory", str(workdir),
           "--configfile", str(configfile),
           "--cores", str(cores),
           "--rerun-incomplete",
           # only our config: not merged with the repository's config/config.yaml
           "--replace-workflow-config"]
    if locked:
        cmd.append("--nolock")  # calls are serialised by _locked(); no stale locks
    return cmd + targets


def _run(cmd: list[str], log_path: Path, verbose: int, stream: TextIO) -> tuple[int, str]:
    """Run Snakemake; its output goes to `log_path` (and `stream` with -vv)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    with open(log_path, "w") as log, subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            lines.append(line)
            if verbose >= 2 or (verbose == 1 and _PROGRESS.match(line)):
                stream.write(line if verbose >= 2 else f"abagen: {line}")
                stream.flush()
        returncode = proc.wait()
    return returncode, "".join(lines)


def jobs_run(log_text: str) -> list[str]:
    """Rule names of the jobs a Snakemake run finished, from its output.

    Parameters
    ----------
    log_text : str
        Snakemake's output (its log) of one run.

    Returns
    -------
    rules : list of str
        One rule name per finished job, in order.
    """
    return [m["rule"] for m in _FINISHED.finditer(log_text)]


def _suffixed(path: Path, extra: str) -> Path:
    """``path`` with ``_<extra>`` inserted before its extension (``.csv.gz`` kept whole)."""
    name = path.name
    for ext in (".csv.gz", ".tsv.gz"):
        if name.lower().endswith(ext):
            return path.with_name(f"{name[:-len(ext)]}_{extra}{name[-len(ext):]}")
    return path.with_name(f"{path.stem}_{extra}{path.suffix}")


def _copy(src: Path, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)


def _prepare(workdir: Path, args: argparse.Namespace, opts: dict[str, Any], atlas: list[Path],
             info: Path | None, data_dir: Path) -> tuple[Path, str, str]:
    """Atlas copies and the config of this call in `workdir`; (config, atlas, variant)."""
    atlas_name, atlas_entry = _atlas_entry(workdir, atlas, info)
    variant = "v" + stage_key(opts, "regional")
    config = {
        "data_dir": str(data_dir),
        # abagen downloads what data_dir lacks; the workflow puts it in the cache
        "download": True,
        "donors": list(opts["donors"]),
        "atlases": {atlas_name: atlas_entry},
        # a coordinate table goes into the config by its path (validated already)
        "variants": {variant: {k: (args.sample_coordinates if k == "corrected_mni" and
                                   args.sample_coordinates else v)
                               for k, v in opts.items() if k != "donors"}},
        "outputs": {"save_donors": bool(args.save_donors)},
    }
    return _write_config(workdir, config, atlas_name, variant), atlas_name, variant


def _deliver(results: Path, args: argparse.Namespace, donors: list[str]) -> None:
    """Copy the workflow's results to where the user asked for them."""
    if args.stdout:
        try:
            sys.stdout.write((results / "expression.csv").read_text())
            sys.stdout.flush()
        except BrokenPipeError:  # e.g. `abagen --stdout ... | head`
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return
    output = Path(args.output_file or Path.cwd() / "abagen_expression.csv").expanduser()
    files = [(results / "expression.csv", output)]
    if args.save_counts:
        files.append((results / "counts.csv", _suffixed(output, "counts")))
    if args.save_genes:
        files.append((results / "genes.csv", _suffixed(output, "genes")))
    if args.save_donors:
        files += [(results / "donors" / f"expression_{d}.csv", _suffixed(output, d))
                  for d in donors]
    for src, dest in files:
        _copy(src, dest)
        _say(args.verbose, f"wrote {dest}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``abagen`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 if the workflow (or writing the outputs) failed.
        Invalid arguments exit with status 2 (:class:`SystemExit`, as
        argparse does), before any work.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:  # abagen 0.1.3: print the parsed arguments, do nothing else
        print(args)
        return 0
    opts, atlas, info = _validate(parser, args)
    verbose = args.verbose
    start = time.perf_counter()
    if not SNAKEFILE.is_file():
        print(f"abagen: error: the workflow {SNAKEFILE} is missing; reinstall abagen-core "
              "(pip install abagen-core, or pip install . in its repository)", file=sys.stderr)
        return 1
    data_dir = _data_dir(args.data_dir)
    workdir = workdir_for(args.cache_dir, args.data_dir)
    donors = opts["donors"]
    _say(verbose, f"data: {data_dir}; donors: {' '.join(donors)}")
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"abagen: error: cannot create the cache folder {workdir}: {exc}",
              file=sys.stderr)
        return 1
    # one call at a time per working folder: config, workflow run and copies
    with _locked(workdir) as locked:
        try:
            configfile, atlas_name, variant = _prepare(workdir, args, opts, atlas, info,
                                                       data_dir)
        except OSError as exc:
            print(f"abagen: error: cannot prepare the cache folder {workdir}: {exc}",
                  file=sys.stderr)
            return 1
        _say(verbose, f"cache: {workdir} (atlas {atlas_name}, options {variant})")
        folder = f"results/{atlas_name}/{variant}"
        targets = [f"{folder}/expression.csv", f"{folder}/counts.csv", f"{folder}/genes.csv"]
        if args.save_donors:
            targets += [f"{folder}/donors/expression_{d}.csv" for d in donors]
        cmd = _snakemake_command(workdir, configfile, args.n_proc, targets, locked)
        log_path = workdir / "logs" / _LOG_NAME
        _say(verbose, "running the workflow: " + " ".join(cmd))
        try:
            code, text = _run(cmd, log_path, verbose, sys.stderr)
        except KeyboardInterrupt:
            print(f"abagen: interrupted; finished jobs stay cached in {workdir}",
                  file=sys.stderr)
            return 130
        if code != 0:
            tail = "".join(text.splitlines(keepends=True)[-25:])
            print(f"abagen: error: the workflow failed (exit status {code}); last lines "
                  f"of its output (full log: {log_path}):\n{tail}", file=sys.stderr)
            return 1
        ran = jobs_run(text)
        _say(verbose, f"workflow finished: {len(ran)} job(s) run"
             + (" (" + ", ".join(sorted(set(ran))) + ")" if ran else ", all results cached"))
        try:
            _deliver(workdir / folder, args, donors)
        except OSError as exc:
            print(f"abagen: error: cannot write the outputs: {exc}", file=sys.stderr)
            return 1
    _say(verbose, f"done in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
