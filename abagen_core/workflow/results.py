"""Reading a working folder's results: any variant's matrix, by name or options.

Named variants (``variants:``) have a folder ``results/<atlas>/<variant>/``;
swept ones (``sweep:``) live in compact batch files listed by the atlas'
sweep index (:mod:`abagen_core.outputs.sweep`). :func:`read_variant` reads
either; ``abagen-export`` is its command line.

Examples
--------
>>> from abagen_core.workflow.results import read_variant
>>> matrix = read_variant("work", "dk", gene_norm="zscore", ibf_threshold=0.25)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from abagen_core.outputs import sweep
from abagen_core.storage.parquet import read_frame_parquet, write_frame_csv
from abagen_core.workflow import paths

__all__ = ["sweep_index", "read_variant", "list_variants", "parse_option", "main"]

PathLike = str | os.PathLike


def sweep_index(workdir: PathLike, atlas: str) -> pd.DataFrame:
    """The sweep index of an atlas: swept variant -> batch file and options.

    Parameters
    ----------
    workdir : path-like
        The workflow's working folder.
    atlas : str
        Atlas name.

    Returns
    -------
    index : pandas.DataFrame
        Index ``variant``; column ``batch`` then one column per option (as
        text); empty when the atlas has no finished sweep.
    """
    path = Path(workdir) / paths.fill(paths.SWEEP_INDEX, atlas=atlas)
    if not path.exists():
        return pd.DataFrame(columns=["batch"]).rename_axis("variant")
    return sweep.read_index(path)


def _result_folder(workdir: Path, atlas: str, variant: str) -> Path:
    return workdir / Path(paths.fill(paths.RESULT, atlas=atlas, variant=variant,
                                     file="metadata.json")).parent


def list_variants(workdir: PathLike, atlas: str) -> list[str]:
    """Every finished variant of an atlas: result folders, then swept variants.

    Parameters
    ----------
    workdir : path-like
    atlas : str

    Returns
    -------
    names : list of str
    """
    workdir = Path(workdir)
    folder = _result_folder(workdir, atlas, "x").parent
    named = sorted(p.parent.name for p in folder.glob("*/metadata.json")) \
        if folder.is_dir() else []
    return named + [v for v in sweep_index(workdir, atlas).index if v not in named]


def read_variant(workdir: PathLike, atlas: str, variant: str | None = None,
                 **options: Any) -> pd.DataFrame:
    """Any variant's region x gene matrix from a working folder, by name or options.

    Parameters
    ----------
    workdir : path-like
        The workflow's working folder.
    atlas : str
        Atlas name.
    variant : str, optional
        Variant name; else the swept variant given by `options`.
    **options
        Options that identify one swept variant (e.g. ``gene_norm='zscore'``);
        options the sweep does not vary may be left out.

    Returns
    -------
    matrix : pandas.DataFrame of shape (n_regions, n_genes)
        Index ``label``, columns ``gene_symbol``; as ``expression.parquet``.

    Raises
    ------
    KeyError
        No such variant, or the options match none or several (named).
    TypeError
        Neither or both of a name and options.
    """
    workdir = Path(workdir)
    if (variant is None) == (not options):
        raise TypeError("give either a variant name or the options of a swept variant.")
    if variant is not None:
        folder = _result_folder(workdir, atlas, variant)
        if (folder / "metadata.json").exists():
            return read_frame_parquet(folder / "expression.parquet")
    index = sweep_index(workdir, atlas)
    if variant is None:
        variant = sweep.find_variant(index, options)
    if variant not in index.index:
        raise KeyError(f"no finished variant {variant!r} of atlas {atlas!r} in {workdir}: "
                       f"neither results/{atlas}/{variant}/ nor the sweep index lists it. "
                       "Run the workflow first, or see `abagen-export --list`.")
    batch = (workdir / paths.fill(paths.SWEEP_INDEX, atlas=atlas)).parent / \
        index.loc[variant, "batch"]
    return sweep.read_batch_variant(batch, variant)


def parse_option(text: str) -> tuple[str, Any]:
    """``name=value`` of the command line as an option (None, booleans and numbers parsed).

    Parameters
    ----------
    text : str
        E.g. ``gene_norm=zscore``, ``ibf_threshold=0.25``, ``missing=None``.

    Returns
    -------
    name, value : str, object
    """
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: give an option as name=value, "
                                         "e.g. gene_norm=zscore")
    words = {"none": None, "null": None, "true": True, "false": False}
    if value.lower() in words:
        return name, words[value.lower()]
    try:
        return name, float(value)
    except ValueError:
        return name, value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="abagen-export",
        description="Write one variant's region x gene matrix from a workflow working folder "
                    "as CSV: a named variant (results/<atlas>/<variant>/) or a swept one (its "
                    "batch file under results/<atlas>/sweeps/), given by name or by options.",
        epilog="Examples:\n  abagen-export -w work --atlas dk --list\n"
               "  abagen-export -w work --atlas dk --variant sweep-0007 -o m.csv\n"
               "  abagen-export -w work --atlas dk gene_norm=zscore ibf_threshold=0.25 "
               "-o m.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("options", nargs="*", type=parse_option, metavar="NAME=VALUE",
                        help="options of the swept variant to export (those the sweep varies "
                             "are enough)")
    parser.add_argument("-w", "--workdir", default=".", type=Path,
                        help="the workflow's working folder (default: the current folder)")
    parser.add_argument("--atlas", required=True, help="atlas name (a key of `atlases`)")
    parser.add_argument("--variant", default=None, help="variant name (instead of options)")
    parser.add_argument("-o", "--output", default=None, type=Path,
                        help="CSV to write (default: standard output)")
    parser.add_argument("--list", action="store_true",
                        help="list the finished variants of the atlas and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``abagen-export`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 when the variant cannot be found or read.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.workdir.is_dir():
        parser.error(f"--workdir {args.workdir} is not a folder")
    if args.list:
        for name in list_variants(args.workdir, args.atlas):
            print(name)
        return 0
    if (args.variant is None) == (not args.options):
        parser.error("give --variant NAME or the options (NAME=VALUE ...) of a swept variant")
    try:
        matrix = read_variant(args.workdir, args.atlas, args.variant, **dict(args.options))
    except (KeyError, OSError, ValueError) as exc:
        print(f"abagen-export: error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 1
    if args.output is None:
        matrix.to_csv(sys.stdout)
    else:
        write_frame_csv(matrix, args.output)
    return 0
