"""Events folded into the facts reports are computed from: one pass, in time order.

:func:`build_ledger` reads an iterable of :mod:`keepdown.events` (any order; they are sorted by
``at``, ties kept in the given order) and keeps, per notified location, per notice, per
sighting, per dispute and per upload, only what the figures need: times, provider, country,
bank, outcomes. It never keeps a URL or a hash, so nothing built on it can leak one.

The facts, and the events they come from:

1. a **location** starts at the first ``NoticeSent`` that names it (its provider and country
   are that notice's; its detection time, bank entry and reappearance are the event's
   per-location facts, aligned with ``locations``); it is **removed** at the first
   ``RemovalConfirmed`` for it (``removed_at``: the first check that found it gone, which its
   time to removal ends at; ``confirmed_at``: the check that settled it, which decides the
   period; ``last_present_at``: the last check that still found it, the figure's precision),
   **withdrawn** when a ``DisputeReviewed`` upholds a dispute about it (not the material, or
   not there), and no longer withdrawn when a ``LocationReopened`` reopens it;
2. a **notice** is counted once, at its first ``NoticeSent`` (later ones are re-notices). It
   is a **repeat notice** when the event says so (``repeat_at_provider``: material already
   named in an earlier notice to the same provider). Events recorded before that field
   existed are inferred: the same bank entry named to that provider before (through the
   ``SightingRecorded`` of its sightings), or a ``ReappearanceDetected`` in it linking to a
   removal at the same provider, else the notice's ``reappearance`` flag;
3. **detection to notice**: for each location, from its detection to the first ``NoticeSent``
   naming it (older events without per-location facts: for each sighting a notice names, from
   its ``SightingRecorded``);
4. **report to notice**: for each reported URL (``UrlReported``, reporter other than
   ``own_initiative``), from its first report to the first ``NoticeSent`` naming a sighting of
   the crawl it started (``SightingRecorded.crawl_id``);
5. **notice to acknowledgement**: from a notice's first ``NoticeSent`` to its first
   ``NoticeAcknowledged``, counted in the period of the acknowledgement;
6. reappearances (``ReappearanceDetected``), disputes (``NoticeDisputed``, ``DisputeReviewed``),
   escalations (``NoticeEscalated``), removals the provider reported (``RemovalReported``, not
   counted as removed), failed deliveries (``DeliveryFailed``), matches (``SightingRecorded``,
   ``MatchFound``), review decisions (``ReviewDecided``) and uploads (``UploadChecked``) are
   kept as they happened. A bank's source (provenance) is the one its ``SightingRecorded`` or
   ``ReviewDecided`` events name, so auto-confirmed matches have one too.

Providers are keyed by their stable id when events carry one (``provider_id``), else by name;
:attr:`Ledger.provider_names` gives the latest name for each key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keepdown.events import (
    DeliveryFailed,
    DisputeReviewed,
    EntryQuarantined,
    Event,
    LocationReopened,
    MatchFound,
    NoticeAcknowledged,
    NoticeDisputed,
    NoticeEscalated,
    NoticeSent,
    ReappearanceDetected,
    ReferralMade,
    RemovalConfirmed,
    RemovalReported,
    ReviewDecided,
    SightingRecorded,
    UploadChecked,
    UrlReported,
)

__all__ = [
    "LEDGER_KINDS",
    "DisputeRecord",
    "Ledger",
    "LocationRecord",
    "NoticeRecord",
    "Occurrence",
    "ReviewRecord",
    "SightingRecord",
    "UploadRecord",
    "build_ledger",
]


@dataclass
class LocationRecord:
    location_id: str
    provider: str
    country: str
    first_notice_at: datetime
    reappearance: bool = False
    detected_at: datetime | None = None
    #: The first check that found it gone: its time to removal ends here.
    removed_at: datetime | None = None
    #: The check that confirmed the removal (the same, unless a second check was needed):
    #: the removal counts in the period holding this time.
    confirmed_at: datetime | None = None
    #: How late ``removed_at`` may be: from the last check that still found the location
    #: (or the first notice) to ``removed_at``; None when the events do not say.
    precision_hours: float | None = None
    withdrawn_at: datetime | None = None
    #: The first report of the URL whose crawl found the material (INHOPE-style clock start;
    #: None when keepdown found it on its own initiative, or the events do not say).
    reported_at: datetime | None = None
    #: The first time the material was found again at the same provider after its removal
    #: (``ReappearanceDetected`` naming this location, same URL or same provider).
    returned_at: datetime | None = None

    def removed_by(self, end: datetime) -> bool:
        """Confirmed removed before ``end`` (what a report of a period ending then knows)."""
        return self.confirmed_at is not None and self.confirmed_at < end

    @property
    def removal_hours(self) -> float | None:
        """Time to removal in hours (None when not removed)."""
        if self.removed_at is None:
            return None
        return (self.removed_at - self.first_notice_at).total_seconds() / 3600.0

    def withdrawn_by(self, end: datetime) -> bool:
        return self.withdrawn_at is not None and self.withdrawn_at < end

    def present_at(self, end: datetime) -> bool:
        """Notified before ``end`` and neither removed nor withdrawn by then."""
        return (
            self.first_notice_at < end and not self.removed_by(end) and not self.withdrawn_by(end)
        )


@dataclass(frozen=True)
class NoticeRecord:
    notice_ref: str
    provider: str
    country: str
    first_sent_at: datetime
    locations: int
    repeat: bool


@dataclass(frozen=True)
class Occurrence:
    """Something that happened at a provider: a re-notice, an escalation, a reappearance, a
    detection-to-notice delay (``value`` in hours)."""

    at: datetime
    provider: str
    country: str
    kind: str = ""
    value: float = 0.0


@dataclass
class DisputeRecord:
    location_id: str
    provider: str
    country: str
    opened_at: datetime
    outcome: str | None = None
    reviewed_at: datetime | None = None


@dataclass(frozen=True)
class SightingRecord:
    at: datetime
    sighting_id: str
    bank: str
    source: str
    match_type: str
    state: str
    signal_type: str = ""


@dataclass(frozen=True)
class ReviewRecord:
    at: datetime
    sighting_id: str
    bank: str
    source: str
    decision: str
    signal_type: str = ""


@dataclass(frozen=True)
class UploadRecord:
    at: datetime
    key_id: str
    organisation: str
    outcome: str
    match_type: str
    automated: bool


@dataclass
class Ledger:
    """Every fact of module docstring, by kind (see :func:`build_ledger`)."""

    locations: dict[str, LocationRecord] = field(default_factory=dict)
    notices: dict[str, NoticeRecord] = field(default_factory=dict)
    renotices: list[Occurrence] = field(default_factory=list)
    escalations: list[Occurrence] = field(default_factory=list)
    reappearances: list[Occurrence] = field(default_factory=list)
    detection_delays: list[Occurrence] = field(default_factory=list)
    #: Reported URL to its first notice (``kind`` the reporter type, ``value`` in hours).
    report_delays: list[Occurrence] = field(default_factory=list)
    removals_reported: list[Occurrence] = field(default_factory=list)
    #: Notice to its first acknowledgement (``value`` in hours), at the acknowledgement.
    acknowledgements: list[Occurrence] = field(default_factory=list)
    #: Withdrawn locations an analyst reopened.
    reopenings: list[Occurrence] = field(default_factory=list)
    delivery_failures: list[Occurrence] = field(default_factory=list)
    disputes: list[DisputeRecord] = field(default_factory=list)
    sightings: list[SightingRecord] = field(default_factory=list)
    reviews: list[ReviewRecord] = field(default_factory=list)
    hash_matches: list[tuple[datetime, str, str]] = field(default_factory=list)
    #: Entries quarantined for a burst of matches: (when, bank, signal type).
    quarantines: list[tuple[datetime, str, str]] = field(default_factory=list)
    #: Each bank's source (its provenance, e.g. a hotline), as sightings and reviews name it.
    bank_sources: dict[str, str] = field(default_factory=dict)
    uploads: list[UploadRecord] = field(default_factory=list)
    #: Referrals to authorities outside keepdown (``kind``: to whom: ncmec, law_enforcement,
    #: hotline; ``key``: the referring organisation).
    referrals: list[Occurrence] = field(default_factory=list)
    provider_names: dict[str, str] = field(default_factory=dict)
    provider_countries: dict[str, str] = field(default_factory=dict)


class _Builder:
    """The state of one pass over the events (see :func:`build_ledger`)."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.sighting_at: dict[str, datetime] = {}
        self.sighting_bank: dict[str, tuple[str, str]] = {}  # id -> (bank, source)
        self.sighting_signal: dict[str, str] = {}  # id -> signal type of the entry matched
        self.material: dict[str, str] = {}  # sighting id -> bank entry id
        self.notified_material: dict[str, set[str]] = {}  # provider -> bank entry ids
        self.sighting_crawl: dict[str, str] = {}  # sighting id -> crawl id
        self.reported: dict[str, tuple[datetime, str]] = {}  # crawl id -> (first report, type)
        self.answered_crawls: set[str] = set()
        self.noticed_sightings: set[str] = set()
        self.open_disputes: dict[str, DisputeRecord] = {}
        self.acknowledged: set[str] = set()  # notice refs whose first acknowledgement is kept
        # notice ref -> True when a reappearance in it was at the provider that had it before
        self.reappeared_in: dict[str, bool] = {}

    def provider(self, event: Any) -> tuple[str, str]:
        """(provider key, country) of an event, remembering the name and country."""
        name = str(getattr(event, "provider", "") or "")
        key = str(getattr(event, "provider_id", "") or "") or name
        country = str(getattr(event, "country", "") or "").upper()
        led = self.ledger
        if name:
            led.provider_names[key] = name
        if country:
            led.provider_countries[key] = country
        led.provider_names.setdefault(key, key)
        return key, country or led.provider_countries.get(key, "")

    def add(self, e: Event) -> None:
        handler = getattr(self, "on_" + e.kind, None)
        if handler is not None:
            handler(e)

    def on_sighting_recorded(self, e: SightingRecorded) -> None:
        source = e.detection or "crawl"
        self.sighting_at.setdefault(e.sighting_id, e.at)
        self.sighting_bank[e.sighting_id] = (e.bank, source)
        self.material[e.sighting_id] = str(e.entry_id)
        if e.bank_source:
            self.ledger.bank_sources[e.bank] = e.bank_source
        if e.crawl_id:
            self.sighting_crawl[e.sighting_id] = e.crawl_id
        self.sighting_signal[e.sighting_id] = e.signal_type
        self.ledger.sightings.append(
            SightingRecord(
                e.at, e.sighting_id, e.bank, source, e.match_type, e.state, e.signal_type
            )
        )

    def on_referral_made(self, e: ReferralMade) -> None:
        self.ledger.referrals.append(Occurrence(e.at, e.organisation, "", e.to))

    def on_match_found(self, e: MatchFound) -> None:
        self.ledger.hash_matches.append((e.at, e.bank, e.signal_type))

    def on_review_decided(self, e: ReviewDecided) -> None:
        bank, detection = self.sighting_bank.get(e.sighting_id, ("", "crawl"))
        bank = e.bank or bank
        if e.source:
            self.ledger.bank_sources[bank] = e.source
        signal = e.signal_type or self.sighting_signal.get(e.sighting_id, "")
        self.ledger.reviews.append(
            ReviewRecord(e.at, e.sighting_id, bank, detection, e.decision, signal)
        )

    def on_entry_quarantined(self, e: EntryQuarantined) -> None:
        self.ledger.quarantines.append((e.at, e.bank, e.signal_type))
        if e.source:
            self.ledger.bank_sources.setdefault(e.bank, e.source)

    def on_url_reported(self, e: UrlReported) -> None:
        if e.crawl_id and e.reporter != "own_initiative":
            self.reported.setdefault(e.crawl_id, (e.at, e.reporter))

    def on_notice_sent(self, e: NoticeSent) -> None:
        key, country = self.provider(e)
        led = self.ledger
        facts = _aligned(e)
        if e.notice_ref in led.notices:
            led.renotices.append(Occurrence(e.at, key, country, "renotice"))
        else:
            led.notices[e.notice_ref] = NoticeRecord(
                e.notice_ref, key, country, e.at, len(e.locations), self._repeat(e, key, facts)
            )
        for i, location_id in enumerate(e.locations):
            if location_id in led.locations:
                continue
            record = LocationRecord(location_id, key, country, e.at, bool(e.reappearance))
            record.reported_at = self._reported_at(_location_sighting(e, facts, i))
            if facts is not None:
                record.reappearance = bool(facts[i].where)
                record.detected_at = facts[i].detected_at
                if record.detected_at is not None:
                    delay = (e.at - record.detected_at).total_seconds() / 3600.0
                    led.detection_delays.append(Occurrence(e.at, key, country, "detect", delay))
            led.locations[location_id] = record
        if facts is None:
            self._detection_delays(e, key, country)
        self._report_delays(e, key, country, facts)

    def _reported_at(self, sighting: str) -> datetime | None:
        """When the URL whose crawl saw ``sighting`` was first reported (not own initiative)."""
        crawl = self.sighting_crawl.get(sighting)
        found = self.reported.get(crawl) if crawl else None
        return found[0] if found else None

    def _repeat(self, e: NoticeSent, key: str, facts: list[_Facts] | None) -> bool:
        """Whether a first notice repeats material at its provider (module docstring, 2)."""
        if facts is not None:
            materials = {f.entry for f in facts if f.entry}
        else:
            materials = {self.material[s] for s in e.sighting_ids if s in self.material}
        seen = self.notified_material.setdefault(key, set())
        inferred = bool(materials & seen)
        seen |= materials
        if e.repeat_at_provider is not None:
            return e.repeat_at_provider
        same_provider = self.reappeared_in.get(e.notice_ref)
        return inferred or (bool(e.reappearance) if same_provider is None else same_provider)

    def _report_delays(
        self, e: NoticeSent, key: str, country: str, facts: list[_Facts] | None
    ) -> None:
        named = set(e.sighting_ids) | {f.sighting for f in facts or () if f.sighting}
        for crawl in sorted({self.sighting_crawl[s] for s in named if s in self.sighting_crawl}):
            if crawl in self.answered_crawls or crawl not in self.reported:
                continue
            self.answered_crawls.add(crawl)
            at, reporter = self.reported[crawl]
            delay = (e.at - at).total_seconds() / 3600.0
            self.ledger.report_delays.append(Occurrence(e.at, key, country, reporter, delay))

    def _detection_delays(self, e: NoticeSent, key: str, country: str) -> None:
        """Detection to notice for events without per-location facts (module docstring)."""
        for sid in e.sighting_ids:
            if sid in self.noticed_sightings or sid not in self.sighting_at:
                continue
            self.noticed_sightings.add(sid)
            delay = (e.at - self.sighting_at[sid]).total_seconds() / 3600.0
            self.ledger.detection_delays.append(Occurrence(e.at, key, country, "detect", delay))
        if len(e.locations) == 1 and e.sighting_ids:
            known = [self.sighting_at[s] for s in e.sighting_ids if s in self.sighting_at]
            loc = self.ledger.locations[e.locations[0]]
            if known and loc.detected_at is None:
                loc.detected_at = min(known)

    def on_notice_escalated(self, e: NoticeEscalated) -> None:
        key, country = self.provider(e)
        self.ledger.escalations.append(Occurrence(e.at, key, country, e.target))

    def on_removal_confirmed(self, e: RemovalConfirmed) -> None:
        key, country = self.provider(e)
        loc = self.ledger.locations.get(e.location_id)
        if loc is None:  # its NoticeSent is not in this stream: the removal says enough
            loc = LocationRecord(e.location_id, key, country, e.first_notice_at)
            self.ledger.locations[e.location_id] = loc
        if loc.confirmed_at is None:
            loc.removed_at, loc.confirmed_at = e.removal_time, e.at
            if e.removed_at is not None:  # events that say when it was last seen
                since = max(e.last_present_at or loc.first_notice_at, loc.first_notice_at)
                loc.precision_hours = max(0.0, (e.removed_at - since).total_seconds() / 3600.0)
        if loc.detected_at is None and e.detected_at is not None:
            loc.detected_at = e.detected_at

    def on_notice_acknowledged(self, e: NoticeAcknowledged) -> None:
        notice = self.ledger.notices.get(e.notice_ref)
        if notice is None or e.notice_ref in self.acknowledged:
            return
        self.acknowledged.add(e.notice_ref)
        self.provider(e)
        delay = (e.at - notice.first_sent_at).total_seconds() / 3600.0
        self.ledger.acknowledgements.append(
            Occurrence(e.at, notice.provider, notice.country, "ack", delay)
        )

    def on_location_reopened(self, e: LocationReopened) -> None:
        self.provider(e)
        loc = self.ledger.locations.get(e.location_id)
        if loc is not None and loc.withdrawn_at is not None:
            loc.withdrawn_at = None
            self.ledger.reopenings.append(Occurrence(e.at, loc.provider, loc.country, "reopen"))

    def on_reappearance_detected(self, e: ReappearanceDetected) -> None:
        key, country = self.provider(e)
        self.ledger.reappearances.append(Occurrence(e.at, key, country, e.where))
        removed = self.ledger.locations.get(e.previous_location_id)
        same = e.where in ("same_url", "same_provider")
        if (
            removed is not None
            and same
            and (removed.returned_at is None or e.at < removed.returned_at)
        ):
            removed.returned_at = e.at
        previous = e.previous_provider_id or e.previous_provider
        if e.notice_ref and previous:
            before = self.reappeared_in.get(e.notice_ref, False)
            self.reappeared_in[e.notice_ref] = before or previous in (key, e.provider)

    def on_removal_reported(self, e: RemovalReported) -> None:
        key, country = self.provider(e)
        self.ledger.removals_reported.append(Occurrence(e.at, key, country, "reported"))

    def on_delivery_failed(self, e: DeliveryFailed) -> None:
        if e.outcome != "failed":  # retried later, or waiting for an operator's word
            return
        key, country = self.provider(e)
        self.ledger.delivery_failures.append(Occurrence(e.at, key, country, e.outcome))

    def on_notice_disputed(self, e: NoticeDisputed) -> None:
        key, country = self.provider(e)
        loc = self.ledger.locations.get(e.location_id)
        record = DisputeRecord(e.location_id, key, loc.country if loc else country, e.at)
        self.ledger.disputes.append(record)
        self.open_disputes[e.location_id] = record

    def on_dispute_reviewed(self, e: DisputeReviewed) -> None:
        record = self.open_disputes.pop(e.location_id, None)
        if record is not None:
            record.outcome, record.reviewed_at = e.outcome, e.at
        loc = self.ledger.locations.get(e.location_id)
        if e.outcome == "upheld" and loc is not None and loc.withdrawn_at is None:
            loc.withdrawn_at = e.at

    def on_upload_checked(self, e: UploadChecked) -> None:
        self.ledger.uploads.append(
            UploadRecord(e.at, e.key_id, e.organisation, e.outcome, e.match_type, e.automated)
        )


