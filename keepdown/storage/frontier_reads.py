"""Reading a crawl's frontier on SQL: the rows of ``crawl_urls`` as :class:`FrontierItem`.

The read side of :class:`keepdown.storage.frontier_store.SqlFrontier` (which leases and settles):
items, counts, bytes, when the next item is due, the per-host queue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, func, select

from keepdown.crawl.frontier import ALREADY_DUE, FrontierItem, UrlKind, UrlState
from keepdown.crawl.urls import host_of
from keepdown.errors import NotFound
from keepdown.storage.schema import aware
from keepdown.storage.tables_crawl import crawl_urls

__all__ = ["FrontierReads", "row_item", "row_key"]

_C = crawl_urls.c


def row_key(kind: UrlKind, url: str, via: str) -> str:
    raw = f"{kind.value}|{url}|{via if kind is UrlKind.MEDIA else ''}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def row_item(row: Row[Any]) -> FrontierItem:
    return FrontierItem(
        url=row.url,
        kind=UrlKind(row.kind),
        depth=row.depth,
        via=row.via,
        hint=row.hint,
        state=UrlState(row.state),
        not_before=row.not_before,
        attempts=row.attempts,
        last_error=row.last_error,
        lease_token=row.lease_token,
        lease_expires=row.lease_expires,
        bytes_fetched=row.bytes_fetched,
        failure=row.failure,
        lease_owner=row.lease_owner or "",
    )


class FrontierReads:
    """What a frontier answers about one crawl's rows."""

    engine: Engine
    crawl_id: int

    def get(self, url: str, *, kind: UrlKind = UrlKind.PAGE, via: str = "") -> FrontierItem:
        query = select(crawl_urls).where(
            _C.crawl_id == self.crawl_id, _C.key == row_key(kind, url, via)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"{url} is not in this frontier", url=url)
        return row_item(row)

    def count(
        self, *, kinds: Iterable[UrlKind] | None = None, states: Iterable[UrlState] | None = None
    ) -> int:
        query = select(func.count()).select_from(crawl_urls).where(_C.crawl_id == self.crawl_id)
        if kinds is not None:
            query = query.where(_C.kind.in_([k.value for k in kinds]))
        if states is not None:
            query = query.where(_C.state.in_([s.value for s in states]))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def pages_started(self) -> int:
        started = [UrlState.IN_PROGRESS.value, UrlState.DONE.value, UrlState.FAILED.value]
        query = (
            select(func.count())
            .select_from(crawl_urls)
            .where(
                _C.crawl_id == self.crawl_id,
                _C.kind == UrlKind.PAGE.value,
                _C.state.in_(started) | (_C.attempts > 0),
            )
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def bytes_fetched(self) -> int:
        query = select(func.coalesce(func.sum(_C.bytes_fetched), 0)).where(
            _C.crawl_id == self.crawl_id
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def next_due(self) -> datetime | None:
        mine = _C.crawl_id == self.crawl_id
        with self.engine.connect() as conn:
            at_once = conn.execute(
                select(_C.id).where(mine, _C.state == "pending", _C.not_before.is_(None)).limit(1)
            ).first()
            if at_once is not None:
                return ALREADY_DUE
            pending = conn.execute(
                select(func.min(_C.not_before)).where(mine, _C.state == "pending")
            ).scalar_one()
            leased = conn.execute(
                select(func.min(_C.lease_expires)).where(mine, _C.state == "in_progress")
            ).scalar_one()
        times = [aware(t) for t in (pending, leased) if t is not None]
        return min(times, default=None)

    def per_host_queue(self) -> dict[str, int]:
        """Pending URLs per host (the progress display)."""
        query = select(_C.url).where(_C.crawl_id == self.crawl_id, _C.state == "pending")
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for (url,) in conn.execute(query):
                host = host_of(url)
                out[host] = out.get(host, 0) + 1
        return out

    def items(self) -> list[FrontierItem]:
        """Every item, in the order they were added (tests and reports)."""
        query = select(crawl_urls).where(_C.crawl_id == self.crawl_id).order_by(_C.id)
        with self.engine.connect() as conn:
            return [row_item(r) for r in conn.execute(query)]
