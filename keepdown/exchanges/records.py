"""One change an exchange sent, in keepdown's terms, and the error a record that cannot be read
becomes.

Each exchange has its own shape (NCMEC's XML entries, StopNCII's hash records,
ThreatExchange's indicators); its client turns every record into an :class:`ExchangeRecord`:

- ``key``: the exchange's own id for the record, unique within a feed (NCMEC
  ``<member>-<id>``, StopNCII ``<signal type>:<hash>``, ThreatExchange the indicator id);
- ``updated_at``: when the exchange last changed it. Records are applied last writer wins on
  this time, so pages may arrive in any order, twice, or interleaved with a restart;
- ``deleted``: the exchange withdrew it (a tombstone; maybe of a record never seen here);
- ``signals``: the hashes keepdown can match (validated, lower-case hex);
- ``fingerprints``: every fingerprint exactly as the exchange gave it, the ones keepdown cannot
  match too (PhotoDNA, NetClean, TMK...), kept as provenance and never matched (storage
  bounds their size);
- ``member``, ``label`` (the exchange's classification, verbatim), ``classification``
  (keepdown's mapping of it), ``status``, ``kind`` (image, video), ``created_at`` and a small
  ``extra`` (tags, case counts, descriptor ids: what feedback needs to find the record again).

A record that cannot be read becomes a :class:`RecordError` in its place: one bad record
never stops a sync of a million (it is counted and named in the feed's log).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keepdown.banks.classification import Classification
from keepdown.banks.records import as_utc
from keepdown.errors import InvalidInput
from keepdown.hashing.types import SignalType, parse_hash

__all__ = ["MAX_KEY", "ExchangeRecord", "RecordError", "signal"]

#: Longest record key kept (the exchanges' ids are far shorter).
MAX_KEY = 300


_HEX_LENGTH = {SignalType.MD5: 32, SignalType.SHA1: 40, SignalType.SHA256: 64, SignalType.PDQ: 64}
_HEX = re.compile(r"[0-9a-f]+")


def signal(signal_type: SignalType | str, value: str) -> tuple[SignalType, str]:
    """A validated (signal type, lower-case hex) pair, or InvalidHash saying why not.

    The common case (a well-formed hex value) is checked with one regular expression, as a
    million records are; anything else goes through ``parse_hash`` for its error message."""
    kind = SignalType(signal_type)
    text = value.strip().lower()
    if len(text) == _HEX_LENGTH.get(kind, -1) and _HEX.fullmatch(text):
        return kind, text
    parsed = parse_hash(kind, text)
    return parsed.signal_type, parsed.hex


@dataclass(slots=True)
class ExchangeRecord:
    """One record of an exchange in keepdown's terms (module docstring).

    Treat it as immutable. It is not a frozen dataclass only because a frozen one costs
    four microseconds more to build, and a million are built for a million-entry feed."""

    key: str
    updated_at: datetime
    deleted: bool = False
    signals: tuple[tuple[SignalType, str], ...] = ()
    member: str | None = None
    label: str | None = None
    classification: Classification | None = None
    status: str | None = None
    kind: str | None = None
    created_at: datetime | None = None
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > MAX_KEY:
            raise InvalidInput(f"record key must be 1-{MAX_KEY} characters", key=self.key[:80])
        if self.updated_at.tzinfo is None:
            self.updated_at = as_utc(self.updated_at)
        if self.created_at is not None:
            self.created_at = as_utc(self.created_at)
        if len(self.signals) > 1:
            # One signal per (type, value): an exchange listing a hash twice carries it once.
            self.signals = tuple(dict.fromkeys(self.signals))


@dataclass(frozen=True, slots=True)
class RecordError:
    """A record (``position`` in its page, 1-based) that could not be read, and why."""

    position: int
    message: str
    key: str | None = None

    def __str__(self) -> str:
        where = f"record {self.key!r}" if self.key else f"record {self.position}"
        return f"{where}: {self.message}"
