"""Who may call an endpoint: one ``requires(...)`` dependency per endpoint.

``requires(Role.PLATFORM, Role.ADMIN)`` reads the key from ``Authorization`` (Bearer, or
Basic as C3P's Shield clients send), checks it (see :mod:`keepdown.auth.service`), refuses a
role not listed with 403, counts the request against the key's rate limit and hands the
endpoint the :class:`Principal`. The roles are kept on the dependency (``allowed_roles``) so
the OpenAPI document and the auth walk test can read them from the routes.

Both schemes are declared in OpenAPI; the parsing is keepdown's own, so every refusal uses the
one error format.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request, Security
from fastapi.openapi.models import HTTPBase, HTTPBearer
from fastapi.security.base import SecurityBase

from keepdown.api.context import get_context
from keepdown.auth import Principal, Role
from keepdown.auth import keys as key_tokens

__all__ = ["audit", "client_ip", "requires"]


class _DocumentedScheme(SecurityBase):
    """Declares a scheme in OpenAPI; the header is parsed by :mod:`keepdown.auth.keys`."""

    def __init__(self, model: Any, name: str) -> None:
        self.model = model
        self.scheme_name = name

    async def __call__(self, request: Request) -> None:
        return None


_bearer = _DocumentedScheme(
    HTTPBearer(bearerFormat="kd_<key id>_<secret>", description="A keepdown API key."),
    "bearerKey",
)
_basic = _DocumentedScheme(
    HTTPBase(
        scheme="basic",
        description="username = key id, password = secret; or the whole key as password.",
    ),
    "basicKey",
)


def requires(*roles: Role) -> Any:
    """A dependency admitting keys of ``roles`` only (and returning their principal)."""
    allowed = frozenset(roles)

    async def principal(
        request: Request,
        _bearer_doc: None = Security(_bearer),
        _basic_doc: None = Security(_basic),
    ) -> Principal:
        ctx = get_context(request)
        token = key_tokens.from_header(request.headers.get("authorization"))
        who = ctx.auth.authenticate(token)
        ctx.auth.authorize(who, allowed)
        ctx.limiter.hit(who)
        request.state.principal = who
        return who

    principal.allowed_roles = allowed  # type: ignore[attr-defined]
    return Depends(principal)


def client_ip(request: Request) -> str | None:
    """The peer address of the request (the proxy's, behind a reverse proxy)."""
    return request.client.host if request.client else None


def audit(request: Request, action: str, target: str = "", **details: Any) -> None:
    """Record a privileged action by the request's principal in the audit log."""
    get_context(request).auth.audit(
        action,
        principal=getattr(request.state, "principal", None),
        client_ip=client_ip(request),
        target=target,
        **details,
    )
