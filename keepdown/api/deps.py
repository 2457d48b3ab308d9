"""Who may call an endpoint: one ``requires(...)`` dependency per endpoint; audited actions.

``requires(Role.PLATFORM, Role.ADMIN)`` reads the key from ``Authorization`` (Bearer, or
Basic as C3P's Shield clients send), checks it (see :mod:`keepdown.auth.service`), refuses a
role not listed with 403, counts the request against the key's rate limit and hands the
endpoint the :class:`Principal`. The roles are kept on the dependency (``allowed_roles``) so
the OpenAPI document and the auth walk test can read them from the routes.

Nothing here blocks the event loop on the hot path: a key found in the auth cache is checked
inline (a SHA-256 and a comparison), a cache miss reads the database in a worker thread, and
the rate limiter is awaited (Redis) or answers at once (memory).

Refusals (401/403) on privileged endpoints (every endpoint a platform key cannot call) are
written to the audit log as ``auth.refused``, capped per minute (``audit_refusals_per_minute``);
the high-volume hash and match endpoints only count them in metrics.

:func:`audited` wraps a privileged action: its record is written (``started``) before the
action runs and settled (``ok`` / ``failed`` / ``refused``) after, so no action happens
unrecorded. Both schemes (:data:`SECURITY_SCHEMES`) are declared in OpenAPI; the parsing is
keepdown's own, so every refusal uses the one error format.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.auth import Principal, Role, Scope
from keepdown.auth import keys as key_tokens
from keepdown.auth.scope import check_case_work
from keepdown.errors import AuthError

__all__ = [
    "ROW_ID_MAX",
    "SECURITY_SCHEMES",
    "audited",
    "client_ip",
    "principal_of",
    "requires",
    "scope_of",
]


#: Largest row id a request may name (ids are 64-bit integers in both databases): a larger
#: ``before``/``after``/``location_id`` is a clear 400, not an overflow in the driver (500).
ROW_ID_MAX = 2**62


#: The two ways to send a key, as OpenAPI security schemes. They are added to the document by
#: :mod:`keepdown.api` (not as FastAPI ``Security`` dependencies: two more dependencies per
#: request cost measurable time on the hot path, and the header is parsed here anyway).
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "bearerKey": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "kd_<key id>_<secret>",
        "description": "A keepdown API key.",
    },
    "basicKey": {
        "type": "http",
        "scheme": "basic",
        "description": "username = key id, password = secret; or the whole key as password.",
    },
}


def requires(*roles: Role, case_work: bool = False) -> Any:
    """A dependency admitting keys of ``roles`` only (and returning their principal).

    ``case_work``: the endpoint is the operator's case work (``keepdown.auth.scope``), so an
    analyst or admin key of another organisation is refused too."""
    allowed = frozenset(roles)
    audit_refusals = Role.PLATFORM not in allowed

    async def principal(request: Request) -> Principal:
        ctx = get_context(request)
        token: key_tokens.KeyToken | None = None
        try:
            token = key_tokens.from_header(request.headers.get("authorization"))
            who = ctx.auth.authenticate_cached(token)
            if who is None:
                who = await run_in_threadpool(ctx.auth.authenticate, token)
            ctx.auth.authorize(who, allowed)
            if case_work:
                check_case_work(who.role, who.organisation, ctx.settings.operator_organisation)
        except AuthError as exc:
            await _refused(request, exc, token, audit_refusals)
            raise
        await ctx.limiter.hit(who)
        request.state.principal = who
        return who

    principal.allowed_roles = allowed  # type: ignore[attr-defined]
    return Depends(principal)


async def _refused(
    request: Request, error: AuthError, token: key_tokens.KeyToken | None, audit: bool
) -> None:
    request.app.state.metrics.refusals.labels(error.code).inc()
    if not audit:
        return
    route = request.scope.get("route")
    target = f"{request.method} {getattr(route, 'path', request.url.path)}"
    await run_in_threadpool(
        functools.partial(
            get_context(request).auth.record_refusal,
            error,
            target=target,
            key_id=token.key_id if token is not None else None,
            client_ip=client_ip(request),
        )
    )


def client_ip(request: Request) -> str | None:
    """The client's address: the TCP peer, or the forwarded one when the peer is a trusted
    proxy (``trusted_proxies``; the app's proxy-headers middleware sets it)."""
    return request.client.host if request.client else None


def principal_of(request: Request) -> Principal:
    """The principal ``requires`` admitted for this request."""
    who: Principal = request.state.principal
    return who


def scope_of(request: Request) -> Scope:
    """What the request's principal may see and change (see :mod:`keepdown.auth.scope`)."""
    operator = str(get_context(request).settings.operator_organisation)
    return Scope(principal_of(request), operator)


@contextlib.asynccontextmanager
async def audited(
    request: Request,
    action: str,
    target: str = "",
    *,
    principal: Principal | None = None,
    **details: Any,
) -> AsyncIterator[dict[str, Any]]:
    """Run the ``async with`` block as one audited action (write-ahead, then settled).

    The block may add result details (counts) to the dict it is given. If the ``started``
    record cannot be written, the block does not run (503). The actor is the request's key,
    or ``principal`` when the caller is not a key (a notice's signed link)."""
    auth = get_context(request).auth
    record = await run_in_threadpool(
        functools.partial(
            auth.begin_audit,
            action,
            principal=principal or getattr(request.state, "principal", None),
            client_ip=client_ip(request),
            target=target,
            **details,
        )
    )
    found: dict[str, Any] = {}
    try:
        yield found
    except BaseException as exc:
        await run_in_threadpool(functools.partial(auth.settle_audit, record, exc, **found))
        raise
    await run_in_threadpool(functools.partial(auth.settle_audit, record, **found))
