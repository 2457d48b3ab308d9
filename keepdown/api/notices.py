"""Notices: read them, review disputes, confirm deliveries, and the provider's signed link.

Staff (admin, analyst) read every notice, the outbox, and the time-to-removal figures; they
review disputes and confirm ``uncertain`` or ``manual`` deliveries. A provider-role key reads
only the notices of the providers linked to its organisation and may answer them. Regulators
read the figures only.

**Signed-link endpoints** (``/api/v1/notice-response...``) are authenticated by the signed,
expiring token in the link a notice carries (``?token=``, see :mod:`keepdown.notices.links`)
and by nothing else: no API key is accepted there. A missing, malformed, forged or expired
token answers 401; a valid token for another notice is refused as not found; an API key
presented without a token answers 403 (valid key, wrong kind of credential). The token admits
to its own notice only: read it, acknowledge it, report a location removed, dispute one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.security import APIKeyQuery
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import audit, client_ip, requires
from keepdown.api.errors import error_responses
from keepdown.auth import Principal, Role
from keepdown.auth import keys as key_tokens
from keepdown.errors import AuthError, ConfigurationError, Forbidden, InvalidInput, NotFound
from keepdown.notices.links import LinkClaims
from keepdown.notices.metrics import removal_figures
from keepdown.notices.model import Location, Notice

__all__ = ["router", "signed_link"]

router = APIRouter(prefix="/api/v1", tags=["notices"])

_STAFF = requires(Role.ADMIN, Role.ANALYST)
_READERS = requires(Role.ADMIN, Role.ANALYST, Role.PROVIDER)
_PROVIDER = requires(Role.PROVIDER)
_FIGURES = requires(Role.ADMIN, Role.ANALYST, Role.REGULATOR)

_token_doc = APIKeyQuery(
    name="token",
    scheme_name="noticeLink",
    description="The signed token of a notice's response link (no API key is accepted).",
    auto_error=False,
)


def signed_link() -> Any:
    """A dependency admitting the bearer of a valid notice link, and nobody else.

    It declares no API-key role (``allowed_roles`` is empty), so the auth walk checks that
    every API key is refused here; the token itself is checked by the link signer."""

    async def claims(request: Request, token: str | None = Security(_token_doc)) -> LinkClaims:
        ctx = get_context(request)
        if not token:
            # No link: a valid API key is the wrong credential (403); anything else is 401.
            ctx.auth.authenticate(key_tokens.from_header(request.headers.get("authorization")))
            raise Forbidden("this endpoint takes a notice's signed link, not an API key")
        if ctx.notice_links is None:
            raise ConfigurationError("notices are not wired into this API")
        if len(token) > 1000:
            raise AuthError("this response link is not valid")
        found = ctx.notice_links.check(token)
        request.state.link = found
        return found

    claims.allowed_roles = frozenset()  # type: ignore[attr-defined]
    claims.signed_link = True  # type: ignore[attr-defined]
    return Depends(claims)


_LINK = signed_link()


class LocationOut(BaseModel):
    id: int
    media_url: str
    page_url: str
    sha256: str
    md5: str
    pdq: str | None
    category: str | None
    state: str
    detection: str
    detected_at: datetime | None
    first_notice_at: datetime | None
    last_notice_at: datetime | None
    notices_sent: int
    acknowledged_at: datetime | None
    removal_reported_at: datetime | None
    escalated_at: datetime | None
    disputed_at: datetime | None
    dispute_reason: str
    reviewed_at: datetime | None
    review_outcome: str | None
    removed_at: datetime | None
    last_check_at: datetime | None
    last_check_result: str | None
    next_check_at: datetime | None
    reappearance_of: int | None
    reappearance_where: str | None

    @classmethod
    def of(cls, loc: Location) -> LocationOut:
        s = loc.status
        return cls(
            id=loc.id,
            media_url=loc.media_url,
            page_url=loc.page_url,
            sha256=loc.sha256,
            md5=loc.md5,
            pdq=loc.pdq,
            category=loc.category,
            state=s.state.value,
            detection=loc.detection,
            detected_at=s.detected_at,
            first_notice_at=s.first_notice_at,
            last_notice_at=s.last_notice_at,
            notices_sent=s.notices_sent,
            acknowledged_at=s.acknowledged_at,
            removal_reported_at=s.removal_reported_at,
            escalated_at=s.escalated_at,
            disputed_at=s.disputed_at,
            dispute_reason=loc.dispute_reason,
            reviewed_at=s.reviewed_at,
            review_outcome=s.review_outcome,
            removed_at=s.removed_at,
            last_check_at=s.last_check_at,
            last_check_result=s.last_check_result.value if s.last_check_result else None,
            next_check_at=s.next_check_at,
            reappearance_of=loc.reappearance_of,
            reappearance_where=loc.reappearance_where,
        )


class NoticeOut(BaseModel):
    reference: str
    provider: str
    state: str
    language: str
    reappearance: bool
    created_at: datetime
    first_sent_at: datetime | None
    last_sent_at: datetime | None
    acknowledged_at: datetime | None
    escalated_at: datetime | None
    closed_at: datetime | None
    locations: list[LocationOut]

    @classmethod
    def of(cls, n: Notice) -> NoticeOut:
        return cls(
            reference=n.reference,
            provider=n.provider,
            state=n.state.value,
            language=n.language,
            reappearance=n.reappearance,
            created_at=n.created_at,
            first_sent_at=n.first_sent_at,
            last_sent_at=n.last_sent_at,
            acknowledged_at=n.acknowledged_at,
            escalated_at=n.escalated_at,
            closed_at=n.closed_at,
            locations=[LocationOut.of(loc) for loc in n.locations],
        )


class NoticeList(BaseModel):
    notices: list[NoticeOut]


class DeliveryOut(BaseModel):
    id: int
    reference: str
    kind: str
    channel: str
    recipients: list[str]
    location_ids: list[int]
    message_key: str
    subject: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


class ConfirmIn(BaseModel):
    delivery_id: int = Field(ge=1, le=2**62)
    delivered: bool = Field(description="True: it reached the provider; false: send it again")


class ReviewIn(BaseModel):
    reference: str = Field(min_length=1, max_length=32)
    location_id: int = Field(ge=1, le=2**62)
    outcome: Literal["upheld", "rejected"]


class AnswerIn(BaseModel):
    reference: str = Field(min_length=1, max_length=32)
    action: Literal["acknowledge", "removed", "dispute"]
    location_id: int | None = Field(default=None, ge=1, le=2**62)
    reason: str = Field(default="", max_length=4000)


class LocationIn(BaseModel):
    location_id: int = Field(ge=1, le=2**62)


class DisputeIn(LocationIn):
    reason: str = Field(min_length=1, max_length=4000)


class FiguresOut(BaseModel):
    provider: str
    notified: int
    removed: int
    median_removal_hours: float | None
    share_removed_24h: float
    share_removed_7d: float
    share_removed_42d: float
    median_detection_to_notice_hours: float | None
    median_notice_to_ack_hours: float | None


class FiguresList(BaseModel):
    providers: list[FiguresOut]


def _service(request: Request) -> Any:
    service = get_context(request).notices
    if service is None:
        raise ConfigurationError("notices are not wired into this API")
    return service


def _own_provider_ids(request: Request, who: Principal) -> list[int] | None:
    """None for staff (everything); the provider ids of a provider key's organisation."""
    if who.role is not Role.PROVIDER:
        return None
    store = get_context(request).providers
    return [p.id for p in store.list(organisation=who.organisation)]


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
            lambda: service.store.list(
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
    own = await run_in_threadpool(_own_provider_ids, request, request.state.principal)
    notice = await run_in_threadpool(service.store.get, body.reference)
    if own is None or notice.provider_id not in own:
        raise NotFound(f"no notice {body.reference!r}")
    changed = await run_in_threadpool(_answer, service, notice, body.action, body)
    audit(request, f"notice.{body.action}", target=body.reference)
    return NoticeOut.of(changed)


def _answer(service: Any, notice: Notice, action: str, body: Any) -> Notice:
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
    changed = await run_in_threadpool(
        service.review, body.reference, body.location_id, body.outcome
    )
    audit(request, "notice.review", target=body.reference, outcome=body.outcome)
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
    done = await run_in_threadpool(
        lambda: service.confirm_delivery(body.delivery_id, delivered=body.delivered)
    )
    audit(
        request, "notice.delivery.confirm", target=str(body.delivery_id), delivered=body.delivered
    )
    return DeliveryOut(**done.to_public())


@router.get(
    "/notices/figures",
    response_model=FiguresList,
    summary="Time to removal per provider, computed from the lifecycle events",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_FIGURES],
)
async def figures(request: Request) -> FiguresList:
    ctx = get_context(request)
    if ctx.events is None:
        raise ConfigurationError("events are not wired into this API")
    found = await run_in_threadpool(lambda: removal_figures(list(ctx.events.read())))
    return FiguresList(
        providers=[
            FiguresOut(
                provider=f.provider,
                notified=f.notified,
                removed=f.removed,
                median_removal_hours=f.median_removal_hours,
                share_removed_24h=f.share_removed["24h"],
                share_removed_7d=f.share_removed["7d"],
                share_removed_42d=f.share_removed["42d"],
                median_detection_to_notice_hours=f.median_detection_to_notice_hours,
                median_notice_to_ack_hours=f.median_notice_to_ack_hours,
            )
            for f in found.values()
        ]
    )


