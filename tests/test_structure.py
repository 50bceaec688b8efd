"""The package's shape: import graph (no cycle, imports point down the layers) and docstrings.

Every module of ``abagen_core`` is parsed (nothing is imported), and every
``import`` statement is read: at module level, inside functions, absolute and
relative. Layers, bottom to top::

    _version, utils, errors, donors  <  atlas  <  stages  <  storage  <  io  <  datasets
    <  options  <  outputs  <  api, parity, mouse, the abagen facades,
    the package ``__init__``  <  workflow

A module may import modules of its own layer or of a lower one.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import abagen_core

PACKAGE = "abagen_core"
PACKAGE_DIR = Path(abagen_core.__file__).resolve().parent

#: layer of each top-level module or folder of the package (higher = nearer the user)
LAYERS: dict[str, int] = {
    "_version": 0, "utils": 0, "errors": 0, "donors": 0,
    "atlas": 1,
    "stages": 2,
    "storage": 3,
    "io": 4,
    "datasets": 5,
    "options": 6,
    "outputs": 7,
    "api": 8, "parity": 8, "mouse": 8, "matching": 8, "images": 8, "correct": 8,
    "allen": 8, "reporting": 8,
    "__init__": 8,
    "workflow": 9,
}

#: the abagen module paths that only re-export (no docstring rules of their own)
FACADES = {"abagen_core.matching", "abagen_core.images", "abagen_core.correct"}


@dataclass(frozen=True)
class Import:
    """One imported name: where it is imported and what it resolves to."""

    importer: str  # dotted module name
    target: str  # dotted module name (a package module when the name is an attribute)
    path: Path
    line: int
    in_function: bool

    def __str__(self) -> str:
        return f"{self.path.relative_to(PACKAGE_DIR.parent)}:{self.line}: {self.importer} -> " \
               f"{self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


@cache
def package_modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> source file."""
    return {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))
            if "__pycache__" not in p.parts}


def _is_package(name: str) -> bool:
    return package_modules()[name].name == "__init__.py"


def _resolve(importer: str, module: str | None, level: int) -> str:
    """Absolute dotted name of a (possibly relative) ``from`` import's module."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    if not _is_package(importer):
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _deepest_module(name: str) -> str:
    """The longest prefix of a dotted name that is a package module."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in package_modules():
            return candidate
    return PACKAGE


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, importer: str, path: Path):
        self.importer, self.path = importer, path
        self.depth = 0
        self.found: list[tuple[str, int, bool]] = []  # (absolute name, line, in function)

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, node.lineno, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = _resolve(self.importer, node.module, node.level)
        for alias in node.names:
            # `from pkg import name`: name is a submodule or an attribute of pkg
            self.found.append((f"{module}.{alias.name}", node.lineno, self.depth > 0))


@cache
def all_imports() -> tuple[Import, ...]:
    """Every import statement of the package, one entry per imported name."""
    out = []
    for name, path in package_modules().items():
        visitor = _ImportVisitor(name, path)
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        for target, line, inner in visitor.found:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                target = _deepest_module(target)
            out.append(Import(name, target, path, line, inner))
    return tuple(out)


def package_imports() -> Iterator[Import]:
    """Imports of package modules (the edges of the import graph)."""
    return (imp for imp in all_imports()
            if imp.target == PACKAGE or imp.target.startswith(PACKAGE + "."))


