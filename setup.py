"""Package layout (everything else is in pyproject.toml).

The workflow's folders ``workflow/``, ``scripts/`` and ``config/`` stay at the
top of the repository, and are shipped inside the package as
``abagen_core/_workflow/{workflow,scripts,config}``: the relative paths
between them (rules run ``../../scripts/<step>.py``, the Snakefile reads
``../config/config.yaml``) are the same in an installed package as in the
repository, and the ``abagen`` command runs from a plain ``pip install .``
(:func:`abagen_core.workflow.cli.workflow_root` chooses the copy).
"""

from setuptools import find_namespace_packages, setup

#: folder of the repository -> package it is installed as
WORKFLOW_FOLDERS = {f"abagen_core._workflow.{name}": name
                    for name in ("workflow", "scripts", "config")}
_SKIP = ["__pycache__", "*.__pycache__"]

packages = find_namespace_packages(include=["abagen_core", "abagen_core.*"], exclude=_SKIP)
for package, folder in WORKFLOW_FOLDERS.items():
    packages += [package] + [f"{package}.{sub}"
                             for sub in find_namespace_packages(where=folder, exclude=_SKIP)]

setup(packages=packages, package_dir=WORKFLOW_FOLDERS)
