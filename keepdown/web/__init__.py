"""Server-rendered pages for analysts, operators, providers and the public (under ``/web``).

:func:`create_web_app` turns a :class:`WebContext` into an ASGI app that
``keepdown.app.web.mount_web`` mounts at ``/web`` next to the API. Pages are Jinja2 templates
with htmx (vendored, served from ``/web/static``); every route states its roles with
:func:`keepdown.web.security.page`; every response carries a strict CSP and ``no-store``.

A page is a module in :mod:`keepdown.web.pages` with a ``router``, listed in
:data:`PAGE_MODULES` (and in :data:`keepdown.web.nav.NAV` to appear in the header); see
docs/web.md, "Adding a page".
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from keepdown.errors import InvalidInput, KeepdownError, MethodNotAllowed, NotFound
from keepdown.web.context import WebContext, web_context
from keepdown.web.render import render
from keepdown.web.security import NeedsSignIn, SecurityHeaders

__all__ = [
    "PAGE_MODULES",
    "WEB_ROOT",
    "WebContext",
    "create_web_app",
    "route_case_work",
    "route_roles",
    "web_routes",
]

log = logging.getLogger("keepdown.web")

WEB_ROOT = "/web"
STATIC_DIR = Path(__file__).parent / "static"

#: Modules under keepdown.web.pages that each provide a ``router``.
PAGE_MODULES: tuple[str, ...] = (
    "signin",
    "home",
    "account",
    "review",
    "media",
    "sightings",
    "notices",
    "providers",
    "banks",
    "reports",
    "allowlist",
    "audit",
    "keys",
    "users",
    "public",
    "transparency",
    "blocked",
    "self_submission",
)


def _routers() -> list[Any]:
    return [importlib.import_module(f"keepdown.web.pages.{name}").router for name in PAGE_MODULES]


def web_routes() -> list[APIRoute]:
    """Every page route (paths relative to :data:`WEB_ROOT`)."""
    return [
        route for router in _routers() for route in router.routes if isinstance(route, APIRoute)
    ]


def route_roles(route: APIRoute) -> frozenset[Any] | None:
    """The roles a page admits; None for a public page."""
    for dependency in route.dependant.dependencies:
        roles = getattr(dependency.call, "allowed_roles", None)
        if roles is not None:
            return frozenset(roles)
    return None


def route_case_work(route: APIRoute) -> bool:
    """True when the page is the operator's case work (``page(..., case_work=True)``)."""
    return any(getattr(d.call, "case_work", False) for d in route.dependant.dependencies)


def create_web_app(ctx: WebContext) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, title="keepdown web")
    app.state.web = ctx
    for router in _routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)
    _install_error_pages(app)
    return app


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(NeedsSignIn)
    async def needs_sign_in(request: Request, exc: NeedsSignIn) -> Response:
        target = f"{WEB_ROOT}{exc.to.removeprefix(WEB_ROOT)}"
        if exc.to.endswith("/login") and request.method == "GET":
            target += f"?next={quote(request.url.path)}"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(KeepdownError)
    async def keepdown_error(request: Request, exc: KeepdownError) -> Response:
        if exc.http_status >= 500:
            log.error("web page failed: %s", exc.message)
        return _error_page(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()})
        return _error_page(request, InvalidInput("the form is incomplete", fields=fields))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, KeepdownError):  # e.g. a body over the cap while a form
            return _error_page(request, exc.__cause__)  # was read: 413, not a 404
        if exc.status_code == 405:
            return _error_page(request, MethodNotAllowed("method not allowed"))
        if exc.status_code == 404:
            return _error_page(request, NotFound("there is no such page"))
        return _error_page(request, InvalidInput("the request could not be read"))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        log.exception("web page crashed")
        return _error_page(request, KeepdownError("something went wrong on the server"))


def _error_page(request: Request, error: KeepdownError) -> Response:
    if "/self-submission/api/" in request.url.path:  # the page's script reads JSON
        return JSONResponse(error.to_dict(), status_code=error.http_status)
    try:
        web_context(request)
    except AttributeError:  # pragma: no cover - the app is always built with a context
        return JSONResponse(error.to_dict(), status_code=error.http_status)
    # An htmx request shows the error page in place of the whole page (not inside a panel).
    headers = (
        {"HX-Retarget": "body", "HX-Reswap": "innerHTML"}
        if request.headers.get("hx-request")
        else None
    )
    return render(
        request, "error.html", status_code=error.http_status, error=error, headers=headers
    )
