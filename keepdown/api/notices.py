"""Notices: read them, review disputes, confirm deliveries, the time-to-removal figures.

Staff (admin, analyst) read every notice, the outbox, and the figures; they review disputes
and confirm ``uncertain`` or ``manual`` deliveries. A provider-role key reads only the notices
of the providers linked to its organisation and may answer them. Regulators read the figures
only. The signed-link endpoints a provider uses without an account are
:mod:`keepdown.api.notice_links` (included in this router); the shapes are
:mod:`keepdown.api.notice_schemas`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from keepdown.api import notice_links
from keepdown.api.context import get_context
from keepdown.api.deps import audited, requires
from keepdown.api.errors import error_responses
from keepdown.api.notice_schemas import (
    AnswerIn,
    ConfirmIn,
    DeliveryList,
    DeliveryOut,
    FiguresList,
    NoticeList,
    NoticeOut,
    ReopenIn,
    ReviewIn,
)
from keepdown.auth import Principal, Role
from keepdown.errors import InvalidInput, NotFound
from keepdown.notices.model import Notice
from keepdown.notices.service import NoticeService
from keepdown.reports import RunningFigures, parse_period, running_figures, to_date
from keepdown.reports.ledger import LEDGER_KINDS

__all__ = ["router", "signed_link"]

signed_link = notice_links.signed_link

router = APIRouter(prefix="/api/v1", tags=["notices"])

_STAFF = requires(Role.ADMIN, Role.ANALYST, case_work=True)
_READERS = requires(Role.ADMIN, Role.ANALYST, Role.PROVIDER, case_work=True)
_PROVIDER = requires(Role.PROVIDER)
_FIGURES = requires(Role.ADMIN, Role.ANALYST, Role.REGULATOR)


def _service(request: Request) -> NoticeService:
    return get_context(request).notices


def _own_provider_ids(request: Request, who: Principal) -> list[int] | None:
    """None for staff (everything); the provider ids of a provider key's organisation."""
    if who.role is not Role.PROVIDER:
        return None
    store = get_context(request).providers
    return [p.id for p in store.list_providers(organisation=who.organisation)]


