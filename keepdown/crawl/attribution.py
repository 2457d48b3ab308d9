"""Who hosts a piece of media: the contract between the crawler and provider attribution.

The crawler's media sink asks an :class:`Attributor` about each (host, server IP) it took
media from and stores the :class:`Attribution` on every sighting. ``attribute`` is a
coroutine: the real attributor (the operator's provider registry first, then RDAP for the
IP's network, in ``keepdown.notices.attribution``, injected by the application) may wait on
the network, and it must never stall the crawl's event loop while it does.
:class:`UnknownAttributor` is the default when nothing is wired, and
:class:`CachingAttributor` keeps one answer per (host, ip) for the length of a crawl so a site
with 10,000 images costs one lookup, not 10,000 (concurrent asks for the same pair share one
lookup).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

__all__ = ["UNKNOWN", "Attribution", "Attributor", "CachingAttributor", "UnknownAttributor"]


@dataclass(frozen=True)
class Attribution:
    """The provider (if known) and network behind one host/IP."""

    provider: str | None  # provider registry name; None when unknown
    provider_id: int | None
    asn: int | None
    network: str | None  # CIDR of the network the IP belongs to
    country: str  # ISO 3166-1 alpha-2, "" when unknown
    abuse_email: str | None
    source: str  # "registry", "rdap" or "unknown"

    @property
    def known(self) -> bool:
        """True when a provider was named (registry or RDAP)."""
        return self.source != "unknown" and (self.provider is not None or self.asn is not None)


UNKNOWN = Attribution(
    provider=None,
    provider_id=None,
    asn=None,
    network=None,
    country="",
    abuse_email=None,
    source="unknown",
)


class Attributor(Protocol):
    """Names the provider behind ``host`` served from ``ip`` (``source="unknown"`` if none).

    Must not raise for a failed lookup (answer :data:`UNKNOWN` and log instead): a crawl
    goes on whatever a registry or RDAP server does."""

    async def attribute(self, host: str, ip: str | None) -> Attribution: ...


class UnknownAttributor:
    """Attributes nothing: every answer is ``source="unknown"`` (the default)."""

    async def attribute(self, host: str, ip: str | None) -> Attribution:
        return UNKNOWN


class CachingAttributor:
    """One lookup per (host, ip): wrap the real attributor for the length of one crawl."""

    def __init__(self, inner: Attributor) -> None:
        self.inner = inner
        self._cache: dict[tuple[str, str | None], Attribution] = {}
        self._asking: dict[tuple[str, str | None], asyncio.Future[Attribution]] = {}

    async def attribute(self, host: str, ip: str | None) -> Attribution:
        key = (host.lower(), ip)
        found = self._cache.get(key)
        if found is not None:
            return found
        asking = self._asking.get(key)
        if asking is not None:
            return await asyncio.shield(asking)
        future: asyncio.Future[Attribution] = asyncio.get_running_loop().create_future()
        self._asking[key] = future
        try:
            found = self._cache[key] = await self.inner.attribute(host, ip)
            future.set_result(found)
            return found
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning if nobody waits
            raise
        finally:
            del self._asking[key]

    @property
    def lookups(self) -> int:
        return len(self._cache)
