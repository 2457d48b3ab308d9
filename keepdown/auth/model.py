"""Who may do what: organisations, roles, API keys, principals and audit records.

Everything here is a plain frozen value. A :class:`Role` says what a key may do; an
:class:`ApiKey` is the stored half of a key (its public id and the SHA-256 of the whole token,
never the token itself); an :class:`IssuedKey` carries the token the one time it is shown. A
:class:`Principal` is who a request acts as once its key checked out, and an
:class:`AuditRecord` is one privileged action: who, what, when and from where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from keepdown.errors import UsageError

__all__ = [
    "OUTCOMES",
    "ApiKey",
    "AuditRecord",
    "IssuedKey",
    "Organisation",
    "Principal",
    "Role",
    "parse_duration",
]


class Role(StrEnum):
    """What a key may do. Each API endpoint names the roles it admits."""

    #: Manage organisations, keys and banks.
    ADMIN = "admin"
    #: Review matches, send notices, read reports.
    ANALYST = "analyst"
    #: Hash and match only; learns whether and how content matched, never bank contents.
    PLATFORM = "platform"
    #: A hosting provider: its own notices only.
    PROVIDER = "provider"
    #: Aggregate reports only.
    REGULATOR = "regulator"
    #: Another hotline's keepdown (federation): the banks published to its organisation,
    #: referrals and status callbacks; nothing else.
    PEER = "peer"
    #: An ISP, resolver, filter or vendor licensed to fetch the URL block list (its own
    #: organisation's feed key; every fetch audited).
    LICENSEE = "licensee"


@dataclass(frozen=True)
class Organisation:
    """A body that holds keys (and may own banks)."""

    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKey:
    """The stored half of an API key. ``secret_sha256`` is the hex SHA-256 of the whole token."""

    key_id: str
    organisation: str
    role: Role
    secret_sha256: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    label: str = ""

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def state(self, now: datetime) -> str:
        """``revoked``, ``expired`` or ``active``: what a listing shows."""
        if self.revoked:
            return "revoked"
        return "expired" if self.expired(now) else "active"

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_dict(self) -> dict[str, Any]:
        """Safe to show: everything but the secret's digest."""
        return {
            "key_id": self.key_id,
            "organisation": self.organisation,
            "role": self.role.value,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


@dataclass(frozen=True)
class IssuedKey:
    """A freshly issued key: ``token`` is shown once and never stored."""

    key: ApiKey
    token: str


@dataclass(frozen=True)
class Principal:
    """Who a request acts as, once its key checked out."""

    key_id: str
    organisation: str
    role: Role


@dataclass(frozen=True)
class AuditRecord:
    """One privileged action. ``actor`` is a key id, ``cli`` for the command line, or
    ``anonymous`` for a refused request that carried no readable key.

    ``outcome`` is one of :data:`OUTCOMES`: ``started`` is written *before* the action runs
    (write-ahead: if it cannot be written, the action is not attempted) and is settled to
    ``ok``, ``failed`` or ``refused`` once the action ends. A record still ``started`` means the
    process stopped mid-action: the action may or may not have taken effect."""

    at: datetime
    action: str
    actor: str
    organisation: str | None = None
    role: str | None = None
    client_ip: str | None = None
    target: str = ""
    outcome: str = "ok"
    details: dict[str, Any] = field(default_factory=dict)
    #: The stored record's id (None until stored).
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "action": self.action,
            "actor": self.actor,
            "organisation": self.organisation,
            "role": self.role,
            "client_ip": self.client_ip,
            "target": self.target,
            "outcome": self.outcome,
            "details": dict(self.details),
        }


#: Every outcome an audit record can have.
OUTCOMES = ("started", "ok", "failed", "refused")

_DURATION = re.compile(r"^\s*([0-9]{1,9})\s*([smhdw])\s*$", re.ASCII)
#: The longest duration a key may be given (ten years); longer is "never" or an error.
MAX_DURATION = timedelta(days=3660)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``'90d'``, ``'12h'``, ``'2w'``... as a timedelta, at most :data:`MAX_DURATION`;
    UsageError for anything else (ASCII digits only: ``'٣d'`` is not three days)."""
    match = _DURATION.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise UsageError(
            "duration must be a positive number and a unit s/m/h/d/w (e.g. 90d), got "
            f"{str(text)[:40]!r}"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():
        raise UsageError(
            f"duration {text.strip()!r} is over the longest a key may be given "
            f"({MAX_DURATION.days} days); give no expiry for a key that never expires"
        )
    return timedelta(seconds=seconds)
