"""The record a bank file line becomes, and the error a bad line becomes.

An :class:`EntryRecord` is what every import format reads into and every export format writes
from: one hash with its provenance, independent of storage. It validates itself when built, so
a record that exists is a good one: the value is a hash of its signal type (normalised to
lower-case hex) and ``added_at`` is timezone-aware (a naive time is taken as UTC).

A :class:`LineError` is what a bad line becomes instead: readers yield it in place of a record
and carry on, so one bad line never stops an import of a million.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from keepdown.banks.classification import Classification
from keepdown.hashing.types import SignalType, parse_hash

__all__ = ["EntryRecord", "LineError", "as_utc"]


def as_utc(moment: datetime) -> datetime:
    """A timezone-aware time; a naive one is taken to be UTC (documented in docs/formats.md)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True, slots=True)
class EntryRecord:
    """One bank entry as a file carries it.

    ``source_label`` is the source's own classification label, verbatim; ``classification`` is
    keepdown's mapping of it (``None`` when the entry carries no label). ``removed`` marks a
    tombstone: the source withdrew the hash and peers should drop it too.
    """

    signal_type: SignalType
    value: str
    source_label: str | None = None
    classification: Classification | None = None
    source_id: str | None = None
    notes: str | None = None
    added_at: datetime | None = None
    removed: bool = False
    removal_reason: str | None = None

    def __post_init__(self) -> None:
        # parse_hash raises InvalidHash (an InvalidInput) with the reason for a bad value.
        parsed = parse_hash(self.signal_type, self.value)
        object.__setattr__(self, "signal_type", parsed.signal_type)
        object.__setattr__(self, "value", parsed.hex)
        if self.added_at is not None:
            object.__setattr__(self, "added_at", as_utc(self.added_at))


@dataclass(frozen=True, slots=True)
class LineError:
    """A line (1-based) of an import that could not become a record, and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"
