"""Transparency figures over HTTP: the public report and the regulator view of a period.

- ``GET /api/v1/transparency?period=2026-Q3&format=json|csv|html|data-csv``: the public
  report (aggregates only: no URL of material, no hash);
- ``GET /api/v1/transparency/regulator?period=2026-Q3&format=json|csv``: the fields of the
  EU DSA, UK OSA and eSafety asks (docs/regulators.md);
- ``GET /api/v1/transparency/flagger?period=2026&format=json|csv|text``: the trusted
  flagger's report (DSA Art. 22(3), keepdown.filings.flagger).

Regulators, analysts and admins may read them. Figures are computed from the event log on each
request (keepdown.reports), in a worker thread, from the events up to the event chain's head;
each answer states its provenance and carries its detached signature in the
``Keepdown-Signature`` header (base64; ``Keepdown-Signing-Key`` names the key by its SHA-256):
save the body as it came and the header as ``FILE.sig``, and ``keepdown report verify FILE``
checks both.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import requires
from keepdown.api.errors import error_responses
from keepdown.auth import Role
from keepdown.reports import MEDIA_TYPES

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
    return await _published(request, period, "public", format)


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
    return await _published(request, period, "regulator", format)


@router.get(
    "/flagger",
    dependencies=[_READERS],
    responses=error_responses(400, 401, 403),
    response_class=Response,
    summary="The trusted flagger's report of a period (DSA Art. 22(3))",
)
async def flagger(
    request: Request, period: str = _PERIOD, format: Literal["json", "csv", "text"] = "json"
) -> Response:
    return await _published(request, period, "flagger", format)


_TEXT = "text/plain; charset=utf-8"


async def _published(request: Request, period: str, view: str, fmt: str) -> Response:
    source = get_context(request).transparency
    made = await run_in_threadpool(lambda: source.published(period, view=view, fmt=fmt))
    return Response(
        made.text.encode("utf-8"),
        media_type=MEDIA_TYPES.get(fmt, _TEXT),
        headers={
            "Keepdown-Signature": made.signature.strip(),
            "Keepdown-Signing-Key": f"sha256:{made.provenance.key_sha256}",
        },
    )
