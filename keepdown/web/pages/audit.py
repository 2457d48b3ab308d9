"""The audit log (admins only): who did what, when, from where, with what outcome."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keepdown.auth import Role
from keepdown.auth.signin import SignedIn
from keepdown.web.context import web_context
from keepdown.web.render import render
from keepdown.web.security import page

__all__ = ["router"]

router = APIRouter()


@router.get("/audit")
def audit(
    request: Request, action: str = "", limit: int = 200, viewer: SignedIn = page(Role.ADMIN)
) -> Response:
    ctx = web_context(request)
    records = ctx.auth.audit_log.list_records(
        limit=max(1, min(limit, 1000)), action=action[:64] or None
    )
    return render(request, "audit.html", records=records, action=action)
