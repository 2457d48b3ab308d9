"""A fast integrity checksum for saved index files (not a security measure).

A checkpoint of ten million hashes is about 1.4 GB; SHA-256 reads that at under 1 GB/s on one
core, which made checking a checkpoint slower than the rest of its load. What the check guards
against is accidental damage (a torn or truncated write, a bad block, a file overwritten by
hand), so a Fletcher-style pair of 64-bit running sums over the file's 64-bit words is enough:
any changed word changes the first sum, any reordering changes the second, and a compiled loop
reads memory as fast as it comes (several GB/s). The file's size is checked separately.

Someone able to write to the index folder could forge it, as they could forge a SHA-256 in the
manifest next to it: the folder must be writable by keepdown only (see ``docs/index.md``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

__all__ = ["file_checksum"]


@njit(cache=True, nogil=True)
def _sums(words, s1, s2):  # pragma: no cover - compiled
    a = np.uint64(s1)
    b = np.uint64(s2)
    for i in range(words.shape[0]):
        a += words[i]
        b += a
    return a, b


def file_checksum(path: Path) -> str:
    """``fletcher64:<hex>`` of a file's bytes (the last partial word zero-padded)."""
    size = path.stat().st_size
    s1 = s2 = np.uint64(0)
    if size:
        data = np.memmap(path, dtype=np.uint8, mode="r")
        whole = size // 8 * 8
        if whole:
            s1, s2 = _sums(data[:whole].view(np.uint64), np.uint64(s1), np.uint64(s2))
        if whole < size:
            tail = np.zeros(8, np.uint8)
            tail[: size - whole] = data[whole:]
            s1, s2 = _sums(tail.view(np.uint64), np.uint64(s1), np.uint64(s2))
        del data
    mask = (1 << 64) - 1
    return f"fletcher64:{int(s1) & mask:016x}{int(s2) & mask:016x}"
