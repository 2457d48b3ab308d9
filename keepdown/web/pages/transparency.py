"""The public transparency report, and the analysts' page of financial indicators.

- ``GET /web/transparency?period=2026-Q3`` (public): the report exactly as ``keepdown report
  transparency --format html`` makes it (self-contained: inline style, SVG charts, the data
  file as a ``data:`` link), with its provenance and its detached signature in the
  ``Keepdown-Signature`` header. Its Content-Security-Policy admits that one stylesheet by hash
  and nothing else: no script, no image from anywhere. Aggregates only, no URL, no hash.
  Without ``period``: the last complete quarter;
- ``GET /web/indicators`` (the operator's analysts and admins: case work, refused to other
  organisations): payment indicators seen where known material was confirmed, with their
  pages, providers and confirmed sightings;
  ``/web/indicators/export?format=stix|csv`` downloads what financial institutions get.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from keepdown.auth.signin import SignedIn
from keepdown.reports.html_report import STYLE
from keepdown.web.context import web_context
from keepdown.web.nav import STAFF
from keepdown.web.render import render
from keepdown.web.security import page, public_form

__all__ = ["router"]

router = APIRouter()

_STAFF = page(*STAFF, case_work=True)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
REPORT_CSP = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'none'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


def last_quarter(now: datetime) -> str:
    """The last complete quarter before ``now`` (``2026-Q2`` on any day of Q3)."""
    quarter = (now.month - 1) // 3  # the current one, 0-based
    year = now.year if quarter else now.year - 1
    return f"{year}-Q{quarter or 4}"


@router.get("/transparency", dependencies=[public_form()])
async def transparency(request: Request, period: str = Query("", max_length=40)) -> Response:
    ctx = web_context(request)
    chosen = period or last_quarter(ctx.clock.now())
    source = ctx.transparency
    made = await run_in_threadpool(lambda: source.published(chosen, view="public", fmt="html"))
    return Response(
        made.text.encode("utf-8"),
        media_type="text/html; charset=utf-8",
        headers={
            "content-security-policy": REPORT_CSP,
            "Keepdown-Signature": made.signature.strip(),
            "Keepdown-Signing-Key": f"sha256:{made.provenance.key_sha256}",
        },
    )


@router.get("/indicators")
async def indicators(request: Request, all: bool = False, viewer: SignedIn = _STAFF) -> Response:
    found = await run_in_threadpool(
        web_context(request).finance.confirmed_indicators, include_unconfirmed=all
    )
    return render(request, "indicators.html", indicators=found, show_all=all)


@router.get("/indicators/export")
async def export(
    request: Request,
    format: Literal["stix", "csv"] = "stix",
    viewer: SignedIn = _STAFF,
) -> Response:
    text = await run_in_threadpool(web_context(request).finance.export, format)
    name = "keepdown-indicators." + ("json" if format == "stix" else "csv")
    media = "application/stix+json;version=2.1" if format == "stix" else "text/csv"
    return Response(
        text, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'}
    )
