"""Which library code a workflow script runs, and a digest of it.

A rule must re-run when the code its script executes changes. Rather than a
hand-kept list of modules per rule, :func:`code_digest` follows the script's
``abagen_core`` imports (module-level and function-level, transitively) by
parsing the sources, and hashes the files it reaches. The digest is a rule
parameter, so Snakemake's ``params`` rerun trigger sees every change of the
import closure, and nothing else.
"""

from __future__ import annotations

import ast
import hashlib
import os
from functools import cache
from pathlib import Path

__all__ = ["import_closure", "code_digest"]

PathLike = str | os.PathLike
PACKAGE = "abagen_core"
#: the package's source folder
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _module_file(name: str) -> Path | None:
    """Source file of a dotted ``abagen_core`` module name (package -> its __init__)."""
    parts = name.split(".")[1:]
    base = PACKAGE_DIR.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path) -> str:
    rel = path.resolve().relative_to(PACKAGE_DIR).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


@cache
def _imports(path: Path) -> frozenset[str]:
    """``abagen_core`` modules imported anywhere in a file (with parent packages)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import name`: name may be a submodule or an attribute
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                parts = name.split(".")
                found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return frozenset(found)


@cache
def _closure_of(path: Path) -> frozenset[Path]:
    seen: set[Path] = set()
    todo = [path]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in _imports(current):
            module = _module_file(name)
            if module is not None and module not in seen:
                todo.append(module)
    return frozenset(seen)


def import_closure(script: PathLike) -> list[Path]:
    """The script and every ``abagen_core`` source file it can import, sorted.

    Parameters
    ----------
    script : path-like
        A Python file (a workflow script or a package module).

    Returns
    -------
    files : list of pathlib.Path
    """
    return sorted(_closure_of(Path(script).resolve()))


def code_digest(script: PathLike) -> str:
    """SHA-256 over the sources of :func:`import_closure` (names and contents).

    Parameters
    ----------
    script : path-like

    Returns
    -------
    digest : str
        64 hexadecimal characters.
    """
    digest = hashlib.sha256()
    for path in import_closure(script):
        name = path.name if path == Path(script).resolve() else _module_name(path)
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
