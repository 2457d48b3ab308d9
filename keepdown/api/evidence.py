"""Evidence over HTTP: the event chain's checkpoints and leaves, the key, a provider's evidence.

Public (no key; limited per client address by ``evidence_public_rate_limit``), so anyone can
keep checkpoints and check later ones against them (docs/transparency.md):

- ``GET /api/v1/evidence/key``: the public key that signs checkpoints, reports and evidence;
- ``GET /api/v1/evidence/checkpoints?after=N&limit=M``: signed checkpoints, oldest first;
- ``GET /api/v1/evidence/checkpoints/latest``: the newest;
- ``GET /api/v1/evidence/leaves?first=A&last=B``: the leaf hash of each event from A to B
  (at most 10,000), which reveals nothing of the events: with them, a checkpoint at A-1
  extends to the chain's hash at B (``keepdown.evidence.extend``).

A provider's own evidence (the events behind its row, each with its place in the chain,
signed): ``GET /api/v1/evidence/provider?period=2026-Q3`` with a provider-role key (the
providers its organisation acts for; staff name one with ``provider=``); through a notice's
signed link, ``GET /api/v1/notice-response/evidence?token=...`` (that notice only:
:mod:`keepdown.api.notice_links`).
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import EvidenceDesk, get_context
from keepdown.api.deps import audited, client_ip, requires
from keepdown.api.errors import error_responses
from keepdown.api.ratelimit import ClientLimiter
from keepdown.auth import Principal, Role
from keepdown.errors import InvalidInput, NotFound

__all__ = ["router", "services"]

router = APIRouter(prefix="/api/v1/evidence", tags=["evidence"])

MAX_LEAVES = 10_000
_PROVIDERS = requires(Role.PROVIDER, Role.ADMIN, Role.ANALYST, case_work=True)


def services(request: Request) -> EvidenceDesk:
    """The evidence parts (keepdown.app.evidence, through the runtime)."""
    return get_context(request).evidence


async def _public_limit(request: Request) -> None:
    state = request.app.state
    limiter = getattr(state, "evidence_limiter", None)
    if limiter is None:
        settings = get_context(request).settings
        limiter = state.evidence_limiter = ClientLimiter(
            settings.evidence_public_rate_limit,
            settings.rate_limit_storage_url,
            timeout_seconds=settings.rate_limit_timeout_seconds,
            key_prefix="keepdown-evidence",
            what="evidence requests",
        )
    await limiter.hit(client_ip(request))


@router.get(
    "/key",
    summary="The public key that signs keepdown's evidence (public)",
    responses=error_responses(429),
)
async def key(request: Request) -> dict[str, str]:
    await _public_limit(request)
    signing = await run_in_threadpool(services(request).key)
    return {
        "public_key_pem": signing.public_pem(),
        "public_key": base64.b64encode(signing.public).decode("ascii"),
        "key_sha256": signing.fingerprint,
    }


@router.get(
    "/checkpoints",
    summary="Signed checkpoints of the event chain (public)",
    responses=error_responses(400, 429),
)
async def checkpoints(
    request: Request,
    after: int = Query(0, ge=0, le=2**62),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    await _public_limit(request)
    store = services(request).checkpoints
    found = await run_in_threadpool(lambda: store.list(after=after, limit=limit))
    return {"checkpoints": [c.to_dict() for c in found]}


@router.get(
    "/checkpoints/latest",
    summary="The newest signed checkpoint (public)",
    responses=error_responses(404, 429),
)
async def latest(request: Request) -> dict[str, Any]:
    await _public_limit(request)
    found = await run_in_threadpool(services(request).checkpoints.latest)
    if found is None:
        raise NotFound("no checkpoint has been recorded yet")
    return dict(found.to_dict())


@router.get(
    "/leaves",
    summary="Leaf hashes of a range of events (public)",
    responses=error_responses(400, 429),
)
async def leaves(
    request: Request,
    first: int = Query(ge=1, le=2**62),
    last: int = Query(ge=1, le=2**62),
) -> dict[str, Any]:
    await _public_limit(request)
    if last < first or last - first + 1 > MAX_LEAVES:
        raise InvalidInput(f"give first <= last, at most {MAX_LEAVES} positions at once")
    chain = services(request).chain
    found = await run_in_threadpool(lambda: list(chain.leaves(first, last)))
    return {
        "first": first,
        "last": last,
        "leaves": [{"position": p, "leaf": leaf.hex()} for p, leaf in found],
    }


@router.get(
    "/provider",
    summary="A provider's own evidence: the events behind its row, signed",
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[_PROVIDERS],
)
async def provider_evidence(
    request: Request,
    period: str | None = Query(None, min_length=4, max_length=40),
    notice: str | None = Query(None, max_length=32),
    provider: str | None = Query(None, max_length=200),
) -> JSONResponse:
    who: Principal = request.state.principal
    registry = get_context(request).providers
    if who.role is Role.PROVIDER:
        found = await run_in_threadpool(
            lambda: registry.list_providers(organisation=who.organisation)
        )
        if provider is not None:
            found = [p for p in found if p.name == provider]
    else:
        if provider is None:
            raise InvalidInput("staff name the provider: ?provider=NAME")
        found = [await run_in_threadpool(registry.get, provider)]
    if not found:
        raise NotFound("no provider of yours by that name")
    names = ",".join(p.name for p in found)
    async with audited(request, "evidence.provider", target=names, period=period or ""):
        document = await run_in_threadpool(
            lambda: services(request).for_providers(found, notice_ref=notice, period=period)
        )
    return JSONResponse(document, headers={"Cache-Control": "no-store"})
