"""Small shared helpers: option validation and data-file lookup.

Everything here is pure and stateless; the registries of method names live
in the modules that implement the methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["InvalidOptionError", "check_choice", "data_path"]


class InvalidOptionError(ValueError):
    """An option received a value outside its allowed set.

    Parameters
    ----------
    name : str
        Name of the parameter (as the user spelled it in the API).
    value : object
        The value that was received.
    allowed : iterable
        The values that would have been accepted.
    hint : str, optional
        Extra advice appended to the message.
    """

    def __init__(self, name: str, value: Any, allowed: Iterable[Any], hint: str = "") -> None:
        self.name = name
        self.value = value
        self.allowed = list(allowed)
        msg = (
            f"Invalid value for `{name}`: {value!r}. "
            f"Must be one of {self.allowed!r}."
        )
        if hint:
            msg += " " + hint
        super().__init__(msg)


def check_choice(name: str, value: Any, allowed: Iterable[Any], hint: str = "") -> Any:
    """Return `value` if it is one of `allowed`, else raise InvalidOptionError.

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
