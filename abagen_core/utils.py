"""Small shared helpers: option validation and data-file lookup.

Everything here is pure and stateless; the registries of method names live
in the modules that implement the methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from abagen_core.errors import InvalidOptionError

__all__ = ["check_choice", "data_path", "even_slices"]


def check_choice(name: str, value: Any, allowed: Iterable[Any], hint: str = "") -> Any:
    """Return `value` if it is one of `allowed`, else raise InvalidOptionError.

    Parameters
    ----------
    name : str
        Parameter name, for the message.
    value : object
    allowed : iterable
    hint : str, default=''
        Extra advice appended to the message.

    Returns
    -------
    value : object

    Examples
    --------
    >>> check_choice('region_agg', 'donors', ['donors', 'samples'])
    'donors'
    """
    allowed = list(allowed)
    if value not in allowed:
        raise InvalidOptionError(name, value, allowed, hint)
    return value


def data_path(*parts: str) -> Path:
    """Path of a file shipped in ``abagen_core/data``.

    Parameters
    ----------
    *parts : str
        Path components under ``abagen_core/data``.

    Returns
    -------
    path : pathlib.Path

    Examples
    --------
    >>> data_path('donor_info.csv').name
    'donor_info.csv'
    """
    path = Path(str(resources.files("abagen_core") / "data")).joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"Bundled data file {path} is missing; reinstall the package "
            "(pip install -e .) to restore it."
        )
    return path


def even_slices(n: int, parts: int) -> list[slice]:
    """`n` consecutive positions cut into `parts` slices whose lengths differ by one at most.

    Parameters
    ----------
    n : int
    parts : int
        Wanted number of slices; clipped to 1..n (one empty slice when n is 0).

    Returns
    -------
    slices : list of slice
    """
    parts = max(1, min(parts, n))
    return [slice(i * n // parts, (i + 1) * n // parts) for i in range(parts)]
