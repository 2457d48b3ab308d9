"""Who may see a page, and the protections every response carries.

Every route declares its roles with :func:`page` (or is one of the few public pages, which use
:func:`public_form` for their forms). ``page(...)``:

1. reads the session cookie and checks the session (:meth:`keepdown.auth.signin.SignIn.session`):
   none or expired -> sign-in page (a GET is sent there and comes back after), a session
   still waiting for its second factor -> the code page, a temporary password -> the
   password form;
2. refuses a role not listed with 403 (the roles are kept on the dependency,
   ``allowed_roles``, so the walk test reads them from the routes);
3. on POST, refuses a request from another origin (``Origin`` / ``Sec-Fetch-Site``) and one
   whose CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``) is not the
   session's own, compared in constant time.

Forms shown before sign-in (sign-in, the public report form) use a double-submit token: a
random ``kd_csrf`` cookie (HttpOnly, SameSite=Strict) that the form must repeat.

:class:`SecurityHeaders` adds to every web response a strict Content-Security-Policy (no inline
script or style, nothing from another origin), ``Cache-Control: no-store`` (pages and media
hold sensitive data; static files excepted), ``X-Frame-Options: DENY``, ``nosniff``,
``Referrer-Policy: same-origin`` (no address leaks to another site) and a Permissions-Policy
that turns off camera, microphone and location.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keepdown.auth import Role
from keepdown.auth.scope import check_case_work
from keepdown.auth.signin import SignedIn
from keepdown.errors import AuthError, Forbidden
from keepdown.web.context import web_context

__all__ = [
    "CSP",
    "NeedsSignIn",
    "SecurityHeaders",
    "csrf_cookie_name",
    "page",
    "public_form",
    "session_cookie_name",
]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


class NeedsSignIn(Exception):
    """Raised by :func:`page`: send the person to ``to`` (sign-in, code or password page)."""

    def __init__(self, to: str, message: str = "") -> None:
        super().__init__(message or to)
        self.to = to
        self.message = message


def session_cookie_name(secure: bool) -> str:
    # The __Host- prefix makes browsers refuse the cookie unless Secure, Path=/ and no Domain.
    return "__Host-kd_session" if secure else "kd_session"


def csrf_cookie_name(secure: bool) -> str:
    return "__Host-kd_csrf" if secure else "kd_csrf"


def device_cookie_name(secure: bool) -> str:
    """The device token's cookie (keepdown/auth/devices.py): this browser signed in before."""
    return "__Host-kd_device" if secure else "kd_device"


def client_ip(request: Request) -> str | None:
    """The client's address: the TCP peer, or the forwarded one when the peer is one of the
    ``trusted_proxies`` (the app's proxy-headers middleware sets it; keepdown.api.ratelimit)."""
    return request.client.host if request.client else None


def _same_origin(request: Request) -> bool:
    """False for a request the browser says came from another site. Browsers send
    ``Sec-Fetch-Site``; older ones only ``Origin`` (``null`` from some forms). A missing
    header proves nothing either way: the CSRF token is still required."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    return origin.split("://", 1)[-1] == request.headers.get("host", "")


async def _presented_token(request: Request) -> str:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if "form" not in content_type:
        return ""
    form = await request.form()
    value = form.get("csrf_token")
    return value if isinstance(value, str) else ""


async def check_csrf(request: Request, expected: str) -> None:
    """Forbidden unless the request is same-origin and repeats ``expected``."""
    if not _same_origin(request):
        raise Forbidden("this form was sent from another site")
    presented = await _presented_token(request)
    if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise Forbidden("the form's security token is missing or wrong; reload the page")


async def signed_in(request: Request) -> SignedIn | None:
    """The request's live session, or None (no exception: for pages that work either way)."""
    ctx = web_context(request)
    token = request.cookies.get(session_cookie_name(ctx.settings.web_cookie_secure))
    if not token:
        return None
    try:
        return await run_in_threadpool(ctx.signin.session, token)
    except AuthError:
        return None


def page(*roles: Role, allow_pending: bool = False, case_work: bool = False) -> Any:
    """The dependency of a page admitting ``roles`` (steps in the module docstring).

    ``case_work``: the page is the operator's case work (``keepdown.auth.scope``): analysts
    and admins of another organisation are refused too."""
    allowed = frozenset(roles)

    async def viewer(request: Request) -> SignedIn:
        signed = await signed_in(request)
        if signed is None:
            raise NeedsSignIn("/web/login")
        if signed.session.pending_totp and not allow_pending:
            raise NeedsSignIn("/web/login/code")
        if (
            signed.user.must_change_password
            and not allow_pending
            and request.url.path not in ("/web/account", "/web/account/password", "/web/logout")
        ):
            raise NeedsSignIn("/web/account")
        # known before the role check: a refused page (403) still draws the person's header
        request.state.viewer = signed
        if signed.user.role not in allowed:
            raise Forbidden(f"role {signed.user.role.value!r} may not open this page")
        if case_work:
            operator = str(web_context(request).settings.operator_organisation)
            check_case_work(signed.user.role, signed.user.organisation, operator)
        if request.method not in ("GET", "HEAD"):
            await check_csrf(request, signed.session.csrf_token)
        request.state.viewer = signed
        return signed

    viewer.allowed_roles = allowed  # type: ignore[attr-defined]
    viewer.case_work = case_work  # type: ignore[attr-defined]
    return Depends(viewer)


EVERYONE = tuple(Role)


def public_form() -> Any:
    """The dependency of a form shown before sign-in: double-submit CSRF token."""

    async def check(request: Request) -> None:
        if request.method in ("GET", "HEAD"):
            return
        signed = await signed_in(request)
        if signed is not None:  # the page was rendered with the session's token
            await check_csrf(request, signed.session.csrf_token)
            return
        ctx = web_context(request)
        cookie = request.cookies.get(csrf_cookie_name(ctx.settings.web_cookie_secure))
        if not cookie:
            raise Forbidden("the form's security token is missing; reload the page")
        await check_csrf(request, cookie)

    check.allowed_roles = None  # type: ignore[attr-defined]
    check.public = True  # type: ignore[attr-defined]
    return Depends(check)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


class SecurityHeaders:
    """ASGI middleware adding the headers of the module docstring to every web response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/web/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers.setdefault(name, value)
                if static:
                    headers["cache-control"] = "public, max-age=3600"
                else:
                    headers["cache-control"] = "no-store"
                    headers["pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, send_with_headers)
