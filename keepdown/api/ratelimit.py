"""Rate limits with the ``limits`` library, awaited on the event loop: per API key, and per
client address for what anyone may do without a key.

- :class:`RateLimiter`: each role has a limit in ``limits`` notation (``rate_limit_<role>``
  settings, e.g. ``600/minute``; empty means unlimited), counted per API key;
- :class:`ClientLimiter`: one limit per client address, for the key-less public report
  endpoint and the public web form (``public_report_rate_limit``; one limiter, built by the
  composition root and handed to both, so the two share one count per address).

Counters are kept in memory by default or in Redis when ``rate_limit_storage_url`` names one,
so several API replicas (and worker processes) share them.

**The client address** is the TCP peer, unless the peer is one of the ``trusted_proxies``
networks: then it is the right-most address of ``X-Forwarded-For`` that is not a trusted proxy
(``keepdown.app.server`` installs uvicorn's proxy-headers middleware with exactly those
networks, and turns off uvicorn's own, which would trust 127.0.0.1 by default). Behind a
reverse proxy with ``trusted_proxies`` left empty every client has the proxy's address and
shares one count; a header from any peer not listed is ignored, so a client cannot choose
its own address.

Choices, and why:

- **Sliding-window counter** (two fixed-window counters weighted by the time elapsed): O(1) per
  request in memory and in Redis, and no burst at a window's edge. The moving-window strategy
  is exact but keeps one timestamp per request: at a platform's 600,000/minute that is a list
  of 600,000 entries per key, shifted on every request (it cost more than matching did).
- **Async storage**: the Redis round trip is awaited, so the event loop serves other requests
  meanwhile; nothing here blocks it.
- **In one process** (no ``rate_limit_storage_url``), API keys are counted by
  :class:`_LocalWindows`, the same sliding-window counter in a few arithmetic operations on
  the event loop: the ``limits`` library's memory storage costs more per request than a
  single-hash lookup's matching does (docs/performance.md, "API load").
- **Redis unreachable**: each call waits at most ``rate_limit_timeout_seconds``; then the
  request is refused with 503 (:class:`~keepdown.errors.StorageError`, the default) or, for
  API keys with ``rate_limit_fail_open``, let through unlimited with a warning in the log (at
  most one a minute). The per-client limit never fails open: a key-less endpoint is never
  unlimited. Never a raw driver error.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.errors import StorageError as LimitsStorageError

from keepdown.auth import Principal, Role
from keepdown.errors import ConfigurationError, RateLimited, StorageError
from keepdown.settings import Settings

__all__ = ["ClientLimiter", "RateLimiter"]

log = logging.getLogger("keepdown.api.ratelimit")

_REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://")


class RateLimiter:
    """Checks and counts one request per awaited call to :meth:`hit`."""

    def __init__(
        self,
        limits_by_role: dict[Role, str],
        storage_url: str = "",
        *,
        fail_open: bool = False,
        timeout_seconds: float = 0.5,
        key_prefix: str = "keepdown-rl",
    ) -> None:
        try:
            self._items: dict[Role, RateLimitItem] = {
                role: parse(text) for role, text in limits_by_role.items() if text.strip()
            }
            storage = _storage(storage_url, timeout_seconds, key_prefix)
        except (ValueError, LimitsConfigurationError) as exc:
            raise ConfigurationError(f"invalid rate limit setting: {exc}") from exc
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._local = _LocalWindows() if isinstance(storage, MemoryStorage) else None
        self.fail_open = fail_open
        self._last_warning = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        limits = {role: str(getattr(settings, f"rate_limit_{role.value}")) for role in Role}
        return cls(
            limits,
            settings.rate_limit_storage_url,
            fail_open=settings.rate_limit_fail_open,
            timeout_seconds=settings.rate_limit_timeout_seconds,
        )

    async def hit(self, principal: Principal) -> None:
        """Count one request for the principal's key; RateLimited if over its role's limit."""
        item = self._items.get(principal.role)
        if item is None:
            return
        if self._local is not None:
            wait = self._local.hit(item, principal.key_id)
            if wait is None:
                return
            raise RateLimited(
                f"rate limit {item} exceeded for this key", retry_after=max(1, int(wait) + 1)
            )
        try:
            if await self._limiter.hit(item, principal.key_id):
                return
            stats = await self._limiter.get_window_stats(item, principal.key_id)
        except LimitsStorageError as exc:
            self._unreachable(exc)
            return
        raise RateLimited(f"rate limit {item} exceeded for this key", retry_after=_after(stats))

    def _unreachable(self, exc: LimitsStorageError) -> None:
        if not self.fail_open:
            raise StorageError(
                "the rate-limit store cannot be reached; try again shortly",
                store="rate_limit",
            ) from exc
        now = time.monotonic()
        if now - self._last_warning > 60:
            self._last_warning = now
            log.warning("rate-limit store unreachable (%s); admitting requests unlimited", exc)


class ClientLimiter:
    """One limit per client address (module docstring); :meth:`hit` counts one request."""

    def __init__(
        self,
        limit: str,
        storage_url: str = "",
        *,
        timeout_seconds: float = 0.5,
        key_prefix: str = "keepdown-client",
        what: str = "requests",
    ) -> None:
        try:
            self.item: RateLimitItem | None = parse(limit) if limit.strip() else None
            storage = _storage(storage_url, timeout_seconds, key_prefix)
        except (ValueError, LimitsConfigurationError) as exc:
            raise ConfigurationError(f"invalid per-client rate limit: {exc}") from exc
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self.what = what

    @classmethod
    def public_reports(cls, settings: Settings) -> ClientLimiter:
        """``public_report_rate_limit``: the public endpoint and the web form, together."""
        return cls(
            settings.public_report_rate_limit,
            settings.rate_limit_storage_url,
            timeout_seconds=settings.rate_limit_timeout_seconds,
            key_prefix="keepdown-public-report",
            what="reports",
        )

    async def hit(self, client: str | None) -> None:
        """Count one request from ``client``; RateLimited past the limit, StorageError (503)
        when the shared store cannot be reached."""
        if self.item is None:
            return
        key = client or "unknown"
        try:
            if await self._limiter.hit(self.item, key):
                return
            stats = await self._limiter.get_window_stats(self.item, key)
        except LimitsStorageError as exc:
            raise StorageError(
                "the rate-limit store cannot be reached; try again shortly", store="rate_limit"
            ) from exc
        raise RateLimited(
            f"too many {self.what} from this address ({self.item}); try again later",
            retry_after=_after(stats),
        )


class _LocalWindows:
    """A sliding-window counter per key, in this process (module docstring): the count of
    the current fixed window plus the previous window's, weighted by how much of it is still
    inside the sliding window. Called on the event loop only, so it needs no lock."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], list[float]] = {}  # [window index, now, before]

    def hit(self, item: RateLimitItem, key: str) -> float | None:
        """Count one request: None when admitted, else the seconds until there is room."""
        window = float(item.get_expiry())
        now = time.monotonic()
        index = now // window
        counts = self._counts.setdefault((str(item), key), [index, 0.0, 0.0])
        if counts[0] != index:  # a new window: the last one becomes "before" (or nothing)
            counts[2] = counts[1] if index == counts[0] + 1 else 0.0
            counts[0], counts[1] = index, 0.0
        elapsed = (now % window) / window
        if counts[2] * (1.0 - elapsed) + counts[1] + 1 > item.amount:
            return window - (now % window)
        counts[1] += 1
        return None


def _after(stats: Any) -> int:
    """Seconds until the window has room again (the Retry-After header)."""
    return max(1, int(stats.reset_time - time.time()) + 1)


def _storage(url: str, timeout: float, key_prefix: str) -> Storage:
    if not url or url.startswith("memory://"):
        return MemoryStorage()
    if not url.startswith(_REDIS_SCHEMES):
        scheme = url.partition("://")[0]  # never the rest: it may hold a password
        raise ValueError(f"rate_limit_storage_url must be empty or redis://..., not {scheme}://")
    return RedisStorage(
        f"async+{url}",
        implementation="redispy",
        wrap_exceptions=True,
        key_prefix=key_prefix,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
    )
