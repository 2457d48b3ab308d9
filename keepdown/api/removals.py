"""Held uploads and removal requests: the platform's side of the self-submission programme.

An upload that matched a self-submitted hash is held (``POST /api/v1/match`` answers with its
``hold``: ``review``, then ``block`` or ``allow`` once an analyst decided); a confirmed hold
opens a removal request whose 48-hour clock (``removal_request_hours``) runs until every copy
is recorded removed (docs/self-submission.md):

- ``GET /api/v1/holds/{hold_id}``: a hold and what to do with the upload (platform: its own);
- ``GET /api/v1/holds``: the holds waiting for a decision (the operator's analysts);
- ``POST /api/v1/holds/{hold_id}/decision`` ``{"decision": "confirm" | "not_a_match"}``:
  an analyst of the operator decides; ``confirm`` opens the removal request;
- ``POST /api/v1/removal-requests``: a person's request, received by the platform, naming
  their content on it (the clock starts at ``received_at``, or now);
- ``GET /api/v1/removal-requests/{request_id}``: the request, its copies and its clock;
- ``POST /api/v1/removal-requests/{request_id}/items/{item_id}/removed``: a copy is gone;
- ``GET /api/v1/removal-requests/{request_id}/evidence``: the evidence pack (what was removed
  and when; never a case number, a contact or a submitted hash).

Every route is scoped through :class:`~keepdown.submissions.platforms.PlatformDesk`: a
platform's key sees its own organisation's holds and requests only (another's answer 404);
the operator's keys see all. Every change and every evidence pack is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import audited, principal_of, requires, scope_of
from keepdown.api.errors import error_responses
from keepdown.auth import Role
from keepdown.submissions.holds import Hold
from keepdown.submissions.requests import RemovalRequest

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["removal requests"])

_READERS = (Role.PLATFORM, Role.ANALYST, Role.ADMIN)

#: A stored id (the databases' integers), so a made-up huge id answers 400, not 500.
HoldId = Annotated[int, Path(ge=1, le=2**62)]
RequestId = Annotated[int, Path(ge=1, le=2**62)]
ItemId = Annotated[int, Path(ge=1, le=2**62)]


class HoldView(BaseModel):
    id: int
    organisation: str
    content_ref: str
    state: Literal["held", "confirmed", "not_a_match"]
    action: str = Field(
        description="review (hold the upload), block (confirmed), allow (not a match)"
    )
    bank: str
    match_type: str
    distance: int
    held_at: datetime
    decided_at: datetime | None
    removal_request_id: int | None = Field(description="The request a confirmation opened")
    removal_request: str | None = Field(description="Its reference")


class HoldList(BaseModel):
    holds: list[HoldView]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["confirm", "not_a_match"]
    note: str = Field(default="", max_length=2000)


class PersonRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: list[str] = Field(
        min_length=1, max_length=50, description="The content the person named on the platform"
    )
    description: str = Field(default="", max_length=4000)
    contact: str = Field(default="", max_length=320)
    received_at: datetime | None = Field(
        default=None, description="When the request reached the platform (the clock's start)"
    )


class RemovedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000)
    at: datetime | None = Field(default=None, description="When it was removed, if earlier")


class ItemView(BaseModel):
    id: int
    content_ref: str
    how: str
    match_type: str | None
    found_at: datetime
    removed_at: datetime | None
    dismissed_at: datetime | None


class RequestView(BaseModel):
    id: int
    reference: str
    organisation: str
    origin: str
    state: str
    clock: Literal["due", "overdue", "closed-in-time", "closed-late", "withdrawn"]
    received_at: datetime
    due_at: datetime
    closed_at: datetime | None
    first_closed_at: datetime | None
    items: list[ItemView]


def _hold_view(hold: Hold, request: RemovalRequest | None) -> HoldView:
    return HoldView(
        id=hold.id,
        organisation=hold.organisation,
        content_ref=hold.content_ref,
        state=hold.state.value,
        action=hold.verdict,
        bank=hold.match.bank,
        match_type=hold.match.match_type,
        distance=hold.match.distance,
        held_at=hold.held_at,
        decided_at=hold.decided_at,
        removal_request_id=request.id if request is not None else None,
        removal_request=request.reference if request is not None else None,
    )


def _request_view(request: RemovalRequest, now: datetime) -> RequestView:
    return RequestView(
        id=request.id,
        reference=request.reference,
        organisation=request.organisation,
        origin=request.origin.value,
        state=request.state.value,
        clock=request.clock(now).value,
        received_at=request.received_at,
        due_at=request.due_at,
        closed_at=request.closed_at,
        first_closed_at=request.first_closed_at,
        items=[
            ItemView(
                id=i.id,
                content_ref=i.content_ref,
                how=i.how.value,
                match_type=i.match_type,
                found_at=i.found_at,
                removed_at=i.removed_at,
                dismissed_at=i.dismissed_at,
            )
            for i in request.items
        ],
    )


def _organisation(request: Request) -> str | None:
    """The organisation whose holds and requests the key may see; None: all (the operator)."""
    scope = scope_of(request)
    return None if scope.is_operator else principal_of(request).organisation


@router.get(
    "/holds/{hold_id}",
    response_model=HoldView,
    summary="An upload held for review, and what to do with it",
    responses=error_responses(400, 401, 403, 404, 429, 503),
    dependencies=[requires(*_READERS)],
)
async def get_hold(request: Request, hold_id: HoldId) -> HoldView:
    desk = get_context(request).platform
    organisation = _organisation(request)

    def read() -> HoldView:
        hold = desk.hold(hold_id, organisation)
        return _hold_view(hold, desk.request_of_hold(hold))

    return await run_in_threadpool(read)


@router.get(
    "/holds",
    response_model=HoldList,
    summary="Held uploads waiting for an analyst's decision (oldest first)",
    responses=error_responses(400, 401, 403, 429, 503),
    dependencies=[requires(Role.ANALYST, Role.ADMIN)],
)
async def waiting_holds(request: Request, limit: int = Query(100, ge=1, le=1000)) -> HoldList:
    scope_of(request).require_operator("review held uploads")
    desk = get_context(request).platform
    holds = await run_in_threadpool(desk.holds.waiting, limit)
    return HoldList(holds=[_hold_view(h, None) for h in holds])


@router.post(
    "/holds/{hold_id}/decision",
    response_model=HoldView,
    summary="Decide a held upload: confirm (opens the removal request) or not_a_match",
    responses=error_responses(400, 401, 403, 404, 409, 429, 503),
    dependencies=[requires(Role.ANALYST)],
)
async def decide_hold(request: Request, hold_id: HoldId, body: DecisionIn) -> HoldView:
    scope_of(request).require_operator("decide held uploads")
    desk = get_context(request).platform
    who = principal_of(request)

    def decide() -> HoldView:
        hold, opened = desk.decide(
            hold_id, analyst=who.key_id, decision=body.decision, note=body.note
        )
        return _hold_view(hold, opened)

    async with audited(request, "hold.decide", target=str(hold_id), decision=body.decision):
        return await run_in_threadpool(decide)


@router.post(
    "/removal-requests",
    response_model=RequestView,
    status_code=201,
    summary="A person's removal request received by the platform (starts the clock)",
    responses=error_responses(400, 401, 403, 429, 503),
    dependencies=[requires(Role.PLATFORM, Role.ADMIN)],
)
async def open_request(request: Request, body: PersonRequestIn) -> RequestView:
    ctx = get_context(request)
    who = principal_of(request)

    def open_it() -> RequestView:
        opened = ctx.platform.open_for_person(
            organisation=who.organisation,
            content=body.content,
            by=who.key_id,
            description=body.description,
            contact=body.contact,
            received_at=body.received_at,
        )
        return _request_view(opened, ctx.clock.now())

    async with audited(request, "removal.request", items=len(body.content)):
        return await run_in_threadpool(open_it)


@router.get(
    "/removal-requests/{request_id}",
    response_model=RequestView,
    summary="A removal request, its copies and its clock",
    responses=error_responses(400, 401, 403, 404, 429, 503),
    dependencies=[requires(*_READERS)],
)
async def get_request(request: Request, request_id: RequestId) -> RequestView:
    ctx = get_context(request)
    organisation = _organisation(request)

    def read() -> RequestView:
        found = ctx.platform.removals.get(request_id, organisation)
        return _request_view(found, ctx.clock.now())

    return await run_in_threadpool(read)


@router.post(
    "/removal-requests/{request_id}/items/{item_id}/removed",
    response_model=RequestView,
    summary="Record a copy removed (the request closes when every copy is gone)",
    responses=error_responses(400, 401, 403, 404, 429, 503),
    dependencies=[requires(Role.PLATFORM, Role.ANALYST)],
)
async def item_removed(
    request: Request, request_id: RequestId, item_id: ItemId, body: RemovedIn
) -> RequestView:
    ctx = get_context(request)
    organisation = _organisation(request)
    who = principal_of(request)

    def record() -> RequestView:
        ctx.platform.removals.get(request_id, organisation)  # scope: NotFound otherwise
        ctx.platform.removals.mark_removed(
            request_id, item_id, by=who.key_id, note=body.note, at=body.at
        )
        return _request_view(ctx.platform.removals.get(request_id), ctx.clock.now())

    target = f"{request_id}/{item_id}"
    async with audited(request, "removal.item_removed", target=target):
        return await run_in_threadpool(record)


@router.get(
    "/removal-requests/{request_id}/evidence",
    summary="The evidence pack of a removal request (what was removed, and when)",
    responses=error_responses(400, 401, 403, 404, 429, 503),
    dependencies=[requires(*_READERS)],
)
async def evidence(request: Request, request_id: RequestId) -> dict[str, Any]:
    ctx = get_context(request)
    organisation = _organisation(request)
    async with audited(request, "removal.evidence", target=str(request_id)):
        pack: dict[str, Any] = await run_in_threadpool(
            ctx.platform.evidence, request_id, organisation
        )
        return pack
