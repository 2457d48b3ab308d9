"""Statements of reasons (DSA Art. 17 and 24(5)) from the decisions a platform takes with keepdown.

A decision is read from the event log, never entered by hand:

====================  ==================================================  ==================
decision              events                                              source type
====================  ==================================================  ==================
upload blocked        ``UploadChecked`` with outcome ``block``            own initiative
held upload refused   ``HoldDecided`` confirm, with its ``UploadHeld``    own initiative
copy removed          ``RemovalItemRemoved`` of a request opened from a   Art. 16 notice
                      confirmed hold (``RemovalRequested``, ``HoldDecided``)
====================  ==================================================  ==================

Each becomes one statement in the Transparency Database's format, checked against the
schema keepdown keeps (``schemas/dsa_statement.schema.json``). Its PUID (platform unique
identifier) is derived from the decision's event (a digest of the event's fields), so making
the statements again gives the same PUIDs and a resubmission is recognised by the database as
a duplicate instead of a second statement. Statements never carry a hash, a URL or anyone's
details: the facts are written in general terms (``decision_facts``).

What the events do not say is the platform's to set in its profile
(:class:`~keepdown.filings.profiles.DsaProfile`): the territorial scope, the legal ground and
its explanation, the content type. A decision whose category cannot be told from the events
(a removal request that did not come from a held upload) is listed as undetermined, for the
platform to file itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keepdown.events import (
    Event,
    HoldDecided,
    RemovalItemFound,
    RemovalItemRemoved,
    RemovalRequested,
    UploadChecked,
    UploadHeld,
)
from keepdown.filings.profiles import DsaProfile

__all__ = ["DECISION_KINDS", "Decision", "decisions", "puid_of", "statement"]

#: The event kinds decisions are read from (a store reads only these).
DECISION_KINDS = (
    UploadChecked.kind,
    UploadHeld.kind,
    HoldDecided.kind,
    RemovalRequested.kind,
    RemovalItemFound.kind,
    RemovalItemRemoved.kind,
)

_MINORS = ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL")
_ADULTS = ("STATEMENT_CATEGORY_CYBER_VIOLENCE", "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING")

_FACTS = {
    "upload_blocked": (
        "The upload was refused when it was made: it is identical (an exact hash match) to "
        "material that a hash list of known child sexual abuse material identifies. The "
        "content was never published."
    ),
    "hold_refused": (
        "The upload matched a picture that the person it shows asked to keep off the service "
        "(a hash they submitted). It was held, a moderator compared it and confirmed it, and "
        "the upload was refused."
    ),
    "copy_removed": (
        "A copy of a picture that the person it shows asked to have removed was found on the "
        "service and removed."
    ),
}


@dataclass(frozen=True)
class Decision:
    """One decision a platform took, with what its statement says about it."""

    organisation: str
    kind: str  # upload_blocked, hold_refused, copy_removed
    puid: str
    decided_at: datetime
    content_at: datetime
    automated_detection: bool
    automated_decision: str  # AUTOMATED_DECISION_*
    source_type: str  # SOURCE_*
    category: str = ""  # "" when the events cannot tell (undetermined)
    keyword: str = ""

    @property
    def determined(self) -> bool:
        return bool(self.category)


def puid_of(prefix: str, event: Event) -> str:
    """The PUID of a decision made by ``event``: stable, and unique per event content."""
    body = json.dumps(event.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
    return f"kd-{prefix}-{hashlib.sha256(body.encode()).hexdigest()[:40]}"


def _programme(bank: str) -> tuple[str, str]:
    return _ADULTS if bank.endswith("-adults") else _MINORS


def decisions(events: Iterable[Event]) -> Iterator[Decision]:
    """Every decision in ``events`` (module docstring), in the order they were taken."""
    held: dict[str, UploadHeld] = {}
    hold_of_request: dict[str, HoldDecided] = {}
    requests: dict[str, RemovalRequested] = {}
    found: dict[tuple[str, str], RemovalItemFound] = {}
    for e in events:
        if isinstance(e, UploadChecked) and e.outcome == "block":
            yield _upload_blocked(e)
        elif isinstance(e, UploadHeld):
            held[e.hold_id] = e
        elif isinstance(e, HoldDecided) and e.decision == "confirm":
            if e.request_id:
                hold_of_request[e.request_id] = e
            upload = held.get(e.hold_id)
            if upload is not None:
                yield _hold_refused(e, upload)
        elif isinstance(e, RemovalRequested):
            requests[e.request_id] = e
        elif isinstance(e, RemovalItemFound):
            found[(e.request_id, e.item_id)] = e
        elif isinstance(e, RemovalItemRemoved) and e.request_id in requests:
            request = requests[e.request_id]
            yield _copy_removed(e, request, found.get((e.request_id, e.item_id)), hold_of_request)


def _upload_blocked(e: UploadChecked) -> Decision:
    category, keyword = _MINORS
    return Decision(
        organisation=e.organisation,
        kind="upload_blocked",
        puid=puid_of("upload", e),
        decided_at=e.at,
        content_at=e.at,
        automated_detection=True,
        automated_decision=(
            "AUTOMATED_DECISION_FULLY" if e.automated else "AUTOMATED_DECISION_NOT_AUTOMATED"
        ),
        source_type="SOURCE_VOLUNTARY",
        category=category,
        keyword=keyword,
    )


def _hold_refused(e: HoldDecided, upload: UploadHeld) -> Decision:
    category, keyword = _programme(e.bank)
    return Decision(
        organisation=upload.organisation,
        kind="hold_refused",
        puid=puid_of("hold", e),
        decided_at=e.at,
        content_at=upload.at,
        automated_detection=True,
        automated_decision="AUTOMATED_DECISION_NOT_AUTOMATED",
        source_type="SOURCE_VOLUNTARY",
        category=category,
        keyword=keyword,
    )


def _copy_removed(
    e: RemovalItemRemoved,
    request: RemovalRequested,
    item: RemovalItemFound | None,
    holds: dict[str, HoldDecided],
) -> Decision:
    hold = holds.get(e.request_id)
    category, keyword = _programme(hold.bank) if hold is not None else ("", "")
    return Decision(
        organisation=request.organisation,
        kind="copy_removed",
        puid=puid_of("removal", e),
        decided_at=e.removed_at,
        content_at=item.at if item is not None else request.received_at,
        automated_detection=item is not None and item.how != "named",
        automated_decision="AUTOMATED_DECISION_NOT_AUTOMATED",
        source_type="SOURCE_ARTICLE_16",
        category=category,
        keyword=keyword,
    )


def _day(at: datetime) -> str:
    return at.date().isoformat()


def statement(decision: Decision, profile: DsaProfile) -> dict[str, Any]:
    """The statement of reasons for ``decision`` (a JSON object for the database's API)."""
    body: dict[str, Any] = {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": profile.decision_ground,
        "content_type": list(profile.content_types),
        "category": decision.category,
        "category_specification": [decision.keyword] if decision.keyword else [],
        "territorial_scope": list(profile.territorial_scope),
        "content_date": _day(decision.content_at),
        "application_date": _day(decision.decided_at),
        "decision_facts": _FACTS[decision.kind],
        "source_type": decision.source_type,
        "automated_detection": "Yes" if decision.automated_detection else "No",
        "automated_decision": decision.automated_decision,
        "puid": decision.puid,
    }
    if profile.decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT":
        body["illegal_content_legal_ground"] = profile.illegal_content_legal_ground
        body["illegal_content_explanation"] = profile.illegal_content_explanation
    else:
        body["incompatible_content_ground"] = profile.incompatible_content_ground
        body["incompatible_content_explanation"] = profile.illegal_content_explanation
        body["incompatible_content_illegal"] = "Yes"
    if profile.decision_ground_reference_url:
        body["decision_ground_reference_url"] = profile.decision_ground_reference_url
    if profile.content_language:
        body["content_language"] = profile.content_language
    return body
