"""Reported URLs: take a report, answer with a reference number; analysts list and read them.

``POST /api/v1/reports`` (analyst, admin) stores a URL with its reporter type (``public``,
``trusted_flagger``, ``hotline``, ``own_initiative``). Reports are de-duplicated by normalised
URL: reporting a known URL again answers the same reference (``"new": false``) and counts the
repeat. A first report creates a crawl from that URL, which ``keepdown crawl`` picks up.
Each report emits :class:`~keepdown.events.UrlReported`. ``GET /api/v1/reports`` lists them
(newest first); ``?reference=KD-...`` finds one.

The public web form will post through the web layer with its own rate limit; there is no
key-less API endpoint (see docs/crawler.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import audit, requires
from keepdown.api.errors import error_responses
from keepdown.auth import Role
from keepdown.errors import ConfigurationError
from keepdown.events import UrlReported

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["reports"])

ReporterType = Literal["public", "trusted_flagger", "hotline", "own_initiative"]


class ReportIn(BaseModel):
    url: str = Field(min_length=8, max_length=4096, description="An http(s) URL.")
    reporter_type: ReporterType = "own_initiative"
    note: str = Field(default="", max_length=4000)


class ReportOut(BaseModel):
    reference: str
    url: str
    reporter_type: str
    times_reported: int
    first_reported_at: datetime
    last_reported_at: datetime
    crawl_id: int | None
    new: bool = False


class ReportList(BaseModel):
    reports: list[ReportOut]


_STAFF = requires(Role.ANALYST, Role.ADMIN)


def _store(request: Request) -> Any:
    store = get_context(request).url_reports
    if store is None:
        raise ConfigurationError("URL reports are not wired into this API")
    return store


@router.post(
    "/reports",
    response_model=ReportOut,
    status_code=201,
    summary="Report a URL to crawl (answers a reference number; repeats are de-duplicated)",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_STAFF],
)
async def create_report(request: Request, body: ReportIn) -> ReportOut:
    ctx = get_context(request)
    store = _store(request)
    who = request.state.principal
    now = ctx.clock.now()
    record, new = await run_in_threadpool(
        lambda: store.submit(
            body.url,
            reporter_type=body.reporter_type,
            reporter=who.organisation,
            note=body.note,
            now=now,
        )
    )
    if ctx.events is not None:
        ctx.events.emit(
            UrlReported(
                at=now,
                url=record.url,
                reporter=body.reporter_type,
                source="api",
                crawl_id=str(record.crawl_id or ""),
            )
        )
    audit(request, "report.create", target=record.reference, new=new)
    return ReportOut(**record.to_dict(), new=new)


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
        return ReportList(reports=[ReportOut(**found.to_dict())] if found else [])
    records = await run_in_threadpool(lambda: store.list(limit=limit, offset=offset))
    return ReportList(reports=[ReportOut(**r.to_dict()) for r in records])
