"""Request and response shapes of the notice endpoints (keepdown.api.notices and
keepdown.api.notice_links): what a notice, a location, a delivery and the figures look like
over HTTP. Never any content: URLs, hashes, states and times."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from keepdown.api.deps import ROW_ID_MAX
from keepdown.notices.model import Location, Notice

__all__ = [
    "AnswerIn",
    "ConfirmIn",
    "DeliveryList",
    "DeliveryOut",
    "DisputeIn",
    "FiguresList",
    "FiguresOut",
    "LocationIn",
    "LocationOut",
    "NoticeList",
    "NoticeOut",
    "ReopenIn",
    "ReviewIn",
]


class LocationOut(BaseModel):
    id: int
    media_url: str
    archive_member: str
    page_url: str
    sha256: str
    md5: str
    pdq: str | None
    category: str | None
    state: str
    detection: str
    detected_at: datetime | None
    first_notice_at: datetime | None
    last_notice_at: datetime | None
    notices_sent: int
    acknowledged_at: datetime | None
    removal_reported_at: datetime | None
    escalated_at: datetime | None
    disputed_at: datetime | None
    dispute_reason: str
    reviewed_at: datetime | None
    review_outcome: str | None
    removed_at: datetime | None
    last_check_at: datetime | None
    last_check_result: str | None
    next_check_at: datetime | None
    reappearance_of: int | None
    reappearance_where: str | None
    last_present_at: datetime | None = None
    gone_since: datetime | None = None
    reopened_at: datetime | None = None
    last_seen_at: datetime | None = None
    seen_again: bool = False

    @classmethod
    def of(cls, loc: Location) -> LocationOut:
        s = loc.status
        return cls(
            id=loc.id,
            media_url=loc.media_url,
            archive_member=loc.archive_member,
            page_url=loc.page_url,
            sha256=loc.sha256,
            md5=loc.md5,
            pdq=loc.pdq,
            category=loc.category,
            state=s.state.value,
            detection=loc.detection,
            detected_at=s.detected_at,
            first_notice_at=s.first_notice_at,
            last_notice_at=s.last_notice_at,
            notices_sent=s.notices_sent,
            acknowledged_at=s.acknowledged_at,
            removal_reported_at=s.removal_reported_at,
            escalated_at=s.escalated_at,
            disputed_at=s.disputed_at,
            dispute_reason=loc.dispute_reason,
            reviewed_at=s.reviewed_at,
            review_outcome=s.review_outcome,
            removed_at=s.removed_at,
            last_check_at=s.last_check_at,
            last_check_result=s.last_check_result.value if s.last_check_result else None,
            next_check_at=s.next_check_at,
            reappearance_of=loc.reappearance_of,
            reappearance_where=loc.reappearance_where,
            last_present_at=s.last_present_at,
            gone_since=s.gone_since,
            reopened_at=s.reopened_at,
            last_seen_at=loc.last_seen_at,
            seen_again=loc.seen_again,
        )


class NoticeOut(BaseModel):
    reference: str
    provider: str
    state: str
    language: str
    reappearance: bool
    created_at: datetime
    first_sent_at: datetime | None
    last_sent_at: datetime | None
    acknowledged_at: datetime | None
    escalated_at: datetime | None
    closed_at: datetime | None
    locations: list[LocationOut]

    @classmethod
    def of(cls, n: Notice) -> NoticeOut:
        return cls(
            reference=n.reference,
            provider=n.provider,
            state=n.state.value,
            language=n.language,
            reappearance=n.reappearance,
            created_at=n.created_at,
            first_sent_at=n.first_sent_at,
            last_sent_at=n.last_sent_at,
            acknowledged_at=n.acknowledged_at,
            escalated_at=n.escalated_at,
            closed_at=n.closed_at,
            locations=[LocationOut.of(loc) for loc in n.locations],
        )


class NoticeList(BaseModel):
    notices: list[NoticeOut]


class DeliveryOut(BaseModel):
    id: int
    reference: str
    kind: str
    channel: str
    recipients: list[str]
    location_ids: list[int]
    message_key: str
    subject: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delivery_id: int = Field(ge=1, le=ROW_ID_MAX)
    delivered: bool = Field(description="True: it reached the provider; false: send it again")


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=32)
    location_id: int = Field(ge=1, le=ROW_ID_MAX)
    outcome: Literal["upheld", "rejected"]


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=32)
    location_id: int = Field(ge=1, le=ROW_ID_MAX)
    reason: str = Field("", max_length=500)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=32)
    action: Literal["acknowledge", "removed", "dispute"]
    location_id: int | None = Field(default=None, ge=1, le=ROW_ID_MAX)
    reason: str = Field(default="", max_length=4000)


class LocationIn(BaseModel):
    location_id: int = Field(ge=1, le=ROW_ID_MAX)


class DisputeIn(LocationIn):
    reason: str = Field(min_length=1, max_length=4000)


class FiguresOut(BaseModel):
    """One provider's figures (or the totals), as :func:`keepdown.reports.provider_row`
    names them: ``keepdown notices figures --json`` prints the same. Hours at full precision;
    shares are None when nothing was notified."""

    provider_id: str
    provider: str
    country: str
    notices: int
    notified: int
    removed: int
    still_present: int
    withdrawn: int
    reopened: int
    median_removal_hours: float | None
    p90_removal_hours: float | None
    share_removed_24h: float | None
    share_removed_7d: float | None
    share_removed_42d: float | None
    precision_median_hours: float | None
    precision_max_hours: float | None
    median_detection_to_notice_hours: float | None
    median_notice_to_ack_hours: float | None
    renotices: int
    escalations: int
    removals_reported: int
    deliveries_failed: int
    reappearances: int
    reappearances_by_where: dict[str, int]
    disputes_opened: int
    disputes_upheld: int
    disputes_rejected: int
    disputes_pending: int
    removal_hours: list[float]


class PeriodOut(BaseModel):
    label: str
    start: str
    end: str
    last_day: str


class FiguresList(BaseModel):
    period: PeriodOut
    providers: list[FiguresOut]
    totals: FiguresOut
