"""The crawl frontier on SQL: :class:`SqlFrontier`, one crawl's rows of ``crawl_urls``.

Implements :class:`keepdown.crawl.frontier.Frontier` (states, leases, attempts as requests
sent: see there). A lease is a conditional ``UPDATE`` (the row must still be as it was read:
pending, or leased with an expired lease), so two workers never hold the same URL; a worker
killed mid-fetch costs at most the lease time (nothing when a restarted worker knows it dead:
:meth:`SqlFrontier.reclaim`), and nothing ``done`` is ever leased again. Works the same on SQLite
and PostgreSQL. Rows are keyed by the sha256 of ``kind|url|via`` so long URLs never hit index
limits.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    and_,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from keepdown.crawl.frontier import (
    DIED_EVERY_ATTEMPT,
    FrontierItem,
    UrlKind,
    UrlState,
)
from keepdown.errors import Conflict, KeepdownError, NotFound
from keepdown.storage.frontier_reads import FrontierReads, row_item, row_key
from keepdown.storage.tables_crawl import crawl_urls

__all__ = ["SqlFrontier"]

_C = crawl_urls.c


def _due(now: datetime) -> ColumnElement[bool]:
    """Leasable at ``now``: pending and not held back, or leased by a worker that is gone."""
    return or_(
        and_(_C.state == "pending", or_(_C.not_before.is_(None), _C.not_before <= now)),
        and_(_C.state == "in_progress", _C.lease_expires <= now),
    )


class SqlFrontier(FrontierReads):
    """The frontier of one crawl in ``crawl_urls`` (see the module docstring)."""

    def __init__(self, engine: Engine, crawl_id: int, *, max_attempts: int = 3) -> None:
        self.engine = engine
        self.crawl_id = crawl_id
        self.max_attempts = max_attempts

    def _values(self, item: FrontierItem) -> dict[str, Any]:
        return {
            "crawl_id": self.crawl_id,
            "key": row_key(item.kind, item.url, item.via),
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
        return [row_key(i.kind, i.url, i.via) in added for i in items]

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
        owner: str = "",
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
                taken = self._take(conn, row, now, expires, owner[:200])
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
                lease_owner=None,
                last_error=row.last_error or DIED_EVERY_ATTEMPT,
                failure=row.failure or "worker_died",
            )
        )

    def _take(
        self, conn: Connection, row: Row[Any], now: datetime, expires: datetime, owner: str
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
                state="in_progress", lease_token=token, lease_expires=expires, lease_owner=owner
            )
        ).rowcount
        if won != 1:
            return None
        return replace(
            row_item(row),
            state=UrlState.IN_PROGRESS,
            lease_token=token,
            lease_expires=expires,
            lease_owner=owner,
        )

    # --- holding a lease ------------------------------------------------------------------

    def _held(self, item: FrontierItem) -> ColumnElement[bool]:
        return and_(
            _C.crawl_id == self.crawl_id,
            _C.key == row_key(item.kind, item.url, item.via),
            _C.state == "in_progress",
            _C.lease_token == item.lease_token,
        )

    def charge(self, item: FrontierItem) -> FrontierItem:
        with self.engine.begin() as conn:
            row = conn.execute(
                update(crawl_urls)
                .where(self._held(item))
                .values(attempts=_C.attempts + 1)
                .returning(_C.attempts)
            ).first()
        if row is None:
            raise self._lost(item)
        return replace(item, attempts=int(row.attempts))

    def renew(
        self, items: Sequence[FrontierItem], *, now: datetime, lease_seconds: float
    ) -> list[FrontierItem]:
        expires = now + timedelta(seconds=lease_seconds)
        lost = []
        with self.engine.begin() as conn:
            for item in items:
                kept = conn.execute(
                    update(crawl_urls).where(self._held(item)).values(lease_expires=expires)
                ).rowcount
                if kept != 1:
                    lost.append(item)
        return lost

    def release(self, items: Sequence[FrontierItem]) -> None:
        with self.engine.begin() as conn:
            for item in items:
                self._give_back(conn, self._held(item))

    def reclaim(self, owner_is_dead: Callable[[str], bool]) -> int:
        mine = and_(_C.crawl_id == self.crawl_id, _C.state == "in_progress")
        with self.engine.begin() as conn:
            owners = conn.execute(
                select(_C.lease_owner).where(mine, _C.lease_owner.is_not(None)).distinct()
            ).scalars()
            dead = [owner for owner in owners if owner and owner_is_dead(owner)]
            if not dead:
                return 0
            return self._give_back(conn, and_(mine, _C.lease_owner.in_(dead)))

    def _give_back(self, conn: Connection, rows: ColumnElement[bool]) -> int:
        """Leases given back: pending again, attempts as they are; failed if out of them."""
        cleared = {"lease_token": None, "lease_expires": None, "lease_owner": None}
        spent = _C.attempts >= self.max_attempts
        given_up = conn.execute(
            update(crawl_urls)
            .where(rows, spent)
            .values(
                state="failed",
                last_error=func.coalesce(_C.last_error, DIED_EVERY_ATTEMPT),
                failure=case((_C.failure == "", "worker_died"), else_=_C.failure),
                **cleared,
            )
        ).rowcount
        pending = conn.execute(
            update(crawl_urls).where(rows, ~spent).values(state="pending", **cleared)
        ).rowcount
        return int(given_up) + int(pending)

    # --- settling -------------------------------------------------------------------------

    def _settle(self, item: FrontierItem, **values: Any) -> None:
        key = row_key(item.kind, item.url, item.via)
        mine = and_(_C.crawl_id == self.crawl_id, _C.key == key)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(crawl_urls)
                .where(mine, _C.state == "in_progress", _C.lease_token == item.lease_token)
                .values(lease_token=None, lease_expires=None, lease_owner=None, **values)
            ).rowcount
            if done == 1:
                return
        raise self._lost(item)

    def _lost(self, item: FrontierItem) -> KeepdownError:
        """Why a leased item cannot be settled: unknown, or its lease went to another worker."""
        query = select(_C.state).where(
            _C.crawl_id == self.crawl_id, _C.key == row_key(item.kind, item.url, item.via)
        )
        with self.engine.connect() as conn:
            current = conn.execute(query).first()
        if current is None:
            return NotFound(f"{item.url} is not in this frontier", url=item.url)
        return Conflict(
            f"lease on {item.url} was lost (it expired and was handed out again)",
            url=item.url,
            state=current.state,
        )

    def complete(self, item: FrontierItem, *, bytes_fetched: int = 0) -> None:
        self._settle(item, state="done", bytes_fetched=bytes_fetched, last_error=None, failure="")

    def retry_later(
        self, item: FrontierItem, *, error: str, not_before: datetime, failure: str = ""
    ) -> None:
        # The attempts as stored (a charge made through another copy of the item counts).
        values = {"last_error": error, "failure": failure[:16], "not_before": not_before}
        self._settle(
            item,
            state=case((_C.attempts >= self.max_attempts, "failed"), else_="pending"),
            **values,
        )

    def fail(
        self, item: FrontierItem, *, error: str, bytes_fetched: int = 0, failure: str = ""
    ) -> None:
        self._settle(
            item,
            state="failed",
            last_error=error,
            bytes_fetched=bytes_fetched,
            failure=failure[:16],
        )
