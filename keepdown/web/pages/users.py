"""People (admins): add someone, disable or enable them, reset a password, unlock, remove a
second factor. A new person's first password and a reset one are random, shown once on the
answer page, and must be changed at the first sign-in. Every change is audited.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from keepdown.auth import Role
from keepdown.auth.signin import SignedIn
from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.web.context import web_context
from keepdown.web.render import render
from keepdown.web.security import client_ip, page

__all__ = ["router"]

router = APIRouter()

_ADMIN = page(Role.ADMIN)
ACTIONS = ("disable", "enable", "reset", "unlock", "remove_totp")


def _page(
    request: Request,
    *,
    shown: tuple[str, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    ctx = web_context(request)
    return render(
        request,
        "users.html",
        status_code=status_code,
        people=ctx.signin.store.list_users(),
        organisations=ctx.auth.store.list_organisations(),
        roles=[r.value for r in Role],
        now=ctx.clock.now(),
        shown=shown,
        error=error,
    )


def _audit(request: Request, viewer: SignedIn, action: str, target: str, **details: object) -> None:
    web_context(request).auth.audit(
        action,
        principal=viewer.user.principal(),
        client_ip=client_ip(request),
        target=target,
        **details,
    )


@router.get("/users")
def users(request: Request, viewer: SignedIn = _ADMIN) -> Response:
    return _page(request)


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
    ctx = web_context(request)
    temporary = secrets.token_urlsafe(15)
    try:
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
    except (InvalidInput, Conflict, NotFound) as exc:
        return _page(request, error=exc.message, status_code=400)
    _audit(request, viewer, "user.add", user.username, role=role, organisation=organisation)
    return _page(request, shown=(user.username, temporary))


@router.post("/users/{username}/{action}")
def change(request: Request, username: str, action: str, viewer: SignedIn = _ADMIN) -> Response:
    ctx = web_context(request)
    signin = ctx.signin
    if action not in ACTIONS:
        raise NotFound("no such action")
    if username == viewer.user.username and action == "disable":
        return _page(request, error="you cannot disable yourself", status_code=409)
    shown = None
    if action in ("disable", "enable"):
        signin.set_disabled(username, action == "disable")
    elif action == "reset":
        user, temporary = signin.reset_password(username)
        shown = (user.username, temporary)
    elif action == "unlock":
        signin.unlock(username)
    else:
        signin.remove_totp(username)
    _audit(request, viewer, f"user.{action}", username)
    if shown is not None:
        return _page(request, shown=shown)
    return RedirectResponse("/web/users?done=saved", status_code=303)
