"""Hosting providers: who can remove content, how to tell them, and how patiently.

A :class:`Provider` is one entry of the operator's registry: the networks it answers for (IP
ranges, AS numbers, domain suffixes), its abuse contacts, the channel notices go out on
(``email``, ``webhook``, or ``manual`` for providers that only take a web form), the language
of its notices, its cadence in minutes (re-check every 24 h, re-notice every 24 h while the
content is there, escalate after 72 h by default; the operator's
``notice_recheck_floor_minutes`` is the shortest interval any provider gets, whatever it
asks), its escalation target, and what its 401/403 answers and its "content removed" pages
mean (:class:`Meaning`: confirm with a second check, the default; removed at once; or, for
401/403 only, an error, never removal).

:func:`validate_provider` normalises and checks a provider before it is stored (CIDRs parsed,
domains lower-cased, contacts that look like e-mail addresses, a webhook URL for the webhook
channel). :class:`ProviderStore` is the protocol ``keepdown.storage.provider_store`` implements.

The webhook secret is kept encrypted (:mod:`keepdown.notices.sealing`): a stored provider
carries only ``webhook_secret_sealed``; ``webhook_secret`` holds a plain secret on its way in
(to be sealed by the store) and nothing else. :meth:`Provider.to_public` (what the API and the
CLI show) says only whether one is set.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

from keepdown.errors import InvalidInput

__all__ = [
    "DEFAULT_ESCALATE_MINUTES",
    "DEFAULT_RECHECK_MINUTES",
    "DEFAULT_RENOTICE_MINUTES",
    "MAX_CADENCE_MINUTES",
    "Cadence",
    "Channel",
    "EscalationTarget",
    "Language",
    "Meaning",
    "Provider",
    "ProviderStore",
    "hours_as_minutes",
    "validate_provider",
]

DEFAULT_RECHECK_MINUTES = 24 * 60
DEFAULT_RENOTICE_MINUTES = 24 * 60
DEFAULT_ESCALATE_MINUTES = 72 * 60
#: The longest cadence a provider may have: 366 days.
MAX_CADENCE_MINUTES = 366 * 24 * 60


class Channel(StrEnum):
    """How notices reach a provider."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    #: The provider only takes a web form: an analyst submits it and confirms the delivery.
    MANUAL = "manual"


class Language(StrEnum):
    EN = "en"
    FR = "fr"


class Meaning(StrEnum):
    """What a provider's 401/403, or a page that no longer matches, is taken to mean
    (keepdown.notices.checks)."""

    CONFIRM = "confirm"  # gone once a second check (or the provider's report) agrees
    REMOVED = "removed"  # gone at once
    ERROR = "error"  # never removal (only for 401/403: e.g. a firewall refusing robots)


class EscalationTarget(StrEnum):
    """Who is told when a provider leaves content up past its escalation threshold."""

    UPSTREAM = "upstream"
    REGISTRAR = "registrar"
    CDN = "cdn"
    HOTLINE = "hotline"
    REGULATOR = "regulator"


@dataclass(frozen=True)
class Cadence:
    """How often a provider's open locations are re-checked and re-noticed, and when to
    escalate (all measured from the first notice that named a location)."""

    recheck: timedelta = timedelta(minutes=DEFAULT_RECHECK_MINUTES)
    renotice: timedelta = timedelta(minutes=DEFAULT_RENOTICE_MINUTES)
    escalate_after: timedelta = timedelta(minutes=DEFAULT_ESCALATE_MINUTES)

    def floored(self, floor: timedelta) -> Cadence:
        """This cadence with no re-check or re-notice more often than ``floor`` (the
        operator's protection of providers, ``notice_recheck_floor_minutes``)."""
        return Cadence(
            recheck=max(self.recheck, floor),
            renotice=max(self.renotice, floor),
            escalate_after=self.escalate_after,
        )


