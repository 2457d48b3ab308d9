"""The crawl on SQL: crawls, the persistent frontier, URL reports and stored sightings.

- :class:`SqlFrontier` implements :class:`keepdown.crawl.frontier.Frontier` on the
  ``crawl_urls`` table for one crawl. A lease is a conditional ``UPDATE`` (the row must still
  be pending, or leased with an expired lease), so two workers never hold the same URL and a
  worker killed mid-fetch only costs the lease time: the URL is handed out again, and nothing
  ``done`` is ever leased again. Works the same on SQLite and PostgreSQL.
- :class:`CrawlStore` creates crawls (seeds + scope rules + budgets) and picks the next one
  to run; :class:`ReportStore` takes reported URLs, one row per normalised URL, each with a
  reference number; a new report starts a crawl from it.
- :class:`SightingRecorder` is the crawler's :class:`~keepdown.crawl.sightings.MediaSink`:
  it matches each hashed media through an injected ``matcher`` (the composition root passes
  ``BankIndex.match_result``), attributes the host through an injected
  :class:`~keepdown.crawl.attribution.Attributor`, stores one ``sightings`` row (never bytes)
  and emits :class:`MatchFound` / :class:`SightingRecorded` for matches.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine, Row, and_, case, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.crawl.attribution import Attribution, Attributor, CachingAttributor
from keepdown.crawl.frontier import ALREADY_DUE, FrontierItem, UrlKind, UrlState
from keepdown.crawl.sightings import Sighting
from keepdown.crawl.urls import Scope, host_of, normalize_url
from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.events import EventSink, MatchFound, SightingRecorded
from keepdown.settings import Settings
from keepdown.storage.tables_crawl import (
    crawl_unknown_hosts,
    crawl_urls,
    crawls,
    sightings,
    url_reports,
)

__all__ = [
    "REPORTER_TYPES",
    "CrawlRecord",
    "CrawlStore",
    "ReportRecord",
    "ReportStore",
    "SightingRecorder",
    "SqlFrontier",
]

REPORTER_TYPES = ("public", "trusted_flagger", "hotline", "own_initiative")


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


class SqlFrontier:
    """The frontier of one crawl in ``crawl_urls`` (see the module docstring)."""

    def __init__(self, engine: Engine, crawl_id: int, *, max_attempts: int = 3) -> None:
        self.engine = engine
        self.crawl_id = crawl_id
        self.max_attempts = max_attempts

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
        if "\x00" in url or "\x00" in via:
            return False  # no database text column takes NUL; no real URL contains one
        key = _key(kind, url, via)
        with self.engine.begin() as conn:
            known = conn.execute(
                select(crawl_urls.c.id).where(
                    crawl_urls.c.crawl_id == self.crawl_id, crawl_urls.c.key == key
                )
            ).first()
            if known is not None:
                return False
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(crawl_urls).values(
                            crawl_id=self.crawl_id,
                            key=key,
                            kind=kind.value,
                            url=url,
                            via=via,
                            hint=hint[:200],
                            depth=depth,
                            state=UrlState.PENDING.value,
                            not_before=not_before,
                        )
                    )
            except IntegrityError:
                return False  # another worker added it between our look and our insert
        return True

    def lease(
        self,
        *,
        now: datetime,
        limit: int,
        lease_seconds: float,
        kinds: Iterable[UrlKind] = (UrlKind.PAGE, UrlKind.MEDIA),
    ) -> list[FrontierItem]:
        c = crawl_urls.c
        due = or_(
            and_(c.state == "pending", or_(c.not_before.is_(None), c.not_before <= now)),
            and_(c.state == "in_progress", c.lease_expires <= now),
        )
        query = (
            select(crawl_urls)
            .where(c.crawl_id == self.crawl_id, c.kind.in_([k.value for k in kinds]), due)
            .order_by(case((c.kind == "page", 1), else_=0), c.depth, c.id)
            .limit(max(limit, 0) * 2 + 4)
        )
        leased: list[FrontierItem] = []
        expires = now + timedelta(seconds=lease_seconds)
        with self.engine.begin() as conn:
            for row in conn.execute(query).all():
                if len(leased) >= limit:
                    break
                if row.state == "in_progress" and row.attempts >= self.max_attempts:
                    conn.execute(
                        update(crawl_urls)
                        .where(c.id == row.id, c.lease_token == row.lease_token)
                        .values(
                            state="failed",
                            lease_token=None,
                            lease_expires=None,
                            last_error=row.last_error or "lease expired on every attempt",
                        )
                    )
                    continue
                token = secrets.token_hex(8)
                # Conditional on the row being as we read it: a racing worker wins or we do.
                taken = conn.execute(
                    update(crawl_urls)
                    .where(
                        c.id == row.id,
                        c.state == row.state,
                        c.attempts == row.attempts,
                        due,
                    )
                    .values(
                        state="in_progress",
                        attempts=row.attempts + 1,
                        lease_token=token,
                        lease_expires=expires,
                    )
                ).rowcount
                if taken == 1:
                    fresh = _item(row)
                    leased.append(
                        FrontierItem(
                            url=fresh.url,
                            kind=fresh.kind,
                            depth=fresh.depth,
                            via=fresh.via,
                            hint=fresh.hint,
                            state=UrlState.IN_PROGRESS,
                            not_before=fresh.not_before,
                            attempts=fresh.attempts + 1,
                            last_error=fresh.last_error,
                            lease_token=token,
                            lease_expires=expires,
                            bytes_fetched=fresh.bytes_fetched,
                        )
                    )
        return leased

    def _settle(self, item: FrontierItem, **values: Any) -> None:
        c = crawl_urls.c
        key = _key(item.kind, item.url, item.via)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(crawl_urls)
                .where(
                    c.crawl_id == self.crawl_id,
                    c.key == key,
                    c.state == "in_progress",
                    c.lease_token == item.lease_token,
                )
                .values(lease_token=None, lease_expires=None, **values)
            ).rowcount
            if done == 1:
                return
            current = conn.execute(
                select(c.state).where(c.crawl_id == self.crawl_id, c.key == key)
            ).first()
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

    def get(self, url: str, *, kind: UrlKind = UrlKind.PAGE, via: str = "") -> FrontierItem:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(crawl_urls).where(
                    crawl_urls.c.crawl_id == self.crawl_id,
                    crawl_urls.c.key == _key(kind, url, via),
                )
            ).first()
        if row is None:
            raise NotFound(f"{url} is not in this frontier", url=url)
        return _item(row)

    def count(
        self, *, kinds: Iterable[UrlKind] | None = None, states: Iterable[UrlState] | None = None
    ) -> int:
        c = crawl_urls.c
        query = select(func.count()).select_from(crawl_urls).where(c.crawl_id == self.crawl_id)
        if kinds is not None:
            query = query.where(c.kind.in_([k.value for k in kinds]))
        if states is not None:
            query = query.where(c.state.in_([s.value for s in states]))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def bytes_fetched(self) -> int:
        query = select(func.coalesce(func.sum(crawl_urls.c.bytes_fetched), 0)).where(
            crawl_urls.c.crawl_id == self.crawl_id
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def next_due(self) -> datetime | None:
        c = crawl_urls.c
        mine = c.crawl_id == self.crawl_id
        with self.engine.connect() as conn:
            at_once = conn.execute(
                select(c.id).where(mine, c.state == "pending", c.not_before.is_(None)).limit(1)
            ).first()
            if at_once is not None:
                return ALREADY_DUE
            pending = conn.execute(
                select(func.min(c.not_before)).where(mine, c.state == "pending")
            ).scalar_one()
            leased = conn.execute(
                select(func.min(c.lease_expires)).where(mine, c.state == "in_progress")
            ).scalar_one()
        times = [self._aware(t) for t in (pending, leased) if t is not None]
        return min(times, default=None)

    @staticmethod
    def _aware(value: Any) -> datetime:
        # min() over a UtcDateTime column comes back untyped on SQLite (a string).
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def per_host_queue(self) -> dict[str, int]:
        """Pending URLs per host (the progress display)."""
        query = select(crawl_urls.c.url).where(
            crawl_urls.c.crawl_id == self.crawl_id, crawl_urls.c.state == "pending"
        )
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for (url,) in conn.execute(query):
                host = host_of(url)
                out[host] = out.get(host, 0) + 1
        return out

    def items(self) -> list[FrontierItem]:
        """Every item, in the order they were added (tests and reports)."""
        query = (
            select(crawl_urls)
            .where(crawl_urls.c.crawl_id == self.crawl_id)
            .order_by(crawl_urls.c.id)
        )
        with self.engine.connect() as conn:
            return [_item(r) for r in conn.execute(query)]


# --- crawls ---------------------------------------------------------------------------------


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

    @property
    def scope(self) -> Scope:
        return Scope(
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
    )


class CrawlStore:
    """Crawls: what to crawl with which rules, and which crawl runs next."""

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
        seeds = [normalize_url(u) for u in seeds]
        scope = Scope(
            seeds=tuple(seeds),
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
            new_id = conn.execute(insert(crawls).values(**values)).inserted_primary_key[0]
        return self.get(int(new_id))

    def get(self, crawl_id: int) -> CrawlRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(crawls).where(crawls.c.id == crawl_id)).first()
        if row is None:
            raise NotFound(f"no crawl {crawl_id}", crawl_id=crawl_id)
        return _crawl(row)

    def next_to_run(self) -> CrawlRecord | None:
        """The oldest crawl not finished (a running one first: it was interrupted)."""
        query = (
            select(crawls)
            .where(crawls.c.state.in_(["running", "pending"]))
            .order_by(case((crawls.c.state == "running", 0), else_=1), crawls.c.id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _crawl(row) if row is not None else None

    def set_state(self, crawl_id: int, state: str, *, now: datetime) -> None:
        values: dict[str, Any] = {"state": state}
        if state == "running":
            values["started_at"] = now
        elif state in ("done", "stopped"):
            values["finished_at"] = now
        with self.engine.begin() as conn:
            conn.execute(update(crawls).where(crawls.c.id == crawl_id).values(**values))

    def frontier(self, crawl_id: int) -> SqlFrontier:
        return SqlFrontier(
            self.engine, crawl_id, max_attempts=int(self.settings.crawl_max_attempts)
        )

    def unknown_hosts(self, crawl_id: int) -> list[tuple[str, str]]:
        """Hosts of this crawl no provider was found for: (host, ip), for an analyst."""
        c = crawl_unknown_hosts.c
        query = select(c.host, c.ip).where(c.crawl_id == crawl_id).order_by(c.host, c.ip)
        with self.engine.connect() as conn:
            return [(r.host, r.ip) for r in conn.execute(query)]


# --- reports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRecord:
    id: int
    reference: str
    url: str
    reporter_type: str
    reporter: str
    note: str
    times_reported: int
    first_reported_at: datetime
    last_reported_at: datetime
    crawl_id: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "url": self.url,
            "reporter_type": self.reporter_type,
            "times_reported": self.times_reported,
            "first_reported_at": self.first_reported_at.isoformat(),
            "last_reported_at": self.last_reported_at.isoformat(),
            "crawl_id": self.crawl_id,
        }


def _report(row: Row[Any]) -> ReportRecord:
    return ReportRecord(
        id=row.id,
        reference=row.reference,
        url=row.url,
        reporter_type=row.reporter_type,
        reporter=row.reporter,
        note=row.note,
        times_reported=row.times_reported,
        first_reported_at=row.first_reported_at,
        last_reported_at=row.last_reported_at,
        crawl_id=row.crawl_id,
    )


def report_url(url: str) -> str:
    """The normalised form of a reported URL; :class:`InvalidInput` unless http(s)."""
    text = url.strip()
    if not text.lower().startswith(("http://", "https://")) or len(text) > 4096:
        raise InvalidInput("a reported URL must be an http(s) URL of at most 4096 characters")
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in text):
        raise InvalidInput("a reported URL may not contain spaces or control characters")
    try:
        normal = normalize_url(text)
    except (ValueError, InvalidInput) as exc:
        raise InvalidInput(f"not a valid URL: {text[:200]!r}") from exc
    if not _HOST.fullmatch(host_of(normal)):
        raise InvalidInput(f"not a valid host name in {text[:200]!r}")
    return normal


_HOST = re.compile(r"[a-z0-9._-]{1,253}|\[[0-9a-f:.]{2,45}\]")


class ReportStore:
    """Reported URLs: one row per normalised URL; a first report starts a crawl from it."""

    def __init__(self, engine: Engine, crawls: CrawlStore) -> None:
        self.engine = engine
        self.crawls = crawls

    def submit(
        self,
        url: str,
        *,
        reporter_type: str,
        now: datetime,
        reporter: str = "",
        note: str = "",
    ) -> tuple[ReportRecord, bool]:
        """Store a report; (record, True) when new, (existing record, False) when a repeat."""
        if reporter_type not in REPORTER_TYPES:
            raise InvalidInput(
                f"reporter_type must be one of {', '.join(REPORTER_TYPES)}",
                reporter_type=reporter_type,
            )
        normal = report_url(url)
        key = hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()
        existing = self._bump(key, now)
        if existing is not None:
            return existing, False
        crawl = self.crawls.create([normal], now=now)
        reference = f"KD-{now:%Y%m%d}-{secrets.token_hex(4).upper()}"
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(url_reports).values(
                        reference=reference,
                        url=normal,
                        url_key=key,
                        reporter_type=reporter_type,
                        reporter=reporter[:200],
                        note=note[:4000],
                        times_reported=1,
                        first_reported_at=now,
                        last_reported_at=now,
                        crawl_id=crawl.id,
                    )
                )
        except IntegrityError:
            # The same URL reported at the same instant by someone else: theirs stands.
            self.crawls.set_state(crawl.id, "stopped", now=now)
            again = self._bump(key, now)
            if again is None:
                raise
            return again, False
        return self.get(reference), True

    def _bump(self, key: str, now: datetime) -> ReportRecord | None:
        c = url_reports.c
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(url_reports)
                .where(c.url_key == key)
                .values(times_reported=c.times_reported + 1, last_reported_at=now)
            ).rowcount
            if changed != 1:
                return None
            row = conn.execute(select(url_reports).where(c.url_key == key)).one()
        return _report(row)

    def get(self, reference: str) -> ReportRecord:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(url_reports).where(url_reports.c.reference == reference)
            ).first()
        if row is None:
            raise NotFound(f"no report {reference}", reference=reference)
        return _report(row)

    def find(self, reference: str) -> ReportRecord | None:
        try:
            return self.get(reference)
        except NotFound:
            return None

    def list(self, *, limit: int = 100, offset: int = 0) -> list[ReportRecord]:
        query = (
            select(url_reports)
            .order_by(url_reports.c.id.desc())
            .limit(max(1, min(limit, 1000)))
            .offset(max(0, offset))
        )
        with self.engine.connect() as conn:
            return [_report(r) for r in conn.execute(query)]


# --- sightings ------------------------------------------------------------------------------


class MatchLike(Protocol):
    """What the recorder reads of a match (``keepdown.matching.live.MatchView`` fits)."""

    bank: str
    entry_id: int
    signal_type: str
    distance: int
    variant: str | None
    match_type: str
    trusted: bool


def _best(matches: Sequence[MatchLike]) -> MatchLike | None:
    """Exact on a trusted bank first, then exact, then the nearest."""
    return min(
        matches,
        key=lambda m: (
            not (m.match_type == "exact" and m.trusted),
            m.match_type != "exact",
            m.distance,
            m.entry_id,
        ),
        default=None,
    )


def sighting_state(match: MatchLike | None) -> str:
    if match is None:
        return "unmatched"
    return "confirmed" if match.match_type == "exact" and match.trusted else "pending_review"


class SightingRecorder:
    """The crawler's media sink on SQL (module docstring). One per crawl."""

    def __init__(
        self,
        engine: Engine,
        crawl_id: int,
        *,
        matcher: Callable[[Any], Sequence[MatchLike]],
        attributor: Attributor,
        events: EventSink,
        clock_now: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.crawl_id = crawl_id
        self.matcher = matcher
        self.attributor = CachingAttributor(attributor)
        self.events = events
        self.now = clock_now
        self.recorded = 0
        self.matched = 0

    def accept(self, sighting: Sighting, hashes: Any) -> None:
        matches = list(self.matcher(hashes))
        best = _best(matches)
        state = sighting_state(best)
        host = host_of(sighting.final_url)
        who = self.attributor.attribute(host, sighting.server_ip)
        row = self._row(sighting, best, state, who)
        with self.engine.begin() as conn:
            if conn.execute(
                select(sightings.c.id).where(sightings.c.sighting_key == row["sighting_key"])
            ).first():
                return  # recorded before a crash; the media was fetched again, not seen again
            new_id = conn.execute(insert(sightings).values(**row)).inserted_primary_key[0]
            if who.source == "unknown":
                self._note_unknown(conn, host, sighting.server_ip or "")
        self.recorded += 1
        if best is None:
            return
        self.matched += 1
        for match in matches:
            self.events.emit(
                MatchFound(
                    at=sighting.seen_at,
                    bank=match.bank,
                    entry_id=match.entry_id,
                    signal_type=match.signal_type,
                    distance=match.distance,
                    variant=match.variant or "original",
                    source=sighting.final_url,
                )
            )
        self.events.emit(
            SightingRecorded(
                at=sighting.seen_at,
                sighting_id=str(new_id),
                media_url=sighting.media_url,
                page_url=sighting.page_url,
                bank=best.bank,
                entry_id=best.entry_id,
                match_type=best.match_type,
                state=state,
                provider=who.provider or "",
                country=who.country,
            )
        )

    def _row(
        self, s: Sighting, best: MatchLike | None, state: str, who: Attribution
    ) -> dict[str, Any]:
        key = f"{self.crawl_id}|{s.page_url}|{s.media_url}|{s.archive_member}"
        return {
            "crawl_id": self.crawl_id,
            "sighting_key": hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest(),
            "page_url": s.page_url,
            "media_url": s.media_url,
            "final_url": s.final_url,
            "archive_member": s.archive_member,
            "found_by": s.found_by[:100],
            "sha256": s.sha256,
            "md5": s.md5,
            "sha1": s.sha1,
            "pdq": s.pdq,
            "quality": s.pdq_quality,
            "size": s.size,
            "content_type": s.content_type[:100],
            "http_status": s.status,
            "server_ip": s.server_ip,
            "seen_at": s.seen_at,
            "bank": best.bank if best else None,
            "entry_id": best.entry_id if best else None,
            "signal_type": best.signal_type if best else None,
            "distance": best.distance if best else None,
            "variant": (best.variant or "original") if best else None,
            "match_type": best.match_type if best else None,
            "state": state,
            "provider_id": who.provider_id,
            "provider": who.provider,
            "asn": who.asn,
            "network": who.network,
            "country": who.country[:2],
            "abuse_email": who.abuse_email,
            "attribution_source": who.source,
        }

    def _note_unknown(self, conn: Any, host: str, ip: str) -> None:
        c = crawl_unknown_hosts.c
        seen = conn.execute(
            select(c.id).where(c.crawl_id == self.crawl_id, c.host == host, c.ip == ip)
        ).first()
        if seen is None:
            conn.execute(
                insert(crawl_unknown_hosts).values(
                    crawl_id=self.crawl_id, host=host[:255], ip=ip, first_seen_at=self.now()
                )
            )


def list_sightings(
    engine: Engine, *, crawl_id: int | None = None, states: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Sightings as dicts, oldest first (tests, the CLI and analyst pages)."""
    query = select(sightings).order_by(sightings.c.id)
    if crawl_id is not None:
        query = query.where(sightings.c.crawl_id == crawl_id)
    if states is not None:
        query = query.where(sightings.c.state.in_(list(states)))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
