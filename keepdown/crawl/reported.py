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

from keepdown.crawl.scope_request import ScopeRequest
from keepdown.crawl.urls import host_of, normalize_url
from keepdown.errors import InvalidInput

__all__ = [
    "PUBLIC_STATUSES",
    "REPORTER_TYPES",
    "Intake",
    "ReportedUrl",
    "ReportedUrls",
    "report_url",
]

REPORTER_TYPES = ("public", "trusted_flagger", "hotline", "own_initiative")
#: What a public reporter may learn of its report: never whether anything was found.
PUBLIC_STATUSES = {
    "pending": "received",
    "running": "checking",
    "paused": "checking",
    "done": "checked",
    "stopped": "checked",
}
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

    def public_status(self, reference: str, receipt: str) -> str: ...
