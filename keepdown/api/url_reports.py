"""Reported URLs: take a report, answer with a reference number; analysts list and read them.

Staff (analyst, admin):

- ``POST /api/v1/reports`` stores a URL with its reporter type (``public``,
  ``trusted_flagger``, ``hotline``, ``own_initiative``) and, optionally, the ``scope`` of the
  crawl it starts (``same_site``, ``max_depth``, ``max_pages``, ``max_bytes``, ``include``,
  ``exclude``; within the operator's ``crawl_cap_*``). Reports are de-duplicated by
  normalised URL: reporting a known URL again answers the same reference (``"new": false``)
  and starts a crawl only if the last one finished more than ``crawl_recrawl_after_hours``
  ago (``"crawl_started": true``);
- ``GET /api/v1/reports`` lists them (newest first); ``?reference=KD-...`` finds one. Each
  carries its crawl (state, pages and media by state, failures by class, sightings, seeds)
  and its **outcome** (:mod:`keepdown.crawl.outcome`: ``received``, ``in_progress``,
  ``nothing_known``, ``known_found``, ``unreachable`` with the failure class, ``stopped``);
- ``GET /api/v1/reports/{reference}`` is one report the same way, its crawl's failing hosts,
  and a page of its crawl's URLs (state, attempts, failure, last error, sightings; filters
  ``state`` and ``kind``): what ``keepdown crawl status REFERENCE`` prints.

Public, key-less, limited per client address by ``public_report_rate_limit``:

- ``POST /api/v1/reports/public`` takes a URL and an optional description (JSON, no
  uploads), stored as ``reporter_type = public``; answers a reference of the submission's
  own (never the staff report's), a *receipt* and the status ``received`` (always: the answer
  must not tell whether the URL was known before);
- ``POST /api/v1/reports/public/status`` answers, for a reference and its receipt, the
  coarse status ``received`` / ``checking`` / ``checked`` / ``unreachable`` (with the
  reason: ``dns``, ``refused``, ``timeout``, ``blocked``, ``robots``...): nothing else of the
  report, and never whether anything was found. A wrong receipt and an unknown reference
  get the same 404.

The client address (the TCP peer, or the forwarded address when the peer is one of the
``trusted_proxies``, see :mod:`keepdown.api.ratelimit`) is used for the rate limit only and
not stored; the public web form counts against the same limit. Each report emits
:class:`~keepdown.events.UrlReported`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import audited, client_ip, requires
from keepdown.api.errors import error_responses
from keepdown.api.ratelimit import ClientLimiter
from keepdown.auth import Role
from keepdown.crawl.reported import ReportedUrls
from keepdown.crawl.scope_request import MAX_PATTERNS, ScopeRequest
from keepdown.events import UrlReported

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["reports"])

ReporterType = Literal["public", "trusted_flagger", "hotline", "own_initiative"]


class ScopeIn(BaseModel):
    """The crawl's scope; anything left out takes the operator's default."""

    model_config = ConfigDict(extra="forbid")
    same_site: bool | None = None
    max_depth: int | None = Field(default=None, ge=0)
    max_pages: int | None = Field(default=None, ge=1)
    max_bytes: int | None = Field(default=None, ge=1)
    include: tuple[str, ...] = Field(default=(), max_length=MAX_PATTERNS)
    exclude: tuple[str, ...] = Field(default=(), max_length=MAX_PATTERNS)


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=4096, description="An http(s) URL.")
    reporter_type: ReporterType = "own_initiative"
    note: str = Field(default="", max_length=4000)
    scope: ScopeIn | None = None


class ReportOut(BaseModel):
    reference: str
    url: str
    reporter_type: str
    times_reported: int
    first_reported_at: datetime
    last_reported_at: datetime
    crawl_id: int | None
    new: bool = False
    crawl_started: bool = False


class UrlOut(BaseModel):
    """One URL of a crawl: where it stands and why."""

    url: str
    kind: Literal["page", "media"]
    depth: int
    via: str
    state: Literal["pending", "in_progress", "done", "failed"]
    attempts: int = Field(description="Requests made for it (attempts are charged per request).")
    failure: str | None = Field(description="The failure class when it failed (dns, refused...).")
    failure_meaning: str | None
    last_error: str | None
    sightings: int = Field(description="Media seen at it (for a page: on it).")
    matched: int = Field(description="Of those, matched a bank (confirmed or in review).")


class HostFailures(BaseModel):
    host: str
    failed: int


class CrawlOut(BaseModel):
    """A report's crawl in numbers (the same :class:`CrawlSummary` every view reads)."""

    id: int
    state: str
    reason: str | None
    finished_at: datetime | None
    resume_at: datetime | None
    pages: dict[str, int] = Field(description="Pages by state.")
    media: dict[str, int] = Field(description="Media by state.")
    failures: dict[str, int] = Field(description="Failed URLs by failure class.")
    failing_hosts: list[HostFailures]
    sightings: int
    confirmed: int
    pending_review: int
    seeds: list[UrlOut]


class OutcomeOut(BaseModel):
    """What became of the crawl, in words (keepdown.crawl.outcome)."""

    outcome: Literal[
        "received", "in_progress", "nothing_known", "known_found", "unreachable", "stopped"
    ]
    meaning: str
    reason: str | None = Field(description="For unreachable: the seed's failure class.")
    detail: str | None


class ReportRead(BaseModel):
    """A reported URL and what became of it."""

    reference: str
    url: str
    reporter_type: str
    times_reported: int
    first_reported_at: datetime
    last_reported_at: datetime
    crawl_id: int | None
    crawl: CrawlOut | None = Field(description="None when its crawl was deleted.")
    outcome: OutcomeOut | None


