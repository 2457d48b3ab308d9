"""People (admins): add someone, disable or enable them, reset a password, unlock, remove a
second factor. A new person's first password and a reset one are random, shown once on the
answer page, and must be changed at the first sign-in. Every change is audited write-ahead.

Scoped as the API is (:mod:`keepdown.web.actions`): the operator organisation's admins manage
everyone; another organisation's admins see and manage only their own organisation's people
(another's answers 404).
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from keepdown.auth import Role, Scope
from keepdown.auth.signin import SignedIn
from keepdown.errors import Conflict, Forbidden, InvalidInput, NotFound
from keepdown.web.actions import audited, scope_of
from keepdown.web.context import web_context
from keepdown.web.render import render
from keepdown.web.security import page

__all__ = ["router"]

router = APIRouter()

_ADMIN = page(Role.ADMIN)
ACTIONS = ("disable", "enable", "reset", "unlock", "remove_totp")


def _page(
    request: Request,
    scope: Scope,
    *,
    shown: tuple[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    ctx = web_context(request)
    people = ctx.signin.store.list_users(scope.filter_organisation(None))
    return render(
        request,
        "users.html",
        status_code=status_code,
        people=people,
        # names failures hold back for browsers that never signed in as them (auth/throttle.py)
        held={p.username: ctx.signin.held_until(p.username) for p in people},
        organisations=[o for o in ctx.auth.store.list_organisations() if scope.own(o.name)],
        roles=[r.value for r in Role],
        now=ctx.clock.now(),
        shown=shown,
        error=error,
    )


@router.get("/users")
def users(request: Request, viewer: SignedIn = _ADMIN) -> Response:
    return _page(request, scope_of(request, viewer))


@router.post("/users")
def add(
    request: Request,
    username: str = Form(..., max_length=64),
    organisation: str = Form(..., max_length=200),
    role: str = Form(..., max_length=16),
    display_name: str = Form("", max_length=200),
    senior: str = Form(""),
    viewer: SignedIn = _ADMIN,
) -> Response:
    ctx, scope = web_context(request), scope_of(request, viewer)
    temporary = secrets.token_urlsafe(15)
    details = {"role": role, "organisation": organisation}
    try:
        with audited(request, viewer, "user.add", username[:64], **details):
            scope.require_own(organisation, "add people")
            if role not in {r.value for r in Role}:
                raise InvalidInput("unknown role", field="role")
            user = ctx.signin.add_user(
                username,
                temporary,
                organisation=organisation,
                role=role,
                senior=bool(senior),
                display_name=display_name,
            )
            ctx.signin.store.update_user(user.username, must_change_password=True)
    except Forbidden as exc:
        return _page(request, scope, error=exc.message, status_code=403)
    except (InvalidInput, Conflict, NotFound) as exc:
        return _page(request, scope, error=exc.message, status_code=400)
    return _page(request, scope, shown=(user.username, temporary))


@router.post("/users/{username}/{action}")
def change(request: Request, username: str, action: str, viewer: SignedIn = _ADMIN) -> Response:
    scope = scope_of(request, viewer)
    if action not in ACTIONS:
        raise NotFound("no such action")
    if username == viewer.user.username and action == "disable":
        return _page(request, scope, error="you cannot disable yourself", status_code=409)
    with audited(request, viewer, f"user.{action}", username[:64]):
        shown = _apply(request, scope, username, action)
    if shown is not None:
        return _page(request, scope, shown=shown)
    return RedirectResponse("/web/users?done=saved", status_code=303)


def _apply(request: Request, scope: Scope, username: str, action: str) -> tuple[str, str] | None:
    """Do ``action`` to a person ``scope`` manages; (username, temporary password) on reset."""
    signin = web_context(request).signin
    if not scope.own(signin.store.get_user(username).organisation):
        raise NotFound(f"no person called {username!r}")
    if action in ("disable", "enable"):
        signin.set_disabled(username, action == "disable")
    elif action == "reset":
        user, temporary = signin.reset_password(username)
        return user.username, temporary
    elif action == "unlock":
        signin.unlock(username)
    else:
        signin.remove_totp(username)
    return None
