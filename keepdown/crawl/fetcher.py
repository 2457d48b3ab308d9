"""Fetch one URL safely: the crawler's only way onto the network.

Flow of :meth:`Fetcher.fetch`:

1. vet the URL: http(s) only; an IP-literal host is checked by the SSRF guard before any
   connection (named hosts are checked by the transport after resolution, see transport.py);
2. call ``before_hop`` (the crawler passes its robots.txt check) for this URL, then enter
   ``hop_slot(url)`` for the length of one request (the crawler passes its per-host
   politeness: every hop waits for a slot of *its own* host, not only the first);
3. call ``before_request`` (the crawler counts an attempt there), send the request (HTTP/1.1
   or HTTP/2), stream the body and stop at ``max_bytes`` (a response that declares a larger
   Content-Length is not read at all); record the peer IP;
4. on 429 / 5xx or a transport error, retry (``retries``, by default ``crawl_max_retries``)
   with exponential backoff, honouring Retry-After up to ``crawl_max_retry_after_seconds`` (a
   longer wait is handed back to the caller instead); the host's slot is let go while waiting;
5. on a redirect, resolve ``Location`` and go back to step 1 for the new URL, at most
   ``crawl_max_redirects`` times;
6. sniff the first bytes (a ``.jpg`` that is HTML is HTML) and return a :class:`FetchResult`.

**Bounds.** All the requests of one :meth:`Fetcher.fetch` (every hop and retry) share one
budget of ``crawl_max_fetch_seconds`` of request time (waiting for a politeness slot or a
backoff is not request time): one call makes at most ``(retries + 1) x (crawl_max_redirects +
1)`` requests and spends at most that budget on them. The crawler fetches with ``retries=0``
and retries through its frontier instead (each try is an attempt, ``crawl_max_attempts`` in
all), so a URL costs at most ``crawl_max_attempts`` tries of at most ``crawl_max_fetch_seconds``
each, and never holds a host's slot while it waits.

Errors carry their class (``reason``, :mod:`keepdown.crawl.failures`).

Bodies stay in memory and are dropped by the caller after hashing; nothing touches disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from keepdown.clock import Clock, SystemClock
from keepdown.crawl.failures import transport_failure
from keepdown.crawl.sniff import effective_type
from keepdown.crawl.ssrf import AddressGuard, parse_ip
from keepdown.crawl.transport import GuardedTransport, Resolver
from keepdown.crawl.urls import host_of, normalize_url
from keepdown.errors import FetchError, InvalidInput
from keepdown.settings import Settings

__all__ = ["FetchResult", "Fetcher"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
Sleep = Callable[[float], Awaitable[Any]]
HopCheck = Callable[[str], Awaitable[None]]
HopSlot = Callable[[str], AbstractAsyncContextManager[None]]
RequestHook = Callable[[str], Awaitable[None]]


class _Budget:
    """Request time left to one :meth:`Fetcher.fetch` (monotonic clock)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.spent = 0.0

    def left(self, url: str) -> float:
        left = self.seconds - self.spent
        if left <= 0:
            raise FetchError(
                f"fetching {url} took more than crawl_max_fetch_seconds "
                f"({self.seconds:g} s) in all",
                url=url,
                reason="timeout",
            )
        return left


@dataclass(frozen=True)
class FetchResult:
    """One fetched response, redirects followed. ``content_type`` is the sniffed type."""

    url: str
    final_url: str
    status: int
    declared_type: str
    content_type: str
    body: bytes
    truncated: bool
    server_ip: str | None
    http_version: str
    redirects: tuple[str, ...]
    fetched_at: datetime
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class _HopCall:
    """What every request of one :meth:`Fetcher.fetch` shares."""

    max_bytes: int
    retries: int
    slot: HopSlot | None
    before_request: RequestHook | None
    budget: _Budget


@dataclass(frozen=True)
class _Hop:
    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    server_ip: str | None
    http_version: str


