"""Notices from confirmed sightings to delivered messages, and the provider's answers.

:meth:`NoticeService.send_due` is one pass of the notice worker:

1. **recover**: deliveries whose sender died mid-send. Nothing handed over yet: back to
   ``pending``. Handed over by e-mail: ``uncertain`` (an operator checks the mail server's
   log for the Message-ID and confirms, see :meth:`confirm_delivery`). Webhooks: back to
   ``pending``, resent with the same ``Idempotency-Key``;
2. **draft**: confirmed sightings no notice accounts for are grouped per provider into a new
   notice. A sighting of a URL already open at that provider joins that location; known
   material that was removed before becomes a *reappearance* location (same URL, elsewhere
   at the same provider, or at another provider), linked to the removed one;
3. **plan**: record the intent of each due delivery in the outbox (a drafted notice's first
   notice; re-notices of locations still there on the provider's schedule; escalation
   once past the threshold), rendered once so every attempt sends the same message;
4. **deliver**: claim each due delivery, send it, and record the result; the lifecycle
   times, the notice's state and the ``NoticeSent`` / ``NoticeEscalated`` events are
   written with the ``sent`` mark in one transaction.

The provider's answers (through the signed link or a provider key) and an analyst's review of
a dispute go through the pure lifecycle functions and :meth:`NoticeStore.mutate`, too.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from keepdown.clock import Clock
from keepdown.errors import Conflict, DeliveryError, NotFound
from keepdown.events import (
    DisputeReviewed,
    Event,
    NoticeAcknowledged,
    NoticeDisputed,
    NoticeEscalated,
    NoticeSent,
    ReappearanceDetected,
)
from keepdown.notices import lifecycle as lc
from keepdown.notices.attribution import registry_match
from keepdown.notices.compose import Composer
from keepdown.notices.model import (
    Candidate,
    Delivery,
    DeliveryKind,
    DeliveryState,
    Location,
    Mutation,
    NewLocation,
    Notice,
    NoticeStore,
)
from keepdown.notices.providers import Channel, Provider, ProviderStore
from keepdown.notices.senders import Sender
from keepdown.settings import Settings

__all__ = ["DeliveryReport", "NoticeService", "policy_for"]

log = logging.getLogger("keepdown.notices")


def policy_for(provider: Provider, settings: Settings) -> lc.Policy:
    """The lifecycle policy of one provider under the operator's settings."""
    return lc.Policy(
        cadence=provider.cadence,
        error_retry=timedelta(hours=float(settings.notice_recheck_error_hours)),
        watch_every=timedelta(hours=int(settings.notice_watch_every_hours)),
        watch_for=timedelta(days=int(settings.notice_watch_days)),
    )


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


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class NoticeService:
    """See the module docstring."""

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

    def policy(self, provider: Provider) -> lc.Policy:
        return policy_for(provider, self.settings)

    # --- one pass ------------------------------------------------------------------------

    async def send_due(self) -> DeliveryReport:
        report = DeliveryReport()
        self.recover(report)
        report.drafted = [n.reference for n in self.draft()]
        report.planned = [d.id for d in self.plan()]
        await self.deliver(report)
        return report

    # --- 1. recover ----------------------------------------------------------------------

    def recover(self, report: DeliveryReport | None = None) -> None:
        now = self.clock.now()
        for d in self.store.expired_claims(now):
            if d.handover_at is None or d.channel == Channel.WEBHOOK.value:
                values = {"state": DeliveryState.PENDING, "lease_expires": None}
                values["last_error"] = "sender interrupted; sending again"
            else:
                values = {"state": DeliveryState.UNCERTAIN, "lease_expires": None}
                values["last_error"] = (
                    "sender interrupted while handing the e-mail over: it may have been "
                    f"delivered; check the mail log for {d.message_key} and confirm"
                )
            if self.store.settle(d.id, DeliveryState.SENDING, values) and report is not None:
                target = (
                    report.uncertain
                    if values["state"] is DeliveryState.UNCERTAIN
                    else report.recovered
                )
                target.append(d.id)

    # --- 2. draft ------------------------------------------------------------------------

    def draft(self) -> list[Notice]:
        """New notices from confirmed sightings (module docstring, step 2)."""
        now = self.clock.now()
        registry = self.providers.list()
        by_id = {p.id: p for p in registry}
        groups: dict[int, list[Candidate]] = defaultdict(list)
        for c in self.store.candidates():
            provider = by_id.get(c.provider_id or 0) or registry_match(
                registry, _host(c.final_url), c.server_ip
            )
            if provider is not None:  # unattributed sightings wait for the registry
                groups[provider.id].append(c)
        if not groups:
            return []
        everything = [c for group in groups.values() for c in group]
        earlier = self.store.similar_locations(
            media_urls=[c.media_url for c in everything],
            sha256s=[c.sha256 for c in everything],
            entry_ids=[c.entry_id for c in everything if c.entry_id is not None],
        )
        made = []
        for provider_id, group in groups.items():
            notice = self._draft_one(by_id[provider_id], group, earlier, now)
            if notice is not None:
                made.append(notice)
        return made

    def _draft_one(
        self, provider: Provider, group: list[Candidate], earlier: list[Location], now: datetime
    ) -> Notice | None:
        fresh: dict[str, NewLocation] = {}
        for c in group:
            still_open = next(
                (
                    loc
                    for loc in earlier
                    if loc.provider_id == provider.id
                    and loc.media_url == c.media_url
                    and loc.status.state not in lc.CLOSED
                ),
                None,
            )
            if still_open is not None:
                self.store.link_sighting(c.sighting_id, still_open.id, now)
                continue
            if c.media_url in fresh:
                known = fresh[c.media_url]
                fresh[c.media_url] = _add_sighting(known, c.sighting_id)
                continue
            fresh[c.media_url] = _new_location(c, provider, earlier)
        if not fresh:
            return None
        reappearing = any(n.reappearance_of is not None for n in fresh.values())
        return self.store.create_notice(
            provider.id,
            provider.language.value,
            list(fresh.values()),
            now,
            reappearance=reappearing,
            events=lambda notice: _reappearance_events(notice, provider, now),
        )

    def reappeared(self, previous: Location, provider: Provider, now: datetime) -> Notice:
        """A removed location found online again by a watch re-check: a new notice."""
        new = NewLocation(
            media_url=previous.media_url,
            page_url=previous.page_url,
            host=previous.host,
            sha256=previous.sha256,
            md5=previous.md5,
            pdq=previous.pdq,
            bank=previous.bank,
            entry_id=previous.entry_id,
            category=previous.category,
            detected_at=now,
            detection="recheck",
            reappearance_of=previous.id,
            reappearance_where="same_url",
        )
        return self.store.create_notice(
            provider.id,
            provider.language.value,
            [new],
            now,
            reappearance=True,
            events=lambda notice: _reappearance_events(notice, provider, now),
        )

    def unattributed(self) -> list[dict[str, object]]:
        """Hosts of confirmed sightings that no registry entry covers, for an analyst."""
        registry = self.providers.list()
        known = {p.id for p in registry}
        hosts: dict[tuple[str, str | None], dict[str, object]] = {}
        for c in self.store.candidates():
            host = _host(c.final_url)
            if c.provider_id in known or registry_match(registry, host, c.server_ip):
                continue
            entry = hosts.setdefault(
                (host, c.server_ip),
                {
                    "host": host,
                    "server_ip": c.server_ip,
                    "sightings": 0,
                    "first_seen_at": c.seen_at,
                    "last_seen_at": c.seen_at,
                    "rdap_provider": c.attributed_provider,
                    "asn": c.asn,
                    "network": c.network,
                    "country": c.country,
                    "abuse_email": c.abuse_email,
                },
            )
            entry["sightings"] = int(entry["sightings"]) + 1  # type: ignore[call-overload]
            entry["last_seen_at"] = c.seen_at
        return sorted(hosts.values(), key=lambda h: (str(h["host"]), str(h["server_ip"])))

    # --- 3. plan -------------------------------------------------------------------------

    def plan(self) -> list[Delivery]:
        """Record the intent of every due delivery (module docstring, step 3)."""
        now = self.clock.now()
        planned = []
        for notice in self.store.notices_with_work(now):
            provider = self.providers.get_by_id(notice.provider_id)
            for kind, locations in self._due_deliveries(notice, provider, now):
                delivery = self._enqueue(notice, provider, kind, locations, now)
                if delivery is not None:
                    planned.append(delivery)
        return planned

    def _due_deliveries(
        self, notice: Notice, provider: Provider, now: datetime
    ) -> Iterable[tuple[DeliveryKind, list[Location]]]:
        if notice.state is lc.NoticeState.DRAFTED:
            yield DeliveryKind.NOTICE, list(notice.locations)
            return
        policy = self.policy(provider)
        dues = {loc.id: lc.due(loc.status, now, policy) for loc in notice.locations}
        renotice = [loc for loc in notice.locations if dues[loc.id].renotice]
        if renotice:
            yield DeliveryKind.RENOTICE, renotice
        escalate = [loc for loc in notice.locations if dues[loc.id].escalate]
        if escalate and provider.escalation_target is not None:
            yield DeliveryKind.ESCALATION, escalate

    def _enqueue(
        self,
        notice: Notice,
        provider: Provider,
        kind: DeliveryKind,
        locations: list[Location],
        now: datetime,
    ) -> Delivery | None:
        channel, recipients = provider.channel, list(provider.abuse_contacts)
        if kind is DeliveryKind.ESCALATION:
            contact = provider.escalation_contact
            channel, recipients = (Channel.EMAIL, [contact]) if contact else (Channel.MANUAL, [])
        elif channel is Channel.WEBHOOK:
            recipients = [provider.webhook_url or ""]
        message = self.composer.render(notice, provider, kind, locations, now=now)
        domain = str(self.settings.notice_from_address).rpartition("@")[2] or "localhost"
        token = uuid.uuid4().hex
        key = (
            f"{notice.reference}.{kind.value}.{token}"
            if channel is Channel.WEBHOOK
            else f"<{notice.reference}.{kind.value}.{token}@{domain}>"
        )
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
        )

    # --- 4. deliver ----------------------------------------------------------------------

    async def deliver(self, report: DeliveryReport | None = None, *, limit: int = 1000) -> None:
        report = report if report is not None else DeliveryReport()
        lease = float(self.settings.notice_delivery_lease_seconds)
        for _ in range(limit):
            delivery = self.store.claim(self.clock.now(), lease)
            if delivery is None:
                return
            await self._deliver_one(delivery, report)

    async def _deliver_one(self, delivery: Delivery, report: DeliveryReport) -> None:
        provider = self.providers.get_by_id(self.store.get_by_id(delivery.notice_id).provider_id)
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
            values["state"] = DeliveryState.UNCERTAIN
            report.uncertain.append(delivery.id)
        elif exc.details.get("permanent") or attempts >= int(
            self.settings.notice_delivery_max_attempts
        ):
            values["state"] = DeliveryState.FAILED
            report.failed.append(delivery.id)
        else:
            backoff = float(self.settings.notice_delivery_backoff_seconds) * 2 ** (attempts - 1)
            values.update(
                state=DeliveryState.PENDING,
                next_attempt_at=now + timedelta(seconds=backoff),
                handover_at=None,
            )
            report.retrying.append(delivery.id)
        log.warning("delivery %s of %s: %s", delivery.id, delivery.reference, exc.message)
        self.store.settle(delivery.id, DeliveryState.SENDING, values)

    def record_sent(self, delivery: Delivery, expected: DeliveryState, at: datetime) -> bool:
        """Mark the delivery sent, apply it to its locations and emit its event, atomically."""
        provider = self.providers.get_by_id(self.store.get_by_id(delivery.notice_id).provider_id)
        policy = self.policy(provider)

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
            change.events.append(_sent_event(notice, provider, delivery, named, at))
            if delivery.kind is DeliveryKind.ESCALATION:
                change.notice["escalated_at"] = notice.escalated_at or at
            else:
                change.notice["first_sent_at"] = notice.first_sent_at or at
                change.notice["last_sent_at"] = at
            return change

        values = {"state": DeliveryState.SENT, "sent_at": at, "lease_expires": None}
        return (
            self.store.mutate(delivery.notice_id, decide, delivery=(delivery.id, expected, values))
            is not None
        )

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

    # --- the provider's answers and the analyst's review ---------------------------------

    def _notice_for(self, reference: str, provider_id: int | None) -> Notice:
        notice = self.store.get(reference)
        if provider_id is not None and notice.provider_id != provider_id:
            raise NotFound(f"no notice {reference!r}", reference=reference)
        return notice

    def _change(self, notice: Notice, decide: Callable[[Notice], Mutation | None]) -> Notice:
        changed = self.store.mutate(notice.id, decide)
        return changed if changed is not None else self.store.get_by_id(notice.id)

    def acknowledge(self, reference: str, *, provider_id: int | None = None) -> Notice:
        notice = self._notice_for(reference, provider_id)
        at = self.clock.now()

        def decide(current: Notice) -> Mutation | None:
            if current.acknowledged_at is not None:
                return None
            if current.state is lc.NoticeState.DRAFTED:
                raise Conflict("this notice was not sent yet")
            change = Mutation(notice={"acknowledged_at": at})
            for loc in current.locations:
                if loc.status.open:
                    change.statuses[loc.id] = lc.acknowledged(loc.status, at)
            change.events.append(
                NoticeAcknowledged(at=at, notice_ref=current.reference, provider=current.provider)
            )
            return change

        return self._change(notice, decide)

    def report_removed(
        self, reference: str, location_id: int, *, provider_id: int | None = None
    ) -> Notice:
        """The provider says a location is gone: it is re-checked at once (a check, not the
        word, confirms the removal)."""
        notice = self._notice_for(reference, provider_id)
        at = self.clock.now()

        def decide(current: Notice) -> Mutation:
            loc = _location_in(current, location_id)
            return Mutation(statuses={loc.id: lc.removal_reported(loc.status, at)})

        return self._change(notice, decide)

    def dispute(
        self, reference: str, location_id: int, reason: str, *, provider_id: int | None = None
    ) -> Notice:
        notice = self._notice_for(reference, provider_id)
        at = self.clock.now()

        def decide(current: Notice) -> Mutation | None:
            loc = _location_in(current, location_id)
            if loc.status.state is lc.LocationState.DISPUTED:
                return None
            return Mutation(
                statuses={loc.id: lc.disputed(loc.status, at)},
                location_fields={loc.id: {"dispute_reason": reason[:4000]}},
                events=[
                    NoticeDisputed(
                        at=at,
                        notice_ref=current.reference,
                        provider=current.provider,
                        location_id=str(loc.id),
                        reason=reason[:500],
                    )
                ],
            )

        return self._change(notice, decide)

    def review(self, reference: str, location_id: int, outcome: str) -> Notice:
        """An analyst's decision on a disputed location (``upheld`` or ``rejected``)."""
        notice = self.store.get(reference)
        at = self.clock.now()

        def decide(current: Notice) -> Mutation:
            loc = _location_in(current, location_id)
            return Mutation(
                statuses={loc.id: lc.reviewed(loc.status, at, outcome)},
                events=[
                    DisputeReviewed(
                        at=at,
                        notice_ref=current.reference,
                        provider=current.provider,
                        location_id=str(loc.id),
                        outcome=outcome,
                    )
                ],
            )

        return self._change(notice, decide)


