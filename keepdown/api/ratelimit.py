"""Per-key rate limits with the ``limits`` library.

Each role has a limit in ``limits`` notation (``rate_limit_<role>`` settings, e.g.
``600/minute``; empty means unlimited). Counters are per API key, kept in memory by default or
in Redis when ``rate_limit_storage_url`` names one, so several API replicas share them. The
moving-window strategy avoids the burst at a fixed window's edge.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from keepdown.auth import Principal, Role
from keepdown.errors import ConfigurationError, RateLimited
from keepdown.settings import Settings

__all__ = ["RateLimiter"]


class RateLimiter:
    """Checks and counts one request per call to :meth:`hit`."""

    def __init__(self, limits_by_role: dict[Role, str], storage_url: str = "") -> None:
        try:
            storage = storage_from_string(storage_url) if storage_url else MemoryStorage()
            self._items: dict[Role, RateLimitItem] = {
                role: parse(text) for role, text in limits_by_role.items() if text.strip()
            }
        except (ValueError, LimitsConfigurationError) as exc:
            raise ConfigurationError(f"invalid rate limit setting: {exc}") from exc
        self._limiter = MovingWindowRateLimiter(storage)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        limits = {role: str(getattr(settings, f"rate_limit_{role.value}")) for role in Role}
        return cls(limits, str(settings.rate_limit_storage_url))

    def hit(self, principal: Principal) -> None:
        """Count one request for the principal's key; RateLimited if over its role's limit."""
        item = self._items.get(principal.role)
        if item is None:
            return
        if not self._limiter.hit(item, principal.key_id):
            reset = self._limiter.get_window_stats(item, principal.key_id).reset_time
            raise RateLimited(
                f"rate limit {item} exceeded for this key",
                retry_after=max(1, int(reset - time.time()) + 1),
            )