@dataclass(frozen=True)
class _Facts:
    """One location's facts in a ``NoticeSent`` (keepdown.notices.facts)."""

    sighting: str
    detected_at: datetime | None
    entry: str
    where: str


def _aligned(e: NoticeSent) -> list[_Facts] | None:
    """The per-location facts of ``e``, or None when it has none (an older event)."""
    n = len(e.locations)
    columns = (
        e.location_sightings,
        e.location_detected_at,
        e.location_entries,
        e.location_reappearances,
    )
    if n == 0 or any(len(c) != n for c in columns):
        return None
    return [
        _Facts(s, datetime.fromisoformat(d) if d else None, entry, where)
        for s, d, entry, where in zip(*columns, strict=True)
    ]


def _location_sighting(e: NoticeSent, facts: list[_Facts] | None, i: int) -> str:
    """The sighting of the notice's i-th location: its facts say; an older event names one
    sighting per location, in the same order, when it names as many as it has locations."""
    if facts is not None:
        return facts[i].sighting
    if len(e.sighting_ids) == len(e.locations):
        return e.sighting_ids[i]
    return ""


#: Every event kind the ledger reads (its ``on_<kind>`` handlers): a store that reads only
#: these (``keepdown.storage.figures_store``) gives the same figures as reading everything.
LEDGER_KINDS: tuple[str, ...] = tuple(
    sorted(name[3:] for name in vars(_Builder) if name.startswith("on_"))
)


def build_ledger(events: Iterable[Event]) -> Ledger:
    """Fold ``events`` into a :class:`Ledger` (module docstring)."""
    builder = _Builder()
    for event in sorted(events, key=lambda e: e.at):
        builder.add(event)
    return builder.ledger
