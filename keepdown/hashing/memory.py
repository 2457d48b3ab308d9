"""Handing freed picture memory back to the operating system (glibc; a no-op elsewhere).

A decoded picture is a few hundred megabytes in blocks of 16 MiB (Pillow's arena) and one
large array (numpy). glibc serves an allocation above its mmap threshold with its own
mapping, returned to the system when freed, but it *raises* that threshold to the size of
each mapped block freed (up to 32 MiB): after the first large picture, Pillow's 16 MiB
blocks come from the heap, and a freed heap stays with the process. That is why the
resident size stayed at about 1.1 GB after the uploads of issue 16.

- :func:`tune_allocator` (called once by the composition root) fixes the threshold at 1 MiB,
  which also stops glibc from moving it: every large block is a mapping, given back when
  freed;
- :func:`give_back` (called when the decode budget empties after a large picture) asks
  glibc to release free heap memory too (``malloc_trim(0)``).

Both are plain calls into the C library through :mod:`ctypes`; where it is not glibc they do
nothing and say so (False).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from functools import lru_cache
from typing import Any

__all__ = ["MMAP_THRESHOLD", "give_back", "tune_allocator"]

#: glibc's mallopt parameter number for the mmap threshold.
_M_MMAP_THRESHOLD = -3
#: Allocations at least this large get their own mapping once :func:`tune_allocator` ran.
MMAP_THRESHOLD = 1 << 20

_tuned = threading.Event()


@lru_cache(maxsize=1)
def _libc() -> Any | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim  # noqa: B018 - glibc only
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def tune_allocator() -> bool:
    """Fix glibc's mmap threshold (module docstring); True when it was done."""
    libc = _libc()
    if libc is None:
        return False
    if not _tuned.is_set():
        if not libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD):
            return False
        _tuned.set()
    return True


def give_back() -> bool:
    """Return free heap memory to the system; True when glibc was asked."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
