"""Per-host politeness: how many requests may be in flight to one host, and how often.

The crawler wraps every request in ``async with politeness.slot(host):``. A slot waits until
(a) fewer than ``crawl_per_host_concurrency`` requests to that host are running and (b) at
least ``crawl_per_host_delay_seconds`` have passed since the previous request to that host
started. :class:`InMemoryPoliteness` keeps that state in one process; a Redis implementation
of the same protocol shares it between crawler processes on several machines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from keepdown.clock import Clock, SystemClock

__all__ = ["InMemoryPoliteness", "Politeness"]


class Politeness(Protocol):
    """Grants the right to send one request to ``host``."""

    def slot(self, host: str, *, delay: float | None = None) -> AbstractAsyncContextManager[None]:
        """Hold while the request runs; ``delay`` overrides the default (robots Crawl-delay)."""
        ...


class InMemoryPoliteness:
    """Per-host semaphore plus a minimum gap between request starts, in this process."""

    def __init__(
        self,
        concurrency: int,
        delay_seconds: float,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if concurrency < 1:
            raise ValueError("per-host concurrency must be at least 1")
        self.concurrency = concurrency
        self.delay_seconds = delay_seconds
        self.clock = clock or SystemClock()
        self.sleep = sleep
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> InMemoryPoliteness:
        return cls(
            settings.crawl_per_host_concurrency, settings.crawl_per_host_delay_seconds, **kwargs
        )

    @asynccontextmanager
    async def slot(self, host: str, *, delay: float | None = None) -> AsyncIterator[None]:
        gap = self.delay_seconds if delay is None else max(delay, self.delay_seconds)
        semaphore = self._semaphores.setdefault(host, asyncio.Semaphore(self.concurrency))
        async with semaphore:
            # Reserve the next start time before sleeping, so concurrent waiters queue up
            # one gap apart instead of all waking at once.
            now = self.clock.monotonic()
            start = max(now, self._next_start.get(host, now))
            self._next_start[host] = start + gap
            if start > now:
                await self.sleep(start - now)
            yield
