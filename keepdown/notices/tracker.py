"""Re-checks: is each notified location still there? Removal is measured here.

:meth:`Tracker.recheck_due` re-fetches every location whose re-check is due (its provider's
cadence; sooner after an error or when the provider reports it removed) through the crawler's
SSRF-guarded :class:`~keepdown.crawl.fetcher.Fetcher`, and classifies the answer:

- **gone**: HTTP 404, 410 or 451; the host name no longer resolves (NXDOMAIN); or the URL
  answers 200 with something that no longer matches any bank (an HTML "removed" page, a
  placeholder, other content). The first check that finds a location gone confirms its
  removal (``RemovalConfirmed``; time to removal ends at this check);
- **present**: it still answers with known material: a re-notice follows on schedule;
- **error**: anything else (timeouts, connection refused, 5xx, 403, 429, a truncated body, a
  temporary DNS failure): retried after ``notice_recheck_error_hours``, never counted as
  removal.

Removed locations stay watched for ``notice_watch_days`` (every ``notice_watch_every_hours``):
if one answers with the known material again, that is a *reappearance* at the same URL, and a
new notice is drafted (linked to the removed location) for the next send pass. Reappearance
elsewhere (another URL, another provider) is found by the crawler and joined up when
confirmed sightings are drafted into notices (:mod:`keepdown.notices.service`).

Re-checks fetch only the notified URL itself; robots.txt is not consulted for them (a notice
was already sent for that URL; see docs/notices.md). Bodies are hashed in memory and dropped.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from keepdown.clock import Clock
from keepdown.crawl.fetcher import Fetcher
from keepdown.errors import BlockedAddress, FetchError
from keepdown.events import LocationRechecked, RemovalConfirmed
from keepdown.notices import lifecycle as lc
from keepdown.notices.model import Location, Mutation, Notice, NoticeStore
from keepdown.notices.providers import Provider, ProviderStore
from keepdown.notices.service import NoticeService, policy_for
from keepdown.notices.verify import Verifier
from keepdown.settings import Settings

__all__ = ["Check", "RecheckReport", "Tracker", "classify_error"]

log = logging.getLogger("keepdown.notices.tracker")

GONE_STATUSES = frozenset({404, 410, 451})
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


@dataclass(frozen=True)
class Check:
    """One re-check's outcome."""

    result: lc.CheckResult
    status: int | None = None
    detail: str = ""


@dataclass
class RecheckReport:
    checked: int = 0
    present: int = 0
    gone: int = 0
    errors: int = 0
    removals: list[str] = field(default_factory=list)  # location ids confirmed removed
    reappeared: list[str] = field(default_factory=list)  # references of new notices


def classify_error(exc: FetchError) -> Check:
    """A fetch that raised: a name that no longer exists is gone; everything else an error."""
    if isinstance(exc, BlockedAddress):
        return Check(lc.CheckResult.ERROR, None, exc.message)
    cause = exc.__cause__
    if isinstance(cause, socket.gaierror):
        if cause.errno in _NO_SUCH_NAME:
            return Check(lc.CheckResult.GONE, None, "host name no longer exists")
        return Check(lc.CheckResult.ERROR, None, exc.message)
    if cause is None and exc.message.startswith("cannot resolve host"):
        return Check(lc.CheckResult.GONE, None, "host name no longer exists")
    return Check(lc.CheckResult.ERROR, exc.details.get("status"), exc.message)


