"""Typed, frozen events: the record every figure keepdown publishes is computed from.

Each step of the flow appends an event (``MatchFound``, ``NoticeSent``, ``RemovalConfirmed``...).
An event is a frozen dataclass with a ``kind`` (its stable name, also the stats key prefix) and
the time it happened (``at``, from the :mod:`keepdown.clock`). Sinks receive events; the
in-memory :class:`EventLog` is the twin used by tests and single-process runs, and the storage
layer provides a durable sink with the same interface.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Protocol

__all__ = [
    "BankChanged",
    "BankEntryAdded",
    "BankEntryRemoved",
    "BankImported",
    "BlocklistAppealDecided",
    "BlocklistAppealed",
    "BlocklistDomainDecided",
    "BlocklistEntryAdded",
    "BlocklistEntryRemoved",
    "CyberTipDrafted",
    "CyberTipStep",
    "DeliveryFailed",
    "DisputeReviewed",
    "EntryQuarantined",
    "Event",
    "EventLog",
    "EventSink",
    "EventSource",
    "EventStore",
    "FeedSynced",
    "FeedbackSent",
    "HashesSubmitted",
    "HoldDecided",
    "LocationRechecked",
    "LocationReopened",
    "MatchFound",
    "MediaHashed",
    "MediaRevealed",
    "MediaSeen",
    "NoticeAcknowledged",
    "NoticeDisputed",
    "NoticeDrafted",
    "NoticeEscalated",
    "NoticeResendRequested",
    "NoticeSent",
    "PageFetched",
    "PeerReferralReceived",
    "PeerReferralSent",
    "PeerReferralStatus",
    "QuarantineLifted",
    "ReappearanceDetected",
    "ReferralMade",
    "RemovalConfirmed",
    "RemovalItemFound",
    "RemovalItemRemoved",
    "RemovalReported",
    "RemovalRequestClosed",
    "RemovalRequestWithdrawn",
    "RemovalRequested",
    "RemovalSweepFinished",
    "ReviewDecided",
    "ScanFinished",
    "SelfSubmissionReceived",
    "SelfSubmissionWithdrawn",
    "SightingRecorded",
    "StatementsSubmitted",
    "TaskRan",
    "UploadChecked",
    "UploadHeld",
    "UrlReported",
    "event_types",
]


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event. ``kind`` names the event type; ``at`` is when it happened (UTC)."""

    kind: ClassVar[str] = "event"
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-ready values (times ISO 8601, tuples lists), fields in order and
        ``kind`` last. Fields are plain values, so no deep copy (``dataclasses.asdict``'s cost
        is most of an event's encoding, and every event written pays it)."""
        data: dict[str, Any] = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            data[name] = value
        data["kind"] = self.kind
        return data


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


_REGISTRY: dict[str, type[Event]] = {}


def _register(cls: type[Event]) -> type[Event]:
    _REGISTRY[cls.kind] = cls
    return cls


def event_types() -> dict[str, type[Event]]:
    """Every registered event type by kind (used by stores to rebuild events from rows)."""
    return dict(_REGISTRY)


@_register
@dataclass(frozen=True, kw_only=True)
class MediaHashed(Event):
    """Media bytes were hashed (from an upload, a crawl or a scan)."""

    kind: ClassVar[str] = "media_hashed"
    source: str
    sha256: str
    pdq: str | None = None
    quality: int | None = None


@_register
@dataclass(frozen=True, kw_only=True)
class MatchFound(Event):
    """Content matched a bank entry."""

    kind: ClassVar[str] = "match_found"
    bank: str
    entry_id: int
    signal_type: str
    distance: int
    variant: str = "original"
    source: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class BankEntryAdded(Event):
    kind: ClassVar[str] = "bank_entry_added"
    bank: str
    signal_type: str
    value: str


@_register
@dataclass(frozen=True, kw_only=True)
class BankEntryRemoved(Event):
    kind: ClassVar[str] = "bank_entry_removed"
    bank: str
    signal_type: str
    value: str
    reason: str


@_register
@dataclass(frozen=True, kw_only=True)
class BankChanged(Event):
    """A bank's settings changed (enabled, trust, thresholds, label): ``changes`` names what
    and the new values; ``by`` who (a key id, a person, ``cli``)."""

    kind: ClassVar[str] = "bank_changed"
    bank: str
    changes: dict[str, Any]
    by: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class BankImported(Event):
    kind: ClassVar[str] = "bank_imported"
    bank: str
    added: int
    already_present: int
    skipped_invalid: int
    source_file: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class UrlReported(Event):
    """A URL was reported for crawling (by the public, a hotline, a partner, an operator)."""

    kind: ClassVar[str] = "url_reported"
    url: str
    reporter: str = ""
    source: str = ""
    crawl_id: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class PageFetched(Event):
    """The crawler fetched a page (``status`` is the final HTTP status after redirects)."""

    kind: ClassVar[str] = "page_fetched"
    crawl_id: str
    url: str
    final_url: str
    status: int
    size: int
    server_ip: str | None = None
    links: int = 0
    media: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class MediaSeen(Event):
    """The crawler hashed a piece of media seen on a page (a sighting, before matching)."""

    kind: ClassVar[str] = "media_seen"
    crawl_id: str
    page_url: str
    media_url: str
    sha256: str
    pdq: str | None = None
    size: int = 0
    content_type: str = ""
    server_ip: str | None = None
    archive_member: str = ""


# --- sightings, review, notices: the events transparency figures are computed from -------------
# Producers: the crawler (SightingRecorded), the review queue (ReviewDecided), the notice
# lifecycle (Notice*, LocationRechecked, RemovalConfirmed, ReappearanceDetected), the API
# (UploadChecked). Consumer: keepdown.reports. Identifiers are the database ids as strings so
# an event stays meaningful outside the database it came from; ``provider`` is the provider's
# registry name, ``country`` its ISO 3166-1 alpha-2 code ("" when unknown).


@_register
@dataclass(frozen=True, kw_only=True)
class SightingRecorded(Event):
    """Known material was seen at a location (``state``: "confirmed" or "pending_review")."""

    kind: ClassVar[str] = "sighting_recorded"
    sighting_id: str
    media_url: str
    page_url: str
    bank: str
    entry_id: int
    match_type: str  # "exact" or "near"
    state: str
    provider: str = ""
    country: str = ""
    detection: str = "crawl"  # "crawl", "upload", "scan", "report"
    bank_source: str = ""  # the bank's provenance (banks.source), e.g. a hotline's hash list
    crawl_id: str = ""  # the crawl that saw it ("" outside a crawl)
    report_ref: str = ""  # the URL report that started that crawl ("" when none)
    signal_type: str = ""  # of the entry it matched ("" from before this field)


@_register
@dataclass(frozen=True, kw_only=True)
class ReviewDecided(Event):
    """An analyst decided a review item (``decision``: confirm, not_a_match, escalate, skip).

    ``not_a_match`` is a false positive of ``bank`` (whose ``source`` is kept, so a published
    error rate per source is a count of these over the bank's reviewed items); the match's
    ``entry_id``, ``distance`` and ``match_type`` say what was wrong."""

    kind: ClassVar[str] = "review_decided"
    sighting_id: str
    decision: str
    bank: str = ""
    category: str = ""
    analyst: str = ""
    source: str = ""
    entry_id: int | None = None
    distance: int | None = None
    match_type: str = ""
    allow_listed: bool = False
    signal_type: str = ""  # of the entry the match was on ("" from before this field)


@_register
@dataclass(frozen=True, kw_only=True)
class NoticeDrafted(Event):
    """Confirmed sightings were grouped into a new notice to one provider (not sent yet).

    Notice events carry the provider's stable registry id (``provider_id``) as well as its
    name at the time: figures are keyed by the id, so a renamed provider keeps its history."""

    kind: ClassVar[str] = "notice_drafted"
    notice_ref: str
    provider: str
    provider_id: str = ""
    country: str = ""
    locations: tuple[str, ...] = ()
    sighting_ids: tuple[str, ...] = ()
    reappearance: bool = False  # a location is known material back after a confirmed removal
    #: Aligned with ``locations`` (the i-th value is about the i-th location; docs/notices.md):
    #: its sighting ("" when a re-check found it), when it was detected (ISO 8601 UTC), its
    #: bank entry id ("" when unknown) and, for a reappearance, where it was seen before
    #: ("same_url", "same_provider", "other"; "" when it is not one).
    location_sightings: tuple[str, ...] = ()
    location_detected_at: tuple[str, ...] = ()
    location_entries: tuple[str, ...] = ()
    location_reappearances: tuple[str, ...] = ()
    #: Material named in an earlier notice to this same provider (C3P's recidivism); None in
    #: events recorded before this field existed.
    repeat_at_provider: bool | None = None


@_register
@dataclass(frozen=True, kw_only=True)
class NoticeSent(Event):
    """A notice (first or re-notice) was delivered to a provider naming ``locations``."""

    kind: ClassVar[str] = "notice_sent"
    notice_ref: str
    provider: str
    provider_id: str = ""
    country: str = ""
    channel: str = "email"  # "email", "webhook", "manual"
    locations: tuple[str, ...] = ()  # location ids named in this notice
    renotice: bool = False
    #: A location is known material back after a confirmed removal, at this provider or at
    #: another (``ReappearanceDetected`` says where); "already notified to this provider" is
    #: ``repeat_at_provider``.
    reappearance: bool = False
    #: The named locations' sightings (not aligned: a re-check's location has none).
    sighting_ids: tuple[str, ...] = ()
    resend: bool = False  # an analyst asked for it (NoticeResendRequested)
    #: Aligned with ``locations`` (the i-th value is about the i-th location; docs/notices.md):
    #: its sighting ("" when a re-check found it), when it was detected (ISO 8601 UTC), its
    #: bank entry id ("" when unknown) and, for a reappearance, where it was seen before
    #: ("same_url", "same_provider", "other"; "" when it is not one).
    location_sightings: tuple[str, ...] = ()
    location_detected_at: tuple[str, ...] = ()
    location_entries: tuple[str, ...] = ()
    location_reappearances: tuple[str, ...] = ()
    #: Material named in an earlier notice to this same provider (C3P's recidivism); None in
    #: events recorded before this field existed.
    repeat_at_provider: bool | None = None


@_register
@dataclass(frozen=True, kw_only=True)
class NoticeResendRequested(Event):
    """An analyst asked for a notice's open ``locations`` to be sent again now: delivery
    ``delivery_id`` goes through the outbox, and its ``NoticeSent`` has ``resend``."""

    kind: ClassVar[str] = "notice_resend_requested"
    notice_ref: str
    provider: str
    provider_id: str = ""
    country: str = ""
    delivery_id: str
    requested_by: str = ""
    locations: tuple[str, ...] = ()


@_register
@dataclass(frozen=True, kw_only=True)
class DeliveryFailed(Event):
    """A delivery attempt failed: ``outcome`` "retrying" (tried again later), "failed" (given
    up: an operator looks) or "uncertain" (may have been delivered: an operator confirms)."""

    kind: ClassVar[str] = "delivery_failed"
    notice_ref: str
    provider: str
    provider_id: str = ""
    country: str = ""
    delivery_id: str
    delivery_kind: str  # "notice", "renotice", "escalation"
    channel: str
    attempts: int
    outcome: str
    error: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class NoticeAcknowledged(Event):
    kind: ClassVar[str] = "notice_acknowledged"
    notice_ref: str
    provider: str
    provider_id: str = ""
    country: str = ""
    locations: tuple[str, ...] = ()  # the open locations the acknowledgement covers


@_register
@dataclass(frozen=True, kw_only=True)
class NoticeEscalated(Event):
    kind: ClassVar[str] = "notice_escalated"
    notice_ref: str
    provider: str
    provider_id: str = ""
    country: str = ""
    target: str  # "upstream", "registrar", "cdn", "hotline", "regulator"
    channel: str = "email"
    locations: tuple[str, ...] = ()


@_register
@dataclass(frozen=True, kw_only=True)
class NoticeDisputed(Event):
    kind: ClassVar[str] = "notice_disputed"
    notice_ref: str
    provider: str
    provider_id: str = ""
    country: str = ""
    location_id: str
    reason: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class DisputeReviewed(Event):
    """An analyst's outcome of a dispute: "upheld" (not material / not there) or "rejected"."""

    kind: ClassVar[str] = "dispute_reviewed"
    notice_ref: str
    provider: str
    provider_id: str = ""
    country: str = ""
    location_id: str
    outcome: str


@_register
@dataclass(frozen=True, kw_only=True)
class LocationReopened(Event):
    """An analyst reopened a withdrawn location (its dispute had been upheld): it is open
    again, re-checked at once and counted as notified again; the dispute stays in its
    history. ``reason``: the analyst's words (e.g. "seen again at the same URL")."""

    kind: ClassVar[str] = "location_reopened"
    notice_ref: str
    provider: str
    provider_id: str = ""
    country: str = ""
    location_id: str
    reason: str = ""
    by: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class RemovalReported(Event):
    """The provider says it removed a location (it counts as removed only when a check finds
    it gone: see ``RemovalConfirmed``)."""

    kind: ClassVar[str] = "removal_reported"
    notice_ref: str
    provider: str
    provider_id: str = ""
    country: str = ""
    location_id: str


@_register
@dataclass(frozen=True, kw_only=True)
class LocationRechecked(Event):
    """A re-check of a location: ``result`` is "present", "gone" or "error"; ``status`` the
    HTTP status seen (None when there was no answer) and ``answer`` what the answer was
    (docs/notices.md, "What a re-check decides": ``known``, ``not_found``, ``refused``,
    ``unmatched``, ``no_such_host``, ``entry_gone``, ``error``...). ``confirming``: the
    answer suggests removal but waits for a second check before it counts."""

    kind: ClassVar[str] = "location_rechecked"
    location_id: str
    provider: str
    provider_id: str = ""
    notice_ref: str = ""
    result: str
    status: int | None = None
    answer: str = ""
    confirming: bool = False


@_register
@dataclass(frozen=True, kw_only=True)
class RemovalConfirmed(Event):
    """A notified location was confirmed gone (``at``: the check that settled it).

    Time to removal = ``removed_at`` (the first check that found it gone; the same as ``at``
    unless the answer needed a confirming second check, or the event predates the field)
    minus ``first_notice_at`` (the first notice that named the location). ``last_present_at``
    is the last check before that found it still there (None: none since the first notice),
    so the true removal lay after it: the figure's precision. ``status`` and ``answer`` are
    what the check that found it gone saw (an HTTP status, ``not_found``, ``refused``...)."""

    kind: ClassVar[str] = "removal_confirmed"
    location_id: str
    notice_ref: str
    provider: str
    provider_id: str = ""
    country: str = ""
    first_notice_at: datetime
    detected_at: datetime | None = None
    removed_at: datetime | None = None
    last_present_at: datetime | None = None
    status: int | None = None
    answer: str = ""

    @property
    def removal_time(self) -> datetime:
        """When the location was first found gone (``removed_at``, else ``at``)."""
        return self.removed_at or self.at


@_register
@dataclass(frozen=True, kw_only=True)
class ReappearanceDetected(Event):
    """Material confirmed removed was seen again (``where``: same_url, same_provider, other).
    ``location_id`` is the new location (in notice ``notice_ref``); ``previous_*`` describe the
    removed one it is linked to."""

    kind: ClassVar[str] = "reappearance_detected"
    sighting_id: str
    previous_location_id: str
    provider: str
    provider_id: str = ""
    where: str
    country: str = ""
    location_id: str = ""
    notice_ref: str = ""
    previous_provider_id: str = ""
    previous_provider: str = ""
    previous_removed_at: datetime | None = None


@_register
@dataclass(frozen=True, kw_only=True)
class UploadChecked(Event):
    """A platform key checked an upload or hash (``outcome``: block, review, allow)."""

    kind: ClassVar[str] = "upload_checked"
    key_id: str
    organisation: str
    outcome: str
    match_type: str = ""  # "exact", "near" or "" for no match
    automated: bool = True


# --- self-submitted hashes and removal requests (keepdown/submissions) ---


@_register
@dataclass(frozen=True, kw_only=True)
class SelfSubmissionReceived(Event):
    """A person sent the hashes of their own pictures and videos (counts only: never a hash,
    never the case number). ``shared``: platforms may use them."""

    kind: ClassVar[str] = "self_submission_received"
    submission_id: str
    programme: str  # "minors" or "adults"
    shared: bool
    images: int
    videos: int
    hashes: int


@_register
@dataclass(frozen=True, kw_only=True)
class SelfSubmissionWithdrawn(Event):
    """The person withdrew a submission with its PIN; ``hashes_removed`` bank entries became
    tombstones (a hash another active submission still holds stays)."""

    kind: ClassVar[str] = "self_submission_withdrawn"
    submission_id: str
    programme: str
    hashes_removed: int


@_register
@dataclass(frozen=True, kw_only=True)
class UploadHeld(Event):
    """A platform's upload matched a self-submitted bank: held until an analyst decides."""

    kind: ClassVar[str] = "upload_held"
    hold_id: str
    organisation: str
    bank: str
    match_type: str


@_register
@dataclass(frozen=True, kw_only=True)
class HoldDecided(Event):
    """An analyst decided a held upload (``decision``: confirm, not_a_match); a confirmed one
    opens removal request ``request_id``."""

    kind: ClassVar[str] = "hold_decided"
    hold_id: str
    decision: str
    analyst: str
    bank: str
    request_id: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class RemovalRequested(Event):
    """A removal request reached keepdown (``origin``: person, self-submission): its clock
    runs from ``received_at`` and the removal is due by ``due_at``."""

    kind: ClassVar[str] = "removal_requested"
    request_id: str
    organisation: str
    origin: str
    received_at: datetime
    due_at: datetime


@_register
@dataclass(frozen=True, kw_only=True)
class RemovalItemFound(Event):
    """A copy to remove was added to a request (``how``: named, upload, sweep)."""

    kind: ClassVar[str] = "removal_item_found"
    request_id: str
    item_id: str
    how: str
    match_type: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class RemovalItemRemoved(Event):
    """A copy named in a request was removed (``by``: who recorded it)."""

    kind: ClassVar[str] = "removal_item_removed"
    request_id: str
    item_id: str
    by: str
    removed_at: datetime


@_register
@dataclass(frozen=True, kw_only=True)
class RemovalRequestClosed(Event):
    """Every copy a request found is removed: the clock stops at ``closed_at``."""

    kind: ClassVar[str] = "removal_request_closed"
    request_id: str
    organisation: str
    origin: str
    received_at: datetime
    due_at: datetime
    closed_at: datetime
    items: int

    @property
    def hours(self) -> float:
        return (self.closed_at - self.received_at).total_seconds() / 3600

    @property
    def in_time(self) -> bool:
        return self.closed_at <= self.due_at


@_register
@dataclass(frozen=True, kw_only=True)
class RemovalRequestWithdrawn(Event):
    """A request ended without removal (``reason``: the person withdrew, or an analyst found
    the request invalid)."""

    kind: ClassVar[str] = "removal_request_withdrawn"
    request_id: str
    organisation: str
    origin: str
    reason: str


@_register
@dataclass(frozen=True, kw_only=True)
class RemovalSweepFinished(Event):
    """A sweep of the platform's stored content for one request's copies ended."""

    kind: ClassVar[str] = "removal_sweep_finished"
    request_id: str
    sources: int
    items_seen: int
    found: int
    seconds: float


# --- review (keepdown/review) ---


@_register
@dataclass(frozen=True, kw_only=True)
class MediaRevealed(Event):
    """An analyst chose to see a review item's media unblurred (also in the audit log)."""

    kind: ClassVar[str] = "media_revealed"
    sighting_id: str
    analyst: str
    bank: str = ""


# --- reports and finance (keepdown/reports, keepdown/finance) ---

# --- exchanges (keepdown/exchanges) ---


@_register
@dataclass(frozen=True, kw_only=True)
class FeedSynced(Event):
    """One run of a feed from a hash exchange ended (``status``: the feed's status after it:
    idle, retrying, stalled, failed). Counts are bank entries, except ``records`` (exchange
    records applied), ``stale`` (older than what the feed had) and ``bad`` (unreadable)."""

    kind: ClassVar[str] = "feed_synced"
    feed: str
    exchange: str
    status: str
    pages: int = 0
    records: int = 0
    stale: int = 0
    bad: int = 0
    added: int = 0
    restored: int = 0
    removed: int = 0
    guarded: int = 0
    reconciled: int = 0
    caught_up: bool = False
    seconds: float = 0.0
    error: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class FeedbackSent(Event):
    """An analyst's decision on a match went back to the exchange the entry came from
    (``verdict``: positive or negative; ``outcome``: sent, failed)."""

    kind: ClassVar[str] = "feedback_sent"
    feed: str
    exchange: str
    record_key: str
    signal_type: str
    verdict: str
    outcome: str
    decision_id: str = ""
    attempts: int = 1
    error: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class HashesSubmitted(Event):
    """Hashes of a bank were submitted to an exchange (write-back; ``outcome``: sent, failed)."""

    kind: ClassVar[str] = "hashes_submitted"
    bank: str
    feed: str
    exchange: str
    count: int
    outcome: str
    error: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class EntryQuarantined(Event):
    """A bank entry matched far more than its baseline and stopped acting alone: its matches go
    to review until an analyst lifts the quarantine."""

    kind: ClassVar[str] = "entry_quarantined"
    bank: str
    entry_id: int
    signal_type: str
    matches: int  # in the window
    baseline: float  # matches per window, usually
    threshold: int
    window_seconds: int
    source: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class QuarantineLifted(Event):
    """An analyst lifted an entry's quarantine (or removed the entry)."""

    kind: ClassVar[str] = "quarantine_lifted"
    bank: str
    entry_id: int
    analyst: str
    outcome: str  # "lifted" (the entry acts again) or "removed" (tombstoned as false positive)
    note: str = ""


# --- filings: records for authorities (keepdown/filings) ---
# Producers: the CyberTipline outbox (CyberTip*), the statements-of-reasons outbox
# (StatementsSubmitted), an analyst recording a referral by hand (ReferralMade). No event here
# carries a hash, a URL, a reported person's details or a credential: those stay in the filing
# records (``keepdown/filings``), which only the organisation that filed them reads.


@_register
@dataclass(frozen=True, kw_only=True)
class CyberTipDrafted(Event):
    """A CyberTipline report was drafted for NCMEC (``source``: upload or sighting), rendered
    once; ``approval``: it waits for a second person before it is sent."""

    kind: ClassVar[str] = "cybertip_drafted"
    report_ref: str
    organisation: str
    source: str
    environment: str  # "test" (NCMEC discards it) or "production"
    files: int = 0
    drafted_by: str = ""
    approval: bool = False


@_register
@dataclass(frozen=True, kw_only=True)
class CyberTipStep(Event):
    """One step of a CyberTipline report through NCMEC's reporting service.

    ``step``: approved, opened (the report exists at NCMEC: ``ncmec_report_id``),
    file_uploaded, file_described, finished, retracted, failed, restarted (NCMEC no longer
    had the open report: a new one is opened). ``detail`` says why for retracted, failed and
    restarted; ``code`` is NCMEC's response code when it gave one."""

    kind: ClassVar[str] = "cybertip_step"
    report_ref: str
    organisation: str
    environment: str
    step: str
    ncmec_report_id: str = ""
    file_id: str = ""
    by: str = ""
    code: str = ""
    detail: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class ReferralMade(Event):
    """Material was referred to an authority outside keepdown (``to``: ncmec,
    law_enforcement, hotline): a finished CyberTipline report in NCMEC's production service,
    or a referral an analyst recorded. ``reference`` is the recipient's own number (NCMEC's
    report id, a police case number) when there is one; ``items`` how many files or
    locations it named."""

    kind: ClassVar[str] = "referral_made"
    to: str
    organisation: str
    source: str  # "upload", "sighting", "manual"
    reference: str = ""
    recipient: str = ""  # e.g. the law enforcement agency or the hotline's name
    items: int = 0
    by: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class StatementsSubmitted(Event):
    """A batch of statements of reasons went to the DSA Transparency Database: ``accepted``
    created now, ``existing`` found there already (their PUID was taken: an earlier attempt
    got through), ``invalid`` refused one by one (they wait for an operator)."""

    kind: ClassVar[str] = "statements_submitted"
    organisation: str
    environment: str  # "sandbox" or "production"
    accepted: int = 0
    existing: int = 0
    invalid: int = 0


# --- the URL block list (keepdown/blocklist) ---


@_register
@dataclass(frozen=True, kw_only=True)
class BlocklistEntryAdded(Event):
    """An entry joined the block list at ``serial`` (``entry_kind``: url or domain; ``reason``:
    location, domain, canary)."""

    kind: ClassVar[str] = "blocklist_entry_added"
    serial: int
    entry_kind: str
    target: str
    reason: str
    provider: str = ""
    classification: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class BlocklistEntryRemoved(Event):
    """An entry left the block list at ``serial`` (``why``: removed, appeal, lifted...)."""

    kind: ClassVar[str] = "blocklist_entry_removed"
    serial: int
    entry_kind: str
    target: str
    why: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class BlocklistDomainDecided(Event):
    """An analyst listed (``listed`` True) or lifted a whole domain."""

    kind: ClassVar[str] = "blocklist_domain_decided"
    domain: str
    listed: bool
    reason: str = ""
    by: str = ""


@_register
@dataclass(frozen=True, kw_only=True)
class BlocklistAppealed(Event):
    """Someone asked for a listed URL or domain to be reviewed."""

    kind: ClassVar[str] = "blocklist_appealed"
    appeal_id: int
    target: str


@_register
@dataclass(frozen=True, kw_only=True)
class BlocklistAppealDecided(Event):
    """An analyst decided an appeal: ``upheld`` (delisted) or ``rejected`` (stays listed)."""

    kind: ClassVar[str] = "blocklist_appeal_decided"
    appeal_id: int
    target: str
    outcome: str
    by: str = ""


# --- federation between hotlines (keepdown/federation; docs/federation.md) ---


@_register
@dataclass(frozen=True, kw_only=True)
class PeerReferralSent(Event):
    """A referral to a peer hotline was delivered (``at``: when it was accepted there)."""

    kind: ClassVar[str] = "peer_referral_sent"
    peer: str
    reference: str
    country: str = ""
    items: int = 0
    planned_at: datetime | None = None


@_register
@dataclass(frozen=True, kw_only=True)
class PeerReferralReceived(Event):
    """A peer hotline's referral was accepted here (``known``: items already assessed)."""

    kind: ClassVar[str] = "peer_referral_received"
    peer: str
    reference: str
    report_ref: str = ""
    items: int = 0
    known: int = 0


@_register
@dataclass(frozen=True, kw_only=True)
class PeerReferralStatus(Event):
    """A peer reported a status of one of our referrals (``status_at``: when it happened
    there; ``at``: when we accepted the callback)."""

    kind: ClassVar[str] = "peer_referral_status"
    peer: str
    reference: str
    status: str
    status_at: datetime
    reason: str = ""


# --- workers and scans (keepdown/tasks, keepdown/scan) ---


@_register
@dataclass(frozen=True, kw_only=True)
class ScanFinished(Event):
    """One run of ``keepdown scan`` ended (``complete`` False: interrupted or items left)."""

    kind: ClassVar[str] = "scan_finished"
    source: str
    items: int  # items in the report after this run (earlier runs included)
    hashed: int  # items hashed by this run
    matched: int
    errors: int
    seconds: float
    complete: bool = True


@_register
@dataclass(frozen=True, kw_only=True)
class TaskRan(Event):
    """A background task ran on a worker (``outcome``: ok, skipped, failed)."""

    kind: ClassVar[str] = "task_ran"
    task: str
    outcome: str
    seconds: float
    detail: str = ""


class EventSink(Protocol):
    """Anything that accepts events."""

    def emit(self, event: Event) -> None: ...


class EventSource(Protocol):
    """Anything that gives recorded events back, in the order they were recorded."""

    def read(
        self,
        kind: str | None = None,
        *,
        since: datetime | None = None,
        kinds: Sequence[str] | None = None,
        until: datetime | None = None,
    ) -> Iterator[Event]: ...


class EventStore(EventSink, EventSource, Protocol):
    """Accepts events and gives them back (``keepdown.storage``'s store; :class:`EventLog`)."""


@dataclass
class EventLog:
    """In-memory event sink: keeps events in order, counts them by kind, notifies subscribers."""

    events: list[Event] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    _subscribers: list[Callable[[Event], None]] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.events.append(event)
        self.stats[f"{event.kind}/count"] += 1
        for subscriber in list(self._subscribers):
            subscriber(event)

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        self._subscribers.append(callback)

    def of(self, cls: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, cls)]

    def read(
        self,
        kind: str | None = None,
        *,
        since: datetime | None = None,
        kinds: Sequence[str] | None = None,
        until: datetime | None = None,
    ) -> Iterator[Event]:
        """The events kept, filtered as :class:`EventSource` says."""
        for e in list(self.events):
            wanted = (kind is None or e.kind == kind) and (kinds is None or e.kind in kinds)
            if wanted and (since is None or e.at >= since) and (until is None or e.at < until):
                yield e

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)
