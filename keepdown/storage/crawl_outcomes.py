"""What became of crawls, read from SQL: summaries, outcomes and every URL's status.

The domain side is :mod:`keepdown.crawl.outcome`; this module counts what it needs, in a few
grouped queries per call (a list of reports asks for all its crawls at once, not one each):

- ``crawls``: state, reason, started, finished, resume at;
- ``crawl_urls``: URLs by (kind, state), failed URLs by failure class, the seeds (depth 0),
  and for one crawl the hosts with the most failures;
- ``sightings``: by state (``confirmed`` and ``pending_review`` are "known").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, Row, func, select

from keepdown.crawl.outcome import CrawlSummary, UrlStatus
from keepdown.crawl.urls import host_of
from keepdown.errors import NotFound
from keepdown.storage.tables_crawl import crawl_urls, crawls, sightings

__all__ = ["crawl_summaries", "crawl_summary", "url_statuses"]

_U = crawl_urls.c
_S = sightings.c
_KNOWN = ("confirmed", "pending_review")
_TOP_HOSTS = 5


def _status(
    row: Row[Any], seen: Counter[tuple[str, str]], known: Counter[tuple[str, str]]
) -> UrlStatus:
    key = (row.url, "") if row.kind == "page" else (row.via, row.url)
    return UrlStatus(
        url=row.url,
        kind=row.kind,
        depth=row.depth,
        via=row.via,
        state=row.state,
        attempts=row.attempts,
        failure=row.failure,
        last_error=row.last_error or "",
        sightings=seen[key],
        matched=known[key],
    )


def crawl_summaries(
    engine: Engine, crawl_ids: Collection[int], *, hosts: bool = False
) -> dict[int, CrawlSummary]:
    """Summaries of these crawls (unknown ids are left out); ``hosts``: the failing hosts."""
    ids = sorted(set(crawl_ids))
    if not ids:
        return {}
    with engine.connect() as conn:
        heads = conn.execute(select(crawls).where(crawls.c.id.in_(ids))).all()
        counts = conn.execute(
            select(_U.crawl_id, _U.kind, _U.state, func.count())
            .where(_U.crawl_id.in_(ids))
            .group_by(_U.crawl_id, _U.kind, _U.state)
        ).all()
        failures = conn.execute(
            select(_U.crawl_id, _U.failure, func.count())
            .where(_U.crawl_id.in_(ids), _U.state == "failed")
            .group_by(_U.crawl_id, _U.failure)
        ).all()
        seeds = conn.execute(
            select(crawl_urls)
            .where(_U.crawl_id.in_(ids), _U.depth == 0, _U.kind == "page")
            .order_by(_U.id)
        ).all()
        seen = conn.execute(
            select(_S.crawl_id, _S.state, func.count())
            .where(_S.crawl_id.in_(ids))
            .group_by(_S.crawl_id, _S.state)
        ).all()
        failing = _failing_hosts(conn, ids) if hosts else {}
    return {
        head.id: _summary(
            head,
            [tuple(r) for r in counts],
            [tuple(r) for r in failures],
            seeds,
            [tuple(r) for r in seen],
            failing.get(head.id, ()),
        )
        for head in heads
    }


def _summary(
    head: Row[Any],
    counts: Iterable[tuple[Any, ...]],
    failures: Iterable[tuple[Any, ...]],
    seeds: Iterable[Row[Any]],
    seen: Iterable[tuple[Any, ...]],
    failing: tuple[tuple[str, int], ...],
) -> CrawlSummary:
    by_state = {r[1]: int(r[2]) for r in seen if r[0] == head.id}
    empty: Counter[tuple[str, str]] = Counter()
    return CrawlSummary(
        crawl_id=head.id,
        state=head.state,
        reason=head.reason or "",
        started=head.started_at is not None,
        seeds=tuple(_status(r, empty, empty) for r in seeds if r.crawl_id == head.id),
        urls={(r[1], r[2]): int(r[3]) for r in counts if r[0] == head.id},
        failures={r[1] or "unknown": int(r[2]) for r in failures if r[0] == head.id},
        failing_hosts=failing,
        sightings=sum(by_state.values()),
        confirmed=by_state.get("confirmed", 0),
        pending_review=by_state.get("pending_review", 0),
        finished_at=head.finished_at,
        resume_at=head.resume_at,
    )


def _failing_hosts(conn: Any, ids: list[int]) -> dict[int, tuple[tuple[str, int], ...]]:
    """Per crawl, the hosts with the most failed URLs (URLs are read: hosts are not stored)."""
    per: dict[int, Counter[str]] = {}
    query = select(_U.crawl_id, _U.url).where(_U.crawl_id.in_(ids), _U.state == "failed")
    for crawl_id, url in conn.execute(query):
        per.setdefault(crawl_id, Counter())[host_of(url) or "?"] += 1
    return {
        crawl_id: tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:_TOP_HOSTS])
        for crawl_id, counter in per.items()
    }


def crawl_summary(engine: Engine, crawl_id: int) -> CrawlSummary:
    """One crawl's summary with its failing hosts; :class:`NotFound` for an unknown id."""
    found = crawl_summaries(engine, [crawl_id], hosts=True).get(crawl_id)
    if found is None:
        raise NotFound(f"no crawl {crawl_id}", crawl_id=crawl_id)
    return found


def url_statuses(
    engine: Engine,
    crawl_id: int,
    *,
    limit: int = 100,
    offset: int = 0,
    states: Collection[str] = (),
    kinds: Collection[str] = (),
) -> tuple[list[UrlStatus], int]:
    """A page of a crawl's URLs in the order they were found, with their sightings; and how
    many URLs match in all."""
    where = [_U.crawl_id == crawl_id]
    if states:
        where.append(_U.state.in_(list(states)))
    if kinds:
        where.append(_U.kind.in_(list(kinds)))
    with engine.connect() as conn:
        count = select(func.count()).select_from(crawl_urls).where(*where)
        total = int(conn.execute(count).scalar_one())
        rows = conn.execute(
            select(crawl_urls).where(*where).order_by(_U.id).limit(limit).offset(offset)
        ).all()
        seen, known = _sightings_of(conn, crawl_id, rows)
    return [_status(row, seen, known) for row in rows], total


def _sightings_of(
    conn: Any, crawl_id: int, rows: Sequence[Row[Any]]
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """Sightings of these URLs, all and known: a page's by its URL, a media's by (page, URL)."""
    pages = sorted({r.url for r in rows if r.kind == "page"} | {r.via for r in rows if r.via})
    seen: Counter[tuple[str, str]] = Counter()
    known: Counter[tuple[str, str]] = Counter()
    for start in range(0, len(pages), 200):
        chunk = pages[start : start + 200]
        query = (
            select(_S.page_url, _S.media_url, _S.state, func.count())
            .where(_S.crawl_id == crawl_id, _S.page_url.in_(chunk))
            .group_by(_S.page_url, _S.media_url, _S.state)
        )
        for page_url, media_url, state, n in conn.execute(query):
            for key in ((page_url, ""), (page_url, media_url)):
                seen[key] += n
                if state in _KNOWN:
                    known[key] += n
    return seen, known
