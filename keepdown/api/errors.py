"""One error mapping for the whole API: every failure answers ``KeepdownError.to_dict()``.

1. A :class:`KeepdownError` answers its own ``http_status`` with ``to_dict()`` (plus
   ``Retry-After`` for 429 and for a 503 Overloaded, ``WWW-Authenticate`` for 401).
2. FastAPI's request validation errors become :class:`InvalidInput` (400) listing the fields.
3. Starlette's 404 / 405 for unknown paths and methods become :class:`NotFound` /
   :class:`MethodNotAllowed`.
4. Anything else is a bug: the traceback is logged here, the caller gets a generic 500 body
   and never a stack trace.

Paths under the Shield-compatible ``/v1/`` prefix also carry ``detail`` (the message), the one
field C3P's clients read from an error; the body is otherwise the same.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from keepdown.errors import (
    AuthError,
    InvalidInput,
    KeepdownError,
    MethodNotAllowed,
    NotFound,
    Overloaded,
    RateLimited,
)

__all__ = ["ErrorBody", "error_responses", "install_error_handlers"]

log = logging.getLogger("keepdown.api")

_DESCRIPTIONS = {
    400: "Invalid input or request",
    401: "Missing, wrong, expired or revoked API key",
    403: "The key's role may not do this, or the URL's address is refused",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Body or image too large",
    422: "Media could not be decoded",
    429: "Rate limit exceeded for this key",
    500: "Internal error (details are logged on the server only)",
    502: "The URL could not be fetched",
    503: "Storage or index not available",
}


class ErrorBody(BaseModel):
    """The one JSON error shape."""

    code: str = Field(description="Stable machine-readable error name")
    message: str = Field(description="What went wrong, for a person")
    details: dict[str, Any] | None = Field(default=None, description="Structured context")
    detail: str | None = Field(default=None, description="The message again (Shield clients)")


def content_responses(
    description: str, *text: str, json: bool = False
) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI 200 of an endpoint answering in other forms than one JSON model: each of the
    ``text`` media types as a string, and JSON as an object when ``json`` (so the document
    names everything a client may receive; schemathesis checks it)."""
    content: dict[str, Any] = {}
    if json:
        content["application/json"] = {"schema": {"type": "object"}}
    content.update({media: {"schema": {"type": "string"}} for media in text})
    return {200: {"description": description, "content": content}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses (plus 500, always possible)."""
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
        for status in sorted({*statuses, 500})
    }


def _body(request: Request, error: KeepdownError) -> dict[str, Any]:
    body = error.to_dict()
    if request.url.path.startswith("/v1/"):
        body["detail"] = error.message
    return body


def error_response(request: Request, error: KeepdownError) -> JSONResponse:
    """The response for a keepdown error (also used by middleware that cannot raise)."""
    headers: dict[str, str] = {}
    if isinstance(error, RateLimited | Overloaded):
        headers["Retry-After"] = str(int(error.details.get("retry_after", 1)))
    elif type(error) is AuthError:
        headers["WWW-Authenticate"] = 'Bearer realm="keepdown", Basic realm="keepdown"'
    return JSONResponse(_body(request, error), status_code=error.http_status, headers=headers)


async def _keepdown_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KeepdownError)
    return error_response(request, exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": str(e.get("msg", ""))}
        for e in exc.errors()[:50]
    ]
    return error_response(request, InvalidInput("the request is not valid", errors=errors))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error: KeepdownError
    if isinstance(exc.__cause__, KeepdownError):  # a body over the cap while it was parsed
        error = exc.__cause__
    elif exc.status_code == 404:
        error = NotFound("no such endpoint", path=request.url.path)
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"{request.method} is not allowed here", path=request.url.path)
    elif exc.status_code in (401, 403):
        error = AuthError("missing or invalid credentials")
    else:
        error = InvalidInput(str(exc.detail))
    return error_response(request, error)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(_body(request, KeepdownError("internal error")), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(KeepdownError, _keepdown_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
