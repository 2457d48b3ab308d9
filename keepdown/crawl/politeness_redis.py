"""Per-host politeness shared through Redis, so many crawler processes keep one host budget.

:class:`RedisPoliteness` keeps the :class:`~keepdown.crawl.politeness.Politeness` contract
(``async with politeness.slot(host, delay=...)``) across processes and machines that use the
same ``redis_url``. Per host, two keys (one Redis Cluster hash slot, ``{host}``):

- ``<prefix>{host}:holders``, a sorted set of the slots held, each scored with the time its
  hold expires: a process killed mid-request frees its slot after the hold time
  (``crawl_max_fetch_seconds`` + 5 s: a slot is held for one request, never during a backoff);
- ``<prefix>{host}:next``, the earliest time the next request to the host may start.

One Lua script takes a slot atomically, on Redis's own clock (``TIME``, so the machines'
clocks need not agree): drop expired holders; if ``crawl_per_host_concurrency`` are held,
answer "full" (the caller polls again, 10 ms doubling to 250 ms, with jitter); else reserve
``start = max(now, next)``, move ``next`` to ``start + gap`` and add the holder. The caller
sleeps until ``start`` and sends its request: concurrent waiters are spaced one gap apart,
exactly like :class:`InMemoryPoliteness`. Leaving the slot removes the holder. Keys expire by
themselves when a host goes quiet.

**When Redis cannot be reached** (down, wrong URL, timeout), a slot is granted by an
in-memory politeness of the same settings instead: this process stays polite, but N processes
may together reach N times the per-host budget until Redis is back. The first failure of an
outage is logged as a WARNING (with the URL's password removed), the recovery as INFO;
``degraded`` says which mode is on and ``fallbacks`` counts slots granted locally.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from keepdown.clock import Clock
from keepdown.crawl.politeness import InMemoryPoliteness
from keepdown.errors import ConfigurationError
from keepdown.settings import Settings

__all__ = ["RedisPoliteness"]

log = logging.getLogger("keepdown.crawl.politeness")

# KEYS: holders, next. ARGV: token, concurrency, gap ms, hold ms. -> {granted, wait ms}
_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, gap, hold = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then
  return {0, 0}
end
local start = tonumber(redis.call('GET', KEYS[2]) or '0')
if start < now then start = now end
redis.call('SET', KEYS[2], start + gap, 'PX', start + gap - now + 1000)
redis.call('ZADD', KEYS[1], start + hold, ARGV[1])
redis.call('PEXPIRE', KEYS[1], start + hold - now + 1000)
return {1, start - now}
"""


def _redacted(url: str) -> str:
    """The URL without its user and password, for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class RedisPoliteness:
    """Per-host concurrency and delay kept in Redis (module docstring)."""

    def __init__(
        self,
        url: str,
        concurrency: int,
        delay_seconds: float,
        *,
        hold_seconds: float = 300.0,
        prefix: str = "keepdown:polite:",
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if concurrency < 1:
            raise ValueError("per-host concurrency must be at least 1")
        self.url = url
        self.concurrency = concurrency
        self.delay_seconds = delay_seconds
        self.hold_ms = int(hold_seconds * 1000)
        self.prefix = prefix
        self.sleep = sleep
        self.client = aioredis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)
        self._take = self.client.register_script(_TAKE_SLOT)
        self.fallback = InMemoryPoliteness(concurrency, delay_seconds, clock=clock, sleep=sleep)
        self.degraded = False
        self.fallbacks = 0

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> RedisPoliteness:
        if not settings.redis_url:
            raise ConfigurationError("crawl_politeness_backend = redis needs redis_url")
        # A slot is held for one request, which the fetcher ends within crawl_max_fetch_seconds.
        hold = settings.crawl_max_fetch_seconds + 5.0
        return cls(
            settings.redis_url,
            settings.crawl_per_host_concurrency,
            settings.crawl_per_host_delay_seconds,
            hold_seconds=hold,
            **kwargs,
        )

    def _keys(self, host: str) -> list[str]:
        base = f"{self.prefix}{{{host}}}"
        return [f"{base}:holders", f"{base}:next"]

    @asynccontextmanager
    async def slot(self, host: str, *, delay: float | None = None) -> AsyncIterator[None]:
        gap = self.delay_seconds if delay is None else max(delay, self.delay_seconds)
        token = secrets.token_hex(8)
        try:
            wait = await self._reserve(host, token, gap)
        except (RedisError, OSError) as exc:
            self._down(exc)
            wait = None
        if wait is None:
            async with self.fallback.slot(host, delay=delay):
                yield
            return
        self._up()
        try:
            if wait > 0:
                await self.sleep(wait)
            yield
        finally:
            await self._release(host, token)

    async def _reserve(self, host: str, token: str, gap: float) -> float:
        """Take a slot (polling while the host is full); seconds to wait before starting."""
        keys = self._keys(host)
        args: list[str | int] = [token, self.concurrency, int(gap * 1000), self.hold_ms]
        pause = 0.01
        while True:
            granted, wait_ms = await self._take(keys=keys, args=args)
            if int(granted) == 1:
                return int(wait_ms) / 1000
            await self.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.25)

    async def _release(self, host: str, token: str) -> None:
        try:
            await self.client.zrem(self._keys(host)[0], token)
        except (RedisError, OSError) as exc:  # the hold expires by itself
            log.debug("could not release a politeness slot of %s: %s", host, exc)

    def _down(self, exc: BaseException) -> None:
        self.fallbacks += 1
        if not self.degraded:
            self.degraded = True
            log.warning(
                "Redis at %s unreachable (%s): per-host politeness is kept per process "
                "until it is back",
                _redacted(self.url),
                exc.__class__.__name__,
            )

    def _up(self) -> None:
        if self.degraded:
            self.degraded = False
            log.info("Redis at %s reachable again: per-host politeness shared", _redacted(self.url))

    async def aclose(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()
