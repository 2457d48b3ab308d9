"""Exact hashes: MD5, SHA-1 and SHA-256 of the bytes, computed together in one pass.

From bytes already in memory (:func:`exact_hashes`), or streamed from a path or binary file
object in fixed :data:`CHUNK_SIZE` chunks (:func:`exact_hashes_of_stream`,
:func:`exact_hashes_of_path`), so a file larger than memory hashes in constant memory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from keepdown.hashing.types import Md5, Sha1, Sha256

__all__ = [
    "CHUNK_SIZE",
    "ExactHasher",
    "ExactHashes",
    "exact_hashes",
    "exact_hashes_of_path",
    "exact_hashes_of_stream",
]

#: Bytes read per step when streaming: large enough to amortise the call, small in memory.
CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ExactHashes:
    """The three exact hashes of one byte string, and its length."""

    md5: Md5
    sha1: Sha1
    sha256: Sha256
    size_bytes: int


class ExactHasher:
    """Feed bytes in any number of pieces; :meth:`result` gives all three hashes.

    MD5 and SHA-1 are kept because hash lists (NCMEC, C3P, Project VIC) still carry them;
    they are used for matching only, never for integrity.
    """

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._size = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._md5.update(chunk)
        self._sha1.update(chunk)
        self._sha256.update(chunk)
        self._size += len(chunk)

    def update_all(self, chunks: Iterable[bytes]) -> ExactHasher:
        for chunk in chunks:
            self.update(chunk)
        return self

    def result(self) -> ExactHashes:
        return ExactHashes(
            md5=Md5(self._md5.digest()),
            sha1=Sha1(self._sha1.digest()),
            sha256=Sha256(self._sha256.digest()),
            size_bytes=self._size,
        )


def exact_hashes(data: bytes | bytearray | memoryview) -> ExactHashes:
    """MD5, SHA-1 and SHA-256 of bytes already in memory."""
    hasher = ExactHasher()
    hasher.update(data)
    return hasher.result()


def exact_hashes_of_stream(stream: BinaryIO, *, chunk_size: int = CHUNK_SIZE) -> ExactHashes:
    """Hash a binary file object from its current position to the end, one chunk at a time."""
    hasher = ExactHasher()
    while chunk := stream.read(chunk_size):
        hasher.update(chunk)
    return hasher.result()


def exact_hashes_of_path(
    path: str | os.PathLike[str], *, chunk_size: int = CHUNK_SIZE
) -> ExactHashes:
    """Hash a file on disk in constant memory."""
    with open(path, "rb") as stream:
        return exact_hashes_of_stream(stream, chunk_size=chunk_size)