# --- the signed link ------------------------------------------------------------------------


async def _linked_notice(request: Request, claims: LinkClaims) -> tuple[Any, Notice]:
    service = _service(request)
    try:
        notice = await run_in_threadpool(service.store.get, claims.reference)
    except NotFound:
        raise NotFound("the notice of this link does not exist") from None
    if notice.provider_id != claims.provider_id:
        raise NotFound("the notice of this link does not exist")
    return service, notice


def _link_audit(
    request: Request, action: str, notice: Notice, claims: LinkClaims, **details: Any
) -> None:
    """Audit an answer given through a signed link (the actor is the link, not a key)."""
    who = Principal(key_id="signed-link", organisation=notice.provider, role=Role.PROVIDER)
    get_context(request).auth.audit(
        action, principal=who, client_ip=client_ip(request), target=claims.reference, **details
    )


@router.get(
    "/notice-response",
    response_model=NoticeOut,
    summary="The notice a signed link was issued for (signed link only, no API key)",
    responses=error_responses(400, 401, 403, 404),
    dependencies=[_LINK],
)
async def read_linked_notice(request: Request) -> NoticeOut:
    _, notice = await _linked_notice(request, request.state.link)
    return NoticeOut.of(notice)


@router.post(
    "/notice-response/acknowledge",
    response_model=NoticeOut,
    summary="Acknowledge the notice (signed link only)",
    responses=error_responses(400, 401, 403, 404, 409),
    dependencies=[_LINK],
)
async def acknowledge_linked(request: Request) -> NoticeOut:
    claims: LinkClaims = request.state.link
    service, notice = await _linked_notice(request, claims)
    changed = await run_in_threadpool(
        lambda: service.acknowledge(notice.reference, provider_id=notice.provider_id)
    )
    _link_audit(request, "notice.acknowledge", notice, claims)
    return NoticeOut.of(changed)


