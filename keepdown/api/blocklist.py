"""The URL block list over HTTP (docs/blocklist.md).

For licensees (role ``licensee``; analysts and admins may read too), every fetch audited with
the serial it returned:

- ``GET /api/v1/blocklist?format=json|csv|rpz|squid-domains|squid-urls``: the whole list in
  one form (``Keepdown-Blocklist-Serial`` header);
- ``GET /api/v1/blocklist/delta?since=N&format=json|rpz``: the changes after serial N;
- ``GET /api/v1/blocklist/feed``: the licensee's keyed hash prefixes;
  ``GET /api/v1/blocklist/feed/key``: its key (base64);
  ``GET /api/v1/blocklist/feed/full-hashes?prefix=HEX``: the full hashes of a prefix hit.

For analysts (case work, audited): ``POST /api/v1/blocklist/domains`` lists a whole domain
(with a reason), ``DELETE /api/v1/blocklist/domains/{domain}`` lifts it,
``GET /api/v1/blocklist/appeals`` and ``POST /api/v1/blocklist/appeals/{id}/decision``.
An appeal is made on the public splash page (``/web/blocked``), not here.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import audited, principal_of, requires
from keepdown.api.errors import content_responses, error_responses
from keepdown.api.params import RowId
from keepdown.auth import Role
from keepdown.blocklist.desk import BlocklistDesk

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/blocklist", tags=["blocklist"])

_READERS = requires(Role.LICENSEE, Role.ANALYST, Role.ADMIN)
_STAFF = requires(Role.ANALYST, Role.ADMIN, case_work=True)
FormatName = Literal["json", "csv", "rpz", "squid-domains", "squid-urls"]
SERIAL = "Keepdown-Blocklist-Serial"


class DomainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(min_length=3, max_length=255)
    reason: str = Field(min_length=3, max_length=2000)
    classification: str = Field(default="", max_length=64)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upheld: bool
    note: str = Field(default="", max_length=2000)


def _desk(request: Request) -> BlocklistDesk:
    return get_context(request).blocklist


@router.get(
    "",
    dependencies=[_READERS],
    response_class=Response,
    responses={
        **content_responses(
            "The block list in the asked form", "text/csv", "text/dns", "text/plain", json=True
        ),
        **error_responses(400, 401, 403),
    },
)
async def fetch(request: Request, format: FormatName = "json") -> Response:
    desk = _desk(request)
    async with audited(request, "blocklist.fetch", target=format) as found:
        made = await run_in_threadpool(desk.render, format)
        found["serial"] = made.serial
    return Response(made.text, media_type=made.media_type, headers={SERIAL: str(made.serial)})


@router.get(
    "/delta",
    dependencies=[_READERS],
    response_class=Response,
    responses={
        **content_responses("The changes after the serial", "text/dns", json=True),
        **error_responses(400, 401, 403),
    },
)
async def delta(
    request: Request, since: int = Query(ge=0), format: Literal["json", "rpz"] = "json"
) -> Response:
    desk = _desk(request)
    async with audited(request, "blocklist.delta", target=format, since=since) as found:
        made = await run_in_threadpool(desk.delta, since, format)
        found["serial"] = made.serial
    return Response(made.text, media_type=made.media_type, headers={SERIAL: str(made.serial)})


@router.get("/feed", dependencies=[_READERS], responses=error_responses(401, 403))
async def feed(request: Request) -> dict[str, Any]:
    desk, who = _desk(request), principal_of(request)
    async with audited(request, "blocklist.feed", target=who.organisation) as found:
        made = await run_in_threadpool(desk.feed, who.organisation)
        found["serial"] = made.serial
    return made.to_dict()


@router.get("/feed/key", dependencies=[_READERS], responses=error_responses(401, 403))
async def feed_key(request: Request) -> dict[str, Any]:
    desk, who = _desk(request), principal_of(request)
    async with audited(request, "blocklist.feed_key", target=who.organisation):
        key = desk.key_text(who.organisation)
    return {"licensee": who.organisation, "hmac": "sha256", "key": key}


@router.get("/feed/full-hashes", dependencies=[_READERS], responses=error_responses(400, 401, 403))
async def full_hashes(
    request: Request, prefix: str = Query(min_length=8, max_length=8)
) -> dict[str, Any]:
    desk, who = _desk(request), principal_of(request)
    async with audited(request, "blocklist.full_hashes", target=prefix) as found:
        hashes = await run_in_threadpool(desk.full_hashes, who.organisation, prefix)
        found["hits"] = len(hashes)
    return {"prefix": prefix, "full_hashes": hashes}


@router.post(
    "/domains", dependencies=[_STAFF], status_code=201, responses=error_responses(400, 401, 403)
)
async def list_domain(request: Request, body: DomainIn) -> dict[str, Any]:
    desk, who = _desk(request), principal_of(request)
    async with audited(request, "blocklist.domain_list", target=body.domain, reason=body.reason):
        decision = await run_in_threadpool(
            lambda: desk.service.list_domain(
                body.domain,
                analyst=who.key_id,
                reason=body.reason,
                classification=body.classification,
            )
        )
    return {"domain": decision.domain, "reason": decision.reason, "by": decision.decided_by}


@router.delete(
    "/domains/{domain}",
    dependencies=[_STAFF],
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 401, 403, 404),
)
async def lift_domain(
    request: Request, domain: str, reason: str = Query(min_length=3, max_length=2000)
) -> Response:
    desk, who = _desk(request), principal_of(request)
    async with audited(request, "blocklist.domain_lift", target=domain, reason=reason):
        await run_in_threadpool(
            lambda: desk.service.lift_domain(domain, analyst=who.key_id, reason=reason)
        )
    return Response(status_code=204)


@router.get("/appeals", dependencies=[_STAFF], responses=error_responses(401, 403))
async def appeals(request: Request) -> dict[str, Any]:
    found = await run_in_threadpool(_desk(request).service.store.appeals)
    return {"appeals": [a.to_dict() for a in found]}


@router.post(
    "/appeals/{appeal_id}/decision",
    dependencies=[_STAFF],
    responses=error_responses(400, 401, 403, 404, 409),
)
async def decide(request: Request, appeal_id: RowId, body: DecisionIn) -> dict[str, Any]:
    desk, who = _desk(request), principal_of(request)
    outcome = "upheld" if body.upheld else "rejected"
    async with audited(request, "blocklist.appeal_decide", target=str(appeal_id), decision=outcome):
        decided = await run_in_threadpool(
            lambda: desk.service.decide_appeal(
                appeal_id, analyst=who.key_id, upheld=body.upheld, note=body.note
            )
        )
    return decided.to_dict()
