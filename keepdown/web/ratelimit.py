"""A small per-address limit for the public form (one process; in memory).

The public report form is the only page anyone may post to without signing in, so it counts
posts per client address over a sliding hour and refuses past ``web_public_reports_per_hour``.
Behind a reverse proxy every client shares the proxy's address: put the limit in the proxy
then (docs/web.md).
"""

from __future__ import annotations

import threading
from collections import deque

from keepdown.clock import Clock
from keepdown.errors import RateLimited

__all__ = ["AddressLimit"]

WINDOW_SECONDS = 3600.0


class AddressLimit:
    def __init__(self, per_hour: int, clock: Clock) -> None:
        self.per_hour = per_hour
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, address: str) -> None:
        """Count one post from ``address``; RateLimited past the limit."""
        now = self.clock.monotonic()
        with self._lock:
            if len(self._seen) > 100_000:
                self._seen.clear()
            times = self._seen.setdefault(address, deque())
            while times and now - times[0] >= WINDOW_SECONDS:
                times.popleft()
            if len(times) >= self.per_hour:
                retry = int(WINDOW_SECONDS - (now - times[0])) + 1
                raise RateLimited(
                    "too many reports from your address; try again later", retry_after=retry
                )
            times.append(now)
