"""The public report form: anyone may report a URL where they saw abuse material.

It never asks for, shows or accepts an image: only the address, and an optional note. Reports
are stored as ``reporter_type = public`` (a crawl checks them; nothing acts on a public
report alone), counted per client address against ``public_report_rate_limit`` together with
the key-less API endpoint (``WebContext.public_limit``, see :mod:`keepdown.api.ratelimit`),
and answered with a reference number. The form carries a double-submit CSRF token.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from keepdown.errors import InvalidInput, RateLimited
from keepdown.web.context import web_context
from keepdown.web.render import render
from keepdown.web.security import client_ip, public_form

__all__ = ["router"]

router = APIRouter()

_FORM = public_form()


@router.get("/report", dependencies=[_FORM])
def report_form(request: Request) -> Response:
    return render(request, "report_public.html", reference="", error="", url="")


@router.post("/report", dependencies=[_FORM])
async def report(
    request: Request,
    url: str = Form("", max_length=4096),
    note: str = Form("", max_length=2000),
) -> Response:
    ctx = web_context(request)
    try:
        await ctx.public_limit.hit(client_ip(request))  # awaited: Redis when shared
        done = await run_in_threadpool(
            lambda: ctx.url_reports.intake(
                url, reporter_type="public", now=ctx.clock.now(), note=note, receipt=True
            )
        )
    except (InvalidInput, RateLimited) as exc:
        return render(
            request,
            "report_public.html",
            status_code=exc.http_status,
            reference="",
            error=exc.message,
            url=url[:4096],
        )
    # the submission's own reference: never the report's, which would tell the URL was known
    return render(request, "report_public.html", reference=done.public_reference, error="", url="")