def layer(module: str) -> int:
    """The layer of a dotted package module name."""
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else "__init__"]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, and self-loops (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer():
    missing = [m for m in package_modules() if m.split(".")[1:2] and
               m.split(".")[1] not in LAYERS]
    assert not missing, f"give these modules a layer in LAYERS: {missing}"


def test_import_resolution():
    # the resolver itself, on the package's own layout
    assert _resolve("abagen_core.storage.artifacts", "checks", 1) == "abagen_core.storage.checks"
    assert _resolve("abagen_core.storage", "atomic", 1) == "abagen_core.storage.atomic"
    assert _resolve("abagen_core.storage.artifacts", "utils", 2) == "abagen_core.utils"
    assert _deepest_module("abagen_core.storage.checks.META_KEY") == "abagen_core.storage.checks"
    assert _deepest_module("abagen_core.__version__") == "abagen_core"
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"a"}}) == [["a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    edges: dict[str, set[str]] = {}
    for imp in package_imports():
        if imp.target != imp.importer:
            edges.setdefault(imp.importer, set()).add(imp.target)
    cycles = _cycles(edges)
    detail = []
    for cycle in cycles:
        members = set(cycle)
        detail += sorted({str(imp) for imp in package_imports()
                          if imp.importer in members and imp.target in members})
    assert not cycles, "import cycles:\n" + "\n".join(detail)


def test_imports_point_down_the_layers():
    breaches = [str(imp) for imp in package_imports()
                if layer(imp.target) > layer(imp.importer)]
    assert not breaches, "imports of a higher layer:\n" + "\n".join(breaches)


def test_package_imports_at_module_level():
    # a function-level import of a package module only dodges a cycle, which
    # the layering forbids: package modules are imported at the top of a file
    inner = [str(imp) for imp in package_imports() if imp.in_function]
    assert not inner, "function-level imports of package modules:\n" + "\n".join(inner)


@cache
def _comment_lines(path: Path) -> frozenset[int]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return frozenset(tok.start[0] for tok in tokens if tok.type == tokenize.COMMENT)


@cache
def _import_ends(path: Path) -> dict[int, int]:
    """First line -> last line of every import statement of a file."""
    return {node.lineno: node.end_lineno or node.lineno
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Import | ast.ImportFrom)}


def _statement_lines(path: Path, line: int) -> range:
    """Lines of the import statement starting at `line`, and the line above it."""
    return range(line - 1, _import_ends(path).get(line, line) + 1)


def test_lazy_imports_say_why():
    # other libraries imported inside a function (for import speed, or a
    # platform-only module) carry a comment on the statement or just above it
    silent = [str(imp) for imp in all_imports()
              if imp.in_function and not imp.target.startswith(PACKAGE)
              and _comment_lines(imp.path).isdisjoint(_statement_lines(imp.path, imp.line))]
    assert not silent, "function-level imports without a comment saying why:\n" + \
        "\n".join(silent)


@pytest.mark.parametrize("module", sorted(package_modules()))
def test_module_declares_all(module):
    tree = ast.parse(package_modules()[module].read_text())
    names = {t.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
             for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
             if isinstance(t, ast.Name)}
    if not _is_package(module):
        assert "__all__" in names, f"{module} has no __all__"


# --- docstrings ---------------------------------------------------------------------


def _is_setter(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Attribute) and d.attr in {"setter", "deleter"}
               for d in node.decorator_list)


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = node.args
    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return [n for n in names if n not in {"self", "cls"}]


def public_functions() -> Iterator[tuple[str, str, ast.FunctionDef, str]]:
    """(module, qualname, node, docstring) of every public function and method.

    The docstring of ``__init__`` includes its class's (numpydoc documents the
    constructor's parameters in the class docstring).
    """
    for module, path in package_modules().items():
        if module in FACADES:
            continue
        tree = ast.parse(path.read_text())
        todo: list[tuple[list[ast.stmt], str, ast.ClassDef | None]] = [(tree.body, "", None)]
        while todo:
            body, prefix, owner = todo.pop()
            for node in body:
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    todo.append((node.body, f"{prefix}{node.name}.", node))
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    dunder = node.name.startswith("__") and node.name.endswith("__")
                    if (node.name.startswith("_") and node.name != "__init__") or \
                            (dunder and node.name != "__init__") or _is_setter(node):
                        continue
                    doc = ast.get_docstring(node) or ""
                    if node.name == "__init__" and owner is not None:
                        doc = (ast.get_docstring(owner) or "") + "\n" + doc
                    yield module, prefix + node.name, node, doc


def test_public_functions_document_their_parameters():
    missing = sorted(f"{module}:{name}" for module, name, node, doc in public_functions()
                     if _parameters(node) and "Parameters\n" not in doc)
    assert not missing, "public functions with parameters but no Parameters section:\n" + \
        "\n".join(missing)


def test_docstring_scan_sees_methods_and_constructors():
    found = {f"{m}:{n}" for m, n, _, _ in public_functions()}
    assert "abagen_core.atlas.matching:AtlasTree.label_samples" in found
    assert "abagen_core.errors:InvalidOptionError.__init__" in found
    assert "abagen_core.atlas.matching:AtlasTree.atlas_info" in found  # the getter only
    assert not any(":_" in name or "._" in name.replace(".__init__", "") for name in found)
