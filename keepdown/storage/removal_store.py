"""Removal requests on SQL: implements :class:`keepdown.submissions.requests.RemovalStore`.

A request, what it looks for and the copies already known are written in one transaction.
Copies are unique per request by the platform's reference (``content_ref``), so a sweep that
finds the same copy twice adds it once; recording a removal twice keeps the first record.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.errors import Conflict, NotFound
from keepdown.storage.engine import storage_errors
from keepdown.storage.tables_access import organisations
from keepdown.storage.tables_submissions import (
    removal_items,
    removal_request_hashes,
    removal_requests,
)
from keepdown.submissions.model import HashKey
from keepdown.submissions.requests import (
    FoundBy,
    NewItem,
    Origin,
    RemovalItem,
    RemovalRequest,
    RequestState,
)

__all__ = ["SqlRemovalStore"]

_req = removal_requests
_items = removal_items
_QUERY = select(_req, organisations.c.name.label("organisation")).join(
    organisations, organisations.c.id == _req.c.organisation_id
)


def _item(row: Row[Any]) -> RemovalItem:
    return RemovalItem(
        id=row.id,
        request_id=row.request_id,
        content_ref=row.content_ref,
        how=FoundBy(row.how),
        source=row.source,
        sha256=row.sha256,
        pdq=row.pdq,
        signal_type=row.signal_type,
        match_type=row.match_type,
        distance=row.distance,
        found_at=row.found_at,
        removed_at=row.removed_at,
        removed_by=row.removed_by,
        removal_note=row.removal_note,
        seen_again_at=row.seen_again_at,
        dismissed_at=row.dismissed_at,
        dismissed_by=row.dismissed_by,
    )


def _request(row: Row[Any], items: tuple[RemovalItem, ...]) -> RemovalRequest:
    return RemovalRequest(
        id=row.id,
        organisation=row.organisation,
        origin=Origin(row.origin),
        submission_id=row.submission_id,
        hold_id=row.hold_id,
        received_at=row.received_at,
        due_at=row.due_at,
        state=RequestState(row.state),
        closed_at=row.closed_at,
        first_closed_at=row.first_closed_at,
        ended_reason=row.ended_reason,
        description=row.description,
        contact=row.contact,
        created_by=row.created_by,
        last_sweep_at=row.last_sweep_at,
        items=items,
    )


def _item_values(request_id: int, item: NewItem, now: datetime) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "content_ref": item.content_ref,
        "how": item.how.value,
        "source": item.source,
        "sha256": item.sha256,
        "pdq": item.pdq,
        "signal_type": item.signal_type,
        "match_type": item.match_type,
        "distance": item.distance,
        "found_at": now,
    }


class SqlRemovalStore:
    """Removal requests in the keepdown database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        *,
        organisation: str,
        origin: Origin,
        received_at: datetime,
        due_at: datetime,
        created_by: str,
        description: str = "",
        contact: str = "",
        submission_id: int | None = None,
        hold_id: int | None = None,
        hashes: Iterable[HashKey] = (),
        items: Iterable[NewItem] = (),
        now: datetime,
    ) -> RemovalRequest:
        keys = sorted(set(hashes))
        with storage_errors("storing a removal request"), self.engine.begin() as conn:
            org_id = conn.execute(
                select(organisations.c.id).where(organisations.c.name == organisation)
            ).scalar()
            if org_id is None:
                raise NotFound(f"no organisation {organisation!r}", organisation=organisation)
            new_id = conn.execute(
                insert(_req)
                .returning(_req.c.id)
                .values(
                    organisation_id=org_id,
                    origin=origin.value,
                    submission_id=submission_id,
                    hold_id=hold_id,
                    received_at=received_at,
                    due_at=due_at,
                    state=RequestState.OPEN.value,
                    description=description,
                    contact=contact,
                    created_by=created_by,
                )
            ).scalar_one()
            if keys:
                conn.execute(
                    insert(removal_request_hashes),
                    [{"request_id": new_id, "signal_type": s, "value": v} for s, v in keys],
                )
            unique = {i.content_ref: i for i in items}
            if unique:
                conn.execute(
                    insert(_items), [_item_values(new_id, i, now) for i in unique.values()]
                )
        return self.get(new_id)

    def get(self, request_id: int) -> RemovalRequest:
        with storage_errors("reading a removal request"), self.engine.connect() as conn:
            row = conn.execute(_QUERY.where(_req.c.id == request_id)).first()
            if row is None:
                raise NotFound("no such removal request", request=request_id)
            return _request(row, self._items_of(conn, [request_id]).get(request_id, ()))

    def _items_of(self, conn: Connection, ids: list[int]) -> dict[int, tuple[RemovalItem, ...]]:
        found: dict[int, list[RemovalItem]] = {}
        if not ids:
            return {}
        query = select(_items).where(_items.c.request_id.in_(ids)).order_by(_items.c.id)
        for row in conn.execute(query):
            found.setdefault(row.request_id, []).append(_item(row))
        return {k: tuple(v) for k, v in found.items()}

    def requests(
        self,
        *,
        organisation: str | None = None,
        state: RequestState | None = None,
        limit: int = 200,
    ) -> list[RemovalRequest]:
        query = _QUERY
        if organisation is not None:
            query = query.where(organisations.c.name == organisation)
        if state is not None:
            query = query.where(_req.c.state == state.value)
        query = query.order_by(_req.c.id.desc()).limit(limit)
        with storage_errors("listing removal requests"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
            items = self._items_of(conn, [r.id for r in rows])
        return [_request(r, items.get(r.id, ())) for r in rows]

    def for_submission(self, submission_id: int) -> list[RemovalRequest]:
        query = _QUERY.where(_req.c.submission_id == submission_id).order_by(_req.c.id)
        with storage_errors("reading removal requests"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
            items = self._items_of(conn, [r.id for r in rows])
        return [_request(r, items.get(r.id, ())) for r in rows]

    def by_hold(self, hold_id: int) -> RemovalRequest | None:
        with storage_errors("reading removal requests"), self.engine.connect() as conn:
            found = conn.execute(
                select(_req.c.id).where(_req.c.hold_id == hold_id).order_by(_req.c.id)
            ).scalar()
        return self.get(found) if found is not None else None

    def hashes(self, request_id: int) -> set[HashKey]:
        query = select(removal_request_hashes.c.signal_type, removal_request_hashes.c.value).where(
            removal_request_hashes.c.request_id == request_id
        )
        with storage_errors("reading a request's hashes"), self.engine.connect() as conn:
            return {(r.signal_type, r.value) for r in conn.execute(query)}

    def add_hashes(self, request_id: int, hashes: Iterable[HashKey]) -> None:
        new = set(hashes) - self.hashes(request_id)
        if not new:
            return
        rows = [{"request_id": request_id, "signal_type": s, "value": v} for s, v in sorted(new)]
        with storage_errors("adding a request's hashes"), self.engine.begin() as conn:
            conn.execute(insert(removal_request_hashes), rows)

    def add_items(
        self, request_id: int, items: Iterable[NewItem], now: datetime
    ) -> list[RemovalItem]:
        wanted = list(items)
        for attempt in range(2):
            try:
                added = self._add_items(request_id, wanted, now)
                break
            except IntegrityError:
                if attempt:  # pragma: no cover - two racing sweeps twice in a row
                    raise Conflict("copies were added by another sweep at the same time") from None
        return [i for i in self.get(request_id).items if i.id in added]

    def _add_items(self, request_id: int, items: list[NewItem], now: datetime) -> list[int]:
        """One transaction; a copy another sweep added meanwhile fails it (retried above)."""
        added: list[int] = []
        with storage_errors("adding copies to a request"), self.engine.begin() as conn:
            known = set(
                conn.execute(
                    select(_items.c.content_ref).where(_items.c.request_id == request_id)
                ).scalars()
            )
            for item in items:
                if item.content_ref in known:
                    continue
                known.add(item.content_ref)
                added.append(
                    conn.execute(
                        insert(_items).returning(_items.c.id),
                        _item_values(request_id, item, now),
                    ).scalar_one()
                )
        return added

    def _update_item(
        self, request_id: int, item_id: int, where: Any, values: dict[str, Any]
    ) -> RemovalItem:
        match = (_items.c.id == item_id) & (_items.c.request_id == request_id)
        with storage_errors("changing a copy"), self.engine.begin() as conn:
            conn.execute(update(_items).where(match, where).values(**values))
            row = conn.execute(select(_items).where(match)).first()
        if row is None:
            raise NotFound("no such copy on this request", item=item_id)
        return _item(row)

    def mark_removed(
        self, request_id: int, item_id: int, *, by: str, at: datetime, note: str = ""
    ) -> RemovalItem:
        return self._update_item(
            request_id,
            item_id,
            _items.c.removed_at.is_(None),
            {"removed_at": at, "removed_by": by, "removal_note": note},
        )

    def dismiss(
        self, request_id: int, item_id: int, *, by: str, at: datetime, note: str
    ) -> RemovalItem:
        item = self._update_item(
            request_id,
            item_id,
            _items.c.dismissed_at.is_(None) & _items.c.removed_at.is_(None),
            {"dismissed_at": at, "dismissed_by": by, "removal_note": note},
        )
        if item.dismissed_at is None:
            raise Conflict("this copy is recorded as removed; it cannot be dismissed")
        return item

    def seen_again(self, request_id: int, item_id: int, at: datetime) -> RemovalItem:
        return self._update_item(
            request_id,
            item_id,
            _items.c.removed_at.is_not(None),
            {"removed_at": None, "removed_by": None, "seen_again_at": at},
        )

    def set_state(
        self, request_id: int, state: RequestState, *, at: datetime, reason: str | None = None
    ) -> RemovalRequest:
        values: dict[str, Any] = {"state": state.value}
        if state is RequestState.CLOSED:
            values["closed_at"] = at
        elif state is RequestState.OPEN:
            values["closed_at"] = None
        else:
            values.update(closed_at=at, ended_reason=reason)
        where = _req.c.id == request_id
        with storage_errors("changing a removal request"), self.engine.begin() as conn:
            conn.execute(update(_req).where(where).values(**values))
            if state is RequestState.CLOSED:
                conn.execute(
                    update(_req)
                    .where(where, _req.c.first_closed_at.is_(None))
                    .values(first_closed_at=at)
                )
        return self.get(request_id)

    def record_sweep(self, request_id: int, at: datetime) -> None:
        with storage_errors("recording a sweep"), self.engine.begin() as conn:
            conn.execute(
                update(_req).where(_req.c.id == request_id).values(last_sweep_at=at, swept=True)
            )
