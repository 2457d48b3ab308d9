"""The HTTP API (FastAPI): one module per resource, one error mapping, one role per endpoint.

:func:`create_app` turns an :class:`ApiContext` (built by :mod:`keepdown.app` from settings)
into an ASGI app. Routes:

- ``/api/v1/hash``, ``/api/v1/match``, ``/api/v1/match/url``, ``/api/v1/match/hashes``
- ``/api/v1/banks`` and below; ``/api/v1/organisations``, ``/api/v1/keys``, ``/api/v1/audit``
- ``/api/v1/health``, ``/api/v1/ready``, ``/metrics``
- ``/api/v1/reports`` (reported URLs to crawl)
- ``/api/v1/providers``, ``/api/v1/unattributed`` (the provider registry)
- ``/api/v1/notices`` and below; ``/api/v1/notice-response`` and below: authenticated by a
  notice's signed link only (``x-auth: signed-link`` in OpenAPI; no API key admitted)
- C3P Arachnid Shield compatible ``/v1/media/``, ``/v1/url/``, ``/v1/pdq/``
- Meta HMA compatible ``/h/hash``, ``/m/raw_lookup``, ``/m/lookup``
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from keepdown.api import (
    admin,
    banks,
    finance,
    hashing,
    health,
    hma_compat,
    matching,
    metrics,
    notices,
    providers,
    reports,
    shield_compat,
    url_reports,
)
from keepdown.api.context import ApiContext, Matcher, MatchView, UrlFetcher
from keepdown.api.errors import install_error_handlers
from keepdown.api.metrics import ApiMetrics, MetricsMiddleware
from keepdown.api.uploads import BodyLimitMiddleware

__all__ = [
    "ApiContext",
    "MatchView",
    "Matcher",
    "UrlFetcher",
    "api_routes",
    "create_app",
    "route_roles",
]

ROUTERS = (
    hashing.router,
    matching.router,
    banks.router,
    admin.router,
    health.router,
    metrics.router,
    shield_compat.router,
    hma_compat.router,
    url_reports.router,
    providers.router,
    notices.router,
    reports.router,
    finance.router,
)


def api_routes() -> list[APIRoute]:
    """Every API route (each router's paths carry their full prefix)."""
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


def route_roles(route: APIRoute) -> frozenset[Any] | None:
    """The roles a route admits (from its ``requires`` dependency); None for a public route."""
    for dependency in route.dependant.dependencies:
        roles = getattr(dependency.call, "allowed_roles", None)
        if roles is not None:
            return frozenset(roles)
    return None


def _signed_link(route: APIRoute) -> bool:
    """True for routes authenticated by a notice's signed link (keepdown.api.notices)."""
    return any(getattr(d.call, "signed_link", False) for d in route.dependant.dependencies)


def create_app(
    ctx: ApiContext, *, lifespan: Callable[[], AbstractAsyncContextManager[None]] | None = None
) -> FastAPI:
    """The ASGI app serving ``ctx``; ``lifespan`` runs around serving (start/stop workers)."""
    app = FastAPI(
        title="keepdown API",
        version="1",
        description="Hash and match content against banks of known material; manage banks.",
    )
    if lifespan is not None:
        app.router.lifespan_context = lambda _app: lifespan()
    app.state.ctx = ctx
    app.state.metrics = ApiMetrics()
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, limit=int(ctx.settings.max_upload_bytes) + 64 * 1024)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    _document_roles(app)
    return app


def _document_roles(app: FastAPI) -> None:
    """Put each route's roles into OpenAPI (``x-roles``) and drop FastAPI's unused 422."""
    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base_openapi()
        for route in api_routes():
            roles = route_roles(route)
            for method in route.methods:
                operation = schema["paths"][route.path_format].get(method.lower())
                if operation is None:
                    continue
                operation["x-roles"] = sorted(r.value for r in roles) if roles else ["public"]
                if _signed_link(route):
                    operation["x-auth"] = "signed-link"
                if roles is None:
                    operation.pop("security", None)
                response_422 = operation["responses"].get("422", {})
                if "HTTPValidationError" in str(response_422):
                    del operation["responses"]["422"]
        schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
