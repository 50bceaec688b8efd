#!/usr/bin/env python
"""Create a separate virtual environment with abagen 0.1.3 for the benchmarks.

abagen 0.1.3 needs pandas<2 and numpy<1.25, which cannot live beside this
project's pandas 3 / numpy 2, so the benchmark calls it in its own
interpreter (``run_benchmark.py --abagen-python <venv>/bin/python``), as a
black box: only ``abagen.get_expression_data`` is called; its code is never
read or copied.

By default the venv gets the versions the parity set was produced with
(abagen 0.1.3, pandas 1.5.3, numpy 1.24.4, scipy 1.11.4, nibabel 4.0.2,
scikit-learn 1.3.2); ``--loose`` asks only for ``pandas<2`` and
``numpy<1.25``.

Usage::

    python benchmarks/abagen_reference.py --venv /tmp/abagen-venv
    python benchmarks/run_benchmark.py --work /tmp/bench \\
        --abagen-python /tmp/abagen-venv/bin/python
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["LOOSE", "PINNED", "abagen_version", "create_venv", "main", "on_pypi"]

#: the environment of the parity set (see ../shared/parity/README.md)
PINNED = ["abagen==0.1.3", "pandas==1.5.3", "numpy==1.24.4", "scipy==1.11.4",
          "nibabel==4.0.2", "scikit-learn==1.3.2"]
#: the minimum constraints abagen 0.1.3 needs to import and run
LOOSE = ["abagen==0.1.3", "pandas<2", "numpy<1.25"]


def on_pypi(python: str = sys.executable, requirement: str = "abagen==0.1.3") -> bool:
    """Whether pip can download `requirement` (without dependencies)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([python, "-m", "pip", "download", "--no-deps", "-q", requirement,
                              "-d", tmp], capture_output=True, text=True)
    return out.returncode == 0


def abagen_version(python: str | Path) -> str | None:
    """abagen's version importable by `python`, or None."""
    out = subprocess.run([str(python), "-c", "import abagen; print(abagen.__version__)"],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def create_venv(venv: str | Path, requirements: Sequence[str], base_python: str = "python3"
                ) -> Path:
    """Create (or update) `venv` and pip-install `requirements` into it.

    Returns
    -------
    python : pathlib.Path
        The venv's interpreter, to pass as ``--abagen-python``.
    """
    venv = Path(venv)
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *requirements], check=True)
    return python


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--venv", type=Path, default=Path("/tmp/abagen-venv"),
                   help="virtual environment to create or update")
    p.add_argument("--python", default="python3",
                   help="interpreter that creates the venv (Python 3.8-3.11)")
    p.add_argument("--loose", action="store_true",
                   help="only pandas<2 and numpy<1.25 instead of the parity-set versions")
    p.add_argument("--check-pypi", action="store_true",
                   help="only report whether PyPI has abagen 0.1.3")
    args = p.parse_args(argv)
    if args.check_pypi:
        found = on_pypi()
        print("abagen 0.1.3 is on the package index" if found
              else "abagen 0.1.3 could not be downloaded")
        return 0 if found else 1
    python = create_venv(args.venv, LOOSE if args.loose else PINNED, args.python)
    version = abagen_version(python)
    if version != "0.1.3":
        print(f"abagen in {python}: {version}, expected 0.1.3", file=sys.stderr)
        return 1
    print(f"abagen 0.1.3 ready: --abagen-python {python}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
