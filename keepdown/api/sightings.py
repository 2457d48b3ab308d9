"""Sightings, for case work: ``GET /api/v1/sightings``.

Analysts and admins of the operator's organisation (case work) list every media the crawler
saw, newest first, with the filters of the web's sightings page (``bank``, ``provider``,
``state``, ``since`` and ``until`` as days in UTC), paged (``limit``, ``offset``; the answer
says how many match in all), as JSON or CSV (``format=csv``). The same filters and columns as
``keepdown sightings list`` (:mod:`keepdown.review.listing`). Never the media itself.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import requires
from keepdown.api.errors import content_responses, error_responses
from keepdown.auth import Role
from keepdown.review.listing import (
    SIGHTING_STATES,
    sighting_filter,
    sighting_row,
    sightings_csv,
)

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["sightings"])

_CASE_WORK = requires(Role.ANALYST, Role.ADMIN, case_work=True)


@router.get(
    "/sightings",
    summary="List sightings (newest first) with the web page's filters, as JSON or CSV",
    responses={
        **error_responses(400, 401, 403, 429),
        **content_responses(
            "JSON: {sightings, total, limit, offset}; CSV with format=csv", "text/csv", json=True
        ),
    },
    dependencies=[_CASE_WORK],
    response_model=None,
)
async def list_sightings(
    request: Request,
    bank: str = Query("", max_length=200, description="Only sightings of this bank."),
    provider: str = Query("", max_length=200, description="Only this provider's."),
    state: str = Query(
        "", max_length=20, description=f"Only this state: {', '.join(SIGHTING_STATES)}."
    ),
    since: str = Query("", max_length=10, description="Seen on or after this day (UTC)."),
    until: str = Query("", max_length=10, description="Seen on or before this day (UTC)."),
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    format: Literal["json", "csv"] = Query("json"),
) -> Any:
    where = sighting_filter(bank=bank, provider=provider, state=state, since=since, until=until)
    store = get_context(request).review_store
    items, total = await run_in_threadpool(
        lambda: store.list_sightings(where, limit=limit, offset=offset)
    )
    if format == "csv":
        return Response(
            sightings_csv(items),
            media_type="text/csv; charset=utf-8",
            headers={"X-Total-Count": str(total)},
        )
    return {
        "sightings": [sighting_row(item) for item in items],
        "total": total,
        "limit": limit,
        "offset": offset,
    }
