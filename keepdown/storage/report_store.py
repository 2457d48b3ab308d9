"""Reported URLs on SQL: one ``url_reports`` row per normalised URL, each with a reference.

:meth:`ReportStore.intake` steps:

1. check the reporter type and the URL (http(s), a sane host; normalised: fragment dropped,
   scheme and host lower-cased, default port removed) and the scope asked (operator caps);
2. a URL never reported: a crawl is created from it (with the scope asked) and a report row
   with a new reference (``KD-YYYYMMDD-XXXXXXXX``); outcome ``new``;
3. a URL reported before: the same reference, ``times_reported`` counted; a new crawl is
   started only if the last one finished more than ``crawl_recrawl_after_hours`` ago
   (outcome ``recrawl``), else none (``repeat``). Two racing reports of one URL make one
   report and at most one new crawl (the loser's crawl is ``stopped``);
4. every intake is logged in ``report_submissions`` (who, note, outcome). A public
   submission gets a *receipt*: a secret shown once, kept as its sha256, that lets the
   reporter read the coarse status of their report and nothing else
   (:meth:`ReportStore.public_status`).

An anonymous (public) submission must not learn whether the URL was known: it gets a
reference of its own (``public_reference``, the same shape as any other), never the staff
report's, and its status follows a crawl that checks the URL *after* it was submitted: the
URL's crawl when it has not started yet, else a new one (a crawl already running may have
fetched the URL before the report). So a known URL and a new one go through the same
statuses (received, checking, checked) for the reporter, whoever reported it before.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from keepdown.crawl.outcome import CrawlOutcome, Outcome, UrlStatus, outcome_of, public_status
from keepdown.crawl.reported import (
    REPORTER_TYPES,
    Intake,
    ReportedUrl,
    ReportStatus,
    report_url,
)
from keepdown.crawl.scope_request import ScopeRequest
from keepdown.errors import InvalidInput, NotFound
from keepdown.storage.crawl_outcomes import crawl_summaries, crawl_summary, url_statuses
from keepdown.storage.tables_crawl import report_submissions, url_reports

if TYPE_CHECKING:
    from keepdown.storage.crawl_store import CrawlStore

__all__ = ["ReportStore"]

_R = url_reports.c


def _report(row: Row[Any]) -> ReportedUrl:
    return ReportedUrl(
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


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ReportStore:
    """Reported URLs (module docstring): intake, de-duplication, re-crawls, public status."""

    def __init__(self, engine: Engine, crawls: CrawlStore) -> None:
        self.engine = engine
        self.crawls = crawls
        self.settings = crawls.settings

    # --- intake ---------------------------------------------------------------------------

    def intake(
        self,
        url: str,
        *,
        reporter_type: str,
        now: datetime,
        reporter: str = "",
        note: str = "",
        scope: ScopeRequest | None = None,
        receipt: bool = False,
    ) -> Intake:
        """Store one report (steps in the module docstring)."""
        if reporter_type not in REPORTER_TYPES:
            raise InvalidInput(
                f"reporter_type must be one of {', '.join(REPORTER_TYPES)}",
                reporter_type=reporter_type,
            )
        normal = report_url(url)
        scope = (scope or ScopeRequest()).checked(self.settings)
        key = _sha256(normal)
        record = self._find_key(key)
        outcome = "repeat"
        if record is None:
            record = self._create(normal, key, reporter_type, reporter, note, scope, now)
            outcome = "new" if record is not None else "repeat"
        if outcome == "repeat":
            outcome = self._maybe_recrawl(self._bump(key, now), scope, now)
            record = self._find_key(key)
        assert record is not None
        if not receipt:
            self._log(record, reporter_type, reporter, note, outcome, None, now)
            return Intake(record, outcome)
        crawl_id = record.crawl_id if outcome != "repeat" else self._fresh_check(record, now)
        if outcome == "repeat" and crawl_id != record.crawl_id:
            outcome = "recrawl"
        secret = secrets.token_urlsafe(18)
        public = self._log(
            record, reporter_type, reporter, note, outcome, secret, now, crawl_id=crawl_id
        )
        return Intake(record, outcome, secret, public)

    def _fresh_check(self, record: ReportedUrl, now: datetime) -> int:
        """The crawl that checks ``record``'s URL after an anonymous submission now: its
        crawl if that has not started, else a new one with the same rules (module
        docstring)."""
        last = self._last_crawl(record.crawl_id)
        if last is not None and last.state == "pending":
            return int(last.id)
        rules = _rules_of(last) if last is not None else ScopeRequest()
        return int(self.crawls.create([record.url], now=now, **rules.as_kwargs()).id)

    def submit(
        self,
        url: str,
        *,
        reporter_type: str,
        now: datetime,
        reporter: str = "",
        note: str = "",
        scope: ScopeRequest | None = None,
    ) -> tuple[ReportedUrl, bool]:
        """:meth:`intake` answering (record, True when the URL was new)."""
        done = self.intake(
            url, reporter_type=reporter_type, now=now, reporter=reporter, note=note, scope=scope
        )
        return done.record, done.new

    def _create(
        self,
        normal: str,
        key: str,
        reporter_type: str,
        reporter: str,
        note: str,
        scope: ScopeRequest,
        now: datetime,
    ) -> ReportedUrl | None:
        """A first report and its crawl; None if a racing report of the URL got in first."""
        crawl = self.crawls.create([normal], now=now, **scope.as_kwargs())
        values = {
            "reference": f"KD-{now:%Y%m%d}-{secrets.token_hex(4).upper()}",
            "url": normal,
            "url_key": key,
            "reporter_type": reporter_type,
            "reporter": reporter[:200],
            "note": note[:4000],
            "times_reported": 1,
            "first_reported_at": now,
            "last_reported_at": now,
            "crawl_id": crawl.id,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(url_reports).values(**values))
        except IntegrityError:
            self.crawls.set_state(crawl.id, "stopped", now=now, reason="a racing report won")
            return None
        return self._find_key(key)

    def _bump(self, key: str, now: datetime) -> ReportedUrl:
        with self.engine.begin() as conn:
            conn.execute(
                update(url_reports)
                .where(_R.url_key == key)
                .values(times_reported=_R.times_reported + 1, last_reported_at=now)
            )
            return _report(conn.execute(select(url_reports).where(_R.url_key == key)).one())

    def _maybe_recrawl(self, record: ReportedUrl, scope: ScopeRequest, now: datetime) -> str:
        """``recrawl`` (and a new crawl) if the last crawl finished long enough ago."""
        hours = self.settings.crawl_recrawl_after_hours
        if hours <= 0:
            return "repeat"
        last = self._last_crawl(record.crawl_id)
        if last is not None:
            finished = last.finished_at
            if last.state not in ("done", "stopped") or finished is None:
                return "repeat"  # still to run, running or paused: it will do
            if now - finished < timedelta(hours=hours):
                return "repeat"
        rules = scope if not scope.is_default or last is None else _rules_of(last)
        crawl = self.crawls.create([record.url], now=now, **rules.as_kwargs())
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(url_reports)
                .where(_R.id == record.id, _same_crawl(record.crawl_id))
                .values(crawl_id=crawl.id)
            ).rowcount
        if moved != 1:  # a racing re-report started the re-crawl first
            self.crawls.set_state(crawl.id, "stopped", now=now, reason="a racing report won")
            return "repeat"
        return "recrawl"

    def _last_crawl(self, crawl_id: int | None) -> Any:
        if crawl_id is None:
            return None  # its crawl was deleted: as good as finished long ago
        return self.crawls.get(crawl_id)

    def _log(
        self,
        record: ReportedUrl,
        reporter_type: str,
        reporter: str,
        note: str,
        outcome: str,
        receipt: str | None,
        now: datetime,
        *,
        crawl_id: int | None = None,
    ) -> str | None:
        """Log the submission; an anonymous one's own reference (None for the others)."""
        values = {
            "report_id": record.id,
            "reporter_type": reporter_type,
            "reporter": reporter[:200],
            "note": note[:4000],
            "outcome": outcome,
            "receipt_sha256": _sha256(receipt) if receipt else None,
            "submitted_at": now,
            "crawl_id": crawl_id,
        }
        for _ in range(3):  # a reference drawn twice (1 in 4 billion) is drawn again
            public = f"KD-{now:%Y%m%d}-{secrets.token_hex(4).upper()}" if receipt else None
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(report_submissions).values(**values, public_reference=public)
                    )
            except IntegrityError:
                if receipt is None:
                    raise
                continue
            return public
        raise InvalidInput("could not draw a free reference; try again")

    # --- reading --------------------------------------------------------------------------

    def _find_key(self, key: str) -> ReportedUrl | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(url_reports).where(_R.url_key == key)).first()
        return _report(row) if row is not None else None

    def get(self, reference: str) -> ReportedUrl:
        with self.engine.connect() as conn:
            row = conn.execute(select(url_reports).where(_R.reference == reference)).first()
        if row is None:
            raise NotFound(f"no report {reference}", reference=reference)
        return _report(row)

    def of_crawl(self, crawl_id: int) -> ReportedUrl | None:
        """The report whose crawl this is, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(select(url_reports).where(_R.crawl_id == crawl_id)).first()
        return _report(row) if row is not None else None

    def find(self, reference: str) -> ReportedUrl | None:
        try:
            return self.get(reference)
        except NotFound:
            return None

    def list_reports(self, *, limit: int = 100, offset: int = 0) -> list[ReportedUrl]:
        query = (
            select(url_reports)
            .order_by(_R.id.desc())
            .limit(max(1, min(limit, 1000)))
            .offset(max(0, offset))
        )
        with self.engine.connect() as conn:
            return [_report(r) for r in conn.execute(query)]

    def submissions(self, reference: str) -> list[dict[str, Any]]:
        """Every intake of one report, oldest first (analysts; receipts never shown)."""
        s = report_submissions.c
        query = (
            select(s.reporter_type, s.reporter, s.note, s.outcome, s.submitted_at)
            .join(url_reports, _R.id == s.report_id)
            .where(_R.reference == reference)
            .order_by(s.id)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def public_status(self, reference: str, receipt: str) -> dict[str, str | None]:
        """``received`` / ``checking`` / ``checked`` / ``unreachable`` (with the failure
        class) for the holder of a receipt of their own ``reference``, from the outcome of the
        crawl that checks the URL after their submission (module docstring;
        :func:`keepdown.crawl.outcome.public_status` says what may be told);
        :class:`NotFound` otherwise (the same answer whatever was wrong)."""
        s = report_submissions.c
        query = select(s.crawl_id).where(
            s.public_reference == reference, s.receipt_sha256 == _sha256(receipt)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound("no report with that reference and receipt")
        found = crawl_summaries(self.engine, [row.crawl_id]) if row.crawl_id is not None else {}
        summary = found.get(row.crawl_id) if row.crawl_id is not None else None
        outcome = outcome_of(summary) if summary is not None else CrawlOutcome(Outcome.STOPPED)
        return public_status(outcome)

    def statuses(self, records: list[ReportedUrl]) -> list[ReportStatus]:
        """These reports with their crawls' summaries and outcomes (a few queries in all)."""
        ids = [r.crawl_id for r in records if r.crawl_id is not None]
        found = crawl_summaries(self.engine, ids)
        return [
            ReportStatus(r, found.get(r.crawl_id) if r.crawl_id is not None else None)
            for r in records
        ]

    def status(self, reference: str) -> ReportStatus:
        """One report with its crawl's summary (failing hosts too) and outcome."""
        record = self.get(reference)
        if record.crawl_id is None:
            return ReportStatus(record, None)
        try:
            return ReportStatus(record, crawl_summary(self.engine, record.crawl_id))
        except NotFound:
            return ReportStatus(record, None)

    def crawl_urls(
        self,
        crawl_id: int,
        *,
        limit: int = 100,
        offset: int = 0,
        states: tuple[str, ...] = (),
        kinds: tuple[str, ...] = (),
    ) -> tuple[list[UrlStatus], int]:
        """A page of a crawl's URLs with their sightings, and how many match in all."""
        return url_statuses(
            self.engine,
            crawl_id,
            limit=max(1, min(limit, 1000)),
            offset=max(0, offset),
            states=states,
            kinds=kinds,
        )


def _same_crawl(crawl_id: int | None) -> Any:
    return _R.crawl_id.is_(None) if crawl_id is None else _R.crawl_id == crawl_id


def _rules_of(crawl: Any) -> ScopeRequest:
    """The scope rules of an earlier crawl, for a re-crawl that asked for nothing special."""
    return ScopeRequest(
        same_site=crawl.same_site,
        max_depth=crawl.max_depth,
        max_pages=crawl.max_pages,
        max_bytes=crawl.max_bytes,
        include=crawl.include,
        exclude=crawl.exclude,
    )
