"""How much decoded picture memory this process holds at once: a budget every decode draws on.

A picture's file says little about its decoded size: a 118 KB PNG of 9999 x 9999 pixels
(under ``max_image_pixels``) decodes to 700 MB, and three such uploads at once peaked at
3.1 GB. So before any pixel is decoded (the header is read first):

1. :func:`decode_cost` estimates the bytes the decode and the hash will hold at their peak,
   from the picture's size and Pillow mode and the path taken (``docs/security.md`` has
   the figures behind the bytes per pixel);
2. :meth:`DecodeBudget.hold` takes that much from the process's budget
   (``hash_memory_budget_bytes``), waiting while other decodes hold it. A caller with a
   deadline (an API request: ``hash_memory_wait_seconds``) gets
   :class:`~keepdown.errors.Overloaded` (503 with ``Retry-After``) when the wait runs out;
   batch work (scans, crawls) waits as long as it takes. A picture costing more than the
   whole budget runs alone, once nothing else holds any of it;
3. when the last holder gives its share back after a large decode, the freed memory is
   handed back to the operating system (:mod:`keepdown.hashing.memory`), so the process's
   resident size returns near its idle figure.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from keepdown.errors import Overloaded
from keepdown.hashing import memory

__all__ = [
    "DEFAULT_BUDGET_BYTES",
    "DecodeBudget",
    "configure",
    "decode_cost",
    "process_budget",
]

#: The budget when no setting says otherwise: one picture at the pixel limit at a time.
DEFAULT_BUDGET_BYTES = 768 * 1024 * 1024
#: A decode at least this large hands memory back to the system when the budget empties.
GIVE_BACK_AFTER = 64 * 1024 * 1024

#: Pillow's storage per pixel by mode (bytes); anything else is 4.
_PILLOW_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}


def decode_cost(width: int, height: int, mode: str | None, *, rgb_array: bool = True) -> int:
    """Peak bytes to decode a ``width x height`` picture and hash it.

    Pillow's image when ``mode`` names one (1, 2 or 4 bytes a pixel by mode; None: decoded
    without Pillow, as JPEGs are) plus, with ``rgb_array``, the H x W x 3 array of pixels
    (3 bytes a pixel; :func:`keepdown.hashing.decode.to_rgb` fills it a strip at a time, so
    no whole converted copy exists). A 1 MiB margin covers a strip, the decoder's buffers and
    the 64 x 64 filter.
    """
    pixels = max(0, width) * max(0, height)
    per_pixel = (0 if mode is None else _PILLOW_BYTES.get(mode, 4)) + (3 if rgb_array else 0)
    return pixels * per_pixel + (1 << 20)


class DecodeBudget:
    """A counting budget of bytes shared by the decoding threads of a process."""

    def __init__(self, capacity: int = DEFAULT_BUDGET_BYTES) -> None:
        self.capacity = max(1, capacity)
        self.in_use = 0
        self.peak = 0
        self._largest_since_idle = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, cost: int, *, wait: float | None = None) -> Iterator[None]:
        """Hold ``cost`` bytes for the ``with`` block (module docstring); ``wait`` seconds
        at most (None: as long as it takes), then Overloaded."""
        share = min(max(0, cost), self.capacity)
        self._take(share, wait)
        try:
            yield
        finally:
            self._give(share)

    def _take(self, share: int, wait: float | None) -> None:
        deadline = None if wait is None else time.monotonic() + wait
        with self._cond:
            while self.in_use and self.in_use + share > self.capacity:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise Overloaded(
                        "the server is decoding as many pictures as its memory allows; "
                        "try again shortly",
                        retry_after=max(1, math.ceil(wait or 1)),
                        setting="hash_memory_budget_bytes",
                    )
                self._cond.wait(left)
            self.in_use += share
            self.peak = max(self.peak, self.in_use)
            self._largest_since_idle = max(self._largest_since_idle, share)

    def _give(self, share: int) -> None:
        with self._cond:
            self.in_use -= share
            self._cond.notify_all()
            idle = self.in_use == 0
            large = self._largest_since_idle >= GIVE_BACK_AFTER
            if idle:
                self._largest_since_idle = 0
        if idle and large:
            memory.give_back()


_process = DecodeBudget()
_lock = threading.Lock()


def process_budget() -> DecodeBudget:
    """The budget every decode of this process draws on."""
    return _process


def configure(capacity: int) -> DecodeBudget:
    """Set the process budget's capacity (from ``hash_memory_budget_bytes``)."""
    with _lock, _process._cond:
        if capacity != _process.capacity:
            _process.capacity = max(1, capacity)
            _process._cond.notify_all()
    return _process