@router.post(
    "/notice-response/removed",
    response_model=NoticeOut,
    summary="Report a location removed; it is re-checked at once (signed link only)",
    responses=error_responses(400, 401, 403, 404, 409),
    dependencies=[_LINK],
)
async def removed_linked(request: Request, body: LocationIn) -> NoticeOut:
    claims: LinkClaims = request.state.link
    service, notice = await _linked_notice(request, claims)
    changed = await run_in_threadpool(
        lambda: service.report_removed(
            notice.reference, body.location_id, provider_id=notice.provider_id
        )
    )
    _link_audit(request, "notice.removed", notice, claims, location_id=body.location_id)
    return NoticeOut.of(changed)


@router.post(
    "/notice-response/dispute",
    response_model=NoticeOut,
    summary="Dispute a location; an analyst reviews it (signed link only)",
    responses=error_responses(400, 401, 403, 404, 409),
    dependencies=[_LINK],
)
async def dispute_linked(request: Request, body: DisputeIn) -> NoticeOut:
    claims: LinkClaims = request.state.link
    service, notice = await _linked_notice(request, claims)
    changed = await run_in_threadpool(
        lambda: service.dispute(
            notice.reference, body.location_id, body.reason, provider_id=notice.provider_id
        )
    )
    _link_audit(request, "notice.dispute", notice, claims, location_id=body.location_id)
    return NoticeOut.of(changed)