def _location_in(notice: Notice, location_id: int) -> Location:
    try:
        return notice.location(location_id)
    except KeyError:
        raise NotFound(
            f"notice {notice.reference} names no location {location_id}", location_id=location_id
        ) from None


def _add_sighting(known: NewLocation, sighting_id: int) -> NewLocation:
    return replace(known, sighting_ids=(*known.sighting_ids, sighting_id))


def _new_location(c: Candidate, provider: Provider, earlier: list[Location]) -> NewLocation:
    removed = [
        loc
        for loc in earlier
        if loc.status.state is lc.LocationState.REMOVED
        and (loc.sha256 == c.sha256 or (c.entry_id is not None and loc.entry_id == c.entry_id))
    ]
    previous = max(removed, key=lambda loc: (loc.status.removed_at, loc.id), default=None)
    where = None
    if previous is not None:
        if previous.media_url == c.media_url:
            where = "same_url"
        elif previous.provider_id == provider.id:
            where = "same_provider"
        else:
            where = "other"
    return NewLocation(
        media_url=c.media_url,
        page_url=c.page_url,
        host=_host(c.final_url),
        sha256=c.sha256,
        md5=c.md5,
        pdq=c.pdq,
        bank=c.bank,
        entry_id=c.entry_id,
        category=c.category,
        detected_at=c.seen_at,
        sighting_ids=(c.sighting_id,),
        reappearance_of=previous.id if previous is not None else None,
        reappearance_where=where,
    )


