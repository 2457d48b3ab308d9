"""The signed-in person's own account: password, second factor, wellbeing settings.

A temporary password (from ``keepdown user reset``) lands here and admits to nothing else
until it is changed. Turning on the second factor shows a fresh secret (as a QR code and as
text) and takes effect once a code from it is entered.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from keepdown.auth import totp
from keepdown.auth.signin import SignedIn, token_digest
from keepdown.errors import AuthError, InvalidInput
from keepdown.review import Prefs
from keepdown.web.actions import audited
from keepdown.web.context import web_context
from keepdown.web.nav import STAFF
from keepdown.web.qr import qr_svg
from keepdown.web.render import render
from keepdown.web.security import EVERYONE, client_ip, page, session_cookie_name

__all__ = ["router"]

router = APIRouter()

_ANYONE = page(*EVERYONE)


def _account(
    request: Request, viewer: SignedIn, *, status_code: int = 200, **errors: str
) -> Response:
    ctx = web_context(request)
    secret = totp.new_secret() if not viewer.user.totp_enabled else ""
    uri = ctx.signin.totp_uri(viewer.user, secret) if secret else ""
    prefs = ctx.review.prefs(viewer.user.username) if viewer.user.may_review else None
    return render(
        request,
        "account.html",
        status_code=status_code,
        totp_secret=secret,
        totp_uri=uri,
        totp_qr=qr_svg(uri) if uri else "",
        prefs=prefs,
        errors=errors,
    )


def _refused(
    request: Request, viewer: SignedIn, field: str, exc: AuthError | InvalidInput
) -> Response:
    """The account page with the error, or the sign-in page when guessing ended the session."""
    if web_context(request).signin.store.get_session(token_digest(viewer.token)) is None:
        return RedirectResponse("/web/login?done=signed_out", status_code=303)
    return _account(request, viewer, status_code=400, **{field: exc.message})


@router.get("/account")
async def account(request: Request, viewer: SignedIn = _ANYONE) -> Response:
    return await run_in_threadpool(_account, request, viewer)


@router.post("/account/password")
async def password(
    request: Request,
    current: str = Form("", max_length=1024),
    new: str = Form("", max_length=1024),
    repeat: str = Form("", max_length=1024),
    viewer: SignedIn = _ANYONE,
) -> Response:
    ctx = web_context(request)

    def change() -> None:
        with audited(request, viewer, "web.password_change", viewer.user.username):
            if new != repeat:
                raise InvalidInput("the two new passwords differ")
            ctx.signin.change_password(viewer, current, new, client_ip=client_ip(request))

    try:
        await run_in_threadpool(change)
    except (AuthError, InvalidInput) as exc:
        return await run_in_threadpool(_refused, request, viewer, "password", exc)
    # Every session ended with the change; sign in again with the new password.
    response = RedirectResponse("/web/login?done=password", status_code=303)
    response.delete_cookie(session_cookie_name(ctx.settings.web_cookie_secure), path="/")
    return response


@router.post("/account/totp")
async def totp_on(
    request: Request,
    secret: str = Form("", max_length=64),
    code: str = Form("", max_length=12),
    current: str = Form("", max_length=1024),
    viewer: SignedIn = _ANYONE,
) -> Response:
    ctx = web_context(request)

    def enrol() -> None:
        with audited(request, viewer, "web.totp_on", viewer.user.username):
            ctx.signin.enrol_totp(viewer, secret, code, current, client_ip=client_ip(request))

    try:
        await run_in_threadpool(enrol)
    except (AuthError, InvalidInput) as exc:
        return await run_in_threadpool(_refused, request, viewer, "totp", exc)
    return RedirectResponse("/web/account?done=totp_on", status_code=303)


@router.post("/account/totp/remove")
async def totp_off(
    request: Request, current: str = Form("", max_length=1024), viewer: SignedIn = _ANYONE
) -> Response:
    ctx = web_context(request)

    def remove() -> None:
        with audited(request, viewer, "web.totp_off", viewer.user.username):
            ctx.signin.remove_own_totp(viewer, current, client_ip=client_ip(request))

    try:
        await run_in_threadpool(remove)  # Argon2 and the database: off the event loop
    except AuthError as exc:
        return await run_in_threadpool(_refused, request, viewer, "totp", exc)
    return RedirectResponse("/web/account?done=totp_off", status_code=303)


@router.post("/account/wellbeing")
async def wellbeing(
    request: Request,
    blur: int = Form(12),
    grayscale: str = Form(""),
    break_after_reviews: int = Form(40),
    break_after_minutes: int = Form(45),
    viewer: SignedIn = page(*STAFF),
) -> Response:
    ctx = web_context(request)
    prefs = Prefs(
        blur=blur,
        grayscale=bool(grayscale),
        break_after_reviews=break_after_reviews,
        break_after_minutes=break_after_minutes,
    )
    try:
        await run_in_threadpool(ctx.review.set_prefs, viewer.user.username, prefs)
    except InvalidInput as exc:
        return await run_in_threadpool(
            _account, request, viewer, status_code=400, prefs=exc.message
        )
    return RedirectResponse("/web/account?done=saved", status_code=303)
