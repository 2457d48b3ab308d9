"""Peers, what is published to them, and where a sighting is referred.

A **peer** is another keepdown (usually another country's hotline). Here it is an
organisation whose API keys have the ``peer`` role, plus what this instance needs to talk to
it: the countries it covers (ISO 3166-1 alpha-2), its API's base URL, its public Ed25519 key
(raw 32 bytes; every page and message it sends is checked against it) and the *name of the
environment variable* holding the key it issued us (never the key itself).

A **publication** is the explicit choice to let one peer read one bank; nothing is published
by default, and each choice is audited where it is made (API, CLI). A peer's key reads only
the banks published to its organisation.

:func:`referral_peer` is the routing rule: a confirmed sighting hosted in a country this
hotline does not cover, and that an enabled peer does, is referred to that peer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from keepdown.errors import InvalidInput

__all__ = [
    "Peer",
    "PeerSpec",
    "PeerStore",
    "Publication",
    "check_countries",
    "referral_peer",
]

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_NAME = re.compile(r"^[A-Za-z0-9._ -]{1,200}$")


def check_countries(countries: Iterable[str]) -> tuple[str, ...]:
    """Upper-case ISO 3166-1 alpha-2 codes, sorted and unique; InvalidInput otherwise."""
    out = sorted({str(c).strip().upper() for c in countries if str(c).strip()})
    bad = [c for c in out if not _COUNTRY.match(c)]
    if bad:
        raise InvalidInput(f"not ISO 3166-1 alpha-2 country codes: {', '.join(bad)}")
    return tuple(out)


@dataclass(frozen=True)
class PeerSpec:
    """What a new peer is made from (checked by :meth:`checked`)."""

    name: str
    countries: Sequence[str]
    url: str
    public_key: bytes
    token_env: str = ""
    enabled: bool = True

    def checked(self) -> PeerSpec:
        if not _NAME.match(self.name):
            raise InvalidInput("a peer's name is its organisation's name (1-200 plain characters)")
        if not self.url.startswith(("http://", "https://")):
            raise InvalidInput(f"a peer's url must be http(s), not {self.url[:80]!r}")
        if len(self.public_key) != 32:
            raise InvalidInput("a peer's public key is a raw 32-byte Ed25519 key")
        if self.token_env and not _ENV.match(self.token_env):
            raise InvalidInput(
                "token_env names the environment variable holding the key the peer issued "
                "(letters, digits and '_'), never the key itself"
            )
        return PeerSpec(
            name=self.name,
            countries=check_countries(self.countries),
            url=self.url.rstrip("/"),
            public_key=bytes(self.public_key),
            token_env=self.token_env,
            enabled=self.enabled,
        )


@dataclass(frozen=True)
class Peer:
    """A stored peer (module docstring)."""

    id: int
    name: str
    countries: tuple[str, ...]
    url: str
    public_key: bytes
    token_env: str
    enabled: bool
    created_at: datetime
    updated_at: datetime

    def covers(self, country: str) -> bool:
        return bool(country) and country.upper() in self.countries

    def to_dict(self) -> dict[str, Any]:
        import base64

        return {
            "name": self.name,
            "countries": list(self.countries),
            "url": self.url,
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
            "token_env": f"${self.token_env}" if self.token_env else "",
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Publication:
    """One bank published to one peer, by whom and when."""

    bank: str
    peer: str
    enabled: bool
    by: str
    at: datetime
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "peer": self.peer,
            "enabled": self.enabled,
            "by": self.by,
            "at": self.at.isoformat(),
        }


def referral_peer(country: str, own: Iterable[str], peers: Iterable[Peer]) -> Peer | None:
    """The peer a sighting hosted in ``country`` is referred to, or None (module docstring).

    None when the country is unknown or this hotline covers it; among several peers covering
    it, the first by name (a stable choice)."""
    code = (country or "").strip().upper()
    if not code or code in {c.upper() for c in own}:
        return None
    covering = sorted((p for p in peers if p.enabled and p.covers(code)), key=lambda p: p.name)
    return covering[0] if covering else None


class PeerStore(Protocol):
    """Peers and publications (``keepdown.storage.peer_store`` on SQL)."""

    def add_peer(self, spec: PeerSpec, now: datetime) -> Peer:
        """Store a new peer; Conflict if one of that name exists."""
        ...

    def get_peer(self, name: str) -> Peer:
        """NotFound unless a peer of that name exists."""
        ...

    def list_peers(self) -> list[Peer]: ...

    def set_enabled(self, name: str, enabled: bool, now: datetime) -> Peer: ...

    def publish(
        self, bank: str, peer: str, *, by: str, now: datetime, enabled: bool
    ) -> Publication:
        """Publish ``bank`` to ``peer`` (or withdraw it with ``enabled`` False)."""
        ...

    def publications(self, *, peer: str | None = None) -> list[Publication]: ...

    def published(self, bank: str, peer: str) -> bool:
        """Whether ``bank`` is published (and enabled) to ``peer``."""
        ...
