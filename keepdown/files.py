"""Private files and folders: what keepdown keeps on disk is readable by its own user only.

The data directory holds the database (every bank's hashes, sightings, people), the task
queue, saved match indexes and signing keys; exports hold a bank's hashes or TLP:AMBER
indicators. None of it is for other accounts on the machine, so keepdown creates:

- folders with mode 0700 (:func:`private_dir`; only the folders it creates: a parent such as
  ``~/.local/share`` keeps its own mode);
- files with mode 0600 from the first byte (:func:`create_private`, :func:`open_private`):
  ``os.open(..., 0o600)``, never "write, then chmod", so there is no moment when another
  account can open the file. The umask can only remove bits from these modes.

An existing file keeps its mode (an operator may have chosen one); :func:`loose` tells the
caller when it is readable by others, so it can warn.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, overload

__all__ = ["DIR_MODE", "FILE_MODE", "create_private", "loose", "open_private", "private_dir"]

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a folder, created with mode 0700 when missing (parents: their default)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # another process made it first
            folder.mkdir(mode=DIR_MODE)
    return folder


def create_private(path: str | os.PathLike[str]) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists; True when it was created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


@overload
def open_private(
    path: str | os.PathLike[str], mode: Literal["w", "a"] = "w", **kwargs: Any
) -> TextIO: ...
@overload
def open_private(
    path: str | os.PathLike[str], mode: Literal["wb", "ab"], **kwargs: Any
) -> BinaryIO: ...
def open_private(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> IO[Any]:
    """Open ``path`` for writing; a file it creates has mode 0600 from the start.

    ``"w"``/``"wb"`` truncate an existing file (keeping its mode); keyword arguments go to
    :func:`os.fdopen` (``encoding``, ``newline``)."""
    flags = os.O_WRONLY | os.O_CREAT
    flags |= os.O_APPEND if mode.startswith("a") else os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    try:
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def loose(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` exists and its group or other accounts may read or write it."""
    try:
        return bool(os.stat(path).st_mode & 0o077)
    except FileNotFoundError:
        return False
