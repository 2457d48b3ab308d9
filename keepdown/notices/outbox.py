"""The outbox: every notice, re-notice and escalation is recorded before it is sent.

Steps 1, 3 and 4 of a send pass (:mod:`keepdown.notices.service`):

1. **recover**: deliveries whose sender died mid-send. Nothing handed over yet: back to
   ``pending``. Handed over by e-mail: ``uncertain`` (an operator checks the mail server's
   log for the Message-ID and confirms, see :meth:`Outbox.confirm_delivery`). Webhooks: back
   to ``pending``, resent with the same ``Idempotency-Key``;
3. **plan**: record the intent of each due delivery (a drafted notice's first notice;
   re-notices of locations still there on the provider's schedule; escalation once past the
   threshold), rendered once so every attempt sends the same message. Whether it is still due
   is asked again under the notice's lock, so two processes planning at once record it once;
4. **deliver**: claim each due delivery, send it, and record the result; the lifecycle
   times, the notice's state and the ``NoticeSent`` / ``NoticeEscalated`` events are written
   with the ``sent`` mark in one transaction. A failed attempt is written with its
   ``DeliveryFailed`` event in one transaction too.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from keepdown.clock import Clock
from keepdown.errors import Conflict, DeliveryError
from keepdown.events import DeliveryFailed, Event, NoticeEscalated, NoticeSent
from keepdown.notices import lifecycle as lc
from keepdown.notices.compose import Composer
from keepdown.notices.facts import location_facts, repeat_at_provider
from keepdown.notices.model import (
    Delivery,
    DeliveryKind,
    DeliveryState,
    Location,
    Mutation,
    Notice,
    NoticeStore,
)
from keepdown.notices.policy import policy_for
from keepdown.notices.providers import Channel, Provider, ProviderStore
from keepdown.notices.senders import Sender
from keepdown.settings import Settings

__all__ = ["DeliveryReport", "Outbox", "due_deliveries"]

log = logging.getLogger("keepdown.notices")


@dataclass
class DeliveryReport:
    """What one pass did (the CLI prints it)."""

    drafted: list[str] = field(default_factory=list)
    planned: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    uncertain: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)


def due_deliveries(
    notice: Notice, provider: Provider, policy: lc.Policy, now: datetime
) -> Iterable[tuple[DeliveryKind, list[Location]]]:
    """The deliveries a notice needs at ``now`` (module docstring, step 3)."""
    if notice.state is lc.NoticeState.DRAFTED:
        yield DeliveryKind.NOTICE, list(notice.locations)
        return
    dues = {loc.id: lc.due(loc.status, now, policy) for loc in notice.locations}
    renotice = [loc for loc in notice.locations if dues[loc.id].renotice]
    if renotice:
        yield DeliveryKind.RENOTICE, renotice
    escalate = [loc for loc in notice.locations if dues[loc.id].escalate]
    if escalate and provider.escalation_target is not None:
        yield DeliveryKind.ESCALATION, escalate


def _recipients(provider: Provider, kind: DeliveryKind) -> tuple[Channel, list[str]]:
    if kind is DeliveryKind.ESCALATION:
        contact = provider.escalation_contact
        return (Channel.EMAIL, [contact]) if contact else (Channel.MANUAL, [])
    if provider.channel is Channel.WEBHOOK:
        return Channel.WEBHOOK, [provider.webhook_url or ""]
    return provider.channel, list(provider.abuse_contacts)


class Outbox:
    """Records, sends and settles deliveries (module docstring)."""

    def __init__(
        self,
        store: NoticeStore,
        providers: ProviderStore,
        composer: Composer,
        senders: dict[str, Sender],
        clock: Clock,
        settings: Settings,
    ) -> None:
        self.store = store
        self.providers = providers
        self.composer = composer
        self.senders = senders
        self.clock = clock
        self.settings = settings

    # --- 1. recover ----------------------------------------------------------------------

    def recover(self, report: DeliveryReport) -> None:
        for d in self.store.expired_claims(self.clock.now()):
            values: dict[str, object]
            if d.handover_at is None or d.channel == Channel.WEBHOOK.value:
                values = {"state": DeliveryState.PENDING, "lease_expires": None}
                values["last_error"] = "sender interrupted; sending again"
                outcome, target = "retrying", report.recovered
            else:
                values = {"state": DeliveryState.UNCERTAIN, "lease_expires": None}
                values["last_error"] = (
                    "sender interrupted while handing the e-mail over: it may have been "
                    f"delivered; check the mail log for {d.message_key} and confirm"
                )
                outcome, target = "uncertain", report.uncertain
            if self._settle_failed(d, values, outcome):
                target.append(d.id)

    def _settle_failed(self, d: Delivery, values: dict[str, object], outcome: str) -> bool:
        """Settle a ``sending`` delivery that did not go out, with its ``DeliveryFailed``."""
        provider = self._provider_of(d)

        def decide(notice: Notice) -> Mutation:
            return Mutation(
                events=[
                    DeliveryFailed(
                        at=self.clock.now(),
                        notice_ref=notice.reference,
                        provider=provider.name,
                        provider_id=str(provider.id),
                        country=provider.country,
                        delivery_id=str(d.id),
                        delivery_kind=d.kind.value,
                        channel=d.channel,
                        attempts=d.attempts,
                        outcome=outcome,
                        error=str(values.get("last_error", ""))[:500],
                    )
                ]
            )

        delivery = (d.id, DeliveryState.SENDING, values)
        return self.store.mutate(d.notice_id, decide, delivery=delivery) is not None

    def _provider_of(self, d: Delivery) -> Provider:
        return self.providers.get_by_id(self.store.get_by_id(d.notice_id).provider_id)

    # --- 3. plan -------------------------------------------------------------------------

    def plan(self) -> list[Delivery]:
        now = self.clock.now()
        planned = []
        for notice in self.store.notices_with_work(now):
            provider = self.providers.get_by_id(notice.provider_id)
            policy = policy_for(provider, self.settings)
            for kind, locations in due_deliveries(notice, provider, policy, now):
                delivery = self._enqueue(notice, provider, policy, kind, locations, now)
                if delivery is not None:
                    planned.append(delivery)
        return planned

    def _enqueue(
        self,
        notice: Notice,
        provider: Provider,
        policy: lc.Policy,
        kind: DeliveryKind,
        locations: list[Location],
        now: datetime,
    ) -> Delivery | None:
        def still_due(current: Notice) -> bool:
            return any(k is kind for k, _ in due_deliveries(current, provider, policy, now))

        return self.record_intent(
            notice, provider, kind, locations, now, token=uuid.uuid4().hex, still_due=still_due
        )

    def record_intent(
        self,
        notice: Notice,
        provider: Provider,
        kind: DeliveryKind,
        locations: list[Location],
        now: datetime,
        *,
        token: str,
        **options: Any,
    ) -> Delivery | None:
        """Render the message once and record the delivery (``options`` go to
        :meth:`NoticeStore.enqueue`). ``token`` makes the message key: a fresh one for each
        planned delivery, the request's for a resend (``resend.<request id>``)."""
        channel, recipients = _recipients(provider, kind)
        resend = token.startswith("resend.")
        message = self.composer.render(notice, provider, kind, locations, now=now, resend=resend)
        domain = self.settings.notice_from_address.rpartition("@")[2] or "localhost"
        name = f"{notice.reference}.{token if resend else f'{kind.value}.{token}'}"
        key = name if channel is Channel.WEBHOOK else f"<{name}@{domain}>"
        return self.store.enqueue(
            notice.id,
            kind,
            channel.value,
            recipients,
            [loc.id for loc in locations],
            key,
            message.subject,
            message.webhook_body() if channel is Channel.WEBHOOK else message.text,
            now,
            state=DeliveryState.MANUAL if channel is Channel.MANUAL else DeliveryState.PENDING,
            **options,
        )

    # --- 4. deliver ----------------------------------------------------------------------

    async def deliver(self, report: DeliveryReport, *, limit: int = 1000) -> None:
        lease = self.settings.notice_delivery_lease_seconds
        for _ in range(limit):
            delivery = self.store.claim(self.clock.now(), lease)
            if delivery is None:
                return
            await self.deliver_one(delivery, report)

    async def deliver_one(self, delivery: Delivery, report: DeliveryReport) -> None:
        """Send one claimed delivery and settle it (a resend sends its own at once)."""
        provider = self._provider_of(delivery)
        sender = self.senders.get(delivery.channel)
        try:
            if sender is None:
                raise DeliveryError(f"no sender for channel {delivery.channel}", permanent=True)
            await sender.send(delivery, provider, lambda: self._handover(delivery))
        except DeliveryError as exc:
            self._failed(delivery, exc, report)
            return
        if self.record_sent(delivery, DeliveryState.SENDING, self.clock.now()):
            report.sent.append(delivery.id)

    def _handover(self, delivery: Delivery) -> None:
        self.store.settle(delivery.id, DeliveryState.SENDING, {"handover_at": self.clock.now()})

    def _failed(self, delivery: Delivery, exc: DeliveryError, report: DeliveryReport) -> None:
        now = self.clock.now()
        attempts = delivery.attempts
        values: dict[str, object] = {"last_error": exc.message[:2000], "lease_expires": None}
        if exc.details.get("uncertain"):
            values["state"], outcome, target = (
                DeliveryState.UNCERTAIN,
                "uncertain",
                report.uncertain,
            )
        elif exc.details.get("permanent") or attempts >= int(
            self.settings.notice_delivery_max_attempts
        ):
            values["state"] = DeliveryState.FAILED
            outcome, target = "failed", report.failed
        else:
            backoff = self.settings.notice_delivery_backoff_seconds * 2 ** (attempts - 1)
            values.update(
                state=DeliveryState.PENDING,
                next_attempt_at=now + timedelta(seconds=backoff),
                handover_at=None,
            )
            outcome, target = "retrying", report.retrying
        log.warning("delivery %s of %s: %s", delivery.id, delivery.reference, exc.message)
        if self._settle_failed(delivery, values, outcome):
            target.append(delivery.id)

    def record_sent(self, delivery: Delivery, expected: DeliveryState, at: datetime) -> bool:
        """Mark the delivery sent, apply it to its locations and emit its event, atomically."""
        provider = self._provider_of(delivery)
        policy = policy_for(provider, self.settings)
        repeat = self._repeat(delivery, provider, at)

        def decide(notice: Notice) -> Mutation:
            change = Mutation()
            named = [loc for loc in notice.locations if loc.id in set(delivery.location_ids)]
            for loc in named:
                if loc.status.state in lc.CLOSED:
                    continue
                if delivery.kind is DeliveryKind.ESCALATION:
                    change.statuses[loc.id] = lc.escalated(loc.status, at)
                else:
                    change.statuses[loc.id] = lc.sent(loc.status, at, policy)
            change.events.append(sent_event(notice, provider, delivery, named, at, repeat))
            if delivery.kind is DeliveryKind.ESCALATION:
                change.notice["escalated_at"] = notice.escalated_at or at
            else:
                change.notice["first_sent_at"] = notice.first_sent_at or at
                change.notice["last_sent_at"] = at
            return change

        values = {"state": DeliveryState.SENT, "sent_at": at, "lease_expires": None}
        done = self.store.mutate(
            delivery.notice_id, decide, delivery=(delivery.id, expected, values)
        )
        return done is not None

    def _repeat(self, delivery: Delivery, provider: Provider, at: datetime) -> bool:
        """The delivery names material an earlier notice named to this provider (facts)."""
        notice = self.store.get_by_id(delivery.notice_id)
        named = [loc for loc in notice.locations if loc.id in set(delivery.location_ids)]
        earlier = self.store.similar_locations(
            media_urls=[],
            sha256s=[loc.sha256 for loc in named],
            entry_ids=[loc.entry_id for loc in named if loc.entry_id is not None],
        )
        return repeat_at_provider(named, provider.id, earlier, before=at, notice_id=notice.id)

    def confirm_delivery(self, delivery_id: int, *, delivered: bool) -> Delivery:
        """An operator's word on an ``uncertain`` or ``manual`` delivery."""
        d = self.store.get_delivery(delivery_id)
        if d.state not in (DeliveryState.UNCERTAIN, DeliveryState.MANUAL):
            raise Conflict(f"delivery {delivery_id} is {d.state.value}, not awaiting confirmation")
        if delivered:
            at = d.claimed_at if d.state is DeliveryState.UNCERTAIN and d.claimed_at else None
            self.record_sent(d, d.state, at or self.clock.now())
        elif d.state is DeliveryState.UNCERTAIN:
            self.store.settle(
                d.id,
                DeliveryState.UNCERTAIN,
                {"state": DeliveryState.PENDING, "handover_at": None, "next_attempt_at": None},
            )
        else:
            self.store.settle(d.id, DeliveryState.MANUAL, {"state": DeliveryState.CANCELLED})
        return self.store.get_delivery(delivery_id)


def sent_event(
    notice: Notice,
    provider: Provider,
    delivery: Delivery,
    named: list[Location],
    at: datetime,
    repeat: bool = False,
) -> Event:
    """``NoticeSent`` (first notice, re-notice, resend) or ``NoticeEscalated`` for a delivery;
    ``repeat``: it names material already notified to this provider."""
    ids = tuple(str(loc.id) for loc in named)
    if delivery.kind is DeliveryKind.ESCALATION:
        target = provider.escalation_target
        return NoticeEscalated(
            at=at,
            notice_ref=notice.reference,
            provider=provider.name,
            provider_id=str(provider.id),
            country=provider.country,
            target=target.value if target is not None else "",
            channel=delivery.channel,
            locations=ids,
        )
    return NoticeSent(
        at=at,
        notice_ref=notice.reference,
        provider=provider.name,
        provider_id=str(provider.id),
        country=provider.country,
        channel=delivery.channel,
        renotice=delivery.kind is DeliveryKind.RENOTICE,
        reappearance=any(loc.reappearance_of is not None for loc in named),
        repeat_at_provider=repeat,
        resend=delivery.resend,
        sighting_ids=tuple(str(loc.sighting_id) for loc in named if loc.sighting_id is not None),
        **location_facts(named),
    )