class ReportList(BaseModel):
    reports: list[ReportRead]


class ReportDetail(ReportRead):
    urls: list[UrlOut] = Field(description="A page of the crawl's URLs, in the order found.")
    urls_total: int = Field(description="How many URLs match the filters in all.")


class PublicReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=4096, description="An http(s) URL.")
    description: str = Field(default="", max_length=2000, description="What is there (optional).")


class PublicReportOut(BaseModel):
    reference: str
    receipt: str = Field(description="Keep it: with the reference, it reads the status.")
    status: Literal["received"]


class PublicStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=64)
    receipt: str = Field(min_length=1, max_length=64)


class PublicStatusOut(BaseModel):
    reference: str
    status: Literal["received", "checking", "checked", "unreachable"]
    reason: str | None = Field(
        default=None,
        description="For unreachable: dns, refused, timeout, tls, blocked, robots, http...",
    )


_STAFF = requires(Role.ANALYST, Role.ADMIN, case_work=True)


def _store(request: Request) -> ReportedUrls:
    return get_context(request).url_reports


def _emit(request: Request, url: str, reporter_type: str, crawl_id: int | None, at: Any) -> None:
    events = get_context(request).events
    if events is not None:
        events.emit(
            UrlReported(
                at=at, url=url, reporter=reporter_type, source="api", crawl_id=str(crawl_id or "")
            )
        )


@router.post(
    "/reports",
    response_model=ReportOut,
    status_code=201,
    summary="Report a URL to crawl (answers a reference number; repeats are de-duplicated)",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_STAFF],
)
async def create_report(request: Request, body: ReportIn) -> ReportOut:
    store = _store(request)
    now = get_context(request).clock.now()
    scope = ScopeRequest(**body.scope.model_dump()) if body.scope else None
    async with audited(request, "report.create", reporter_type=body.reporter_type) as found:
        done = await run_in_threadpool(
            lambda: store.intake(
                body.url,
                reporter_type=body.reporter_type,
                reporter=request.state.principal.organisation,
                note=body.note,
                now=now,
                scope=scope,
            )
        )
        found.update(reference=done.record.reference, intake=done.outcome)
    _emit(request, done.record.url, body.reporter_type, done.record.crawl_id, now)
    return ReportOut(**done.record.to_dict(), new=done.new, crawl_started=done.crawl_started)


@router.get(
    "/reports",
    response_model=ReportList,
    summary="List reported URLs (newest first), or find one by its reference",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_STAFF],
)
async def list_reports(
    request: Request,
    reference: str | None = Query(None, max_length=64, description="One report's reference."),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> ReportList:
    store = _store(request)
    if reference is not None:
        found = await run_in_threadpool(store.find, reference)
        records = [found] if found else []
    else:
        records = await run_in_threadpool(lambda: store.list_reports(limit=limit, offset=offset))
    shown = await run_in_threadpool(store.statuses, records)
    return ReportList(reports=[ReportRead.model_validate(s.to_dict()) for s in shown])


@router.get(
    "/reports/{reference}",
    response_model=ReportDetail,
    summary="One reported URL: its crawl, its outcome and a page of its URLs with their state",
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[_STAFF],
)
async def get_report(
    request: Request,
    reference: str = Path(max_length=64),
    state: list[Literal["pending", "in_progress", "done", "failed"]] = Query(
        [], description="Only URLs in these states."
    ),
    kind: list[Literal["page", "media"]] = Query([], description="Only pages or media."),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> ReportDetail:
    store = _store(request)
    shown = await run_in_threadpool(store.status, reference)
    urls: list[Any] = []
    total = 0
    if shown.summary is not None:
        crawl_id = shown.summary.crawl_id
        urls, total = await run_in_threadpool(
            lambda: store.crawl_urls(
                crawl_id, limit=limit, offset=offset, states=tuple(state), kinds=tuple(kind)
            )
        )
    return ReportDetail.model_validate(
        {**shown.to_dict(), "urls": [u.to_dict() for u in urls], "urls_total": total}
    )


# --- public -------------------------------------------------------------------------------


async def _public_limit(request: Request) -> None:
    """``public_report_rate_limit`` per client address: the one :class:`ClientLimiter` that
    the composition root shares with the public web form (built here if it did not)."""
    state = request.app.state
    limiter = getattr(state, "public_report_limiter", None)
    if limiter is None:
        limiter = state.public_report_limiter = ClientLimiter.public_reports(
            get_context(request).settings
        )
    await limiter.hit(client_ip(request))


@router.post(
    "/reports/public",
    response_model=PublicReportOut,
    status_code=201,
    summary="Report a URL without a key; answers a reference and a receipt",
    responses=error_responses(400, 429, 503),
)
async def create_public_report(request: Request, body: PublicReportIn) -> PublicReportOut:
    await _public_limit(request)
    store = _store(request)
    now = get_context(request).clock.now()
    done = await run_in_threadpool(
        lambda: store.intake(
            body.url, reporter_type="public", note=body.description, now=now, receipt=True
        )
    )
    _emit(request, done.record.url, "public", done.record.crawl_id, now)
    assert done.receipt is not None
    assert done.public_reference is not None
    return PublicReportOut(reference=done.public_reference, receipt=done.receipt, status="received")


@router.post(
    "/reports/public/status",
    response_model=PublicStatusOut,
    summary="The status of one public report, for the holder of its receipt",
    responses=error_responses(400, 404, 429, 503),
)
async def public_report_status(request: Request, body: PublicStatusIn) -> PublicStatusOut:
    await _public_limit(request)
    store = _store(request)
    status = await run_in_threadpool(store.public_status, body.reference, body.receipt)
    return PublicStatusOut.model_validate({"reference": body.reference, **status})
