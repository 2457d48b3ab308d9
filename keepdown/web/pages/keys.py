"""API keys (admins): issue (the token is shown once, on the answer page), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from keepdown.auth import Role, parse_duration
from keepdown.auth.signin import SignedIn
from keepdown.errors import InvalidInput, NotFound, UsageError
from keepdown.web.context import web_context
from keepdown.web.render import render
from keepdown.web.security import client_ip, page

__all__ = ["router"]

router = APIRouter()

_ADMIN = page(Role.ADMIN)
EXPIRIES = ("30d", "90d", "365d", "never")


def _page(
    request: Request, *, issued: object = None, error: str = "", status_code: int = 200
) -> Response:
    ctx = web_context(request)
    return render(
        request,
        "keys.html",
        status_code=status_code,
        keys=ctx.auth.list_keys(),
        organisations=ctx.auth.store.list_organisations(),
        roles=[r.value for r in Role],
        expiries=EXPIRIES,
        issued=issued,
        error=error,
    )


@router.get("/keys")
def keys(request: Request, viewer: SignedIn = _ADMIN) -> Response:
    return _page(request)


@router.post("/keys")
def issue(
    request: Request,
    organisation: str = Form(..., max_length=200),
    role: str = Form(..., max_length=16),
    expires: str = Form("90d", max_length=8),
    label: str = Form("", max_length=200),
    viewer: SignedIn = _ADMIN,
) -> Response:
    ctx = web_context(request)
    try:
        if role not in {r.value for r in Role}:
            raise InvalidInput("unknown role", field="role")
        if expires not in EXPIRIES:
            raise InvalidInput("unknown expiry", field="expires")
        expires_in = None if expires == "never" else parse_duration(expires)
        issued = ctx.auth.issue_key(organisation, role, expires_in=expires_in, label=label)
    except (InvalidInput, UsageError, NotFound) as exc:
        return _page(request, error=exc.message, status_code=400)
    ctx.auth.audit(
        "key.create",
        principal=viewer.user.principal(),
        client_ip=client_ip(request),
        target=issued.key.key_id,
        role=role,
        organisation=organisation,
    )
    # Rendered, not redirected: the token exists only in this answer (sent with no-store).
    return _page(request, issued=issued)


@router.post("/keys/{key_id}/revoke")
def revoke(request: Request, key_id: str, viewer: SignedIn = _ADMIN) -> Response:
    ctx = web_context(request)
    ctx.auth.revoke_key(key_id[:64])
    ctx.auth.audit(
        "key.revoke",
        principal=viewer.user.principal(),
        client_ip=client_ip(request),
        target=key_id[:64],
    )
    return RedirectResponse("/web/keys?done=revoked", status_code=303)
