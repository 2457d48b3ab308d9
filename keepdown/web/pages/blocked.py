"""The splash page a blocked user sees, and the appeal of a wrong block (docs/blocklist.md).

- ``GET /web/blocked?url=...`` (public): neutral wording (the person who reached it is not
  accused of anything), what the block is, and a link to ask for a review. Proxies redirect
  a blocked request here (``blocklist_splash_url``); a DNS splash host can serve it too.
- ``GET|POST /web/blocked/appeal`` (public, CSRF, limited per client like the report form):
  the owner of an address, or anyone, asks for a review of a listed URL or domain; it is
  stored with a number and an analyst decides it (``keepdown blocklist appeals``, the API),
  and an upheld appeal takes the entry off the list at once.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from keepdown.errors import InvalidInput, NotFound, RateLimited
from keepdown.web.context import web_context
from keepdown.web.render import render
from keepdown.web.security import client_ip, public_form

__all__ = ["router"]

router = APIRouter()

_FORM = public_form()


@router.get("/blocked", dependencies=[_FORM])
def blocked(request: Request, url: str = "") -> Response:
    return render(request, "blocked.html", url=url[:4096])


@router.get("/blocked/appeal", dependencies=[_FORM])
def appeal_form(request: Request, url: str = "") -> Response:
    return render(request, "blocked_appeal.html", url=url[:4096], error="", reference="")


@router.post("/blocked/appeal", dependencies=[_FORM])
async def appeal(
    request: Request,
    url: str = Form("", max_length=4096),
    contact: str = Form("", max_length=500),
    reason: str = Form("", max_length=4000),
) -> Response:
    ctx = web_context(request)
    try:
        await ctx.public_limit.hit(client_ip(request))
        made = await run_in_threadpool(
            lambda: ctx.blocklist.service.appeal(url, contact=contact, reason=reason)
        )
    except (InvalidInput, NotFound, RateLimited) as exc:
        return render(
            request,
            "blocked_appeal.html",
            status_code=exc.http_status,
            url=url[:4096],
            error=exc.message,
            reference="",
        )
    return render(request, "blocked_appeal.html", url="", error="", reference=f"A-{made.id}")
