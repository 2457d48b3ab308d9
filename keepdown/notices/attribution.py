"""Who hosts it: the operator's provider registry first, then RDAP for the IP's network.

Implements the crawler's :class:`keepdown.crawl.attribution.Attributor` contract:

1. **registry, by IP**: the server IP lies in a provider's IP ranges (the most specific range
   wins when ranges nest, e.g. a customer block inside its upstream's);
2. **registry, by domain**: the host is one of a provider's domains or below one (the longest
   suffix wins: ``cdn.example.net`` before ``example.net``);
3. **RDAP** (only when ``rdap_base_url`` is set; off by default, as many networks forbid it):
   ``GET <base>/ip/<ip>`` (RFC 9082) through the crawler's SSRF-guarded fetcher; the answer's
   origin AS numbers are matched against the registry's AS numbers (registry entry found),
   else the RDAP network itself is reported (``source="rdap"``, no provider id: an analyst
   adds it to the registry);
4. otherwise ``source="unknown"``; the crawler lists such hosts for an analyst.

RDAP answers are parsed from the RFC 9083 IP network object: ``cidr0_cidrs`` or the
start/end addresses for the network, ``country``, the ``registrant`` entity's name, and the
``abuse`` entity's vCard e-mail (searched in nested entities too, where RIRs put it).

Lookups are coroutines on the crawl's own event loop (the fetcher is async), so a slow RDAP
server holds up only the sightings of that one host, never the crawl. A failed lookup (timeout,
HTTP error, an answer that is not an ip network) is logged and answered ``unknown``.

Why not ``whoisit`` / ``ipwhois``: both fetch with their own HTTP clients (``requests``),
past the SSRF guard, the proxy policy and the timeouts every other crawler request obeys, and
whoisit first downloads IANA's bootstrap files, which makes it impossible to point at a test
server on loopback. This client is ~60 lines over the guarded fetcher; IANA bootstrap is left to
the RDAP service named in ``rdap_base_url`` (https://rdap.org redirects each IP to its RIR,
and the fetcher follows the redirect through the guard).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from keepdown.crawl.attribution import UNKNOWN, Attribution
from keepdown.crawl.fetcher import Fetcher
from keepdown.crawl.transport import Resolver
from keepdown.errors import FetchError, KeepdownError
from keepdown.notices.providers import Provider
from keepdown.settings import Settings

__all__ = ["RdapClient", "RdapNetwork", "RegistryAttributor", "parse_rdap_ip", "registry_match"]

log = logging.getLogger("keepdown.notices.attribution")


def _registry(provider: Provider, ip: str | None) -> Attribution:
    network = None
    if ip is not None:
        address = ipaddress.ip_address(ip)
        hits = [n for n in provider.networks() if n.version == address.version and address in n]
        network = str(max(hits, key=lambda n: n.prefixlen)) if hits else None
    return Attribution(
        provider=provider.name,
        provider_id=provider.id,
        asn=provider.asns[0] if provider.asns else None,
        network=network,
        country=provider.country,
        abuse_email=provider.abuse_contacts[0] if provider.abuse_contacts else None,
        source="registry",
    )


def registry_match(providers: Iterable[Provider], host: str, ip: str | None) -> Provider | None:
    """The registry entry for (host, ip): most specific IP range, then longest domain."""
    providers = list(providers)
    if ip:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            address = None
        if address is not None:
            best: tuple[int, Provider] | None = None
            for p in providers:
                for net in p.networks():
                    inside = net.version == address.version and address in net
                    if inside and (best is None or net.prefixlen > best[0]):
                        best = (net.prefixlen, p)
            if best is not None:
                return best[1]
    host = (host or "").lower().rstrip(".")
    by_domain = [
        (len(d), p) for p in providers for d in p.domains if host == d or host.endswith("." + d)
    ]
    return max(by_domain, key=lambda pair: pair[0])[1] if by_domain else None


@dataclass(frozen=True)
class RdapNetwork:
    """What keepdown keeps of an RDAP IP network answer."""

    name: str | None
    network: str | None
    country: str
    abuse_email: str | None
    asns: tuple[int, ...]


def _vcard_value(entity: dict[str, Any], field_name: str) -> str | None:
    card = entity.get("vcardArray")
    if not (isinstance(card, list) and len(card) == 2 and isinstance(card[1], list)):
        return None
    for item in card[1]:
        if isinstance(item, list) and len(item) >= 4 and item[0] == field_name:
            value = item[3]
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _entities(obj: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Every entity of an RDAP object, nested ones included (depth-first)."""
    for entity in obj.get("entities") or ():
        if isinstance(entity, dict):
            yield entity
            yield from _entities(entity)