class Tracker:
    """Runs due re-checks (module docstring)."""

    def __init__(
        self,
        store: NoticeStore,
        providers: ProviderStore,
        fetcher: Callable[[], Fetcher],
        verifier: Verifier,
        service: NoticeService,
        clock: Clock,
        settings: Settings,
        *,
        concurrency: int = 8,
    ) -> None:
        """``fetcher`` makes the crawler's fetcher (the composition root passes one with the
        operator's resolver); a new one is opened for each pass."""
        self.store = store
        self.providers = providers
        self.fetcher = fetcher
        self.verifier = verifier
        self.service = service
        self.clock = clock
        self.settings = settings
        self.concurrency = concurrency

    async def check(self, fetcher: Fetcher, location: Location) -> Check:
        """Fetch one location and classify the answer (module docstring)."""
        async with self._limit:
            try:
                result = await fetcher.fetch(
                    location.media_url, max_bytes=int(self.settings.crawl_max_media_bytes)
                )
            except FetchError as exc:
                return classify_error(exc)
        if result.status in GONE_STATUSES:
            return Check(lc.CheckResult.GONE, result.status, f"HTTP {result.status}")
        if not result.ok or result.truncated:
            return Check(lc.CheckResult.ERROR, result.status, f"HTTP {result.status}")
        body = result.body
        known = await asyncio.to_thread(self.verifier.still_known, body, location)
        del body
        if known:
            return Check(lc.CheckResult.PRESENT, result.status, "known material")
        return Check(lc.CheckResult.GONE, result.status, "no longer matches any bank")

    async def recheck_due(self) -> RecheckReport:
        """One pass: every due re-check, recorded notice by notice. A fetcher (one
        connection pool) is opened for the pass and closed after it."""
        async with self.fetcher() as fetcher:
            return await self._pass(fetcher)

    async def _pass(self, fetcher: Fetcher) -> RecheckReport:
        self._limit = asyncio.Semaphore(self.concurrency)
        report = RecheckReport()
        now = self.clock.now()
        for notice in self.store.notices_with_work(now):
            provider = self.providers.get_by_id(notice.provider_id)
            policy = policy_for(provider, self.settings)
            due = [
                loc
                for loc in notice.locations
                if (d := lc.due(loc.status, now, policy)).recheck or d.watch
            ]
            if not due:
                continue
            checks = await asyncio.gather(*(self.check(fetcher, loc) for loc in due))
            self._record(
                notice, provider, dict(zip([loc.id for loc in due], checks, strict=True)), report
            )
        return report

    def _record(
        self,
        notice: Notice,
        provider: Provider,
        checks: dict[int, Check],
        report: RecheckReport,
    ) -> None:
        at = self.clock.now()
        policy = policy_for(provider, self.settings)
        back: list[Location] = []

        def decide(current: Notice) -> Mutation:
            change = Mutation()
            back.clear()
            for loc in current.locations:
                check = checks.get(loc.id)
                if check is None or loc.status.state is lc.LocationState.DRAFTED:
                    continue
                was_closed = loc.status.state in lc.CLOSED
                status, removed_now = lc.checked(loc.status, at, check.result, policy)
                if was_closed and check.result is lc.CheckResult.PRESENT:
                    back.append(loc)
                    status = replace(status, next_check_at=None)  # the new notice takes over
                change.statuses[loc.id] = status
                change.events.append(
                    LocationRechecked(
                        at=at,
                        location_id=str(loc.id),
                        provider=provider.name,
                        result=check.result.value,
                        status=check.status,
                    )
                )
                if removed_now:
                    assert status.first_notice_at is not None
                    change.events.append(
                        RemovalConfirmed(
                            at=at,
                            location_id=str(loc.id),
                            notice_ref=current.reference,
                            provider=provider.name,
                            country=provider.country,
                            first_notice_at=status.first_notice_at,
                            detected_at=status.detected_at,
                        )
                    )
            return change

        rows = [
            {
                "location_id": location_id,
                "at": at,
                "result": check.result.value,
                "status": check.status,
                "detail": check.detail[:500],
            }
            for location_id, check in checks.items()
        ]
        changed = self.store.mutate(notice.id, decide, checks=rows)
        if changed is None:
            return
        for check in checks.values():
            report.checked += 1
            if check.result is lc.CheckResult.PRESENT:
                report.present += 1
            elif check.result is lc.CheckResult.GONE:
                report.gone += 1
            else:
                report.errors += 1
        report.removals += [
            str(loc.id)
            for loc in changed.locations
            if loc.id in checks and loc.status.removed_at == at
        ]
        for loc in back:
            new = self.service.reappeared(loc, provider, at)
            report.reappeared.append(new.reference)
