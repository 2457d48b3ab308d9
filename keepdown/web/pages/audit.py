"""The audit log (admins only): who did what, when, from where, with what outcome.

The operator organisation's admins read every record; another organisation's admins read
only their own organisation's actors' records (:mod:`keepdown.web.actions`). Reading the log
is itself recorded (``audit.read``), as in the API.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keepdown.auth import Role
from keepdown.auth.signin import SignedIn
from keepdown.web.actions import audited, scope_of
from keepdown.web.context import web_context
from keepdown.web.render import render
from keepdown.web.security import page

__all__ = ["router"]

router = APIRouter()


@router.get("/audit")
def audit(
    request: Request, action: str = "", limit: int = 200, viewer: SignedIn = page(Role.ADMIN)
) -> Response:
    ctx, scope = web_context(request), scope_of(request, viewer)
    only = None if scope.is_operator else scope.organisation
    wanted = action[:64] or None
    with audited(request, viewer, "audit.read", only_action=wanted) as found:
        records = ctx.auth.audit_log.list_records(
            limit=max(1, min(limit, 1000)), action=wanted, organisation=only
        )
        found["count"] = len(records)
    return render(request, "audit.html", records=records, action=action)
