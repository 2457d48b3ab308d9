"""What every exchange client offers, and the shared loop that pages through a run.

An :class:`ExchangeClient` turns an exchange into :class:`Page` s: a few records and the
:class:`~keepdown.exchanges.checkpoint.Checkpoint` to store once they are applied. The sync
(:mod:`keepdown.exchanges.sync`) stores each page with its checkpoint in one transaction, so
a run interrupted anywhere resumes from the last page the database holds.

:class:`PagedClient` is the loop the clients share (``keepdown.exchanges.clients.*`` fill in
:meth:`~PagedClient.start_run` and :meth:`~PagedClient.fetch`):

1. take the checkpoint's run, or start one (fixed bounds; ``None`` when caught up); a run
   the client wants to be a full fetch marks the checkpoint ``full`` (a new generation);
2. a cursor older than ``cursor_ttl`` is not used: the run restarts from its first page;
3. fetch one page; a cursor the exchange refuses (:class:`CursorExpired`) restarts the run,
   once; a second refusal in a row is an error;
4. yield the page with the checkpoint after it: the run with the next cursor, or the run
   finished (``since`` moved to the run's end) when the exchange says it is exhausted;
5. go on with the next run until caught up; the caller may stop between pages at any time;
6. caught up at the end of a full fetch: one last, empty page says so
   (``ends_full_fetch``): records of the feed the fetch did not bring are withdrawn.

Other clients (a peer keepdown's signed pages, issue 18) implement :class:`ExchangeClient`
directly or reuse :class:`PagedClient` with their own cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from keepdown.clock import Clock
from keepdown.errors import ExchangeError
from keepdown.exchanges.checkpoint import Checkpoint, Position, Run
from keepdown.exchanges.records import ExchangeRecord, RecordError

__all__ = [
    "Capability",
    "CursorExpired",
    "ExchangeClient",
    "Fetched",
    "Page",
    "PageStalled",
    "PagedClient",
]

log = logging.getLogger("keepdown.exchanges")


class Capability(StrEnum):
    """What an exchange lets a member do besides fetching."""

    FEEDBACK = "feedback"  # say whether a record matched real material
    WRITE_BACK = "write-back"  # submit hashes of one's own


class CursorExpired(ExchangeError):
    """The exchange refused a stored cursor (too old, or from another query)."""

    code = "exchange_cursor_expired"


class PageStalled(ExchangeError):
    """One page could not be read even at the smallest page size: an operator must decide
    (the feed's status says where; ``keepdown feed skip`` moves past it knowingly)."""

    code = "exchange_page_stalled"


@dataclass(frozen=True)
class Page:
    """Records of one page and the checkpoint to store once they are applied."""

    records: Sequence[ExchangeRecord | RecordError]
    checkpoint: Checkpoint
    #: This page ends a full fetch: records of the feed it did not bring are withdrawn.
    ends_full_fetch: bool = False

    @property
    def ends_run(self) -> bool:
        return self.checkpoint.run is None


@dataclass(frozen=True)
class Fetched:
    """What one request gave: records, the cursor to the next page, and where the run stands.

    ``cursor`` None means the run is exhausted; ``since`` is then the position everything is
    applied up to (default: the run's end). ``restart`` asks for the run to start over with
    ``params`` merged in (a narrower NCMEC window, a smaller StopNCII page)."""

    records: Sequence[ExchangeRecord | RecordError]
    cursor: str | None
    since: Position = None
    restart: bool = False
    new_end: Position = None  # with ``restart``: the run's new end (a narrower window)
    params: Mapping[str, Any] = field(default_factory=dict)
    hints: Mapping[str, Any] = field(default_factory=dict)


class ExchangeClient(Protocol):
    """An exchange, seen from one feed (module docstring)."""

    kind: str
    capabilities: frozenset[Capability]

    def pages(self, checkpoint: Checkpoint) -> Iterator[Page]:
        """Pages from ``checkpoint`` on until caught up; each with the checkpoint after it."""
        ...

    def whoami(self) -> dict[str, Any]:
        """Who the exchange says we are (checks the credentials and the address)."""
        ...

    def close(self) -> None: ...


class PagedClient:
    """The paging loop the clients share (module docstring); subclasses fetch and parse."""

    kind: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    #: Runs one sync makes at most (None: until :meth:`start_run` says caught up). Exchanges
    #: whose runs reach up to now (StopNCII, ThreatExchange) make one.
    runs_per_sync: ClassVar[int | None] = None

    def __init__(self, clock: Clock, *, cursor_ttl: timedelta, max_runs: int = 100_000) -> None:
        self.clock = clock
        self.cursor_ttl = cursor_ttl
        self.max_runs = max_runs

    # --- what a client fills in --------------------------------------------------------------

    def start_run(self, checkpoint: Checkpoint) -> Run | None:
        """The next run from ``checkpoint`` (its bounds fixed now), or None when caught up."""
        raise NotImplementedError

    def fetch(self, run: Run) -> Fetched:
        """One page of ``run`` (its first when ``run.cursor`` is None)."""
        raise NotImplementedError

    # --- the loop ------------------------------------------------------------------------------

    def pages(self, checkpoint: Checkpoint) -> Iterator[Page]:
        current = checkpoint
        for _ in range(self.runs_per_sync or self.max_runs):
            run = current.run
            if run is None:
                run = self.start_run(current)
                if run is None:
                    break
                if run.full and not current.full:  # a full fetch starts (first, or chosen)
                    current = current.resync() if current.since is not None else current.as_full()
            for page in self._run_pages(current, run):
                yield page
                current = page.checkpoint
            if current.run is not None:  # a run that ends without finishing: stop here
                return
        if current.full:  # caught up after a full fetch: withdraw what it did not bring
            yield Page([], current.caught_up(), ends_full_fetch=True)

    def _run_pages(self, checkpoint: Checkpoint, run: Run) -> Iterator[Page]:
        if run.cursor is not None and self._expired(run):
            log.info(
                "%s: stored cursor is older than %s; restarting the run", self.kind, self.cursor_ttl
            )
            run = run.restarted()
        refused = False
        while True:
            try:
                got = self.fetch(run)
            except CursorExpired:
                if run.cursor is None or refused:
                    raise
                log.info(
                    "%s: the exchange refused the stored cursor; restarting the run", self.kind
                )
                run, refused = run.restarted(), True
                continue
            refused = False
            if got.restart:
                run = run.restarted(**got.params)
                if got.new_end is not None:
                    run = replace(run, end=got.new_end)
                checkpoint = checkpoint.in_run(run)
                if got.records:
                    yield Page(got.records, checkpoint)
                continue
            if got.cursor is None:
                since = got.since if got.since is not None else run.end
                yield Page(got.records, checkpoint.finished(since, **got.hints))
                return
            run = replace(
                run,
                cursor=got.cursor,
                cursor_at=self.clock.now(),
                pages=run.pages + 1,
                params={**run.params, **got.params},
            )
            checkpoint = checkpoint.in_run(run)
            yield Page(got.records, checkpoint)

    def _expired(self, run: Run) -> bool:
        at: datetime | None = run.cursor_at
        return at is None or self.clock.now() - at > self.cursor_ttl

    def whoami(self) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the client's connections (subclasses with one override this)."""