@dataclass(frozen=True)
class Provider:
    """One registry entry (see the module docstring). ``id`` is 0 until stored."""

    name: str
    id: int = 0
    ip_ranges: tuple[str, ...] = ()
    asns: tuple[int, ...] = ()
    domains: tuple[str, ...] = ()
    abuse_contacts: tuple[str, ...] = ()
    channel: Channel = Channel.EMAIL
    webhook_url: str | None = None
    #: A new plain secret on its way into the store (write-only; never read back).
    webhook_secret: str | None = field(default=None, repr=False)
    #: The stored secret, encrypted (see keepdown.notices.sealing).
    webhook_secret_sealed: str | None = field(default=None, repr=False)
    language: Language = Language.EN
    country: str = ""
    recheck_minutes: int = DEFAULT_RECHECK_MINUTES
    renotice_minutes: int = DEFAULT_RENOTICE_MINUTES
    escalate_minutes: int = DEFAULT_ESCALATE_MINUTES
    #: What a 401/403 at a notified URL means for this provider.
    forbidden_means: Meaning = Meaning.CONFIRM
    #: What a 200 that is no longer known material (a "content removed" page) means.
    unmatched_means: Meaning = Meaning.CONFIRM
    escalation_target: EscalationTarget | None = None
    escalation_contact: str | None = None
    #: The organisation whose provider-role API keys act for this provider (None: nobody).
    organisation: str | None = None
    notes: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def cadence(self) -> Cadence:
        return Cadence(
            recheck=timedelta(minutes=self.recheck_minutes),
            renotice=timedelta(minutes=self.renotice_minutes),
            escalate_after=timedelta(minutes=self.escalate_minutes),
        )

    @property
    def has_webhook_secret(self) -> bool:
        return bool(self.webhook_secret or self.webhook_secret_sealed)

    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(r, strict=False) for r in self.ip_ranges]

    def to_public(self) -> dict[str, Any]:
        """Everything but the webhook secret (only whether one is set)."""
        return {
            "id": self.id,
            "name": self.name,
            "ip_ranges": list(self.ip_ranges),
            "asns": list(self.asns),
            "domains": list(self.domains),
            "abuse_contacts": list(self.abuse_contacts),
            "channel": self.channel.value,
            "webhook_url": self.webhook_url,
            "webhook_secret_set": self.has_webhook_secret,
            "language": self.language.value,
            "country": self.country,
            "recheck_minutes": self.recheck_minutes,
            "renotice_minutes": self.renotice_minutes,
            "escalate_minutes": self.escalate_minutes,
            "forbidden_means": self.forbidden_means.value,
            "unmatched_means": self.unmatched_means.value,
            "escalation_target": self.escalation_target.value if self.escalation_target else None,
            "escalation_contact": self.escalation_contact,
            "organisation": self.organisation,
            "notes": self.notes,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


_NAME = re.compile(r"^[\w][\w .&'()@+,/-]{0,199}$", re.UNICODE)
_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z0-9-]{2,63}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9-]{1,63}$")
_COUNTRY = re.compile(r"^([A-Z]{2})?$")