def _peer_ip(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    addr = stream.get_extra_info("server_addr")
    return str(addr[0]) if addr else None


def _retry_after(headers: httpx.Headers, now: datetime) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    if value.strip().isascii() and value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


class Fetcher:
    """An httpx client behind the SSRF guard, with size, time, redirect and retry limits."""

    def __init__(
        self,
        settings: Settings,
        *,
        resolver: Resolver | None = None,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.guard = AddressGuard(settings.crawl_allowed_networks)
        self.clock = clock or SystemClock()
        self.sleep = sleep
        self.transport = GuardedTransport(
            self.guard, resolver=resolver, http2=settings.crawl_http2, ssl_context=ssl_context
        )
        self.client = httpx.AsyncClient(
            transport=self.transport,
            follow_redirects=False,
            trust_env=False,  # an environment proxy would connect for us, past the guard
            timeout=httpx.Timeout(settings.crawl_timeout_seconds),
            headers={"User-Agent": settings.crawl_user_agent},
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    def vet_url(self, url: str) -> str:
        """The normalised URL, or an error: non-http(s), or an IP literal the guard refuses."""
        normal = normalize_url(url)
        try:
            httpx.URL(normal)
        except httpx.InvalidURL as exc:
            raise InvalidInput(f"not a fetchable URL: {exc}", url=normal) from exc
        literal = parse_ip(host_of(normal))
        if literal is not None:
            self.guard.check(literal, url=normal)
        return normal

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        before_hop: HopCheck | None = None,
        hop_slot: HopSlot | None = None,
        before_request: RequestHook | None = None,
        retries: int | None = None,
    ) -> FetchResult:
        """Fetch ``url`` following redirects (steps and bounds in the module docstring)."""
        redirects: list[str] = []
        current = self.vet_url(url)
        hop_call = _HopCall(
            max_bytes=max_bytes,
            retries=self.settings.crawl_max_retries if retries is None else retries,
            slot=hop_slot,
            before_request=before_request,
            budget=_Budget(float(self.settings.crawl_max_fetch_seconds)),
        )
        while True:
            if before_hop is not None:
                await before_hop(current)
            hop, retry_after = await self._fetch_with_retries(current, hop_call)
            location = hop.headers.get("location")
            if hop.status in REDIRECT_STATUSES and location:
                if len(redirects) >= self.settings.crawl_max_redirects:
                    raise FetchError(
                        f"more than {self.settings.crawl_max_redirects} redirects from {url}",
                        url=url,
                        redirects=[*redirects, current],
                        permanent=True,
                        reason="redirects",
                    )
                redirects.append(current)
                current = self.vet_url(normalize_url(location, base=current))
                continue
            return self._result(url, current, hop, redirects, retry_after)

    def _result(
        self, url: str, final: str, hop: _Hop, redirects: list[str], retry_after: float | None
    ) -> FetchResult:
        declared = hop.headers.get("content-type", "")
        return FetchResult(
            url=url,
            final_url=final,
            status=hop.status,
            declared_type=declared,
            content_type=effective_type(declared, hop.body[:512]),
            body=hop.body,
            truncated=hop.truncated,
            server_ip=hop.server_ip,
            http_version=hop.http_version,
            redirects=tuple(redirects),
            fetched_at=self.clock.now(),
            retry_after=retry_after,
        )

    def _backoff(self, attempt: int) -> float:
        return self.settings.crawl_retry_backoff_seconds * 2.0**attempt

    async def _fetch_with_retries(self, url: str, call: _HopCall) -> tuple[_Hop, float | None]:
        """One hop with retries; also returns a Retry-After that was too long to wait for.
        Each request holds the host's slot; the waits between them do not."""
        for attempt in range(call.retries + 1):
            try:
                hop = await self._one_request(url, call)
            except httpx.TransportError as exc:
                if attempt == call.retries:
                    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
                    raise FetchError(
                        f"fetching {url} {kind}: {exc}", url=url, reason=transport_failure(exc)
                    ) from exc
                await self.sleep(self._backoff(attempt))
                continue
            except httpx.RequestError as exc:  # e.g. a body that fails to decompress
                raise FetchError(
                    f"fetching {url} failed: {exc}", url=url, permanent=True, reason="network"
                ) from exc
            if hop.status not in RETRY_STATUSES:
                return hop, None
            asked = _retry_after(hop.headers, self.clock.now())
            if asked is not None and asked > self.settings.crawl_max_retry_after_seconds:
                return hop, asked
            if attempt == call.retries:
                return hop, asked
            await self.sleep(max(asked or 0.0, self._backoff(attempt)))
        raise AssertionError("unreachable: the loop returns or raises on its last attempt")

    async def _one_request(self, url: str, call: _HopCall) -> _Hop:
        """One request within the host's slot and the fetch's time budget."""
        slot = call.slot(url) if call.slot is not None else contextlib.nullcontext()
        async with slot:
            deadline = min(float(self.settings.crawl_max_fetch_seconds), call.budget.left(url))
            if call.before_request is not None:
                await call.before_request(url)
            started = time.monotonic()
            try:
                async with asyncio.timeout(deadline):
                    return await self._stream(url, call.max_bytes)
            except TimeoutError as exc:
                raise httpx.ReadTimeout(f"no complete response within {deadline:g} s") from exc
            finally:
                call.budget.spent += time.monotonic() - started

    async def _stream(self, url: str, max_bytes: int) -> _Hop:
        async with self.client.stream("GET", url) as response:
            server_ip = _peer_ip(response)  # now: a closed connection no longer knows its peer
            body, truncated = b"", False
            declared_length = response.headers.get("content-length", "")
            if response.status_code in REDIRECT_STATUSES:
                pass  # a redirect's body is never needed
            elif (
                declared_length.isascii()
                and declared_length.isdigit()
                and (int(declared_length) > max_bytes)
            ):
                truncated = True
            else:
                body, truncated = await _read_limited(response, max_bytes)
            return _Hop(
                status=response.status_code,
                headers=response.headers,
                body=body,
                truncated=truncated,
                server_ip=server_ip,
                http_version=response.http_version,
            )


async def _read_limited(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """Read at most ``max_bytes`` of the (decoded) body; True if there was more."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        if size + len(chunk) > max_bytes:
            chunks.append(chunk[: max_bytes - size])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False
