"""The hash-lookup endpoints served without FastAPI's per-request machinery.

A single-hash lookup is the request platforms send most, and the index answers it in about
0.1 ms; FastAPI's routing, dependency solving and body handling cost several times that
(measured with pyinstrument: ~35% of the request went to them, ~25% to the index). So the
lookups below are dispatched here by one dict lookup on (method, path), then:

1. the route's own ``requires(...)`` dependency is awaited (the same key check, role check,
   rate limit and refusal audit as every other endpoint);
2. the body (or query) is validated with the route's own pydantic model, and a validation
   error answers the same 400 ``invalid_input`` body as FastAPI's handler would;
3. the route's own endpoint function is called, so the answer is the one the FastAPI route
   documents; keepdown errors answer through the one error mapping.

The FastAPI routes stay registered: they are the OpenAPI document, and anything that is not a
plain hit here (another method, a path with parameters) goes through them. The auth walk and
schemathesis call these paths, so they test this dispatch against the document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.responses import Response
from starlette.routing import Match

from keepdown.api.errors import error_response
from keepdown.errors import InvalidInput, KeepdownError

__all__ = ["HotPath", "HotRoutes"]


@dataclass(frozen=True)
class HotPath:
    """One endpoint served here: its body model (JSON) or query model, or neither."""

    method: str
    path: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None


class HotRoutes:
    """The table of hot paths, built from the app's routes (router-level ASGI app)."""

    def __init__(self, fallback: Any, routes: list[APIRoute], hot: list[HotPath]) -> None:
        self.fallback = fallback
        by_key = {(m, r.path): r for r in routes for m in r.methods or ()}
        self.table: dict[tuple[str, str], tuple[APIRoute, HotPath]] = {
            (h.method, h.path): (by_key[(h.method, h.path)], h) for h in hot
        }
        self.static: dict[str, list[APIRoute]] = {}
        for route in routes:
            if not route.param_convertors:
                self.static.setdefault(route.path, []).append(route)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            found = self.table.get((scope["method"], scope["path"]))
            if found is not None:
                scope["route"] = found[0]
                await _serve(found[0], found[1], scope, receive, send)
                return
            # Other fixed paths: one lookup instead of a scan of every included router.
            for route in self.static.get(scope["path"], ()):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await self.fallback(scope, receive, send)


async def _serve(route: APIRoute, hot: HotPath, scope: Any, receive: Any, send: Any) -> None:
    request = Request(scope, receive)
    try:
        response = await _call(route, hot, request)
    except KeepdownError as exc:
        response = error_response(request, exc)
    await response(scope, receive, send)


async def _call(route: APIRoute, hot: HotPath, request: Request) -> Response:
    for dependency in route.dependant.dependencies:
        check: Callable[[Request], Awaitable[Any]] = dependency.call  # type: ignore[assignment]
        await check(request)
    endpoint: Callable[..., Awaitable[Response]] = route.endpoint
    try:
        if hot.body is not None:
            return await endpoint(request, hot.body.model_validate_json(await request.body()))
        if hot.query is not None:
            values = hot.query.model_validate(dict(request.query_params))
            return await endpoint(request, **values.model_dump())
    except ValidationError as exc:
        raise _invalid(exc, "body" if hot.body is not None else "query") from None
    return await endpoint(request)


def _invalid(exc: ValidationError, where: str) -> InvalidInput:
    """The same 400 as FastAPI's validation errors get in :mod:`keepdown.api.errors`."""
    errors = [
        {"field": ".".join([where, *(str(p) for p in e["loc"])]), "message": e["msg"]}
        for e in exc.errors()[:50]
    ]
    return InvalidInput("the request is not valid", errors=errors)
