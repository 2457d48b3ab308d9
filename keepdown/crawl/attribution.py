"""Who hosts a piece of media: the contract between the crawler and provider attribution.

The crawler asks an :class:`Attributor` about each (host, server IP) it took media from and
stores the :class:`Attribution` on every sighting. The real attributor (the operator's provider
registry first, then RDAP for the IP's network) lives in ``keepdown.notices.attribution`` and
is injected by the application; :class:`UnknownAttributor` is the default when nothing is wired,
and :class:`CachingAttributor` keeps one answer per (host, ip) for the length of a crawl so a
site with 10,000 images costs one lookup, not 10,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Attribution", "Attributor", "CachingAttributor", "UnknownAttributor"]


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
    """Names the provider behind ``host`` served from ``ip`` (None when not known)."""

    def attribute(self, host: str, ip: str | None) -> Attribution: ...


class UnknownAttributor:
    """Attributes nothing: every answer is ``source="unknown"`` (the default)."""

    def attribute(self, host: str, ip: str | None) -> Attribution:
        return UNKNOWN


class CachingAttributor:
    """One lookup per (host, ip): wrap the real attributor for the length of one crawl."""

    def __init__(self, inner: Attributor) -> None:
        self.inner = inner
        self._cache: dict[tuple[str, str | None], Attribution] = {}

    def attribute(self, host: str, ip: str | None) -> Attribution:
        key = (host.lower(), ip)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self.inner.attribute(host, ip)
        return found

    @property
    def lookups(self) -> int:
        return len(self._cache)
