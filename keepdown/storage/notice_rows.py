"""Rows of the notice tables to notice values and back, and the queries they come from.

Shared by :mod:`keepdown.storage.notice_store` (notices, locations) and
:mod:`keepdown.storage.outbox_store` (deliveries), so both read the same shapes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.engine import Connection

from keepdown.events import Event
from keepdown.notices.lifecycle import CheckResult, LocationState, LocationStatus
from keepdown.notices.model import Delivery, DeliveryKind, DeliveryState, Location
from keepdown.storage.event_store import insert_events
from keepdown.storage.tables_notices import notice_deliveries, notices
from keepdown.storage.tables_providers import providers

__all__ = [
    "DELIVERY_QUERY",
    "NOTICE_QUERY",
    "delivery_of",
    "emit",
    "location_of",
    "status_values",
    "url_key",
]

_STATUS_FIELDS = [f.name for f in fields(LocationStatus)]

NOTICE_QUERY = select(
    notices,
    providers.c.name.label("provider_name"),
    providers.c.country.label("provider_country"),
).join(providers, providers.c.id == notices.c.provider_id)
DELIVERY_QUERY = select(notice_deliveries, notices.c.reference).join(
    notices, notices.c.id == notice_deliveries.c.notice_id
)


def url_key(url: str) -> str:
    """The sha256 of a URL: finds "the same URL" without indexing long text."""
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def _status(row: Row[Any]) -> LocationStatus:
    values = {name: getattr(row, name) for name in _STATUS_FIELDS}
    values["state"] = LocationState(values["state"])
    if values["last_check_result"] is not None:
        values["last_check_result"] = CheckResult(values["last_check_result"])
    return LocationStatus(**values)


def status_values(s: LocationStatus) -> dict[str, Any]:
    values = {name: getattr(s, name) for name in _STATUS_FIELDS}
    values["state"] = s.state.value
    values["last_check_result"] = s.last_check_result.value if s.last_check_result else None
    return values


def location_of(row: Row[Any]) -> Location:
    return Location(
        id=row.id,
        notice_id=row.notice_id,
        provider_id=row.provider_id,
        sighting_id=row.sighting_id,
        media_url=row.media_url,
        archive_member=row.archive_member,
        page_url=row.page_url,
        host=row.host,
        sha256=row.sha256,
        md5=row.md5,
        pdq=row.pdq,
        bank=row.bank,
        entry_id=row.entry_id,
        category=row.category,
        detection=row.detection,
        status=_status(row),
        dispute_reason=row.dispute_reason,
        reappearance_of=row.reappearance_of,
        reappearance_where=row.reappearance_where,
        last_seen_at=row.last_seen_at,
    )


def delivery_of(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        notice_id=row.notice_id,
        reference=row.reference,
        kind=DeliveryKind(row.kind),
        channel=row.channel,
        recipients=tuple(row.recipients or ()),
        location_ids=tuple(int(i) for i in row.location_ids or ()),
        message_key=row.message_key,
        subject=row.subject,
        body=row.body,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        claimed_at=row.claimed_at,
        handover_at=row.handover_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
    )


def emit(conn: Connection, batch: Sequence[Event]) -> None:
    """Append events in the caller's transaction (state and events commit together). Call it
    last: on PostgreSQL the event chain's lock is held from here to the commit."""
    insert_events(conn, batch)
