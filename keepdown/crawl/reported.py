"""Reported URLs: addresses someone asked keepdown to check, and what became of each.

A **reported URL** (not to be confused with a transparency report or the scan journal) comes
from the public form, a hotline, a trusted flagger or the operator's own initiative; keepdown
keeps one :class:`ReportedUrl` per normalised URL, with a reference the reporter can quote,
and crawls it. :class:`ReportedUrls` is what the API, the web pages and the CLI need of the
store (``keepdown.storage.report_store.ReportStore`` implements it on SQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from keepdown.crawl.outcome import CrawlOutcome, CrawlSummary, UrlStatus, outcome_of
from keepdown.crawl.scope_request import ScopeRequest
from keepdown.crawl.urls import host_of, normalize_url
from keepdown.errors import InvalidInput

__all__ = [
    "REPORTER_TYPES",
    "Intake",
    "ReportStatus",
    "ReportedUrl",
    "ReportedUrls",
    "report_url",
]

REPORTER_TYPES = ("public", "trusted_flagger", "hotline", "own_initiative")
_HOST = re.compile(r"[a-z0-9._-]{1,253}|\[[0-9a-f:.]{2,45}\]")


@dataclass(frozen=True)
class ReportedUrl:
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


@dataclass(frozen=True)
class Intake:
    """What one report did: ``outcome`` is ``new``, ``repeat`` or ``recrawl``."""

    record: ReportedUrl
    outcome: str
    receipt: str | None = None  # public submissions only; shown once, stored hashed
    public_reference: str | None = None  # public submissions only: theirs, not the report's

    @property
    def new(self) -> bool:
        return self.outcome == "new"

    @property
    def crawl_started(self) -> bool:
        return self.outcome in ("new", "recrawl")


@dataclass(frozen=True)
class ReportStatus:
    """A reported URL and what became of its crawl: the one reading that ``keepdown crawl
    status``, ``GET /api/v1/reports`` and the web's reported-URL pages all show.

    ``summary`` is None when the report's crawl is gone (deleted); the outcome is then
    unknown, and said so."""

    record: ReportedUrl
    summary: CrawlSummary | None

    @property
    def outcome(self) -> CrawlOutcome | None:
        return outcome_of(self.summary) if self.summary is not None else None

    def to_dict(self) -> dict[str, Any]:
        outcome = self.outcome
        return {
            **self.record.to_dict(),
            "crawl": self.summary.to_dict() if self.summary is not None else None,
            "outcome": outcome.to_dict() if outcome is not None else None,
        }


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


class ReportedUrls(Protocol):
    """The reported URLs' store, as the API, the web pages and the CLI use it."""

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
        """Store one report: a new reference and crawl, or the known one (maybe re-crawled)."""
        ...

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
        ...

    def get(self, reference: str) -> ReportedUrl: ...

    def find(self, reference: str) -> ReportedUrl | None: ...

    def list_reports(self, *, limit: int = 100, offset: int = 0) -> list[ReportedUrl]: ...

    def submissions(self, reference: str) -> list[dict[str, Any]]: ...

    def public_status(self, reference: str, receipt: str) -> dict[str, str | None]:
        """``{"status", "reason"}`` for the holder of a receipt (:func:`public_status`)."""
        ...

    def statuses(self, records: list[ReportedUrl]) -> list[ReportStatus]:
        """These reports with their crawls' summaries and outcomes (a few queries in all)."""
        ...

    def status(self, reference: str) -> ReportStatus:
        """One report with its crawl's summary (failing hosts too) and outcome."""
        ...

    def crawl_urls(
        self,
        crawl_id: int,
        *,
        limit: int = 100,
        offset: int = 0,
        states: tuple[str, ...] = (),
        kinds: tuple[str, ...] = (),
    ) -> tuple[list[UrlStatus], int]:
        """A page of a crawl's URLs (state, attempts, failure, last error, sightings) and how
        many there are."""
        ...
