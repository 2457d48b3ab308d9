"""Private folders for bank files on their way into an import, and their clean-up after a kill.

An import through the API or the web pages first copies the uploaded bank file to disk (a
hash list can be gigabytes; it is read twice: hashed, then imported). The copy holds a
bank's hashes, so it lives in a private folder (0700) under ``<data_dir>/tmp``, named after
the process that made it::

    import.<host>.<pid>.<process start>.<random>

and is removed when the import ends, whatever the outcome. A process killed with ``kill -9``
cannot remove it; :meth:`ImportStaging.sweep` (run when keepdown starts) removes every such
folder of this host whose process is gone (a pid reused by a later process is told apart by
its start time). Folders of other hosts sharing the directory are left to them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from keepdown import files

__all__ = ["ImportStaging", "process_alive"]

_PREFIX = "import"


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:10]


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or "0" where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "0"
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else "0"


def process_alive(pid: int, started: str) -> bool:
    """True when process ``pid`` runs and (where known) started at ``started``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process holds the pid: the start time tells
    return started == "0" or _start_time(pid) in (started, "0")


class ImportStaging:
    """See the module docstring. ``root`` is usually ``<data_dir>/tmp``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @contextmanager
    def folder(self) -> Iterator[Path]:
        """A fresh private folder, removed when the ``with`` block ends."""
        files.private_dir(self.root)
        pid = os.getpid()
        prefix = f"{_PREFIX}.{_host()}.{pid}.{_start_time(pid)}."
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.root))  # mode 0700
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def sweep(self) -> int:
        """Remove the folders of this host's processes that are gone; how many."""
        if not self.root.is_dir():
            return 0
        removed = 0
        host = _host()
        for path in self.root.iterdir():
            parts = path.name.split(".")
            if len(parts) != 5 or parts[0] != _PREFIX or parts[1] != host:
                continue
            if not (parts[2].isascii() and parts[2].isdigit()):
                continue
            if process_alive(int(parts[2]), parts[3]):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        return removed