@router.get(
    "/notices",
    response_model=NoticeList,
    summary="List notices (newest first), or find one by reference",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_READERS],
)
async def list_notices(
    request: Request,
    reference: str | None = Query(None, max_length=32),
    state: str | None = Query(None, max_length=24),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> NoticeList:
    service = _service(request)
    own = await run_in_threadpool(_own_provider_ids, request, request.state.principal)
    if reference is not None:
        try:
            found = [await run_in_threadpool(service.store.get, reference)]
        except NotFound:
            found = []
        found = [n for n in found if own is None or n.provider_id in own]
    else:
        found = await run_in_threadpool(
            lambda: service.store.list_notices(
                provider_ids=own,
                states=[state] if state else None,
                limit=limit,
                offset=offset,
            )
        )
    return NoticeList(notices=[NoticeOut.of(n) for n in found])


@router.post(
    "/notices/answer",
    response_model=NoticeOut,
    summary="A provider key answers one of its notices (acknowledge, removed, dispute)",
    responses=error_responses(400, 401, 403, 404, 409, 429),
    dependencies=[_PROVIDER],
)
async def answer_notice(request: Request, body: AnswerIn) -> NoticeOut:
    service = _service(request)
    async with audited(request, f"notice.{body.action}", target=body.reference):
        own = await run_in_threadpool(_own_provider_ids, request, request.state.principal)
        notice = await run_in_threadpool(service.store.get, body.reference)
        if own is None or notice.provider_id not in own:
            raise NotFound(f"no notice {body.reference!r}")
        changed = await run_in_threadpool(_answer, service, notice, body.action, body)
    return NoticeOut.of(changed)


def _answer(service: NoticeService, notice: Notice, action: str, body: AnswerIn) -> Notice:
    ref, pid = notice.reference, notice.provider_id
    if action == "acknowledge":
        return service.acknowledge(ref, provider_id=pid)
    if body.location_id is None:
        raise InvalidInput("this answer needs a location_id", field="location_id")
    if action == "removed":
        return service.report_removed(ref, body.location_id, provider_id=pid)
    return service.dispute(ref, body.location_id, body.reason, provider_id=pid)


@router.post(
    "/notices/review",
    response_model=NoticeOut,
    summary="Decide a disputed location: upheld (withdrawn) or rejected (still notified)",
    responses=error_responses(400, 401, 403, 404, 409, 429),
    dependencies=[_STAFF],
)
async def review_dispute(request: Request, body: ReviewIn) -> NoticeOut:
    service = _service(request)
    details: dict[str, Any] = {"location_id": body.location_id, "decision": body.outcome}
    async with audited(request, "notice.review", target=body.reference, **details):
        changed = await run_in_threadpool(
            service.review, body.reference, body.location_id, body.outcome
        )
    return NoticeOut.of(changed)


@router.post(
    "/notices/reopen",
    response_model=NoticeOut,
    summary="Reopen a withdrawn location (its dispute was upheld): notified again, one location",
    responses=error_responses(400, 401, 403, 404, 409, 429),
    dependencies=[_STAFF],
)
async def reopen(request: Request, body: ReopenIn) -> NoticeOut:
    service = _service(request)
    who = getattr(request.state, "principal", None)
    by = getattr(who, "key_id", "") or ""
    async with audited(
        request, "notice.reopen", target=body.reference, location_id=body.location_id
    ):
        changed = await run_in_threadpool(
            lambda: service.reopen(body.reference, body.location_id, reason=body.reason, by=str(by))
        )
    return NoticeOut.of(changed)


@router.get(
    "/notices/deliveries",
    response_model=DeliveryList,
    summary="The outbox: deliveries of notices, re-notices and escalations",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_STAFF],
)
async def list_deliveries(
    request: Request,
    state: Literal["pending", "sending", "sent", "failed", "uncertain", "manual", "cancelled"]
    | None = Query(None),
) -> DeliveryList:
    service = _service(request)
    found = await run_in_threadpool(
        lambda: service.store.deliveries(states=[state] if state else None)
    )
    return DeliveryList(deliveries=[DeliveryOut(**d.to_public()) for d in found])


@router.post(
    "/notices/deliveries/confirm",
    response_model=DeliveryOut,
    summary="Confirm an uncertain or manual delivery (delivered, or send it again)",
    responses=error_responses(400, 401, 403, 404, 409, 429),
    dependencies=[_STAFF],
)
async def confirm_delivery(request: Request, body: ConfirmIn) -> DeliveryOut:
    service = _service(request)
    target, delivered = str(body.delivery_id), body.delivered
    async with audited(request, "notice.delivery.confirm", target=target, delivered=delivered):
        done = await run_in_threadpool(
            lambda: service.confirm_delivery(body.delivery_id, delivered=body.delivered)
        )
    return DeliveryOut(**done.to_public())


@router.get(
    "/notices/figures",
    response_model=FiguresList,
    summary="Time to removal per provider (the transparency report figures), to now or a period",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_FIGURES],
)
async def figures(
    request: Request,
    period: str | None = Query(
        None,
        min_length=4,
        max_length=40,
        description="2026-Q3, 2026-09, 2026-W27, 2026-07-01 or A..B dates; default: all to now.",
    ),
) -> FiguresList:
    ctx = get_context(request)
    events = ctx.events
    chosen = parse_period(period) if period else to_date(ctx.clock.now())

    def compute() -> RunningFigures:
        return running_figures(events.read(kinds=LEDGER_KINDS, until=chosen.end), chosen)

    found = await run_in_threadpool(compute)
    return FiguresList.model_validate(found.to_dict())


# The signed-link routes are served with this router's (their paths carry the full prefix).
router.routes.extend(notice_links.router.routes)