def _with_role(obj: dict[str, Any], role: str) -> Iterable[dict[str, Any]]:
    return (e for e in _entities(obj) if role in (e.get("roles") or ()))


def _network_of(data: dict[str, Any]) -> str | None:
    for cidr in data.get("cidr0_cidrs") or ():
        prefix = cidr.get("v4prefix") or cidr.get("v6prefix")
        if prefix and cidr.get("length") is not None:
            try:
                return str(ipaddress.ip_network(f"{prefix}/{cidr['length']}", strict=False))
            except ValueError:
                continue
    try:
        start = ipaddress.ip_address(data["startAddress"])
        end = ipaddress.ip_address(data["endAddress"])
        return str(next(ipaddress.summarize_address_range(start, end)))
    except (KeyError, ValueError, TypeError, StopIteration):
        return None


def parse_rdap_ip(data: Any) -> RdapNetwork:
    """The parts of an RFC 9083 IP network object keepdown uses (ValueError if it is none)."""
    if not isinstance(data, dict) or data.get("objectClassName") != "ip network":
        raise ValueError("not an RDAP ip network object")
    name = next((_vcard_value(e, "fn") for e in _with_role(data, "registrant")), None)
    abuse = None
    for entity in _with_role(data, "abuse"):
        abuse = _vcard_value(entity, "email")
        if abuse:
            break
    asns = tuple(
        int(a)
        for a in data.get("arin_originas0_originautnums") or ()
        if isinstance(a, int) or (str(a).isascii() and str(a).isdigit())
    )
    country = data.get("country") if isinstance(data.get("country"), str) else ""
    return RdapNetwork(
        name=name or data.get("name"),
        network=_network_of(data),
        country=(country or "").upper()[:2],
        abuse_email=abuse,
        asns=asns,
    )


class RdapClient:
    """``GET <rdap_base_url>/ip/<ip>`` through the SSRF-guarded fetcher (a coroutine).

    A fetcher per lookup: lookups are few (cached per crawl by the caller) and a fetcher's
    connections belong to the event loop that opened them."""

    MAX_BYTES = 1024 * 1024

    def __init__(self, settings: Settings, *, resolver: Resolver | None = None) -> None:
        self.base = settings.rdap_base_url.rstrip("/")
        self.settings = settings.replace(
            crawl_timeout_seconds=settings.rdap_timeout_seconds,
            crawl_max_fetch_seconds=settings.rdap_timeout_seconds,
            crawl_max_retries=1,
        )
        self.resolver = resolver

    async def lookup(self, ip: str) -> RdapNetwork | None:
        """The network ``ip`` belongs to; None when the server knows none (404)."""
        url = f"{self.base}/ip/{ipaddress.ip_address(ip)}"
        async with Fetcher(self.settings, resolver=self.resolver) as fetcher:
            result = await fetcher.fetch(url, max_bytes=self.MAX_BYTES)
        if result.status == 404:
            return None
        if not result.ok or result.truncated:
            raise FetchError(f"RDAP answered HTTP {result.status}", url=url, status=result.status)
        try:
            return parse_rdap_ip(json.loads(result.body))
        except ValueError as exc:  # JSONDecodeError is a ValueError
            raise FetchError(f"RDAP answer is not an ip network object: {exc}", url=url) from exc


class RegistryAttributor:
    """The registry, then RDAP (see the module docstring). ``providers`` is read per call."""

    def __init__(
        self,
        providers: Callable[[], list[Provider]],
        *,
        rdap: RdapClient | None = None,
    ) -> None:
        self.providers = providers
        self.rdap = rdap

    async def attribute(self, host: str, ip: str | None) -> Attribution:
        registry = self.providers()
        found = registry_match(registry, host, ip)
        if found is not None:
            return _registry(found, ip)
        if self.rdap is None or not ip:
            return UNKNOWN
        try:
            answer = await self.rdap.lookup(ip)
        except (KeepdownError, ValueError) as exc:
            log.warning("RDAP lookup for %s failed: %s", ip, exc)
            return UNKNOWN
        if answer is None:
            return UNKNOWN
        by_asn = next((p for p in registry if set(p.asns) & set(answer.asns)), None)
        if by_asn is not None:
            return replace(_registry(by_asn, ip), network=answer.network)
        return Attribution(
            provider=answer.name,
            provider_id=None,
            asn=answer.asns[0] if answer.asns else None,
            network=answer.network,
            country=answer.country,
            abuse_email=answer.abuse_email,
            source="rdap",
        )
