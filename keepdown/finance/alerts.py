"""Alerts to subscribed financial institutions when an indicator passes their threshold.

A :class:`Subscription` is an institution's standing request: a channel (``email`` or a signed
``webhook``), a threshold of confirmed sightings, and the indicator types it wants. An alert is
sent once per subscription and indicator, through an outbox (:class:`AlertStore`):

1. :meth:`Alerter.plan` finds, for each active subscription, the indicators whose confirmed
   sightings reached its threshold and records an alert (``pending``) for each one not
   recorded before: the store's unique (subscription, indicator) makes planning idempotent;
2. :meth:`Alerter.send_due` claims pending alerts one by one (``sending``, with a lease),
   delivers each through the injected :data:`Deliver` (the application wires the notice
   senders: SMTP and HMAC-signed webhooks) and settles it ``sent`` (with the time) or
   ``failed`` (after ``max_attempts``, or at once for a permanent refusal);
3. a claim whose lease ran out (a crash mid-send) becomes ``pending`` again for a webhook (the
   receiver drops a repeat by its ``Idempotency-Key``, the alert's message key) and
   ``uncertain`` for an e-mail: an operator checks before anything is sent twice.

What an alert says: the indicator (type, value, first and last seen, confirmed sightings,
pages and providers as counts and names), the TLP marking, the operator. Never a page URL.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from keepdown.clock import Clock
from keepdown.errors import DeliveryError, InvalidInput
from keepdown.finance.extract import INDICATOR_TYPES
from keepdown.finance.model import Indicator, IndicatorStore
from keepdown.finance.stix_export import tlp_marking

__all__ = [
    "Alert",
    "AlertReport",
    "AlertStore",
    "Alerter",
    "Deliver",
    "FinanceDesk",
    "Subscription",
    "validate_subscription",
]

_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}$")


@dataclass(frozen=True)
class Subscription:
    name: str
    channel: str  # "email" or "webhook"
    target: str  # the e-mail address or the webhook URL
    threshold: int = 1
    types: tuple[str, ...] = ()  # empty: every type
    secret: str | None = field(default=None, repr=False)  # webhook HMAC key; never shown
    id: int = 0
    active: bool = True
    created_at: datetime | None = None

    def wants(self, indicator: Indicator) -> bool:
        return (not self.types or indicator.type in self.types) and (
            indicator.confirmed_sightings >= self.threshold
        )

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "channel": self.channel,
            "target": self.target,
            "threshold": self.threshold,
            "types": list(self.types),
            "secret_set": bool(self.secret),
            "active": self.active,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def validate_subscription(sub: Subscription) -> Subscription:
    """``sub`` checked and normalised, or InvalidInput saying what is wrong."""
    name = sub.name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("a subscription needs a name of 1 to 200 characters")
    if sub.channel not in ("email", "webhook"):
        raise InvalidInput("channel must be 'email' or 'webhook'", channel=sub.channel)
    if sub.channel == "email" and not _EMAIL.match(sub.target):
        raise InvalidInput("not an e-mail address", target=sub.target[:200])
    if sub.channel == "webhook":
        parts = urlsplit(sub.target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("a webhook needs an http(s) URL", target=sub.target[:200])
        if not sub.secret or len(sub.secret) < 16:
            raise InvalidInput("a webhook needs a secret of at least 16 characters")
    if sub.threshold < 1:
        raise InvalidInput("the threshold is at least 1 confirmed sighting")
    unknown = sorted(set(sub.types) - set(INDICATOR_TYPES))
    if unknown:
        raise InvalidInput(f"unknown indicator types: {', '.join(unknown)}", types=unknown)
    return replace(sub, name=name, types=tuple(sorted(set(sub.types))))


@dataclass(frozen=True)
class Alert:
    id: int
    subscription_id: int
    indicator_id: int
    message_key: str
    subject: str
    body: str
    state: str  # pending, sending, sent, failed, uncertain
    attempts: int
    created_at: datetime
    sent_at: datetime | None = None
    last_error: str | None = None

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subscription_id": self.subscription_id,
            "indicator_id": self.indicator_id,
            "message_key": self.message_key,
            "subject": self.subject,
            "state": self.state,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "last_error": self.last_error,
        }


class AlertStore(Protocol):
    def add_subscription(self, sub: Subscription, now: datetime) -> Subscription: ...
    def subscriptions(self, *, active_only: bool = True) -> list[Subscription]: ...
    def subscription(self, subscription_id: int) -> Subscription: ...
    def remove_subscription(self, name: str) -> None: ...
    def enqueue_alert(
        self,
        subscription_id: int,
        indicator_id: int,
        message_key: str,
        subject: str,
        body: str,
        now: datetime,
    ) -> Alert | None: ...
    def claim_alert(
        self, now: datetime, lease_seconds: float, skip: Collection[int] = ()
    ) -> Alert | None: ...
    def settle_alert(self, alert_id: int, state: str, values: dict[str, Any]) -> None: ...
    def expired_alert_claims(self, now: datetime) -> list[Alert]: ...
    def alerts(self, *, subscription_id: int | None = None) -> list[Alert]: ...


#: Delivers one alert to one subscription; raises DeliveryError (``permanent``) on failure.
Deliver = Callable[[Alert, Subscription], Awaitable[None]]


@dataclass
class AlertReport:
    planned: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)


class Alerter:
    """Plans and sends alerts (module docstring)."""

    def __init__(
        self,
        indicators: IndicatorStore,
        store: AlertStore,
        deliver: Deliver,
        clock: Clock,
        *,
        operator: str,
        tlp: str,
        domain: str = "localhost",
        lease_seconds: float = 300.0,
        max_attempts: int = 5,
    ) -> None:
        self.indicators = indicators
        self.store = store
        self.deliver = deliver
        self.clock = clock
        self.operator = operator
        self.tlp = tlp_marking(tlp).name
        self.domain = domain
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts

    def _message(self, sub: Subscription, ind: Indicator) -> tuple[str, str]:
        subject = f"[{self.tlp}] Payment indicator: {ind.type} {ind.value}"
        doc = {
            "type": "keepdown.financial_indicator",
            "tlp": self.tlp,
            "operator": self.operator,
            "subscription": sub.name,
            "indicator": ind.to_public(),
        }
        if sub.channel == "webhook":
            return subject, json.dumps(doc, sort_keys=True)
        lines = [
            self.tlp,
            "",
            f"{self.operator} found this payment indicator on web pages where known child "
            "sexual abuse material was confirmed.",
            "",
            *(f"{key}: {value}" for key, value in ind.to_public().items()),
        ]
        return subject, "\n".join(lines) + "\n"

    def plan(self, indicators: Sequence[Indicator] | None = None) -> list[Alert]:
        """Record an alert for each subscription and indicator over its threshold, once."""
        now = self.clock.now()
        found = list(indicators) if indicators is not None else self.indicators.indicators()
        new = []
        for sub in self.store.subscriptions():
            for ind in found:
                if not sub.wants(ind):
                    continue
                key = f"<kdf-{sub.id}-{ind.id}.{secrets.token_hex(6)}@{self.domain}>"
                subject, body = self._message(sub, ind)
                alert = self.store.enqueue_alert(sub.id, ind.id, key, subject, body, now)
                if alert is not None:
                    new.append(alert)
        return new

    def _recover(self, report: AlertReport) -> None:
        for alert in self.store.expired_alert_claims(self.clock.now()):
            sub = self.store.subscription(alert.subscription_id)
            state = "pending" if sub.channel == "webhook" else "uncertain"
            self.store.settle_alert(alert.id, state, {})
            if state == "uncertain":
                report.uncertain.append(alert.id)

    async def send_due(self) -> AlertReport:
        """Plan, then deliver every pending alert once (module docstring)."""
        report = AlertReport(planned=[a.id for a in self.plan()])
        self._recover(report)
        claimed: set[int] = set()
        while (
            alert := self.store.claim_alert(self.clock.now(), self.lease_seconds, claimed)
        ) is not None:
            claimed.add(alert.id)  # a retry put back to pending waits for the next pass
            await self._deliver_one(alert, report)
        return report

    async def _deliver_one(self, alert: Alert, report: AlertReport) -> None:
        sub = self.store.subscription(alert.subscription_id)
        try:
            await self.deliver(alert, sub)
        except DeliveryError as exc:
            attempts = alert.attempts
            permanent = bool(exc.details.get("permanent")) or attempts >= self.max_attempts
            state = "failed" if permanent else "pending"
            self.store.settle_alert(alert.id, state, {"last_error": exc.message[:500]})
            (report.failed if permanent else report.retry).append(alert.id)
            return
        self.store.settle_alert(alert.id, "sent", {"sent_at": self.clock.now()})
        report.sent.append(alert.id)


class FinanceDesk(Protocol):
    """The financial-indicator desk the API and the web pages use (the composition root's
    ``AccountabilityServices`` is one): confirmed indicators, their exports, subscriptions
    of financial institutions and the alerts sent to them."""

    @property
    def alerts(self) -> AlertStore: ...

    def confirmed_indicators(self, *, include_unconfirmed: bool = False) -> list[Indicator]: ...

    def export(self, fmt: str, *, tlp: str | None = None) -> str:
        """Indicators seen where known material was confirmed, as ``stix`` or ``csv``."""
        ...

    def subscribe(self, sub: Subscription) -> Subscription:
        """Store a subscription (checked; a webhook secret sealed before it is stored)."""
        ...
