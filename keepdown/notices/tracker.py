"""Re-checks: is each notified location still there? Removal is measured here.

:meth:`Tracker.recheck_due` re-fetches every location whose re-check is due (its provider's
cadence; sooner after an error, while a gone answer waits for its confirmation, or when the
provider reports it removed) through the crawler's SSRF-guarded
:class:`~keepdown.crawl.fetcher.Fetcher`, one host at a time as the crawler's per-host
politeness allows (:mod:`keepdown.crawl.politeness`), and classifies the answer by the rules
of :mod:`keepdown.notices.checks`:

- **gone**: HTTP 404, 410 or 451; the host name no longer resolves (NXDOMAIN); a ZIP that no
  longer holds the entry; and, once a second check (or the provider's own report) agrees,
  HTTP 401/403 or an answer that no longer matches any bank (a "content removed" page, a
  placeholder, other content, no longer a ZIP). The removal counts from the first check that
  found it gone (``RemovalConfirmed.removed_at``; time to removal ends there);
- **present**: it still answers with known material: a re-notice follows on schedule;
- **error**: anything else (timeouts, connection refused, 5xx, 429, a truncated body, a
  temporary DNS failure, an archive past the size limits): retried after
  ``notice_recheck_error_hours`` (or the server's Retry-After), never counted as removal.

Each check is recorded with the HTTP status it saw and its answer (``notice_checks``,
``LocationRechecked``); the removal carries the check before it that still found the location
(``last_present_at``): the precision of its time.

Removed locations stay watched for ``notice_watch_days`` (every ``notice_watch_every_hours``):
if one answers with the known material again, that is a *reappearance* at the same URL, and a
new notice is drafted (linked to the removed location) in the same transaction as the check,
for the next send pass, unless the place is open at the provider already (the crawler found
the re-upload first: it joined that location) or a newer location holds it. Either way the
watch ends. Reappearance elsewhere (another URL, another provider) is found by the crawler and
joined up when sightings are drafted (:mod:`keepdown.notices.drafting`).

``recheck_due`` is idempotent and safe in two processes at once (PostgreSQL): each notice's
results are recorded under its provider's and its own row lock, and a location another
process checked in the meantime (no longer due on the current rows) is left as that process
recorded it.

Re-checks fetch only the notified URL itself; robots.txt is not consulted for them (a notice
was already sent for that URL; see docs/notices.md). Bodies are hashed in memory and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from keepdown.clock import Clock
from keepdown.crawl.archive_limits import ArchiveLimits
from keepdown.crawl.fetcher import Fetcher, FetchResult
from keepdown.crawl.politeness import InMemoryPoliteness, Politeness
from keepdown.errors import FetchError, InputTooLarge, InvalidInput
from keepdown.events import Event, LocationRechecked, RemovalConfirmed
from keepdown.notices import lifecycle as lc
from keepdown.notices.checks import (
    GONE_STATUSES,
    REFUSED_STATUSES,
    Answer,
    Check,
    RemovalRules,
    classify_error,
    judge_refused,
    judge_unmatched,
)
from keepdown.notices.drafting import reappearance_draft
from keepdown.notices.model import Location, Mutation, Notice, NoticeStore
from keepdown.notices.policy import policy_for, rules_for
from keepdown.notices.providers import Provider, ProviderStore
from keepdown.notices.verify import Verifier, archive_entry
from keepdown.settings import Settings

__all__ = ["Check", "RecheckReport", "Tracker", "classify_error", "decide_checks"]

log = logging.getLogger("keepdown.notices.tracker")


@dataclass
class RecheckReport:
    checked: int = 0
    present: int = 0
    gone: int = 0
    errors: int = 0
    confirming: int = 0  # gone answers waiting for a confirming check
    removals: list[str] = field(default_factory=list)  # location ids confirmed removed
    reappeared: list[str] = field(default_factory=list)  # references of new notices


def _rechecked(at: datetime, loc: Location, notice: Notice, check: Check, waiting: bool) -> Event:
    return LocationRechecked(
        at=at,
        location_id=str(loc.id),
        notice_ref=notice.reference,
        provider=notice.provider,
        provider_id=str(notice.provider_id),
        result=check.result.value,
        status=check.status,
        answer=check.answer.value,
        confirming=waiting,
    )


def _removal(
    at: datetime, loc: Location, notice: Notice, status: lc.LocationStatus, check: Check
) -> Event:
    assert status.first_notice_at is not None
    return RemovalConfirmed(
        at=at,
        location_id=str(loc.id),
        notice_ref=notice.reference,
        provider=notice.provider,
        provider_id=str(notice.provider_id),
        country=notice.provider_country,
        first_notice_at=status.first_notice_at,
        detected_at=status.detected_at,
        removed_at=status.removed_at,
        last_present_at=loc.status.last_present_at,
        status=check.status,
        answer=check.answer.value,
    )


def _is_due(s: lc.LocationStatus, at: datetime, policy: lc.Policy) -> bool:
    d = lc.due(s, at, policy)
    return d.recheck or d.watch


def decide_checks(
    notice: Notice, provider: Provider, checks: dict[int, Check], at: datetime, policy: lc.Policy
) -> Mutation:
    """What a batch of checks changes in one notice, on its current rows: statuses, events,
    and the notice of a same-URL reappearance (a watched location found present; the store
    drops it when the place is held already)."""
    change = Mutation()
    for loc in notice.locations:
        check = checks.get(loc.id)
        if check is None or not _is_due(loc.status, at, policy):
            continue  # not checked, or another process recorded its check meanwhile
        was_closed = loc.status.state in lc.CLOSED
        wait = timedelta(seconds=check.retry_after) if check.retry_after else None
        status, removed_now = lc.checked(
            loc.status,
            at,
            check.result,
            policy,
            retry_after=wait,
            needs_confirmation=check.confirm,
        )
        if was_closed and check.result is lc.CheckResult.PRESENT:
            status = replace(status, next_check_at=None)  # the new notice takes over
            change.drafts.append(reappearance_draft(loc, provider, at))
        change.statuses[loc.id] = status
        waiting = status.gone_since is not None and status.state not in lc.CLOSED
        change.check_rows.append(_check_row(loc, at, check, waiting))
        change.events.append(_rechecked(at, loc, notice, check, waiting))
        if removed_now:
            change.events.append(_removal(at, loc, notice, status, check))
    return change


def _check_row(loc: Location, at: datetime, check: Check, waiting: bool) -> dict[str, object]:
    """The ``notice_checks`` row (``confirming``: this answer left it waiting for a
    confirming check)."""
    return {
        "location_id": loc.id,
        "at": at,
        "result": check.result.value,
        "status": check.status,
        "detail": check.detail[:500],
        "answer": check.answer.value,
        "confirming": waiting,
    }


class Tracker:
    """Runs due re-checks (module docstring)."""

    def __init__(
        self,
        store: NoticeStore,
        providers: ProviderStore,
        fetcher: Callable[[], Fetcher],
        verifier: Verifier,
        clock: Clock,
        settings: Settings,
        *,
        politeness: Callable[[], Politeness] | None = None,
        concurrency: int = 8,
    ) -> None:
        """``fetcher`` makes the crawler's fetcher (the composition root passes one with the
        operator's resolver) and ``politeness`` the per-host limiter (default: in this
        process, from the crawl settings); one of each is made for each pass."""
        self.store = store
        self.providers = providers
        self.fetcher = fetcher
        self.verifier = verifier
        self.clock = clock
        self.settings = settings
        self.politeness = politeness or (
            lambda: InMemoryPoliteness.from_settings(settings, clock=clock)
        )
        self.concurrency = concurrency
        self.limits = ArchiveLimits.for_crawl(settings)

    async def check(
        self,
        fetcher: Fetcher,
        location: Location,
        polite: Politeness,
        rules: RemovalRules | None = None,
    ) -> Check:
        """Fetch one location, within its host's politeness, and classify the answer."""
        async with self._limit, polite.slot(location.host or "-"):
            try:
                result = await fetcher.fetch(
                    location.media_url, max_bytes=self.settings.crawl_max_media_bytes
                )
            except FetchError as exc:
                return classify_error(exc)
        return await self._judge(result, location, rules or RemovalRules())

    async def _judge(self, result: FetchResult, location: Location, rules: RemovalRules) -> Check:
        status = result.status
        if status in GONE_STATUSES:
            return Check(
                lc.CheckResult.GONE, status, f"HTTP {status}", answer=Answer.REMOVED_STATUS
            )
        if status in REFUSED_STATUSES:
            return judge_refused(status, rules, result.retry_after)
        if not result.ok or result.truncated:
            detail = f"HTTP {status}" + (" (truncated)" if result.truncated else "")
            return Check(lc.CheckResult.ERROR, status, detail, result.retry_after)
        body: bytes | None = result.body
        if location.archive_member:
            try:
                body = archive_entry(result.body, location.archive_member, self.limits)
            except InputTooLarge as exc:
                return Check(lc.CheckResult.ERROR, status, exc.message)
            except InvalidInput:
                return judge_unmatched(status, "no longer a ZIP archive", rules)
            if body is None:
                detail = f"the archive no longer holds {location.archive_member!r}"
                return Check(lc.CheckResult.GONE, status, detail[:500], answer=Answer.ENTRY_GONE)
        assert body is not None  # an archive without the entry answered above
        known = await asyncio.to_thread(self.verifier.still_known, body, location)
        del body
        if known:
            return Check(lc.CheckResult.PRESENT, status, "known material", answer=Answer.KNOWN)
        return judge_unmatched(status, "no longer matches any bank", rules)

    async def recheck_due(self) -> RecheckReport:
        """One pass: every due re-check, recorded notice by notice. A fetcher (one
        connection pool) and a politeness limiter are made for the pass."""
        async with self.fetcher() as fetcher:
            return await self._pass(fetcher, self.politeness())

    async def _pass(self, fetcher: Fetcher, polite: Politeness) -> RecheckReport:
        self._limit = asyncio.Semaphore(self.concurrency)
        report = RecheckReport()
        now = self.clock.now()
        for notice in self.store.notices_with_work(now):
            provider = self.providers.get_by_id(notice.provider_id)
            policy = policy_for(provider, self.settings)
            due = [loc for loc in notice.locations if _is_due(loc.status, now, policy)]
            if not due:
                continue
            rules = rules_for(provider)
            checks = await asyncio.gather(*(self.check(fetcher, loc, polite, rules) for loc in due))
            self._record(
                notice, provider, dict(zip([loc.id for loc in due], checks, strict=True)), report
            )
        return report

    def _record(
        self, notice: Notice, provider: Provider, checks: dict[int, Check], report: RecheckReport
    ) -> None:
        """Write one notice's checks, their effects and events in one transaction."""
        at = self.clock.now()
        policy = policy_for(provider, self.settings)
        recorded: list[Mutation] = []

        def decide(current: Notice) -> Mutation:
            recorded.append(decide_checks(current, provider, checks, at, policy))
            return recorded[-1]

        if self.store.mutate(notice.id, decide, lock_provider=True) is None or not recorded:
            return
        change = recorded[-1]
        for location_id in change.statuses:
            check = checks[location_id]
            report.checked += 1
            report.present += check.result is lc.CheckResult.PRESENT
            report.gone += check.result is lc.CheckResult.GONE
            report.errors += check.result is lc.CheckResult.ERROR
            report.confirming += change.statuses[location_id].gone_since is not None
        report.removals += [e.location_id for e in change.events if isinstance(e, RemovalConfirmed)]
        report.reappeared += [n.reference for n in change.created]
