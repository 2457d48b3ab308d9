"""The crawl frontier on SQL: :class:`SqlFrontier`, one crawl's rows of ``crawl_urls``.

Implements :class:`keepdown.crawl.frontier.Frontier`. A lease is a conditional ``UPDATE``
(the row must still be as it was read: pending, or leased with an expired lease), so two
workers never hold the same URL and a worker killed mid-fetch only costs the lease time: the
URL is handed out again, and nothing ``done`` is ever leased again. Works the same on SQLite
and PostgreSQL. Rows are keyed by the sha256 of ``kind|url|via`` so long URLs never hit index
limits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from keepdown.crawl.frontier import ALREADY_DUE, FrontierItem, UrlKind, UrlState
from keepdown.crawl.urls import host_of
from keepdown.errors import Conflict, NotFound
from keepdown.storage.tables_crawl import crawl_urls

__all__ = ["SqlFrontier"]

_C = crawl_urls.c


def _key(kind: UrlKind, url: str, via: str) -> str:
    raw = f"{kind.value}|{url}|{via if kind is UrlKind.MEDIA else ''}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _item(row: Row[Any]) -> FrontierItem:
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
    )


def _due(now: datetime) -> ColumnElement[bool]:
    """Leasable at ``now``: pending and not held back, or leased by a worker that is gone."""
    return or_(
        and_(_C.state == "pending", or_(_C.not_before.is_(None), _C.not_before <= now)),
        and_(_C.state == "in_progress", _C.lease_expires <= now),
    )


def _aware(value: Any) -> datetime:
    # min() over a UtcDateTime column comes back untyped on SQLite (a string).
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class SqlFrontier:
    """The frontier of one crawl in ``crawl_urls`` (see the module docstring)."""

    def __init__(self, engine: Engine, crawl_id: int, *, max_attempts: int = 3) -> None:
        self.engine = engine
        self.crawl_id = crawl_id
        self.max_attempts = max_attempts

    def _values(self, item: FrontierItem) -> dict[str, Any]:
        return {
            "crawl_id": self.crawl_id,
            "key": _key(item.kind, item.url, item.via),
            "kind": item.kind.value,
            "url": item.url,
            "via": item.via,
            "hint": item.hint[:200],
            "depth": item.depth,
            "state": UrlState.PENDING.value,
            "not_before": item.not_before,
        }

    def add(
        self,
        url: str,
        *,
        kind: UrlKind,
        depth: int,
        via: str = "",
        hint: str = "",
        not_before: datetime | None = None,
    ) -> bool:
        item = FrontierItem(url=url, kind=kind, depth=depth, via=via, hint=hint)
        return self._insert([replace(item, not_before=not_before)])[0]

    def add_many(self, items: Sequence[FrontierItem]) -> list[bool]:
        """Every new item in one transaction (a page's links and media), not one each."""
        return self._insert(list(items)) if items else []

    def _insert(self, items: list[FrontierItem]) -> list[bool]:
        """Insert the items whose keys are new; True for each one inserted."""
        # No database text column takes NUL; no real URL contains one.
        rows = [self._values(i) for i in items if "\x00" not in i.url + i.via]
        with self.engine.begin() as conn:
            keys = [r["key"] for r in rows]
            known = {
                k
                for start in range(0, len(keys), 500)
                for (k,) in conn.execute(
                    select(_C.key).where(
                        _C.crawl_id == self.crawl_id, _C.key.in_(keys[start : start + 500])
                    )
                )
            }
            fresh = list({r["key"]: r for r in rows if r["key"] not in known}.values())
            added = self._insert_rows(conn, fresh)
        return [_key(i.kind, i.url, i.via) in added for i in items]

    @staticmethod
    def _insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
        """Insert all at once; if a racing worker added one meanwhile, one by one."""
        if not rows:
            return set()
        try:
            with conn.begin_nested():
                conn.execute(insert(crawl_urls), rows)
            return {r["key"] for r in rows}
        except IntegrityError:
            added = set()
            for row in rows:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(crawl_urls).values(**row))
                    added.add(row["key"])
                except IntegrityError:
                    continue  # another worker added it between our look and our insert
            return added

    # --- leasing --------------------------------------------------------------------------

    def lease(
        self,
        *,
        now: datetime,
        limit: int,
        lease_seconds: float,
        kinds: Iterable[UrlKind] = (UrlKind.PAGE, UrlKind.MEDIA),
    ) -> list[FrontierItem]:
        """Up to ``limit`` due items, media before pages, shallow before deep."""
        expires = now + timedelta(seconds=lease_seconds)
        leased: list[FrontierItem] = []
        with self.engine.begin() as conn:
            for row in self._candidates(conn, now, kinds, limit):
                if len(leased) >= limit:
                    break
                if row.state == "in_progress" and row.attempts >= self.max_attempts:
                    self._fail_abandoned(conn, row)
                    continue
                taken = self._take(conn, row, now, expires)
                if taken is not None:
                    leased.append(taken)
        return leased

    def _candidates(
        self, conn: Connection, now: datetime, kinds: Iterable[UrlKind], limit: int
    ) -> list[Row[Any]]:
        """Due rows, media first, then by depth and age; a few more than asked (some may be
        taken by a racing worker before our update).

        Per kind, two queries the ``(crawl_id, state, kind, depth, id)`` index answers in
        order, stopping at the limit: pending rows, and leases of workers that are gone (few).
        One query over both with an OR had to sort every pending row of the crawl per lease."""
        want = max(limit, 0) * 2 + 4
        found: list[Row[Any]] = []
        for kind in (UrlKind.MEDIA, UrlKind.PAGE):
            if kind not in set(kinds) or len(found) >= want:
                continue
            mine = and_(_C.crawl_id == self.crawl_id, _C.kind == kind.value)
            pending = (
                select(crawl_urls)
                .where(
                    mine,
                    _C.state == "pending",
                    or_(_C.not_before.is_(None), _C.not_before <= now),
                )
                .order_by(_C.depth, _C.id)
                .limit(want)
            )
            expired = (
                select(crawl_urls)
                .where(mine, _C.state == "in_progress", _C.lease_expires <= now)
                .order_by(_C.depth, _C.id)
                .limit(want)
            )
            rows = [*conn.execute(pending), *conn.execute(expired)]
            found += sorted(rows, key=lambda r: (r.depth, r.id))[: want - len(found)]
        return found

    def _fail_abandoned(self, conn: Connection, row: Row[Any]) -> None:
        """A lease expired on the last allowed attempt: the URL kills workers, give it up."""
        conn.execute(
            update(crawl_urls)
            .where(_C.id == row.id, _C.lease_token == row.lease_token)
            .values(
                state="failed",
                lease_token=None,
                lease_expires=None,
                last_error=row.last_error or "lease expired on every attempt",
            )
        )

    def _take(
        self, conn: Connection, row: Row[Any], now: datetime, expires: datetime
    ) -> FrontierItem | None:
        """Lease one row, conditional on it being as we read it: a racing worker or we win."""
        token = secrets.token_hex(8)
        won = conn.execute(
            update(crawl_urls)
            .where(
                _C.id == row.id,
                _C.state == row.state,
                _C.attempts == row.attempts,
                _due(now),
            )
            .values(
                state="in_progress",
                attempts=row.attempts + 1,
                lease_token=token,
                lease_expires=expires,
            )
        ).rowcount
        if won != 1:
            return None
        return replace(
            _item(row),
            state=UrlState.IN_PROGRESS,
            attempts=row.attempts + 1,
            lease_token=token,
            lease_expires=expires,
        )

    # --- settling -------------------------------------------------------------------------

    def _settle(self, item: FrontierItem, **values: Any) -> None:
        key = _key(item.kind, item.url, item.via)
        mine = and_(_C.crawl_id == self.crawl_id, _C.key == key)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(crawl_urls)
                .where(mine, _C.state == "in_progress", _C.lease_token == item.lease_token)
                .values(lease_token=None, lease_expires=None, **values)
            ).rowcount
            if done == 1:
                return
            current = conn.execute(select(_C.state).where(mine)).first()
        if current is None:
            raise NotFound(f"{item.url} is not in this frontier", url=item.url)
        raise Conflict(
            f"lease on {item.url} was lost (it expired and was handed out again)",
            url=item.url,
            state=current.state,
        )

    def complete(self, item: FrontierItem, *, bytes_fetched: int = 0) -> None:
        self._settle(item, state="done", bytes_fetched=bytes_fetched, last_error=None)

    def retry_later(self, item: FrontierItem, *, error: str, not_before: datetime) -> None:
        if item.attempts >= self.max_attempts:
            self.fail(item, error=error)
            return
        self._settle(item, state="pending", last_error=error, not_before=not_before)

    def fail(self, item: FrontierItem, *, error: str, bytes_fetched: int = 0) -> None:
        self._settle(item, state="failed", last_error=error, bytes_fetched=bytes_fetched)

    # --- reading --------------------------------------------------------------------------

    def get(self, url: str, *, kind: UrlKind = UrlKind.PAGE, via: str = "") -> FrontierItem:
        query = select(crawl_urls).where(
            _C.crawl_id == self.crawl_id, _C.key == _key(kind, url, via)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"{url} is not in this frontier", url=url)
        return _item(row)

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
        times = [_aware(t) for t in (pending, leased) if t is not None]
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
            return [_item(r) for r in conn.execute(query)]
