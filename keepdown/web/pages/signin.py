"""Sign-in, the second-factor step, sign-out and the language switch.

The session cookie is HttpOnly, SameSite=Lax, Secure unless ``web_cookie_secure`` is off
(only for http://127.0.0.1 development), and ``__Host-`` prefixed when Secure. It holds a
random token; the database keeps only its SHA-256.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from keepdown.auth.signin import SignedIn
from keepdown.errors import AuthError, InvalidInput, RateLimited
from keepdown.web.context import web_context
from keepdown.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from keepdown.web.render import render
from keepdown.web.security import (
    EVERYONE,
    client_ip,
    device_cookie_name,
    page,
    public_form,
    session_cookie_name,
    signed_in,
)

__all__ = ["router"]

router = APIRouter()

_FORM = public_form()
_PENDING = page(*EVERYONE, allow_pending=True)


def _safe_next(value: str | None) -> str:
    """Only a path of this site (never //host or a scheme): no open redirect."""
    if value and value.startswith("/web/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/web/"


def _device(request: Request) -> str | None:
    return request.cookies.get(device_cookie_name(web_context(request).settings.web_cookie_secure))


def _set_device(response: Response, request: Request, token: str) -> None:
    """Keep the device token (keepdown/auth/devices.py) for as long as it is valid."""
    if not token:
        return
    ctx = web_context(request)
    secure = bool(ctx.settings.web_cookie_secure)
    response.set_cookie(
        device_cookie_name(secure),
        token,
        max_age=int(ctx.signin.devices.valid_for.total_seconds()) if ctx.signin.devices else None,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )


def _set_session(response: Response, request: Request, token: str) -> None:
    ctx = web_context(request)
    secure = ctx.settings.web_cookie_secure
    response.set_cookie(
        session_cookie_name(secure),
        token,
        max_age=ctx.settings.web_session_max_hours * 3600,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )


@router.get("/login", dependencies=[_FORM])
async def login_form(request: Request, next: str = "") -> Response:
    if await signed_in(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), error="")


@router.post("/login", dependencies=[_FORM])
async def login(
    request: Request,
    username: str = Form("", max_length=200),
    password: str = Form("", max_length=1024),
    next: str = Form(""),
) -> Response:
    ctx = web_context(request)
    try:
        signed = await run_in_threadpool(
            lambda: ctx.signin.sign_in(
                username, password, client_ip=client_ip(request), device=_device(request)
            )
        )
    except (AuthError, RateLimited) as exc:
        refused = render(
            request,
            "login.html",
            status_code=exc.http_status,
            next=_safe_next(next),
            error=exc.message,
            username=username[:64],
        )
        if isinstance(exc, RateLimited):
            refused.headers["Retry-After"] = str(exc.details.get("retry_after", 60))
        return refused
    target = "/web/login/code" if signed.session.pending_totp else _safe_next(next)
    if signed.user.must_change_password and not signed.session.pending_totp:
        target = "/web/account"
    response = RedirectResponse(target, status_code=303)
    _set_session(response, request, signed.token)
    _set_device(response, request, signed.device)
    return response


@router.get("/login/code")
async def code_form(request: Request, viewer: SignedIn = _PENDING) -> Response:
    if not viewer.session.pending_totp:
        return RedirectResponse("/web/", status_code=303)
    return render(request, "code.html", error="")


@router.post("/login/code")
async def code(
    request: Request, code: str = Form("", max_length=12), viewer: SignedIn = _PENDING
) -> Response:
    ctx = web_context(request)
    if not viewer.session.pending_totp:
        return RedirectResponse("/web/", status_code=303)
    try:
        done = await run_in_threadpool(
            lambda: ctx.signin.second_factor(
                viewer, code, client_ip=client_ip(request), device=_device(request)
            )
        )
    except RateLimited as exc:  # the pending session is ended: back to the password step
        held = render(request, "login.html", status_code=429, next="/web/", error=exc.message)
        held.headers["Retry-After"] = str(exc.details.get("retry_after", 60))
        return held
    except (AuthError, InvalidInput) as exc:
        return render(request, "code.html", status_code=401, error=exc.message)
    target = "/web/account" if viewer.user.must_change_password else "/web/"
    response = RedirectResponse(target, status_code=303)
    _set_device(response, request, done.device)
    return response


@router.post("/logout")
async def logout(request: Request, viewer: SignedIn = _PENDING) -> Response:
    ctx = web_context(request)
    await run_in_threadpool(ctx.signin.sign_out, viewer, client_ip=client_ip(request))
    response = RedirectResponse("/web/login?done=signed_out", status_code=303)
    response.delete_cookie(session_cookie_name(ctx.settings.web_cookie_secure), path="/")
    return response


@router.post("/language", dependencies=[_FORM])
async def language(
    request: Request, lang: str = Form("en", max_length=8), back: str = Form("/web/")
) -> Response:
    """Switch the interface language (kept in a cookie; a signed-in person's choice is saved)."""
    if lang not in LANGUAGES:
        raise InvalidInput("unknown language", lang=lang[:8])
    ctx = web_context(request)
    viewer = await signed_in(request)
    if viewer is not None:
        await run_in_threadpool(ctx.signin.store.update_user, viewer.user.username, language=lang)
    response = RedirectResponse(_safe_next(back), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        lang,
        max_age=365 * 86400,
        httponly=True,
        secure=ctx.settings.web_cookie_secure,
        samesite="lax",
        path="/",
    )
    return response
