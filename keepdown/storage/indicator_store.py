"""SQL stores of keepdown.finance: indicators and their pages, subscriptions, the alert outbox.

They implement :class:`keepdown.finance.model.IndicatorStore` and
:class:`keepdown.finance.alerts.AlertStore`.

"Confirmed" is joined at query time: a page's confirmed sightings are the ``sightings`` rows of
the same crawl whose page URL is the page's URL or final URL and whose state is ``confirmed``
now (an analyst's later decision counts as soon as it is made). Writes are idempotent: a page
seen twice in one crawl and an indicator seen on many pages are one row each (``ON CONFLICT DO
NOTHING`` on both dialects).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from keepdown.errors import Conflict, NotFound
from keepdown.finance.alerts import Alert, Subscription
from keepdown.finance.model import Indicator, PageRecord
from keepdown.storage.engine import inserted_id, storage_errors
from keepdown.storage.tables_crawl import sightings
from keepdown.storage.tables_finance import (
    finance_alerts,
    finance_indicator_pages,
    finance_indicators,
    finance_pages,
    finance_subscriptions,
)

__all__ = ["SqlAlertStore", "SqlIndicatorStore"]


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _crawl_number(crawl_id: str) -> int | None:
    return int(crawl_id) if crawl_id.isascii() and crawl_id.isdigit() else None


class SqlIndicatorStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, page: PageRecord) -> None:
        if not page.indicators:
            return
        key = hashlib.sha256(f"{page.crawl_id}|{page.page_url}".encode()).hexdigest()
        with storage_errors("recording payment indicators"), self.engine.begin() as conn:
            conn.execute(
                _insert(conn, finance_pages)
                .values(
                    page_key=key,
                    crawl_id=_crawl_number(page.crawl_id),
                    page_url=page.page_url,
                    final_url=page.final_url,
                    provider=page.provider,
                    server_ip=page.server_ip,
                    seen_at=page.seen_at,
                )
                .on_conflict_do_nothing(index_elements=["page_key"])
            )
            page_id = conn.execute(
                select(finance_pages.c.id).where(finance_pages.c.page_key == key)
            ).scalar_one()
            for found in page.indicators:
                conn.execute(
                    _insert(conn, finance_indicators)
                    .values(
                        type=found.type,
                        value=found.value[:512],
                        detail=found.detail[:200],
                        created_at=page.seen_at,
                    )
                    .on_conflict_do_nothing(index_elements=["type", "value"])
                )
                ident = conn.execute(
                    select(finance_indicators.c.id).where(
                        finance_indicators.c.type == found.type,
                        finance_indicators.c.value == found.value[:512],
                    )
                ).scalar_one()
                conn.execute(
                    _insert(conn, finance_indicator_pages)
                    .values(indicator_id=ident, page_id=page_id)
                    .on_conflict_do_nothing(index_elements=["indicator_id", "page_id"])
                )

    def _rows(self, conn: Connection, types: Sequence[str] | None) -> list[Any]:
        fp, fi, link, s = finance_pages, finance_indicators, finance_indicator_pages, sightings
        confirmed = (
            select(fp.c.id.label("page_id"), func.count(s.c.id).label("n"))
            .select_from(fp)
            .outerjoin(
                s,
                and_(
                    s.c.crawl_id == fp.c.crawl_id,
                    s.c.state == "confirmed",
                    or_(s.c.page_url == fp.c.page_url, s.c.page_url == fp.c.final_url),
                ),
            )
            .group_by(fp.c.id)
            .subquery()
        )
        query = (
            select(
                fi.c.id,
                fi.c.type,
                fi.c.value,
                fi.c.detail,
                fp.c.page_url,
                fp.c.provider,
                fp.c.seen_at,
                confirmed.c.n,
            )
            .select_from(fi)
            .join(link, link.c.indicator_id == fi.c.id)
            .join(fp, fp.c.id == link.c.page_id)
            .join(confirmed, confirmed.c.page_id == fp.c.id)
            .order_by(fi.c.id)
        )
        if types:
            query = query.where(fi.c.type.in_(list(types)))
        return list(conn.execute(query))

    def indicators(
        self,
        *,
        confirmed_only: bool = True,
        types: Sequence[str] | None = None,
        min_confirmed: int = 0,
        limit: int = 10_000,
    ) -> list[Indicator]:
        with storage_errors("reading payment indicators"), self.engine.connect() as conn:
            rows = self._rows(conn, types)
        grouped: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            grouped[int(row.id)].append(row)
        out = []
        for ident, group in grouped.items():
            confirmed = sum(int(r.n) for r in group)
            if (confirmed_only and not confirmed) or confirmed < min_confirmed:
                continue
            first = group[0]
            out.append(
                Indicator(
                    id=ident,
                    type=first.type,
                    value=first.value,
                    detail=first.detail,
                    pages=tuple(sorted({r.page_url for r in group})),
                    providers=tuple(sorted({r.provider for r in group if r.provider})),
                    first_seen=min(r.seen_at for r in group),
                    last_seen=max(r.seen_at for r in group),
                    confirmed_sightings=confirmed,
                    confirmed_pages=sum(1 for r in group if r.n),
                )
            )
            if len(out) >= limit:
                break
        return out


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        name=row.name,
        channel=row.channel,
        target=row.target,
        secret=row.secret,
        threshold=row.threshold,
        types=tuple(row.types or ()),
        active=bool(row.active),
        created_at=row.created_at,
    )


def _alert(row: Any) -> Alert:
    return Alert(
        id=row.id,
        subscription_id=row.subscription_id,
        indicator_id=row.indicator_id,
        message_key=row.message_key,
        subject=row.subject,
        body=row.body,
        state=row.state,
        attempts=row.attempts,
        created_at=row.created_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
    )


class SqlAlertStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_subscription(self, sub: Subscription, now: datetime) -> Subscription:
        t = finance_subscriptions
        with storage_errors("adding a subscription"), self.engine.begin() as conn:
            if conn.execute(select(t.c.id).where(t.c.name == sub.name)).first():
                raise Conflict(f"a subscription named {sub.name!r} exists", name=sub.name)
            new_id = inserted_id(
                conn.execute(
                    t.insert().values(
                        name=sub.name,
                        channel=sub.channel,
                        target=sub.target,
                        secret=sub.secret,
                        threshold=sub.threshold,
                        types=list(sub.types),
                        active=sub.active,
                        created_at=now,
                    )
                )
            )
            return _subscription(conn.execute(select(t).where(t.c.id == new_id)).one())

    def subscriptions(self, *, active_only: bool = True) -> list[Subscription]:
        t = finance_subscriptions
        query = select(t).order_by(t.c.id)
        if active_only:
            query = query.where(t.c.active.is_(True))
        with storage_errors("listing subscriptions"), self.engine.connect() as conn:
            return [_subscription(r) for r in conn.execute(query)]

    def subscription(self, subscription_id: int) -> Subscription:
        t = finance_subscriptions
        with storage_errors("reading a subscription"), self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == subscription_id)).first()
        if row is None:
            raise NotFound(f"no subscription {subscription_id}")
        return _subscription(row)

    def remove_subscription(self, name: str) -> None:
        t = finance_subscriptions
        with storage_errors("removing a subscription"), self.engine.begin() as conn:
            if not conn.execute(delete(t).where(t.c.name == name)).rowcount:
                raise NotFound(f"no subscription named {name!r}", name=name)

    def enqueue_alert(
        self,
        subscription_id: int,
        indicator_id: int,
        message_key: str,
        subject: str,
        body: str,
        now: datetime,
    ) -> Alert | None:
        t = finance_alerts
        with storage_errors("recording an alert"), self.engine.begin() as conn:
            result = conn.execute(
                _insert(conn, t)
                .values(
                    subscription_id=subscription_id,
                    indicator_id=indicator_id,
                    message_key=message_key,
                    subject=subject,
                    body=body,
                    state="pending",
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["subscription_id", "indicator_id"])
                .returning(t.c.id)
            )
            new_id = result.scalar()
            if new_id is None:  # recorded before: this alert goes out once
                return None
            return _alert(conn.execute(select(t).where(t.c.id == new_id)).one())

    def claim_alert(
        self, now: datetime, lease_seconds: float, skip: Collection[int] = ()
    ) -> Alert | None:
        t = finance_alerts
        with storage_errors("claiming an alert"), self.engine.begin() as conn:
            query = select(t.c.id).where(t.c.state == "pending").order_by(t.c.id).limit(1)
            if skip:
                query = query.where(t.c.id.not_in(list(skip)))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            found = conn.execute(query).scalar()
            if found is None:
                return None
            conn.execute(
                update(t)
                .where(t.c.id == found, t.c.state == "pending")
                .values(
                    state="sending",
                    attempts=t.c.attempts + 1,
                    lease_expires=now + timedelta(seconds=lease_seconds),
                )
            )
            return _alert(conn.execute(select(t).where(t.c.id == found)).one())

    def settle_alert(self, alert_id: int, state: str, values: dict[str, Any]) -> None:
        t = finance_alerts
        with storage_errors("settling an alert"), self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id == alert_id)
                .values(state=state, lease_expires=None, **values)
            )

    def expired_alert_claims(self, now: datetime) -> list[Alert]:
        t = finance_alerts
        query = select(t).where(t.c.state == "sending", t.c.lease_expires < now)
        with storage_errors("reading alert claims"), self.engine.connect() as conn:
            return [_alert(r) for r in conn.execute(query)]

    def alerts(self, *, subscription_id: int | None = None) -> list[Alert]:
        t = finance_alerts
        query = select(t).order_by(t.c.id)
        if subscription_id is not None:
            query = query.where(t.c.subscription_id == subscription_id)
        with storage_errors("listing alerts"), self.engine.connect() as conn:
            return [_alert(r) for r in conn.execute(query)]
