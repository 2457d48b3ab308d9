"""What became of a crawl, in words a reporter and an analyst can read.

A crawl's state (``pending``, ``running``, ``paused``, ``done``, ``stopped``) says where the
worker is; it does not say what happened. A crawl whose only URL could not be reached ends
``done`` like one that fetched a thousand pages. :func:`outcome_of` reads a
:class:`CrawlSummary` (the crawl, its seeds, its URLs counted by state and failure class, its
sightings) and answers one :class:`Outcome`:

``received``       not started yet;
``in_progress``    started and not finished (running, paused for a Retry-After, between turns);
``nothing_known``  pages were fetched and their media hashed; nothing matched a bank;
``known_found``    at least one sighting matched a bank (confirmed, or waiting for review);
``unreachable``    no seed could be fetched: ``reason`` is the failure class of the seed
                   (``dns``, ``refused``, ``timeout``, ``tls``, ``blocked``, ``robots``,
                   ``http``..., :mod:`keepdown.crawl.failures`), ``detail`` the error;
``stopped``        abandoned: a racing report of the same URL started the crawl that counts.

:func:`public_status` is what the public report form's receipt may learn: never whether
anything was found (a reporter who could tell "known material" from "nothing known" could
test whether a picture is in the banks), only ``received``, ``checking``, ``checked`` or
``unreachable`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from keepdown.crawl.failures import UNREACHABLE, describe

__all__ = [
    "CrawlOutcome",
    "CrawlSummary",
    "Outcome",
    "UrlStatus",
    "outcome_of",
    "public_status",
    "summary_lines",
]


class Outcome(StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    NOTHING_KNOWN = "nothing_known"
    KNOWN_FOUND = "known_found"
    UNREACHABLE = "unreachable"
    STOPPED = "stopped"


#: What each outcome means, for a person.
MEANING = {
    Outcome.RECEIVED: "not checked yet",
    Outcome.IN_PROGRESS: "being checked",
    Outcome.NOTHING_KNOWN: "fetched; nothing known found",
    Outcome.KNOWN_FOUND: "known material found",
    Outcome.UNREACHABLE: "could not be fetched",
    Outcome.STOPPED: "stopped: another check of the same address counts",
}


@dataclass(frozen=True)
class UrlStatus:
    """One URL of a crawl as a person reads it (``keepdown crawl status``, the API, the web)."""

    url: str
    kind: str
    depth: int
    via: str
    state: str
    attempts: int
    failure: str = ""
    last_error: str = ""
    sightings: int = 0
    matched: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "kind": self.kind,
            "depth": self.depth,
            "via": self.via,
            "state": self.state,
            "attempts": self.attempts,
            "failure": self.failure or None,
            "failure_meaning": describe(self.failure) or None,
            "last_error": self.last_error or None,
            "sightings": self.sightings,
            "matched": self.matched,
        }


@dataclass(frozen=True)
class CrawlSummary:
    """A crawl in numbers: what :func:`outcome_of` reads and the summaries print.

    ``urls`` counts URLs by ``(kind, state)``, ``failures`` failed URLs by class;
    ``failing_hosts`` are the hosts with the most failed URLs (most first); ``matched`` counts
    sightings that matched a bank (``confirmed`` and ``pending_review``)."""

    crawl_id: int
    state: str
    reason: str
    started: bool
    seeds: tuple[UrlStatus, ...]
    urls: dict[tuple[str, str], int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    failing_hosts: tuple[tuple[str, int], ...] = ()
    sightings: int = 0
    confirmed: int = 0
    pending_review: int = 0
    finished_at: datetime | None = None
    resume_at: datetime | None = None

    @property
    def matched(self) -> int:
        return self.confirmed + self.pending_review

    def count(self, kind: str, *states: str) -> int:
        return sum(
            n for (k, s), n in self.urls.items() if k == kind and (not states or s in states)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.crawl_id,
            "state": self.state,
            "reason": self.reason or None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "resume_at": self.resume_at.isoformat() if self.resume_at else None,
            "pages": {s: self.count("page", s) for s in _STATES},
            "media": {s: self.count("media", s) for s in _STATES},
            "failures": dict(sorted(self.failures.items(), key=lambda kv: (-kv[1], kv[0]))),
            "failing_hosts": [{"host": h, "failed": n} for h, n in self.failing_hosts],
            "sightings": self.sightings,
            "confirmed": self.confirmed,
            "pending_review": self.pending_review,
            "seeds": [seed.to_dict() for seed in self.seeds],
        }


_STATES = ("pending", "in_progress", "done", "failed")


@dataclass(frozen=True)
class CrawlOutcome:
    """The outcome, its reason (a failure class for ``unreachable``) and a sentence."""

    outcome: Outcome
    reason: str = ""
    detail: str = ""

    @property
    def meaning(self) -> str:
        return MEANING[self.outcome]

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "meaning": self.meaning,
            "reason": self.reason or None,
            "detail": self.detail or None,
        }


def _unreachable(seeds: tuple[UrlStatus, ...]) -> CrawlOutcome | None:
    """Every seed failed, each for a reason that means the address could not be read."""
    if not seeds or any(s.state != "failed" or s.failure not in UNREACHABLE for s in seeds):
        return None
    first = seeds[0]
    detail = f"{describe(first.failure)}: {first.last_error}" if first.last_error else ""
    return CrawlOutcome(Outcome.UNREACHABLE, first.failure, detail[:500])


def outcome_of(summary: CrawlSummary) -> CrawlOutcome:
    """The outcome of a crawl (the rules are in the module docstring)."""
    if summary.state == "stopped":
        return CrawlOutcome(Outcome.STOPPED)
    if summary.state != "done":
        if not summary.started:
            return CrawlOutcome(Outcome.RECEIVED)
        return CrawlOutcome(Outcome.IN_PROGRESS, detail=_progress(summary))
    if summary.matched:
        return CrawlOutcome(Outcome.KNOWN_FOUND, detail=_found(summary))
    unreachable = _unreachable(summary.seeds)
    if unreachable is not None:
        return unreachable
    return CrawlOutcome(Outcome.NOTHING_KNOWN, detail=_fetched(summary))


def _progress(summary: CrawlSummary) -> str:
    done = summary.count("page", "done", "failed")
    text = f"{done} of {summary.count('page')} pages fetched so far"
    if summary.matched:
        text += f"; {summary.matched} known already"
    return text


def _found(summary: CrawlSummary) -> str:
    return (
        f"{summary.confirmed} confirmed, {summary.pending_review} waiting for review, "
        f"of {summary.sightings} media seen"
    )


def _fetched(summary: CrawlSummary) -> str:
    pages = summary.count("page", "done")
    media = summary.count("media", "done")
    text = f"{pages} pages and {media} media checked"
    failed = summary.count("page", "failed") + summary.count("media", "failed")
    if failed:
        text += f"; {failed} addresses could not be fetched"
    return text


def public_status(outcome: CrawlOutcome) -> dict[str, str | None]:
    """What a public reporter holding the receipt may learn (module docstring)."""
    status = {
        Outcome.RECEIVED: "received",
        Outcome.IN_PROGRESS: "checking",
        Outcome.NOTHING_KNOWN: "checked",
        Outcome.KNOWN_FOUND: "checked",
        Outcome.STOPPED: "checked",
        Outcome.UNREACHABLE: "unreachable",
    }[outcome.outcome]
    reason = outcome.reason if outcome.outcome is Outcome.UNREACHABLE else None
    return {"status": status, "reason": reason}


def summary_lines(summary: CrawlSummary, outcome: CrawlOutcome) -> list[str]:
    """A crawl's outcome for a person: one line, then the failures per class and the hosts
    that failed most (``keepdown crawl`` prints these when a crawl ends, ``crawl status``
    before the URLs)."""
    head = f"crawl {summary.crawl_id}: {outcome.outcome.value}: {outcome.meaning}"
    if outcome.reason:
        head += f" ({outcome.reason}: {describe(outcome.reason)})"
    lines = [head]
    if outcome.detail:
        lines.append(f"  {outcome.detail}")
    pages, media = summary.count("page"), summary.count("media")
    lines.append(
        f"  pages {summary.count('page', 'done')} fetched, {summary.count('page', 'failed')}"
        f" failed of {pages}; media {summary.count('media', 'done')} hashed,"
        f" {summary.count('media', 'failed')} failed of {media};"
        f" sightings {summary.sightings} ({summary.confirmed} confirmed,"
        f" {summary.pending_review} waiting for review)"
    )
    for failure, n in sorted(summary.failures.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  failed: {n} {failure} ({describe(failure)})")
    if summary.failing_hosts:
        hosts = ", ".join(f"{host} {n}" for host, n in summary.failing_hosts)
        lines.append(f"  failing hosts: {hosts}")
    return lines
