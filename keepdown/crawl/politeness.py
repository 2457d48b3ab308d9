"""Per-host politeness: how many requests may be in flight to one host, and how often.

The crawler wraps every request hop in ``async with politeness.slot(host, delay=...):``. A
slot waits until (a) fewer than ``crawl_per_host_concurrency`` requests to that host are
running and (b) at least ``crawl_per_host_delay_seconds`` (or the longer robots.txt
Crawl-delay passed as ``delay``) have passed since the previous request to that host started.

Two implementations of the one :class:`Politeness` protocol, chosen by
``crawl_politeness_backend`` (:func:`politeness_from_settings`):

- ``memory``: :class:`InMemoryPoliteness`, the state of one process (the default);
- ``redis``: :class:`keepdown.crawl.politeness_redis.RedisPoliteness`, shared by every
  crawler process and machine using the same ``redis_url``, so N workers together keep one
  host's budget. If Redis cannot be reached it falls back to in-memory politeness, per
  process, and says so in the log (see that module).

Anything that sends requests on the crawl's behalf (the crawl worker, a distributed task
worker) builds one with :func:`politeness_from_settings` and closes it with ``aclose()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from keepdown.clock import Clock, SystemClock
from keepdown.errors import ConfigurationError
from keepdown.settings import Settings

__all__ = ["InMemoryPoliteness", "Politeness", "politeness_from_settings"]

BACKENDS = ("memory", "redis")


class Politeness(Protocol):
    """Grants the right to send one request to ``host``."""

    def slot(self, host: str, *, delay: float | None = None) -> AbstractAsyncContextManager[None]:
        """Hold while the request runs; ``delay`` overrides the default if longer (robots
        Crawl-delay)."""
        ...

    async def aclose(self) -> None:
        """Release connections (call once, on the loop that used the slots)."""
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

    async def aclose(self) -> None:
        return None


def politeness_from_settings(settings: Settings, *, clock: Clock | None = None) -> Politeness:
    """The politeness ``crawl_politeness_backend`` names (module docstring)."""
    backend = settings.crawl_politeness_backend.strip().lower()
    if backend == "memory":
        return InMemoryPoliteness.from_settings(settings, clock=clock)
    if backend == "redis":
        from keepdown.crawl.politeness_redis import RedisPoliteness  # only when asked for

        return RedisPoliteness.from_settings(settings, clock=clock)
    raise ConfigurationError(
        f"crawl_politeness_backend must be one of {', '.join(BACKENDS)}, not {backend!r}"
    )
