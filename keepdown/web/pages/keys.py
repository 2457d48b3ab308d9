"""API keys (admins): issue (the token is shown once, on the answer page), list, revoke.

Scoped as the API is (:mod:`keepdown.web.actions`): the operator organisation's admins manage
every organisation's keys; another organisation's admins see, issue and revoke only their
own organisation's (another's key answers 404). Issuing and revoking are audited write-ahead.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from keepdown.auth import Role, Scope, parse_duration
from keepdown.auth.signin import SignedIn
from keepdown.errors import Forbidden, InvalidInput, NotFound, UsageError
from keepdown.web.actions import audited, scope_of
from keepdown.web.context import web_context
from keepdown.web.render import render
from keepdown.web.security import page

__all__ = ["router"]

router = APIRouter()

_ADMIN = page(Role.ADMIN)
EXPIRIES = ("30d", "90d", "365d", "never")


def _page(
    request: Request,
    scope: Scope,
    *,
    issued: object = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    ctx = web_context(request)
    return render(
        request,
        "keys.html",
        status_code=status_code,
        keys=ctx.auth.list_keys(scope.filter_organisation(None)),
        organisations=[o for o in ctx.auth.store.list_organisations() if scope.own(o.name)],
        roles=[r.value for r in Role],
        expiries=EXPIRIES,
        issued=issued,
        error=error,
    )


@router.get("/keys")
def keys(request: Request, viewer: SignedIn = _ADMIN) -> Response:
    return _page(request, scope_of(request, viewer))


@router.post("/keys")
def issue(
    request: Request,
    organisation: str = Form(..., max_length=200),
    role: str = Form(..., max_length=16),
    expires: str = Form("90d", max_length=8),
    label: str = Form("", max_length=200),
    viewer: SignedIn = _ADMIN,
) -> Response:
    ctx, scope = web_context(request), scope_of(request, viewer)
    details = {"role": role, "organisation": organisation}
    try:
        with audited(request, viewer, "key.create", **details) as found:
            scope.require_own(organisation, "issue keys")
            if role not in {r.value for r in Role}:
                raise InvalidInput("unknown role", field="role")
            if expires not in EXPIRIES:
                raise InvalidInput("unknown expiry", field="expires")
            expires_in = None if expires == "never" else parse_duration(expires)
            issued = ctx.auth.issue_key(organisation, role, expires_in=expires_in, label=label)
            found["key_id"] = issued.key.key_id
    except Forbidden as exc:
        return _page(request, scope, error=exc.message, status_code=403)
    except (InvalidInput, UsageError, NotFound) as exc:
        return _page(request, scope, error=exc.message, status_code=400)
    # Rendered, not redirected: the token exists only in this answer (sent with no-store).
    return _page(request, scope, issued=issued)


@router.post("/keys/{key_id}/revoke")
def revoke(request: Request, key_id: str, viewer: SignedIn = _ADMIN) -> Response:
    ctx, scope = web_context(request), scope_of(request, viewer)
    key_id = key_id[:64]
    with audited(request, viewer, "key.revoke", target=key_id):
        if not scope.own(ctx.auth.store.get_key(key_id).organisation):
            raise NotFound(f"no API key {key_id!r}", key_id=key_id)
        ctx.auth.revoke_key(key_id)
    return RedirectResponse("/web/keys?done=revoked", status_code=303)
