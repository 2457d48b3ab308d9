"""Federation over HTTP: a peer hotline reads the banks published to it; admins choose them.

For a **peer** key (another hotline's keepdown; docs/federation.md):

- ``GET /api/v1/federation/banks``: the banks published to the key's organisation, this
  hotline's name and the fingerprint of the key its pages are signed with;
- ``GET /api/v1/federation/banks/{name}/pages?after=CURSOR&nonce=N``: the signed page after
  the peer's checkpoint, answered to its nonce (``keepdown.federation.pages``). A bank not
  published to the peer is refused with 403, the same whether it exists or not, and every
  page read and every refusal is audited (``federation.page``).

A peer's referrals and status callbacks: ``POST /api/v1/federation/messages`` with the
signed envelope (peer role). A message refused (tampered, replayed, misdirected, stale) is
answered 400 with ``details.reason`` and audited as ``federation.message`` ``refused``.

For staff: ``GET /api/v1/federation/referrals`` (both directions, with timelines), ``POST
/api/v1/federation/referrals/decline`` (admins and analysts; audited);
``GET /api/v1/federation/peers`` and ``.../publications`` (admins and analysts of
the operator), ``POST /api/v1/federation/peers`` and ``PUT /api/v1/federation/publications``
(admins; audited: publishing is an explicit choice per bank and peer).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import FederationDesk, get_context
from keepdown.api.deps import audited, principal_of, requires
from keepdown.api.errors import error_responses
from keepdown.auth import Role
from keepdown.errors import InvalidInput
from keepdown.federation.peers import PeerSpec
from keepdown.federation.wire import Refused

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/federation", tags=["federation"])

_PEER = requires(Role.PEER)
_STAFF = requires(Role.ADMIN, Role.ANALYST, case_work=True)
_ADMIN = requires(Role.ADMIN, case_work=True)
_NAME = r"^[A-Za-z0-9._-]+$"


def desk(request: Request) -> FederationDesk:
    return get_context(request).federation


@router.get(
    "/banks",
    summary="The banks published to the calling peer",
    responses=error_responses(401, 403, 429),
    dependencies=[_PEER],
)
async def published_banks(request: Request) -> dict[str, Any]:
    who = principal_of(request)
    parts = desk(request)
    banks = await run_in_threadpool(parts.published_to, who.organisation)
    key = await run_in_threadpool(parts.key)
    return {"publisher": parts.name, "key_sha256": key.fingerprint, "banks": banks}


@router.get(
    "/banks/{name}/pages",
    summary="A signed page of a bank published to the calling peer",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_PEER],
)
async def bank_page(
    request: Request,
    name: str,
    after: str = Query("", max_length=200),
    nonce: str = Query(min_length=1, max_length=128),
) -> dict[str, Any]:
    who = principal_of(request)
    async with audited(request, "federation.page", name, after=after) as found:
        envelope = await run_in_threadpool(
            lambda: desk(request).page(name, who.organisation, after=after, nonce=nonce)
        )
        found["bytes"] = len(envelope["body"])
    return envelope


class PeerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._ -]+$")
    countries: list[str] = Field(default_factory=list, max_length=300)
    url: str = Field(min_length=8, max_length=500)
    public_key: str = Field(min_length=40, max_length=64, description="raw Ed25519, base64")
    token_env: str = Field(default="", max_length=128)


class PublicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bank: str = Field(min_length=1, max_length=200, pattern=_NAME)
    peer: str = Field(min_length=1, max_length=200)
    enabled: bool = True


@router.get(
    "/peers",
    summary="Peers (other hotlines' keepdowns)",
    responses=error_responses(401, 403, 429),
    dependencies=[_STAFF],
)
async def list_peers(request: Request) -> dict[str, Any]:
    found = await run_in_threadpool(desk(request).peers)
    return {"peers": [p.to_dict() for p in found]}


@router.post(
    "/peers",
    summary="Add a peer (audited)",
    status_code=201,
    responses=error_responses(400, 401, 403, 409, 429),
    dependencies=[_ADMIN],
)
async def add_peer(request: Request, body: PeerIn) -> dict[str, Any]:
    try:
        raw = base64.b64decode(body.public_key, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("public_key is the raw Ed25519 key in base64") from None
    spec = PeerSpec(body.name, body.countries, body.url, raw, body.token_env)
    async with audited(request, "federation.peer.add", body.name, countries=body.countries):
        peer = await run_in_threadpool(desk(request).add_peer, spec)
    return peer.to_dict()


@router.get(
    "/publications",
    summary="Banks published to peers",
    responses=error_responses(401, 403, 429),
    dependencies=[_STAFF],
)
async def list_publications(request: Request) -> dict[str, Any]:
    found = await run_in_threadpool(desk(request).publications)
    return {"publications": [p.to_dict() for p in found]}


@router.put(
    "/publications",
    summary="Publish a bank to a peer, or withdraw it (audited)",
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[_ADMIN],
)
async def publish(request: Request, body: PublicationIn) -> dict[str, Any]:
    who = principal_of(request)
    target = f"{body.bank} -> {body.peer}"
    async with audited(request, "federation.publish", target, enabled=body.enabled):
        done = await run_in_threadpool(
            lambda: desk(request).publish(body.bank, body.peer, by=who.key_id, enabled=body.enabled)
        )
    return done.to_dict()


class EnvelopeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: int
    key: str = Field(max_length=64)
    signature: str = Field(max_length=200)
    body: str = Field(max_length=2_000_000)


@router.post(
    "/messages",
    summary="A peer's signed referral or status callback",
    # 404: the key's organisation is not (or no longer) registered as a peer here.
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[_PEER],
)
async def message(request: Request, body: EnvelopeIn) -> dict[str, Any]:
    who = principal_of(request)
    envelope = body.model_dump()
    try:
        async with audited(request, "federation.message", who.organisation) as found:
            answer = await run_in_threadpool(desk(request).receive, who.organisation, envelope)
            found.update(stream=answer.get("accepted"), seq=answer.get("seq"))
    except Refused as exc:
        reason = exc.reason
        ctx = get_context(request)
        await run_in_threadpool(
            lambda: ctx.auth.audit(
                "federation.message.refused",
                principal=who,
                target=who.organisation,
                outcome="refused",
                reason=reason,
            )
        )
        raise
    return answer


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    peer: str = Field(min_length=1, max_length=200)
    reference: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=4000)


@router.get(
    "/referrals",
    summary="Referrals sent and received, with their timelines",
    responses=error_responses(401, 403, 429),
    dependencies=[_STAFF],
)
async def list_referrals(request: Request) -> dict[str, Any]:
    found = await run_in_threadpool(desk(request).referral_list)
    return {"referrals": [r.to_dict() for r in found]}


@router.post(
    "/referrals/decline",
    summary="Decline a peer's referral with a reason (audited)",
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[_STAFF],
)
async def decline(request: Request, body: DeclineIn) -> dict[str, Any]:
    target = f"{body.peer}:{body.reference}"
    async with audited(request, "federation.decline", target):
        done = await run_in_threadpool(
            lambda: desk(request).decline(body.peer, body.reference, body.reason)
        )
    return done.to_dict()
