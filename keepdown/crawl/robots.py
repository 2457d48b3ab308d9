"""robots.txt, honoured by default, parsed by Protego and cached per origin.

One robots.txt is fetched per origin (scheme, host, port) and kept for the crawl. What a
missing or broken robots.txt means follows RFC 9309: a 4xx answer (none published) allows
everything; a 5xx answer or an unreachable host disallows everything for now, because "the
server is down" is not "the site owner said yes": the URL fails with a :class:`FetchError`
that says why robots.txt could not be read (its ``reason``: ``dns``, ``timeout``, ``http``...),
and is tried again later. A refusal by the SSRF guard is not treated as robots at all: it
propagates, so the URL fails with :class:`BlockedAddress`.

``crawl_respect_robots = false`` switches the check off (for crawls under a legal mandate).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
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
    """The real policy: one robots.txt per origin, fetched through the guarded fetcher.

    A robots.txt that could not be read (network error, 5xx) is remembered for
    ``failure_seconds`` only, then asked again: the URLs of that origin fail meanwhile with
    the reason it could not be read (``dns``, ``timeout``, ``http``...), which is what a person
    needs to know, rather than "robots.txt forbids it"."""

    def __init__(
        self,
        fetcher: _BodyFetcher,
        user_agent: str,
        *,
        enabled: bool = True,
        failure_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetcher = fetcher
        self.user_agent = user_agent
        self.enabled = enabled
        self.failure_seconds = failure_seconds
        self.monotonic = monotonic
        self._parsed: dict[str, Protego] = {}
        self._failed: dict[str, tuple[float, FetchError]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetched: list[str] = []

    async def _rules(self, origin: str) -> Protego:
        """Parsed rules for an origin; :class:`FetchError` (with its reason) if unreadable."""
        if origin in self._parsed:
            return self._parsed[origin]
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin in self._parsed:
                return self._parsed[origin]
            failed = self._failed.get(origin)
            if failed is not None and self.monotonic() - failed[0] < self.failure_seconds:
                raise failed[1]
            try:
                self._parsed[origin] = await self._load(origin)
            except FetchError as exc:
                if isinstance(exc, BlockedAddress):
                    raise
                self._failed[origin] = (self.monotonic(), exc)
                raise
            self._failed.pop(origin, None)
        return self._parsed[origin]

    async def _load(self, origin: str) -> Protego:
        url = origin + "/robots.txt"
        self.fetched.append(url)
        try:
            result = await self.fetcher.fetch(url, max_bytes=MAX_ROBOTS_BYTES)
        except BlockedAddress:
            raise
        except FetchError as exc:
            raise FetchError(
                f"robots.txt of {origin} could not be read: {exc.message}",
                url=url,
                reason=exc.details.get("reason", "network"),
            ) from exc
        status = result.status  # type: ignore[attr-defined]
        if 400 <= status < 500:
            return Protego.parse("")
        if status >= 500:
            raise FetchError(
                f"robots.txt of {origin} answered HTTP {status}: the site is unavailable",
                url=url,
                reason="http",
            )
        text = result.body.decode("utf-8", errors="replace")  # type: ignore[attr-defined]
        return Protego.parse(text)

    async def check(self, url: str) -> None:
        if not self.enabled:
            return
        rules = await self._rules(origin_of(url))
        if not rules.can_fetch(url, self.user_agent):
            raise RobotsDisallowed(f"robots.txt forbids {url}", url=url)

    def crawl_delay(self, url: str) -> float | None:
        """The Crawl-delay the origin asks of us, if its robots.txt was read and sets one."""
        rules = self._parsed.get(origin_of(url))
        if not self.enabled or rules is None:
            return None
        delay = rules.crawl_delay(self.user_agent)
        return float(delay) if delay is not None else None
