"""Where a feed's fetch stands, as one value stored in the database with the page it follows.

Every exchange keepdown reads is a stream of changes ordered, more or less, by time, paged
by a cursor the exchange hands out. A :class:`Checkpoint` records:

- ``since``: everything the exchange changed up to this position is applied (epoch seconds
  for NCMEC, StopNCII and ThreatExchange; a publisher's sequence number for a peer keepdown).
  ``None``: nothing yet, the next run is a full fetch;
- ``run``: a run under way, if any (:class:`Run`): its fixed bounds, the exchange's cursor
  for the next page and when the exchange issued it, how many pages were applied;
- ``generation``: how many full fetches were started. A full fetch that completes withdraws
  every record it did not bring (the exchange forgot it, or its deletion record expired);
- ``hints``: what a client learnt and wants next time (NCMEC's window width).

The rules every client follows, and why (each is a bug reported against another system):

1. **A run's bounds never change while its cursor is used.** An NCMEC ``next`` URL is only
   valid for the query that produced it; resuming it with another end time silently skips
   history. So the bounds are fixed when the run starts and stored with the cursor.
2. **Progress is the cursor, not the records' timestamps.** Exchanges return records out of
   time order, and thousands of records can share one second; ``since`` only moves when a run
   is exhausted, and inside a run the cursor is stored after every page, so a huge second is
   paged through, not refetched.
3. **A cursor expires.** One older than the client's ``cursor_ttl`` (or refused by the
   exchange) restarts its run from the run's own start; records already applied are applied
   again, which changes nothing (last writer wins).
4. **Stored cursors carry no secret.** Credentials are added to a request when it is made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from keepdown.errors import InvalidInput

__all__ = ["CHECKPOINT_VERSION", "Checkpoint", "Position", "Run"]

#: Version of the stored JSON form (a newer keepdown's checkpoint is refused, not misread).
CHECKPOINT_VERSION = 1

#: A position in an exchange's stream: epoch seconds or a sequence number, or an opaque text.
Position = int | str | None


@dataclass(frozen=True)
class Run:
    """A run under way: fixed bounds, the exchange's cursor to its next page, and progress."""

    start: Position
    end: Position = None
    cursor: str | None = None  # None: the run's first page
    cursor_at: datetime | None = None  # when the exchange issued ``cursor``
    pages: int = 0  # pages of this run already applied
    full: bool = False  # the client wants this run to be (the start of) a full fetch
    params: Mapping[str, Any] = field(default_factory=dict)  # e.g. a shrunk page size

    def restarted(self, **params: Any) -> Run:
        """The same run from its first page (an expired cursor, a smaller page size)."""
        return replace(self, cursor=None, cursor_at=None, pages=0, params={**self.params, **params})


@dataclass(frozen=True)
class Checkpoint:
    """Where a feed's fetch stands (module docstring)."""

    since: Position = None
    run: Run | None = None
    generation: int = 0
    hints: Mapping[str, Any] = field(default_factory=dict)
    full: bool = False  # a full fetch is under way (it may take many runs)

    @property
    def fresh(self) -> bool:
        """Nothing fetched yet: the next run is a full fetch."""
        return self.since is None and self.run is None

    def begin(self, start: Position, end: Position, *, full: bool = False, **params: Any) -> Run:
        """A new run from ``start`` to ``end`` (its bounds are fixed from now on)."""
        return Run(start=start, end=end, full=full, params=params)

    def in_run(self, run: Run) -> Checkpoint:
        return replace(self, run=run)

    def finished(self, since: Position, **hints: Any) -> Checkpoint:
        """The run is exhausted: everything up to ``since`` is applied."""
        return replace(self, since=since, run=None, hints={**self.hints, **hints})

    def resync(self) -> Checkpoint:
        """Start over with a full fetch of a new generation (an operator's resync)."""
        return Checkpoint(since=None, run=None, generation=self.generation + 1, full=True)

    def as_full(self) -> Checkpoint:
        """The same position, marked as a full fetch (the very first one is)."""
        return replace(self, full=True)

    def caught_up(self) -> Checkpoint:
        """The full fetch under way has reached the present."""
        return replace(self, full=False)

    # --- stored form ---------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        run = self.run
        return {
            "v": CHECKPOINT_VERSION,
            "since": self.since,
            "generation": self.generation,
            "hints": dict(self.hints),
            "full": self.full,
            "run": None
            if run is None
            else {
                "start": run.start,
                "end": run.end,
                "cursor": run.cursor,
                "cursor_at": run.cursor_at.isoformat() if run.cursor_at else None,
                "pages": run.pages,
                "full": run.full,
                "params": dict(run.params),
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str | None) -> Checkpoint:
        """The checkpoint a stored form describes; InvalidInput for a form this keepdown
        cannot read (never a guess: a misread checkpoint would skip or repeat history)."""
        if data is None or data == {}:
            return cls()
        if isinstance(data, str):
            data = json.loads(data)
        assert isinstance(data, Mapping)
        version = data.get("v")
        if version != CHECKPOINT_VERSION:
            raise InvalidInput(f"feed checkpoint version {version!r} is not {CHECKPOINT_VERSION}")
        run = data.get("run")
        return cls(
            since=data.get("since"),
            generation=int(data.get("generation") or 0),
            hints=dict(data.get("hints") or {}),
            full=bool(data.get("full")),
            run=None
            if run is None
            else Run(
                start=run.get("start"),
                end=run.get("end"),
                cursor=run.get("cursor"),
                cursor_at=datetime.fromisoformat(run["cursor_at"])
                if run.get("cursor_at")
                else None,
                pages=int(run.get("pages") or 0),
                full=bool(run.get("full")),
                params=dict(run.get("params") or {}),
            ),
        )
