"""The allow-list: candidates analysts said are not a bank entry's material.

Staff read it; admins take an entry off (the candidate can then match that entry again).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from keepdown.auth import Role
from keepdown.auth.signin import SignedIn
from keepdown.web.actions import audited
from keepdown.web.context import web_context
from keepdown.web.nav import STAFF
from keepdown.web.paging import SmallRowId
from keepdown.web.render import render
from keepdown.web.security import page

__all__ = ["router"]

router = APIRouter()


@router.get("/allow-list")
def allow_list(request: Request, viewer: SignedIn = page(*STAFF, case_work=True)) -> Response:
    ctx = web_context(request)
    return render(request, "allowlist.html", entries=ctx.review_store.allow_entries())


@router.post("/allow-list/{entry_id}/remove")
def remove(
    request: Request, entry_id: SmallRowId, viewer: SignedIn = page(Role.ADMIN, case_work=True)
) -> Response:
    ctx = web_context(request)
    with audited(request, viewer, "allow_list.remove", f"allow:{entry_id}"):
        ctx.review_store.remove_allow_entry(entry_id)
    return RedirectResponse("/web/allow-list?done=removed", status_code=303)
