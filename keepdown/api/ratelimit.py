"""Per-key rate limits with the ``limits`` library, awaited on the event loop.

Each role has a limit in ``limits`` notation (``rate_limit_<role>`` settings, e.g.
``600/minute``; empty means unlimited). Counters are per API key, kept in memory by default or
in Redis when ``rate_limit_storage_url`` names one, so several API replicas (and worker
processes) share them.

Choices, and why:

- **Sliding-window counter** (two fixed-window counters weighted by the time elapsed): O(1) per
  request in memory and in Redis, and no burst at a window's edge. The moving-window strategy
  is exact but keeps one timestamp per request: at a platform's 600,000/minute that is a list
  of 600,000 entries per key, shifted on every request (it cost more than matching did).
- **Async storage**: the Redis round trip is awaited, so the event loop serves other requests
  meanwhile; nothing here blocks it.
- **Redis unreachable**: each call waits at most ``rate_limit_timeout_seconds``; then the
  request is refused with 503 (:class:`~keepdown.errors.StorageError`, the default) or, with
  ``rate_limit_fail_open``, let through unlimited with a warning in the log (at most one a
  minute). Never a raw driver error.
"""

from __future__ import annotations

import logging
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.errors import StorageError as LimitsStorageError

from keepdown.auth import Principal, Role
from keepdown.errors import ConfigurationError, RateLimited, StorageError
from keepdown.settings import Settings

__all__ = ["RateLimiter"]

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
        self.fail_open = fail_open
        self._last_warning = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        limits = {role: str(getattr(settings, f"rate_limit_{role.value}")) for role in Role}
        return cls(
            limits,
            str(settings.rate_limit_storage_url),
            fail_open=bool(settings.rate_limit_fail_open),
            timeout_seconds=float(settings.rate_limit_timeout_seconds),
        )

    async def hit(self, principal: Principal) -> None:
        """Count one request for the principal's key; RateLimited if over its role's limit."""
        item = self._items.get(principal.role)
        if item is None:
            return
        try:
            if await self._limiter.hit(item, principal.key_id):
                return
            stats = await self._limiter.get_window_stats(item, principal.key_id)
        except LimitsStorageError as exc:
            self._unreachable(exc)
            return
        raise RateLimited(
            f"rate limit {item} exceeded for this key",
            retry_after=max(1, int(stats.reset_time - time.time()) + 1),
        )

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