def _cidrs(values: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError as exc:
            raise InvalidInput(f"not an IP range (CIDR): {value!r}", field="ip_ranges") from exc
    return tuple(dict.fromkeys(out))


def _domains(values: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for value in values:
        domain = value.strip().lower().rstrip(".")
        if not _DOMAIN.match(domain):
            raise InvalidInput(f"not a domain name: {value!r}", field="domains")
        out.append(domain)
    return tuple(dict.fromkeys(out))


def _email(value: str, what: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise InvalidInput(f"not an e-mail address: {value!r}", field=what)
    return value


def _webhook(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the webhook URL must be an http(s) URL", field="webhook_url")
    return url.strip()


def _choice(kind: type[StrEnum], value: Any, what: str) -> Any:
    try:
        return kind(value)
    except ValueError as exc:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput(f"{what} must be one of: {allowed}", field=what) from exc


def _minutes(value: int, what: str) -> int:
    if isinstance(value, bool) or int(value) != value or not 1 <= value <= MAX_CADENCE_MINUTES:
        raise InvalidInput(
            f"{what} must be a whole number of minutes from 1 to {MAX_CADENCE_MINUTES}",
            field=what,
        )
    return int(value)


def _meanings(provider: Provider) -> dict[str, Meaning]:
    unmatched = _choice(Meaning, provider.unmatched_means, "unmatched_means")
    if unmatched is Meaning.ERROR:  # a page that changed is not a fault
        raise InvalidInput("unmatched_means is confirm or removed", field="unmatched_means")
    return {
        "forbidden_means": _choice(Meaning, provider.forbidden_means, "forbidden_means"),
        "unmatched_means": unmatched,
    }


def _optional_email(value: str | None, what: str) -> str | None:
    return _email(value, what) if value else None


def _identity(provider: Provider) -> dict[str, Any]:
    """Name, country and the networks a provider answers for, normalised."""
    name = provider.name.strip()
    if not _NAME.match(name):
        raise InvalidInput("a provider name is 1-200 letters, digits and punctuation", field="name")
    country = provider.country.strip().upper()
    if not _COUNTRY.match(country):
        raise InvalidInput("country is an ISO 3166-1 alpha-2 code", field="country")
    asns = tuple(dict.fromkeys(int(a) for a in provider.asns))
    if any(not 0 < a < 2**32 for a in asns):
        raise InvalidInput("AS numbers are 1 to 4294967295", field="asns")
    return {
        "name": name,
        "country": country,
        "asns": asns,
        "ip_ranges": _cidrs(provider.ip_ranges),
        "domains": _domains(provider.domains),
    }


def _contact(provider: Provider) -> dict[str, Any]:
    """How notices reach the provider, and how patiently, normalised."""
    return {
        "abuse_contacts": tuple(
            dict.fromkeys(_email(c, "abuse_contacts") for c in provider.abuse_contacts)
        ),
        "channel": _choice(Channel, provider.channel, "channel"),
        "language": _choice(Language, provider.language, "language"),
        "webhook_url": _webhook(provider.webhook_url),
        "recheck_minutes": _minutes(provider.recheck_minutes, "recheck_minutes"),
        "renotice_minutes": _minutes(provider.renotice_minutes, "renotice_minutes"),
        "escalate_minutes": _minutes(provider.escalate_minutes, "escalate_minutes"),
        **_meanings(provider),
        "escalation_target": (
            _choice(EscalationTarget, provider.escalation_target, "escalation_target")
            if provider.escalation_target
            else None
        ),
        "escalation_contact": _optional_email(provider.escalation_contact, "escalation_contact"),
    }


_CADENCES = ("recheck", "renotice", "escalate")


def hours_as_minutes(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the older whole-hour cadence fields (``recheck_hours``, ...) turned
    into minutes; both for one cadence is refused unless they agree."""
    out = dict(values)
    for name in _CADENCES:
        hours = out.pop(f"{name}_hours", None)
        if hours is None:
            continue
        minutes = out.get(f"{name}_minutes")
        if minutes is not None and minutes != hours * 60:
            raise InvalidInput(
                f"give {name}_minutes or {name}_hours, not both", field=f"{name}_minutes"
            )
        out[f"{name}_minutes"] = hours * 60
    return out


def validate_provider(provider: Provider) -> Provider:
    """The provider normalised, or :class:`InvalidInput` naming the first bad field."""
    checked = replace(provider, **_identity(provider), **_contact(provider))
    if checked.channel is Channel.EMAIL and not checked.abuse_contacts:
        raise InvalidInput("the email channel needs an abuse contact", field="abuse_contacts")
    if checked.channel is Channel.WEBHOOK and not (
        checked.webhook_url and checked.has_webhook_secret
    ):
        raise InvalidInput(
            "the webhook channel needs a webhook URL and secret", field="webhook_url"
        )
    if checked.webhook_secret is not None and len(checked.webhook_secret) < 16:
        raise InvalidInput("a webhook secret is at least 16 characters", field="webhook_secret")
    return checked


class ProviderStore(Protocol):
    """The registry's storage (``keepdown.storage.provider_store.SqlProviderStore``)."""

    def add(self, provider: Provider, now: datetime) -> Provider: ...

    def update(self, provider: Provider, now: datetime) -> Provider: ...

    def get(self, name: str) -> Provider: ...

    def get_by_id(self, provider_id: int) -> Provider: ...

    def list_providers(self, *, organisation: str | None = None) -> list[Provider]: ...
