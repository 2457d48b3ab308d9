"""The canonical encoding of an event: the exact bytes the event chain hashes.

An event in the log is four things, and the chain commits to all four, as text:

1. its **position**: the row's id, a positive integer (``events.id``; one global order);
2. its **kind**: the event type's stable name (``notice_sent``);
3. its **time** ``at``: UTC with microseconds, ``2026-07-01T12:00:00.000000Z`` (the column the
   reports filter by, so moving an event in time is a change like any other);
4. its **payload**: the event's ``to_dict()`` as canonical JSON: keys sorted by code point,
   no insignificant whitespace (``","`` and ``":"``), every non-ASCII character escaped as
   ``\\uXXXX`` (so the text is ASCII and its bytes are the same in any database encoding), no
   NaN or infinity. This is Python's ``json.dumps(payload, sort_keys=True,
   separators=(",", ":"), ensure_ascii=True, allow_nan=False)``.

The payload is *stored* as exactly that text (``events.payload`` is TEXT on SQLite and
PostgreSQL's ``json``, which keeps its input verbatim, not ``jsonb``, which re-renders it), and
the chain hashes the stored text: verifying a row never re-encodes it, so the stored bytes are
what is checked and the encoding rules matter only when an event is written. Events recorded
before the chain existed (before migration 0016) keep the text they were stored with.

The encoded event is the UTF-8 of ``f"{position}\\n{kind}\\n{at}\\n{payload}"``
(:func:`event_bytes`); :mod:`keepdown.evidence.chain` hashes it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from keepdown.errors import InvalidInput
from keepdown.events import Event

__all__ = ["at_text", "canonical_json", "event_bytes", "event_payload", "parse_at_text"]

_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # parsing only: strftime's %Y does not pad years < 1000


def canonical_json(value: Any) -> str:
    """``value`` as canonical JSON text (module docstring, step 4)."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"not encodable as canonical JSON: {exc}") from exc


def event_payload(event: Event) -> str:
    """The stored payload of ``event``: its ``to_dict()`` as canonical JSON."""
    return canonical_json(event.to_dict())


def at_text(at: datetime) -> str:
    """An event time as the chain writes it: UTC, microseconds, ``Z``."""
    if at.tzinfo is None:
        raise InvalidInput("event times must be timezone-aware")
    t = at.astimezone(UTC)
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T"
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}Z"
    )


def parse_at_text(text: str) -> datetime:
    """The inverse of :func:`at_text`."""
    try:
        return datetime.strptime(text, _AT_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidInput(f"not an event time in the chain's form: {text!r}") from exc


def event_bytes(position: int, kind: str, at: str, payload: str) -> bytes:
    """The encoded event the chain hashes (module docstring)."""
    return f"{position}\n{kind}\n{at}\n{payload}".encode()
