"""Files an operator chose to preserve, which a CyberTipline report may upload.

keepdown never writes media to disk. A platform that must preserve what it reports (18 U.S.C.
§ 2258A(h): one year after the report) keeps the files itself; when it lets keepdown read that
store, the report uploads them to NCMEC. The store is a folder of files named by their
SHA-256 (``<root>/<sha256>`` or ``<root>/<first two hex digits>/<sha256>``), read only, and a
file is used only if its bytes hash to its name: a renamed or damaged file is never sent.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["FolderOfPreserved", "NoPreservedFiles", "PreservedFiles"]

log = logging.getLogger("keepdown.filings")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PreservedFiles(Protocol):
    """Where preserved copies are read from (by SHA-256)."""

    def has(self, sha256: str) -> bool: ...

    def read(self, sha256: str) -> bytes | None:
        """The file's bytes, checked against ``sha256``; None when there is none."""
        ...


class NoPreservedFiles:
    """No preservation store: reports carry hashes, never files."""

    def has(self, sha256: str) -> bool:
        return False

    def read(self, sha256: str) -> bytes | None:
        return None


@dataclass
class FolderOfPreserved:
    """A folder of files named by their SHA-256 (module docstring)."""

    root: Path
    max_bytes: int = 512 * 1024 * 1024

    def _path(self, sha256: str) -> Path | None:
        if not _SHA256.match(sha256):
            return None
        for candidate in (self.root / sha256, self.root / sha256[:2] / sha256):
            if candidate.is_file():
                return candidate
        return None

    def has(self, sha256: str) -> bool:
        return self._path(sha256) is not None

    def read(self, sha256: str) -> bytes | None:
        path = self._path(sha256)
        if path is None:
            return None
        if path.stat().st_size > self.max_bytes:
            log.warning("preserved file %s is larger than %d bytes; not sent", path, self.max_bytes)
            return None
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            log.warning("preserved file %s does not hash to its name; not sent", path)
            return None
        return data
