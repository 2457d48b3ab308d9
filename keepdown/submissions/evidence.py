"""The evidence pack of a removal request: what was removed, when, and how keepdown knows.

A platform under a 48-hour duty (the US TAKE IT DOWN Act) must be able to show, for each
request, when it arrived, what it removed and when, and that it looked for identical copies.
:func:`evidence_pack` writes that down from keepdown's own records, as one JSON document:

- ``request``: reference, platform, origin, received / due / closed times, the clock's
  verdict (closed in time or late, or still due / overdue) and the hours taken;
- ``copies``: every copy found (named in the request, the held upload, found by a sweep) with
  how it matched (exact or near, and the distance), when it was found and when it was removed
  (and by whom: the platform, an analyst, or a sweep that found it no longer stored), or why
  it was dismissed;
- ``looked_for``: how many hashes of each type the sweeps looked for (never the values: they
  are a person's pictures' hashes);
- ``sweeps`` and ``timeline``: every sweep and every recorded event of the request, in order;
- ``sha256``: the digest of the canonical JSON of everything above, so a copy can be checked.

What never appears: the case number, the PIN, the person's contact details, any hash value of
a submission, any picture.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime
from typing import Any

from keepdown.events import Event, EventSource
from keepdown.submissions.model import HashKey
from keepdown.submissions.requests import RemovalItem, RemovalRequest

__all__ = ["EVENT_KINDS", "evidence_pack"]

#: The events that belong to a request's timeline.
EVENT_KINDS = (
    "removal_requested",
    "removal_item_found",
    "removal_item_removed",
    "removal_request_closed",
    "removal_request_withdrawn",
    "removal_sweep_finished",
    "hold_decided",
    "upload_held",
)


def evidence_pack(
    request: RemovalRequest,
    hashes: set[HashKey],
    events: EventSource,
    *,
    now: datetime,
    operator: str,
) -> dict[str, Any]:
    """The pack (module docstring); ``now`` is when it was made."""
    timeline = [e for e in events.read(kinds=EVENT_KINDS) if _belongs(e, request)]
    body: dict[str, Any] = {
        "evidence_pack": "keepdown removal request",
        "version": 1,
        "operator": operator,
        "generated_at": now.isoformat(),
        "request": _request(request, now),
        "copies": [_copy(i, request) for i in request.items],
        "looked_for": dict(sorted(Counter(signal for signal, _ in hashes).items())),
        "sweeps": [_event(e) for e in timeline if e.kind == "removal_sweep_finished"],
        "timeline": [_event(e) for e in timeline if e.kind != "removal_sweep_finished"],
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    body["sha256"] = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return body


def verify(pack: dict[str, Any]) -> bool:
    """True when ``pack`` is unchanged since it was made (its digest still holds)."""
    body = {k: v for k, v in pack.items() if k != "sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest() == pack.get("sha256")


def _request(request: RemovalRequest, now: datetime) -> dict[str, Any]:
    closed = request.first_closed_at
    return {
        "reference": request.reference,
        "platform": request.organisation,
        "origin": request.origin.value,
        "received_at": request.received_at.isoformat(),
        "due_at": request.due_at.isoformat(),
        "state": request.state.value,
        "closed_at": request.closed_at.isoformat() if request.closed_at else None,
        "first_closed_at": closed.isoformat() if closed else None,
        "clock": request.clock(now).value,
        "hours_to_close": _hours(request.received_at, closed),
        "ended_reason": request.ended_reason,
        "description": request.description,
        "recorded_by": request.created_by,
    }


def _copy(item: RemovalItem, request: RemovalRequest) -> dict[str, Any]:
    return {
        "content": item.content_ref,
        "found_by": item.how.value,
        "source": item.source,
        "match": item.match_type,
        "signal": item.signal_type,
        "distance": item.distance,
        "sha256": item.sha256,
        "pdq": item.pdq,
        "found_at": item.found_at.isoformat(),
        "removed_at": item.removed_at.isoformat() if item.removed_at else None,
        "removed_by": item.removed_by,
        "removed_in_time": None if item.removed_at is None else item.removed_at <= request.due_at,
        "hours_to_removal": _hours(request.received_at, item.removed_at),
        "seen_again_at": item.seen_again_at.isoformat() if item.seen_again_at else None,
        "dismissed_at": item.dismissed_at.isoformat() if item.dismissed_at else None,
        "dismissed_by": item.dismissed_by,
        "note": item.removal_note,
    }


def _event(event: Event) -> dict[str, Any]:
    data = event.to_dict()
    data.pop("organisation", None)
    return data


def _belongs(event: Event, request: RemovalRequest) -> bool:
    if getattr(event, "request_id", None) == str(request.id):
        return True
    hold = str(request.hold_id) if request.hold_id is not None else None
    return hold is not None and getattr(event, "hold_id", None) == hold


def _hours(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds() / 3600, 2)
