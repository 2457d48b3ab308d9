"""Crawls on SQL: what to crawl with which rules, and which crawl a worker runs next.

A ``crawls`` row keeps the seeds, the scope rules and the budgets of one crawl, and its state::

    pending ──turn──► running ──► done       (frontier exhausted, or a budget spent: reason)
       ▲                 │  └───► paused     (only far-off retries left, until resume_at)
       └──── turn over ──┘           │
       ▲─────────────────────────────┘ (resume_at reached: runnable again)
    stopped: abandoned because a racing report of the same URL won

Workers take turns: :meth:`CrawlStore.next_to_run` hands out the runnable crawl whose last
turn started longest ago (never-run crawls first), so one big crawl cannot starve the others
and a paused crawl never blocks anyone.

This module also re-exports the other crawl stores, so ``keepdown.storage.crawl_store`` stays
the one import for callers: :class:`~keepdown.storage.frontier_store.SqlFrontier`,
:class:`~keepdown.storage.report_store.ReportStore` and
:class:`~keepdown.storage.sighting_store.SightingRecorder`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Row, and_, case, exists, insert, or_, select, update

from keepdown.crawl.urls import CrawlScope, normalize_url
from keepdown.errors import NotFound
from keepdown.settings import Settings
from keepdown.storage.engine import inserted_id
from keepdown.storage.frontier_store import SqlFrontier
from keepdown.storage.report_store import ReportStore
from keepdown.storage.sighting_store import SightingRecorder, list_sightings, sighting_state
from keepdown.storage.tables_crawl import crawl_unknown_hosts, crawls

__all__ = [
    "CrawlRecord",
    "CrawlStore",
    "ReportStore",
    "SightingRecorder",
    "SqlFrontier",
    "list_sightings",
    "sighting_state",
]

_C = crawls.c


@dataclass(frozen=True)
class CrawlRecord:
    id: int
    seeds: tuple[str, ...]
    same_site: bool
    max_depth: int
    max_pages: int
    max_bytes: int
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    state: str
    created_at: datetime
    reason: str | None = None
    resume_at: datetime | None = None
    last_turn_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def scope(self) -> CrawlScope:
        return CrawlScope(
            seeds=self.seeds,
            same_site=self.same_site,
            max_depth=self.max_depth,
            include=self.include,
            exclude=self.exclude,
        )


def _crawl(row: Row[Any]) -> CrawlRecord:
    return CrawlRecord(
        id=row.id,
        seeds=tuple(row.seeds),
        same_site=bool(row.same_site),
        max_depth=row.max_depth,
        max_pages=row.max_pages,
        max_bytes=row.max_bytes,
        include=tuple(row.include),
        exclude=tuple(row.exclude),
        state=row.state,
        created_at=row.created_at,
        reason=row.reason,
        resume_at=row.resume_at,
        last_turn_at=row.last_turn_at,
        finished_at=row.finished_at,
    )


def _runnable(now: datetime) -> ColumnElement[bool]:
    return or_(
        _C.state.in_(["pending", "running"]),
        and_(_C.state == "paused", or_(_C.resume_at.is_(None), _C.resume_at <= now)),
    )


class CrawlStore:
    """Crawls: what to crawl with which rules, and which crawl runs next (module docstring)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def create(
        self,
        seeds: Sequence[str],
        *,
        now: datetime,
        same_site: bool | None = None,
        max_depth: int | None = None,
        max_pages: int | None = None,
        max_bytes: int | None = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
    ) -> CrawlRecord:
        """A new pending crawl; budgets default to the crawl settings. Patterns are checked."""
        s = self.settings
        scope = CrawlScope(
            seeds=tuple(normalize_url(u) for u in seeds),
            same_site=bool(s.crawl_same_site if same_site is None else same_site),
            max_depth=int(s.crawl_max_depth if max_depth is None else max_depth),
            include=tuple(include),
            exclude=tuple(exclude),
        )  # raises InvalidInput on a bad pattern
        values = {
            "seeds": list(scope.seeds),
            "same_site": scope.same_site,
            "max_depth": scope.max_depth,
            "max_pages": int(s.crawl_max_pages if max_pages is None else max_pages),
            "max_bytes": int(s.crawl_max_bytes if max_bytes is None else max_bytes),
            "include": list(scope.include),
            "exclude": list(scope.exclude),
            "state": "pending",
            "created_at": now,
        }
        with self.engine.begin() as conn:
            new_id = inserted_id(conn.execute(insert(crawls).values(**values)))
        return self.get(int(new_id))

    def get(self, crawl_id: int) -> CrawlRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(crawls).where(_C.id == crawl_id)).first()
        if row is None:
            raise NotFound(f"no crawl {crawl_id}", crawl_id=crawl_id)
        return _crawl(row)

    # --- whose turn -----------------------------------------------------------------------

    def next_to_run(self, *, now: datetime, exclude: Collection[int] = ()) -> CrawlRecord | None:
        """The runnable crawl whose last turn is oldest (never run first), or None.

        Runnable: pending, running (interrupted, or run by another worker: the SQL frontier
        shares it safely), or paused with ``resume_at`` reached."""
        query = (
            select(crawls)
            .where(_runnable(now), _C.id.not_in(list(exclude)))
            .order_by(case((_C.last_turn_at.is_(None), 0), else_=1), _C.last_turn_at, _C.id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _crawl(row) if row is not None else None

    def others_waiting(
        self, crawl_id: int, *, now: datetime, exclude: Collection[int] = ()
    ) -> bool:
        """Whether another crawl could run now (the running one should end its turn)."""
        skip = [crawl_id, *exclude]
        query = select(exists().where(_runnable(now), _C.id.not_in(skip)))
        with self.engine.connect() as conn:
            return bool(conn.execute(query).scalar())

    def start_turn(self, crawl_id: int, *, now: datetime) -> None:
        """A worker starts (or resumes) the crawl: running, last turn now."""
        with self.engine.begin() as conn:
            conn.execute(
                update(crawls)
                .where(_C.id == crawl_id)
                .values(
                    state="running",
                    started_at=_first_start(now),
                    last_turn_at=now,
                    resume_at=None,
                    reason=None,
                )
            )

    def end_turn(self, crawl_id: int, *, reason: str) -> None:
        """The turn is over but the crawl is not: back in line behind the others."""
        self._set(crawl_id, state="pending", reason=reason)

    def pause(self, crawl_id: int, *, until: datetime, reason: str) -> None:
        """Only far-off retries left: not runnable before ``until``; others run meanwhile."""
        self._set(crawl_id, state="paused", resume_at=until, reason=reason)

    def finish(self, crawl_id: int, *, now: datetime, reason: str) -> None:
        """Done: the frontier is exhausted or a budget of the crawl is spent (``reason``)."""
        self._set(crawl_id, state="done", finished_at=now, resume_at=None, reason=reason)

    def set_state(self, crawl_id: int, state: str, *, now: datetime, reason: str = "") -> None:
        """Set a state directly (``stopped`` by a racing report; tests)."""
        values: dict[str, Any] = {"state": state, "reason": reason or None}
        if state == "running":
            values["started_at"] = now
        elif state in ("done", "stopped"):
            values["finished_at"] = now
        self._set(crawl_id, **values)

    def _set(self, crawl_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(crawls).where(_C.id == crawl_id).values(**values))

    # --- parts ----------------------------------------------------------------------------

    def frontier(self, crawl_id: int) -> SqlFrontier:
        return SqlFrontier(self.engine, crawl_id, max_attempts=self.settings.crawl_max_attempts)

    def unknown_hosts(self, crawl_id: int) -> list[tuple[str, str]]:
        """Hosts of this crawl no provider was found for: (host, ip), for an analyst."""
        c = crawl_unknown_hosts.c
        query = select(c.host, c.ip).where(c.crawl_id == crawl_id).order_by(c.host, c.ip)
        with self.engine.connect() as conn:
            return [(r.host, r.ip) for r in conn.execute(query)]


def _first_start(now: datetime) -> ColumnElement[Any]:
    """``started_at`` keeps the first turn's time."""
    return case((_C.started_at.is_(None), now), else_=_C.started_at)
