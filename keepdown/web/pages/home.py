"""The home page: what a signed-in person can do, per role, and the queue at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from keepdown.auth.scope import refused_case_work
from keepdown.auth.signin import SignedIn
from keepdown.web.context import web_context
from keepdown.web.render import render
from keepdown.web.security import EVERYONE, page

__all__ = ["router"]

router = APIRouter()


@router.get("/")
async def home(request: Request, viewer: SignedIn = page(*EVERYONE)) -> Response:
    ctx = web_context(request)
    waiting = None
    operator = ctx.settings.operator_organisation
    user = viewer.user
    if user.may_review and not refused_case_work(user.role, user.organisation, operator):
        waiting = await run_in_threadpool(ctx.review.store.waiting, ctx.clock.now())
    return render(request, "home.html", waiting=waiting)
