"""The SSRF address guard: which IP addresses the crawler may connect to.

A reported URL is attacker-controlled, so the crawler must never be turned into a probe of the
machine it runs on or its private network. The rule is simple and strict: an address is allowed
only if it is globally routable unicast, unless an operator explicitly lists its network in
``crawl_allowed_networks`` (tests list 127.0.0.0/8 and ::1 to reach their loopback site).

Refused: private (10/8, 172.16/12, 192.168/16, fc00::/7), loopback, link-local (169.254/16 with
the cloud metadata address, fe80::/10), multicast, reserved and unspecified (0.0.0.0, ::),
CGNAT 100.64/10, site-local fec0::/10, documentation and benchmarking ranges, and every IPv6
form that embeds an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4
2002::/16, Teredo), which is judged by the IPv4 address it carries.

The guard judges addresses, never names: :mod:`keepdown.crawl.transport` resolves the name,
asks the guard about every address and connects to a vetted address only, so a DNS answer that
changes between check and connect (rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from keepdown.errors import BlockedAddress, ConfigurationError

__all__ = ["AddressGuard", "IPAddress", "parse_ip"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges that `is_global` alone does not catch (it calls some of them global).
_ALWAYS_REFUSED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
        "100.64.0.0/10",  # CGNAT shared address space
        "169.254.0.0/16",  # link-local, incl. 169.254.169.254 cloud metadata
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, incl. broadcast
        "fec0::/10",  # deprecated site-local, still routed inside some networks
        "ff00::/8",  # IPv6 multicast
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def parse_ip(text: str) -> IPAddress | None:
    """``text`` as an IP address (brackets and IPv6 zone ids removed), or None if it is a name."""
    candidate = text.strip().strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4, Teredo), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


class AddressGuard:
    """Decides whether the crawler may connect to an address.

    ``allowed_networks`` are CIDR strings that are allowed even though they are not public
    (an explicit operator decision, e.g. ``("127.0.0.0/8", "::1/128")`` in tests).
    """

    def __init__(self, allowed_networks: Iterable[str] = ()) -> None:
        networks: list[IPNetwork] = []
        for text in allowed_networks:
            try:
                networks.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError as exc:
                raise ConfigurationError(
                    f"crawl_allowed_networks: {text!r} is not a network (CIDR) ", value=text
                ) from exc
        self.allowed_networks: tuple[IPNetwork, ...] = tuple(networks)

    def _explicitly_allowed(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allowed_networks)

    def is_allowed(self, address: str | IPAddress) -> bool:
        """True if the crawler may connect to ``address``."""
        ip = parse_ip(address) if isinstance(address, str) else address
        if ip is None:
            return False
        if isinstance(ip, ipaddress.IPv6Address):
            embedded = _embedded_ipv4(ip)
            if embedded is not None:
                # Judge by the IPv4 address the packet really reaches; an allowance for the
                # IPv6 prefix itself must not open the IPv4 space behind it.
                return self.is_allowed(embedded)
        if self._explicitly_allowed(ip):
            return True
        if any(ip.version == net.version and ip in net for net in _ALWAYS_REFUSED):
            return False
        return ip.is_global and not ip.is_multicast and not ip.is_reserved

    def check(self, address: str | IPAddress, *, url: str = "", host: str = "") -> None:
        """Raise :class:`BlockedAddress` unless the crawler may connect to ``address``."""
        if not self.is_allowed(address):
            raise self.refusal(address, url=url, host=host)

    def refusal(self, address: str | IPAddress, *, url: str = "", host: str = "") -> BlockedAddress:
        """The error that says ``address`` was refused (with the name it came from, if any)."""
        origin = f", resolved from {host}" if host and host != str(address) else ""
        return BlockedAddress(
            f"refused to connect to {address} (not a public address{origin}); "
            "list its network in crawl_allowed_networks to allow it",
            address=str(address),
            host=host,
            url=url,
        )
