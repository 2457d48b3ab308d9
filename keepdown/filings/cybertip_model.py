"""CyberTipline reports as keepdown keeps them: the facts a report is built from, the report
record with its files, the states it goes through, and the store it lives in.

A report's life (the outbox, :mod:`keepdown.filings.cybertip_outbox`, moves it)::

    drafted ──► awaiting_approval ──(a second person)──► ready ──► open ──► finished
                      │                                   ▲  │       │
                      └──► cancelled                      │  ▼       ├──► retracted
                                                 restarted└── open   └──► failed

``ready``: rendered and due to be opened at NCMEC. ``open``: NCMEC gave it a report id; its
files are uploaded and described one step at a time. ``finished``: NCMEC has it for good.
``retracted``: withdrawn at NCMEC before it was finished (by an operator, or because it could
not be completed). ``failed``: keepdown gave up; ``last_error`` says why and an operator may
send it again (``retry``: a new report at NCMEC). Reporter details, the reported person's
details and the files' hashes are kept here and never in an event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from keepdown.events import Event

__all__ = [
    "CyberTipDraft",
    "CyberTipReport",
    "CyberTipStore",
    "FileFacts",
    "IpEvent",
    "ReportChange",
    "ReportFile",
    "ReportState",
    "ReportedUser",
    "Source",
    "Step",
    "facts_from_json",
    "facts_to_json",
]


class ReportState(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    READY = "ready"
    OPEN = "open"
    FINISHED = "finished"
    RETRACTED = "retracted"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: States in which the outbox still has work to do.
ACTIVE = frozenset({ReportState.READY, ReportState.OPEN})
#: States a report never leaves on its own.
SETTLED = frozenset(
    {ReportState.FINISHED, ReportState.RETRACTED, ReportState.FAILED, ReportState.CANCELLED}
)


class Step(StrEnum):
    """The calls to NCMEC's service, in the order a report makes them (retract: instead)."""

    SUBMIT = "submit"
    UPLOAD = "upload"
    FILEINFO = "fileinfo"
    FINISH = "finish"
    RETRACT = "retract"


class Source(StrEnum):
    """What a report is about: a platform's upload, or a sighting of keepdown's crawler."""

    UPLOAD = "upload"
    SIGHTING = "sighting"


@dataclass(frozen=True)
class IpEvent:
    """An IP address and what happened from it (NCMEC's ``ipCaptureEvent``)."""

    ip: str
    event: str = "Upload"  # Login, Registration, Purchase, Upload, Other, Unknown
    at: datetime | None = None
    port: int | None = None
    possible_proxy: bool | None = None


@dataclass(frozen=True)
class ReportedUser:
    """What a platform says about the account that uploaded the file (all optional: the
    platform knows its users, keepdown does not)."""

    esp_identifier: str = ""
    screen_name: str = ""
    display_name: str = ""
    emails: tuple[str, ...] = ()
    profile_url: str = ""
    ip_events: tuple[IpEvent, ...] = ()
    account_disabled: bool | None = None

    @property
    def empty(self) -> bool:
        return not (
            self.esp_identifier
            or self.screen_name
            or self.display_name
            or self.emails
            or self.profile_url
            or self.ip_events
        )


@dataclass(frozen=True)
class FileFacts:
    """One file a report names. ``viewed``: a person of the reporting organisation saw the
    whole file (NCMEC's ``fileViewedByEsp``), taken from keepdown's record of reveals for a
    sighting and from the platform's own word for an upload. ``preserved``: the operator kept
    a copy keepdown can upload (``keepdown.filings.preserved``)."""

    sha256: str
    md5: str = ""
    sha1: str = ""
    file_name: str = ""
    location: str = ""  # where it was seen (a sighting's media URL)
    uploaded_at: datetime | None = None
    viewed: bool = False
    publicly_available: bool | None = None
    industry_classification: str = ""  # A1, A2, B1, B2 or ""
    preserved: bool = False
    ip_events: tuple[IpEvent, ...] = ()


@dataclass(frozen=True)
class CyberTipDraft:
    """Everything a report is rendered from, gathered by :mod:`keepdown.filings.cybertip_draft`."""

    organisation: str
    source: Source
    source_ref: str
    environment: str
    incident_at: datetime
    files: tuple[FileFacts, ...]
    drafted_by: str
    user: ReportedUser = field(default_factory=ReportedUser)
    page_urls: tuple[str, ...] = ()
    additional_info: str = ""
    escalate: str = ""
    approval: bool = False


@dataclass(frozen=True)
class ReportFile:
    """A file of a stored report, with what NCMEC said about it so far."""

    id: int
    position: int
    facts: FileFacts
    ncmec_file_id: str = ""
    uploaded: datetime | None = None
    described: datetime | None = None


