"""The HTTP API (FastAPI): one module per resource, one error mapping, one role per endpoint.

:func:`create_app` turns an :class:`ApiContext` (built by :mod:`keepdown.app` from settings)
into an ASGI app. Routes:

- ``/api/v1/hash``, ``/api/v1/match``, ``/api/v1/match/url``, ``/api/v1/match/hashes``
- ``/api/v1/banks`` and below (``bank_files``: import, export); ``/api/v1/organisations``,
  ``/api/v1/keys``, ``/api/v1/audit``
- ``/api/v1/health``, ``/api/v1/ready``, ``/metrics``
- ``/api/v1/reports`` (reported URLs to crawl)
- ``/api/v1/holds`` and ``/api/v1/removal-requests`` (uploads held on a self-submitted match,
  analysts' decisions, removal requests and their 48-hour clock)
- ``/api/v1/providers``, ``/api/v1/unattributed`` (the provider registry)
- ``/api/v1/notices`` and below; ``/api/v1/notice-response`` and below: authenticated by a
  notice's signed link only (``x-roles: ["signed-link"]`` and ``x-auth: signed-link`` in
  OpenAPI; no API key admitted)
- C3P Arachnid Shield compatible ``/v1/media/``, ``/v1/url/``, ``/v1/pdq/``
- Meta HMA compatible ``/h/hash``, ``/m/raw_lookup``, ``/m/lookup``, ``/m/compare``,
  ``/m/index/status``

The hash lookups (:data:`HOT_PATHS`) are dispatched by :mod:`keepdown.api.hot`, without
FastAPI's per-request routing and dependency machinery; every other fixed path is found by one
dict lookup there too. The OpenAPI document is completed once here rather than route by
route: every keyed route may answer 503 (a key missing from the cache is read from the
database; Redis holds rate-limit counters), every route with a body may answer 413 (the
body-limit middleware), and FastAPI's unused 422 validation schema is dropped (validation
errors answer 400).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from keepdown.api import (
    admin,
    bank_files,
    banks,
    blocklist,
    evidence,
    federation,
    feeds,
    filings,
    finance,
    hashing,
    health,
    hma_compat,
    matching,
    metrics,
    notices,
    providers,
    removals,
    reports,
    shield_compat,
    sightings,
    url_reports,
)
from keepdown.api.context import ApiContext, MatchView, UrlFetcher
from keepdown.api.deps import SECURITY_SCHEMES
from keepdown.api.docs_pages import install_docs
from keepdown.api.errors import ErrorBody, error_responses, install_error_handlers
from keepdown.api.hot import HotPath, HotRoutes
from keepdown.api.metrics import ApiMetrics, MetricsMiddleware
from keepdown.api.uploads import BodyLimitMiddleware

__all__ = [
    "ApiContext",
    "MatchView",
    "UrlFetcher",
    "api_routes",
    "create_app",
    "route_roles",
]

ROUTERS = (
    hashing.router,
    matching.router,
    banks.router,
    bank_files.router,
    admin.router,
    health.router,
    metrics.router,
    shield_compat.router,
    hma_compat.router,
    url_reports.router,
    sightings.router,
    providers.router,
    notices.router,
    reports.router,
    evidence.router,
    removals.router,
    finance.router,
    federation.router,
    filings.router,
    blocklist.router,
    feeds.router,
)


def api_routes() -> list[APIRoute]:
    """Every API route (each router's paths carry their full prefix), nested routers too."""
    return [route for router in ROUTERS for route in _routes_of(router.routes)]


def _routes_of(routes: list[Any]) -> list[APIRoute]:
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (nested := getattr(route, "original_router", None)) is not None:
            found.extend(_routes_of(nested.routes))
    return found


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


#: FastAPI >= 0.165 checks on every request whether OpenTelemetry providers are configured
#: (~25 us, 9% of a single-hash lookup's CPU). keepdown exports its own Prometheus metrics
#: (keepdown.api.metrics), so FastAPI's native telemetry is turned off where it exists.
_NO_FASTAPI_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


def create_app(
    ctx: ApiContext, *, lifespan: Callable[[], AbstractAsyncContextManager[None]] | None = None
) -> FastAPI:
    """The ASGI app serving ``ctx``; ``lifespan`` runs around serving (start/stop workers)."""
    app = FastAPI(
        title="keepdown API",
        version="1",
        description="Hash and match content against banks of known material; manage banks.",
        docs_url=None,  # served from the installed package instead of a CDN: docs_pages
        redoc_url=None,
        **_NO_FASTAPI_TELEMETRY,
    )
    if lifespan is not None:
        app.router.lifespan_context = lambda _app: lifespan()
    app.state.ctx = ctx
    app.state.metrics = ApiMetrics()
    install_error_handlers(app)
    install_docs(app)
    for router in ROUTERS:
        app.include_router(router)
    app.router.middleware_stack = HotRoutes(app.router.middleware_stack, api_routes(), HOT_PATHS)
    app.add_middleware(
        BodyLimitMiddleware,
        limit=ctx.settings.max_upload_bytes,
        large_path=bank_files.IMPORT_PATH,
        large_limit=ctx.settings.bank_import_max_bytes,
    )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    _complete_openapi(app)
    return app


#: Lookups served by :mod:`keepdown.api.hot` (their FastAPI routes document them).
HOT_PATHS = [
    HotPath("POST", "/api/v1/match/hashes", body=matching.BatchIn),
    HotPath("POST", "/v1/pdq/", body=shield_compat.PdqIn),
    HotPath("GET", "/m/raw_lookup", query=hma_compat.RawLookupQuery),
]


_BODY_METHODS = frozenset({"post", "put", "patch"})


def _document_operation(operation: dict[str, Any], route: APIRoute, method: str) -> None:
    """Roles (``x-roles``), signed-link auth, the statuses any keyed or bodied route can give."""
    roles = route_roles(route)
    responses = operation["responses"]
    if _signed_link(route):
        operation["x-roles"] = ["signed-link"]
        operation["x-auth"] = "signed-link"
    else:
        operation["x-roles"] = sorted(r.value for r in roles) if roles else ["public"]
    if roles and not _signed_link(route):
        operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
    if roles is not None:
        responses.setdefault("503", _response(503))
    if method in _BODY_METHODS:
        responses.setdefault("413", _response(413))
    if "HTTPValidationError" in str(responses.get("422", {})):
        del responses["422"]


def _response(status: int) -> dict[str, Any]:
    entry = error_responses(status)[status]
    schema = {"$ref": f"#/components/schemas/{ErrorBody.__name__}"}
    return {
        "description": entry["description"],
        "content": {"application/json": {"schema": schema}},
    }


def _complete_openapi(app: FastAPI) -> None:
    """Finish the OpenAPI document once, on first request (see the module docstring)."""
    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = base_openapi()
        for route in api_routes():
            for method in route.methods or ():
                operation = schema["paths"][route.path_format].get(method.lower())
                if operation is not None:
                    _document_operation(operation, route, method.lower())
        components = schema.setdefault("components", {})
        components["securitySchemes"] = dict(SECURITY_SCHEMES)
        components.get("schemas", {}).pop("HTTPValidationError", None)
        components.get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
