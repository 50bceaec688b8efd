"""Exceptions raised for bad input, shared by every layer.

Each message names the option, key or file at fault and what to do about it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["InvalidOptionError", "InputError", "CorruptArtifactError"]


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


class InputError(ValueError):
    """Invalid input to the workflow: config, data folder, atlas or data file.

    The message names the config key or the file, what was wrong and how to
    fix it.
    """


class CorruptArtifactError(RuntimeError):
    """An intermediate file is unreadable or was not written by this pipeline."""