@dataclass(frozen=True)
class CyberTipReport:
    """A stored report (module docstring)."""

    id: int
    organisation: str
    source: Source
    source_ref: str
    environment: str
    state: ReportState
    report_xml: bytes
    files: tuple[ReportFile, ...]
    drafted_by: str
    drafted_at: datetime
    approved_by: str = ""
    approved_at: datetime | None = None
    ncmec_report_id: str = ""
    opened_at: datetime | None = None
    last_step_at: datetime | None = None
    finished_at: datetime | None = None
    in_flight: Step | None = None
    lease_expires: datetime | None = None
    attempts: int = 0
    restarts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    last_code: str = ""
    #: An open report to withdraw at NCMEC before anything else, and what follows:
    #: "restart" (open a new one), "fail" (give up) or "operator" (an operator withdrew it).
    retract_then: str = ""

    @property
    def reference(self) -> str:
        """keepdown's own name of the report (NCMEC's number is ``ncmec_report_id``)."""
        return f"CT-{self.id:06d}"

    def next_step(self) -> tuple[Step, ReportFile | None] | None:
        """What the outbox does next for this report, or None when it has nothing to do."""
        if self.state is ReportState.READY:
            return Step.SUBMIT, None
        if self.state is not ReportState.OPEN:
            return None
        if self.retract_then:
            return Step.RETRACT, None
        for f in self.files:
            if f.facts.preserved and not f.ncmec_file_id:
                return Step.UPLOAD, f
            if f.ncmec_file_id and f.described is None:
                return Step.FILEINFO, f
        return Step.FINISH, None

    def summary(self) -> dict[str, Any]:
        """What lists and the API show: no hash, no reported person, no XML."""
        return {
            "reference": self.reference,
            "organisation": self.organisation,
            "source": self.source.value,
            "environment": self.environment,
            "state": self.state.value,
            "ncmec_report_id": self.ncmec_report_id,
            "files": len(self.files),
            "files_uploaded": sum(1 for f in self.files if f.ncmec_file_id),
            "drafted_by": self.drafted_by,
            "drafted_at": self.drafted_at.isoformat(),
            "approved_by": self.approved_by,
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "attempts": self.attempts,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "last_code": self.last_code,
        }


@dataclass
class ReportChange:
    """What one step changes: report columns (``report``) and file columns by file id
    (``files``), with the events written in the same transaction."""

    report: dict[str, Any] = field(default_factory=dict)
    files: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)


class CyberTipStore(Protocol):
    """Where reports live (SQL in ``keepdown.storage``; :class:`~keepdown.filings.memory`)."""

    def add(
        self,
        draft: CyberTipDraft,
        report_xml: bytes,
        state: ReportState,
        now: datetime,
        events: Callable[[CyberTipReport], Sequence[Event]],
    ) -> CyberTipReport:
        """Store a new report with the events ``events`` gives for it, in one transaction;
        Conflict when one for the same source exists already."""
        ...

    def get(self, report_id: int) -> CyberTipReport: ...

    def find(self, organisation: str, source: Source, source_ref: str) -> CyberTipReport | None: ...

    def select(
        self,
        *,
        organisation: str | None = None,
        states: Sequence[ReportState] | None = None,
        limit: int = 100,
    ) -> list[CyberTipReport]: ...

    def due(self, now: datetime, limit: int = 100) -> list[int]:
        """Active reports nobody holds, whose next attempt is due."""
        ...

    def expired(self, now: datetime) -> list[CyberTipReport]:
        """Reports whose step was claimed under a lease that ran out (a sender died)."""
        ...

    def claim(
        self, report_id: int, step: Step, now: datetime, lease_seconds: float
    ) -> CyberTipReport | None:
        """Mark ``step`` in flight under a lease, if nobody holds the report; the report."""
        ...

    def apply(
        self,
        report_id: int,
        decide: Callable[[CyberTipReport], ReportChange | None],
        *,
        in_flight: Step | None = None,
    ) -> CyberTipReport | None:
        """Apply ``decide``'s change atomically (with its events). ``in_flight``: only if that
        step is still the one in flight (a sender whose lease was taken over changes nothing).
        None when nothing changed."""
        ...


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def facts_to_json(f: FileFacts) -> dict[str, Any]:
    """A file's facts as a JSON object (the SQL store keeps them so)."""
    return {
        "sha256": f.sha256,
        "md5": f.md5,
        "sha1": f.sha1,
        "file_name": f.file_name,
        "location": f.location,
        "uploaded_at": _when(f.uploaded_at),
        "viewed": f.viewed,
        "publicly_available": f.publicly_available,
        "industry_classification": f.industry_classification,
        "preserved": f.preserved,
        "ip_events": [
            {
                "ip": e.ip,
                "event": e.event,
                "at": _when(e.at),
                "port": e.port,
                "possible_proxy": e.possible_proxy,
            }
            for e in f.ip_events
        ],
    }


def facts_from_json(data: dict[str, Any]) -> FileFacts:
    """The inverse of :func:`facts_to_json`."""
    events = tuple(
        IpEvent(
            ip=str(e["ip"]),
            event=str(e.get("event") or "Upload"),
            at=_parse_when(e.get("at")),
            port=e.get("port"),
            possible_proxy=e.get("possible_proxy"),
        )
        for e in data.get("ip_events", [])
    )
    return FileFacts(
        sha256=str(data["sha256"]),
        md5=str(data.get("md5", "")),
        sha1=str(data.get("sha1", "")),
        file_name=str(data.get("file_name", "")),
        location=str(data.get("location", "")),
        uploaded_at=_parse_when(data.get("uploaded_at")),
        viewed=bool(data.get("viewed", False)),
        publicly_available=data.get("publicly_available"),
        industry_classification=str(data.get("industry_classification", "")),
        preserved=bool(data.get("preserved", False)),
        ip_events=events,
    )