def _reappearance_events(notice: Notice, provider: Provider, now: datetime) -> list[Event]:
    return [
        ReappearanceDetected(
            at=now,
            sighting_id=str(loc.sighting_id) if loc.sighting_id is not None else "",
            previous_location_id=str(loc.reappearance_of),
            provider=provider.name,
            where=loc.reappearance_where or "other",
            country=provider.country,
        )
        for loc in notice.locations
        if loc.reappearance_of is not None
    ]


def _sent_event(
    notice: Notice,
    provider: Provider,
    delivery: Delivery,
    named: list[Location],
    at: datetime,
) -> Event:
    if delivery.kind is DeliveryKind.ESCALATION:
        target = provider.escalation_target
        return NoticeEscalated(
            at=at,
            notice_ref=notice.reference,
            provider=provider.name,
            target=target.value if target is not None else "",
        )
    return NoticeSent(
        at=at,
        notice_ref=notice.reference,
        provider=provider.name,
        country=provider.country,
        channel=delivery.channel,
        locations=tuple(str(loc.id) for loc in named),
        renotice=delivery.kind is DeliveryKind.RENOTICE,
        reappearance=notice.reappearance,
        sighting_ids=tuple(str(loc.sighting_id) for loc in named if loc.sighting_id is not None),
    )
