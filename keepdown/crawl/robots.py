"""robots.txt, honoured by default, parsed by Protego and cached per origin.

One robots.txt is fetched per origin (scheme, host, port) and kept for the crawl. What a
missing or broken robots.txt means follows RFC 9309: a 4xx answer (none published) allows
everything; a 5xx answer or an unreachable host disallows everything for now, because "the
server is down" is not "the site owner said yes". A refusal by the SSRF guard is not treated
as robots at all: it propagates, so the URL fails with :class:`BlockedAddress`.

``crawl_respect_robots = false`` switches the check off (for crawls under a legal mandate).
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from protego import Protego

from keepdown.crawl.urls import origin_of
from keepdown.errors import BlockedAddress, FetchError, RobotsDisallowed

__all__ = ["RobotsDisallowed", "RobotsPolicy", "RobotsTxtFetcher"]

MAX_ROBOTS_BYTES = 512 * 1024  # the RFC's minimum a crawler must parse; more is ignored


class _BodyFetcher(Protocol):
    async def fetch(self, url: str, *, max_bytes: int) -> object: ...


class RobotsPolicy(Protocol):
    """Answers "may the crawler fetch this URL?"; raises :class:`RobotsDisallowed` if not."""

    async def check(self, url: str) -> None: ...

    def crawl_delay(self, url: str) -> float | None: ...


class RobotsTxtFetcher:
    """The real policy: one robots.txt per origin, fetched through the guarded fetcher."""

    def __init__(self, fetcher: _BodyFetcher, user_agent: str, *, enabled: bool = True) -> None:
        self.fetcher = fetcher
        self.user_agent = user_agent
        self.enabled = enabled
        self._parsed: dict[str, Protego | None] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetched: list[str] = []

    async def _rules(self, origin: str) -> Protego | None:
        """Parsed rules for an origin; None means "disallow everything" (server unreachable)."""
        if origin in self._parsed:
            return self._parsed[origin]
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self._parsed:
                self._parsed[origin] = await self._load(origin)
        return self._parsed[origin]

    async def _load(self, origin: str) -> Protego | None:
        url = origin + "/robots.txt"
        self.fetched.append(url)
        try:
            result = await self.fetcher.fetch(url, max_bytes=MAX_ROBOTS_BYTES)
        except BlockedAddress:
            raise
        except FetchError:
            return None
        status = result.status  # type: ignore[attr-defined]
        if 400 <= status < 500:
            return Protego.parse("")
        if status >= 500:
            return None
        text = result.body.decode("utf-8", errors="replace")  # type: ignore[attr-defined]
        return Protego.parse(text)

    async def check(self, url: str) -> None:
        if not self.enabled:
            return
        rules = await self._rules(origin_of(url))
        if rules is None:
            raise RobotsDisallowed(f"robots.txt of {origin_of(url)} could not be read", url=url)
        if not rules.can_fetch(url, self.user_agent):
            raise RobotsDisallowed(f"robots.txt forbids {url}", url=url)

    def crawl_delay(self, url: str) -> float | None:
        """The Crawl-delay the origin asks of us, if its robots.txt was read and sets one."""
        rules = self._parsed.get(origin_of(url))
        if not self.enabled or rules is None:
            return None
        delay = rules.crawl_delay(self.user_agent)
        return float(delay) if delay is not None else None
