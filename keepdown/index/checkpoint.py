"""A folder of index checkpoints that several processes on one machine can share.

Layout of ``root`` (the ``index_dir`` setting)::

    CURRENT            the name of the newest complete checkpoint (one line)
    ck-<time>-<pid>/   one saved index each (see :mod:`keepdown.index.persist`)
    .lock              held by the one process writing a checkpoint

Writing (:meth:`CheckpointDir.save`):
1. take ``.lock`` (``flock``); if another process holds it, it is writing one already: wait
   for it to finish and write nothing (its checkpoint is as recent as ours would be). Waiting
   matters: a process that skipped at once retried at its next refresh, so one long write
   (a large index, a loaded disk) made the other skip again and again, then write a
   near-duplicate as soon as the lock was free;
2. write the index into ``.tmp-...``, rename it to a fresh ``ck-...`` name;
3. point ``CURRENT`` at it with an atomic ``os.replace``;
4. delete the checkpoints older than the previous one (a reader that read ``CURRENT`` a moment
   ago may still be opening the previous one; a reader that already mapped a deleted one keeps
   its pages: the kernel frees them only when it unmaps them).

Reading (:meth:`CheckpointDir.load`) follows ``CURRENT``; if the checkpoint vanished between
reading the pointer and opening it, the pointer is read again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from keepdown import files
from keepdown.errors import IndexFileError
from keepdown.index.persist import SavedIndex, read_index, read_manifest, write_index
from keepdown.index.snapshot import IndexSnapshot

__all__ = ["Checkpoint", "CheckpointDir"]

_POINTER = "CURRENT"
_PREFIX = "ck-"


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A loaded checkpoint: its name and folder, and what was saved."""

    name: str
    path: Path
    saved: SavedIndex


class CheckpointDir:
    """Checkpoints of one database's match index under ``root`` (see the module steps)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    def __repr__(self) -> str:
        return f"CheckpointDir({str(self.root)!r})"

    # --- writing ---------------------------------------------------------------------------

    def save(
        self,
        snapshot: IndexSnapshot,
        meta: Mapping[str, Any],
        arrays: Mapping[str, np.ndarray] | None = None,
        *,
        wait: bool = False,
    ) -> str | None:
        """Write a checkpoint; returns its name, or None when another process was writing one
        (returned once that one is complete, so ``CURRENT`` then names it). With ``wait``,
        wait for the other writer and then write anyway."""
        files.private_dir(self.root)
        with self._locked(wait) as locked:
            if not locked:
                return None
            self._clean_temporaries()
            name = f"{_PREFIX}{time.time_ns():020d}-{os.getpid()}"
            tmp = self.root / f".tmp-{uuid.uuid4().hex}"
            try:
                write_index(snapshot, tmp, meta=meta, arrays=arrays)
                tmp.rename(self.root / name)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self._point_to(name)
            self._prune(keep={name, *self._names()[-2:]})
            return name

    @contextlib.contextmanager
    def _locked(self, wait: bool) -> Iterator[bool]:
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, files.FILE_MODE)
        try:
            locked = True
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                locked = False
                fcntl.flock(fd, fcntl.LOCK_SH)  # returns once the writer has finished
            yield locked
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _point_to(self, name: str) -> None:
        tmp = self.root / f".{_POINTER}.{os.getpid()}"
        with files.open_private(tmp, "w") as out:
            out.write(name + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.root / _POINTER)
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _names(self) -> list[str]:
        return sorted(p.name for p in self.root.glob(f"{_PREFIX}*") if p.is_dir())

    def _prune(self, keep: set[str]) -> None:
        for name in self._names():
            if name not in keep:
                shutil.rmtree(self.root / name, ignore_errors=True)

    def _clean_temporaries(self) -> None:
        # Only the lock holder writes, so any temporary folder left is from a killed writer.
        for path in self.root.glob(".tmp-*"):
            shutil.rmtree(path, ignore_errors=True)

    def clear(self) -> int:
        """Delete every checkpoint (waits for a writer to finish); returns how many."""
        if not self.root.exists():
            return 0
        with self._locked(wait=True):
            names = self._names()
            with contextlib.suppress(FileNotFoundError):
                (self.root / _POINTER).unlink()
            self._prune(keep=set())
            self._clean_temporaries()
        return len(names)

    # --- reading ---------------------------------------------------------------------------

    def current(self) -> str | None:
        """The name ``CURRENT`` points at, or None when there is no checkpoint."""
        try:
            name = (self.root / _POINTER).read_text().strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexFileError(f"cannot read {self.root / _POINTER}: {exc}") from exc
        if not name.startswith(_PREFIX) or "/" in name:
            raise IndexFileError(
                f"{self.root / _POINTER} does not name a checkpoint ({name[:60]!r})",
                path=str(self.root),
            )
        return name

    def load(self, *, mmap: bool = True, verify: bool = True) -> Checkpoint:
        """The current checkpoint, loaded; :class:`IndexFileError` if none or damaged."""
        for _ in range(3):
            name = self.current()
            if name is None:
                raise IndexFileError(f"no checkpoint in {self.root}", path=str(self.root))
            path = self.root / name
            if not path.is_dir():
                continue  # replaced and pruned since we read the pointer: read it again
            return Checkpoint(name, path, read_index(path, mmap=mmap, verify=verify))
        raise IndexFileError(
            f"{self.root / _POINTER} names a checkpoint that does not exist", path=str(self.root)
        )

    def manifest(self) -> tuple[str, dict[str, Any]] | None:
        """(name, manifest) of the current checkpoint without loading it, or None."""
        name = self.current()
        if name is None:
            return None
        return name, read_manifest(self.root / name)

    def disk_bytes(self, name: str) -> int:
        """Bytes on disk of one checkpoint."""
        return sum(p.stat().st_size for p in (self.root / name).iterdir())
