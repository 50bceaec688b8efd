"""Atomic file writes: readers and killed jobs never see a partial file.

Every file the package writes goes through :func:`atomic_path`: a temporary
file beside the destination, renamed over it when the write succeeds and
removed when it fails. Temporary names start with ``.`` and end with
``.tmp`` (or with the destination's name, for writers that choose the format
from the extension), which is how the workflow's repair step recognises them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "write_text_atomic", "write_figure_atomic", "link_or_copy",
           "copy_atomic", "sha256_file", "is_temporary"]

PathLike = str | os.PathLike


def _atomic_target(dest: Path, keep_suffix: bool = False) -> str:
    dest.parent.mkdir(parents=True, exist_ok=True)
    # one name format for every temporary file (see is_temporary):
    # .<name>.<random>.tmp, or .<name>.<random>.tmp<suffixes> with keep_suffix
    suffix = ".tmp" + ("".join(dest.suffixes) if keep_suffix else "")
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix, dir=dest.parent)
    os.close(fd)
    # mkstemp creates 0600 files; give the result the permissions of a normal file
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp

@contextlib.contextmanager
def atomic_path(dest: PathLike, *, durable: bool = False,
                keep_suffix: bool = False) -> Iterator[str]:
    """A temporary path beside `dest`, renamed over it when the block succeeds.

    With `durable` the file is fsynced first; on any error (or interruption)
    the temporary file is removed and `dest` is left as it was. The folder of
    `dest` is created if needed; the file gets the permissions of a normal file.
    With `keep_suffix` the temporary name ends with `dest`'s name, for writers
    that choose the format from the extension (nibabel).

    Parameters
    ----------
    dest : path-like
    durable : bool, default=False
    keep_suffix : bool, default=False

    Yields
    ------
    tmp : str
        The temporary path to write.
    """
    dest = Path(dest)
    tmp = _atomic_target(dest, keep_suffix)
    try:
        yield tmp
        if durable:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(text: str, path: str | os.PathLike) -> Path:
    """Write a text file atomically.

    Parameters
    ----------
    text : str
    path : path-like

    Returns
    -------
    path : pathlib.Path
    """
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    return Path(path)

def write_figure_atomic(fig: Any, path: str | os.PathLike, **savefig_kwargs: Any) -> Path:
    """Save a matplotlib figure atomically (a killed job leaves no partial image).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path-like
        The format follows the extension.
    **savefig_kwargs
        Passed to ``fig.savefig``.

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", **savefig_kwargs)
    return path


def link_or_copy(src: PathLike, dest: PathLike) -> Path:
    """Make `dest` a symbolic link to `src` (a copy where links are not allowed), atomically.

    Parameters
    ----------
    src, dest : path-like
        An existing file, and the path to create (replaced if it exists).

    Returns
    -------
    dest : pathlib.Path
    """
    src, dest = Path(src), Path(dest)
    with atomic_path(dest) as tmp:
        os.unlink(tmp)
        try:
            os.symlink(src.resolve(), tmp)
        except OSError:
            shutil.copyfile(src, tmp)
    return dest


def copy_atomic(src: PathLike, dest: PathLike) -> Path:
    """Copy `src` to `dest` so that `dest` is never seen half-written.

    Parameters
    ----------
    src, dest : path-like

    Returns
    -------
    dest : pathlib.Path
    """
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    return Path(dest)


def is_temporary(name: str) -> bool:
    """Whether a file name is that of a temporary file left by :func:`atomic_path`.

    Also recognises ``.<name>.tmp<digits>``, the format of versions before 0.3.

    Parameters
    ----------
    name : str
        A file name (no folder).

    Returns
    -------
    bool
    """
    return name.startswith(".") and re.search(r"\.tmp(\d*|\.[^/]*)$", name) is not None


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file, read in 4 MiB chunks.

    Parameters
    ----------
    path : path-like
    chunk : int, default=4194304
        Bytes read at a time.

    Returns
    -------
    digest : str
        64 hexadecimal characters.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()
