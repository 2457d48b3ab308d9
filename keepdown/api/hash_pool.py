"""How many pictures one API worker process hashes at once.

Hashing holds the GIL for most of its time, so a process hashes on about one core whatever
its thread count; Starlette's thread pool would still run up to 40 hashes at once, and with
several API worker processes on a small machine they oversubscribe the cores (two workers on
two cores fell to 55% of the hashing rate, docs/performance.md). :class:`HashPool` runs the
hashing of uploads and URL checks on worker threads, at most ``hash_threads`` at a time
(0: the machine's cores divided by ``api_workers``, at least one); the others wait their turn
on the event loop, costing nothing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from keepdown.settings import Settings

__all__ = ["HashPool"]

T = TypeVar("T")


class HashPool:
    """Runs hashing in worker threads, at most ``size`` at once in this process."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._limiter: anyio.CapacityLimiter | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> HashPool:
        size = settings.hash_threads or (os.cpu_count() or 1) // settings.api_workers
        return cls(size)

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` on a worker thread, once one of the ``size`` places is free."""
        if self._limiter is None:  # made on the event loop that uses it
            self._limiter = anyio.CapacityLimiter(self.size)
        return await anyio.to_thread.run_sync(functools.partial(func, *args), limiter=self._limiter)
