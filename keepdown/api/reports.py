"""Transparency figures over HTTP: the public report and the regulator view of a period.

- ``GET /api/v1/transparency?period=2026-Q3&format=json|csv|html|data-csv``: the public
  report (aggregates only: no URL of material, no hash);
- ``GET /api/v1/transparency/regulator?period=2026-Q3&format=json|csv``: the fields of the
  EU DSA, UK OSA and eSafety asks (docs/regulators.md).

Regulators, analysts and admins may read them. Figures are computed from the event log on each
request (keepdown.reports), in a worker thread.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import requires
from keepdown.api.errors import error_responses
from keepdown.auth import Role
from keepdown.reports import MEDIA_TYPES, render, render_regulator

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/transparency", tags=["transparency"])

_READERS = requires(Role.REGULATOR, Role.ANALYST, Role.ADMIN)
_PERIOD = Query(
    min_length=4, max_length=40, description="2026, 2026-H2, 2026-Q3, 2026-09 or A..B dates."
)


@router.get(
    "",
    dependencies=[_READERS],
    responses=error_responses(400, 401, 403),
    response_class=Response,
    summary="The public transparency report of a period",
)
async def transparency(
    request: Request,
    period: str = _PERIOD,
    format: Literal["json", "csv", "html", "data-csv"] = "json",
) -> Response:
    report = await run_in_threadpool(get_context(request).transparency.transparency, period)
    return Response(render(report, format), media_type=MEDIA_TYPES[format])


@router.get(
    "/regulator",
    dependencies=[_READERS],
    responses=error_responses(400, 401, 403),
    response_class=Response,
    summary="The regulator view of a period (EU DSA, UK OSA, eSafety fields)",
)
async def regulator(
    request: Request, period: str = _PERIOD, format: Literal["json", "csv"] = "json"
) -> Response:
    report = await run_in_threadpool(get_context(request).transparency.transparency, period)
    return Response(render_regulator(report, format), media_type=MEDIA_TYPES[format])
