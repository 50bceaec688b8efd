"""abagen_core.workflow.codehash: the import closure of a script and its digest."""

from __future__ import annotations

import hashlib

from abagen_core.workflow import codehash

PKG = codehash.PACKAGE_DIR


def _script(folder, text, name="step.py"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def _rel(paths):
    return {str(p.relative_to(PKG)) if p.is_relative_to(PKG) else p.name for p in paths}


def test_closure_follows_module_and_function_level_imports(tmp_path):
    script = _script(tmp_path, "import os\n"
                               "from abagen_core.stages import aggregate\n"
                               "def f():\n"
                               "    import abagen_core.storage.atomic\n")
    files = codehash.import_closure(script)
    assert files == sorted(files)
    rel = _rel(files)
    # the script, what it names, their parent packages, and what those import
    assert {"step.py", "__init__.py", "stages/__init__.py", "stages/aggregate.py",
            "storage/atomic.py", "utils.py", "errors.py"} <= rel
    assert "stages/probes.py" not in rel and "io.py" not in rel


def test_closure_of_a_script_without_package_imports(tmp_path):
    script = _script(tmp_path, "import json\nfrom pathlib import Path\n")
    assert codehash.import_closure(str(script)) == [script.resolve()]


def test_closure_ignores_unknown_names(tmp_path):
    # `from pkg import attribute`: the attribute is not a module and adds nothing
    script = _script(tmp_path, "from abagen_core.utils import check_choice, nothing_here\n")
    assert _rel(codehash.import_closure(script)) == {"step.py", "__init__.py", "_version.py",
                                                     "utils.py", "errors.py"}


def test_digest_is_sha256_of_names_and_contents(tmp_path):
    script = _script(tmp_path, "from abagen_core import errors\n")
    digest = hashlib.sha256()
    for path in codehash.import_closure(script):
        name = "step.py" if path == script.resolve() else codehash._module_name(path)
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    assert codehash.code_digest(script) == digest.hexdigest()
    assert len(codehash.code_digest(script)) == 64


def test_digest_does_not_depend_on_the_script_folder(tmp_path):
    text = "from abagen_core.stages import normalize\n"
    a = _script(tmp_path / "a", text)
    b = _script(tmp_path / "b", text)
    assert codehash.code_digest(a) == codehash.code_digest(b)


def test_digest_changes_with_the_script_and_its_imports(tmp_path):
    base = codehash.code_digest(_script(tmp_path / "a", "from abagen_core import utils\n"))
    edited = codehash.code_digest(_script(tmp_path / "b", "from abagen_core import utils\n#\n"))
    more = codehash.code_digest(_script(tmp_path / "c", "from abagen_core import utils, io\n"))
    assert len({base, edited, more}) == 3


def test_module_names():
    assert codehash._module_name(PKG / "stages" / "__init__.py") == "abagen_core.stages"
    assert codehash._module_name(PKG / "io.py") == "abagen_core.io"
    assert codehash._module_file("abagen_core.stages") == PKG / "stages" / "__init__.py"
    assert codehash._module_file("abagen_core.utils.check_choice") is None
