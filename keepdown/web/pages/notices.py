"""Notices: their state, each location's timeline, and the actions on them.

Staff (admin, analyst) see every notice, its deliveries, and may resend, confirm a delivery,
review a dispute or mark a location disputed. A resend form carries a request id made when
the page was drawn: posting it twice (a double click, a reload) sends the notice once
(:mod:`keepdown.notices.resend`). A provider's people see only the notices of
the providers linked to their organisation (others answer 404, as if they did not exist) and
may mark their locations disputed. Every action goes through the notice service and is in
the audit log.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from keepdown.auth import Role
from keepdown.auth.signin import SignedIn
from keepdown.errors import InvalidInput, NotFound
from keepdown.notices.service import NoticeService
from keepdown.web.actions import audited
from keepdown.web.context import WebContext, web_context
from keepdown.web.i18n import N_
from keepdown.web.nav import STAFF
from keepdown.web.paging import PageNumber, Pager, RowId
from keepdown.web.render import render
from keepdown.web.security import client_ip, page

__all__ = ["TIMELINE", "router"]

router = APIRouter()

_READERS = page(*STAFF, Role.PROVIDER, case_work=True)
_STAFF = page(*STAFF, case_work=True)

STATES = (
    "drafted",
    "sent",
    "acknowledged",
    "renoticed",
    "escalated",
    "disputed",
    "partially_removed",
    "removed",
    "reviewed",
)

#: Each location's timeline: the lifecycle times in the order they happen.
TIMELINE = (
    ("detected_at", N_("Detected")),
    ("first_notice_at", N_("First notice")),
    ("acknowledged_at", N_("Acknowledged")),
    ("last_notice_at", N_("Last notice")),
    ("removal_reported_at", N_("Provider reported removal")),
    ("escalated_at", N_("Escalated")),
    ("disputed_at", N_("Disputed")),
    ("reviewed_at", N_("Dispute reviewed")),
    ("reopened_at", N_("Reopened by an analyst")),
    ("gone_since", N_("Found gone, waiting for a confirming check")),
    ("last_present_at", N_("Last found still there")),
    ("removed_at", N_("Removed (first check that found it gone)")),
    ("last_check_at", N_("Last check")),
    ("next_check_at", N_("Next check")),
)
_ENDED = ("removed", "withdrawn")


def timeline_of(status: Any) -> list[tuple[Any, str, str]]:
    """A location's timeline in the order things happened: (time, field, label); no "next
    check" once the location is removed or withdrawn (no check is due then)."""
    entries = [
        (getattr(status, field), field, label)
        for field, label in TIMELINE
        if getattr(status, field, None) is not None
        and not (field == "next_check_at" and str(status.state.value) in _ENDED)
    ]
    order = {field: n for n, (field, _label) in enumerate(TIMELINE)}
    return sorted(entries, key=lambda e: (e[0], order[e[1]]))


def _service(ctx: WebContext) -> NoticeService:
    return ctx.notices


def _own_providers(ctx: WebContext, viewer: SignedIn) -> list[int] | None:
    """The provider ids a provider's person may see; None for staff (everything)."""
    if viewer.user.role is not Role.PROVIDER:
        return None
    return [p.id for p in ctx.providers.list_providers(organisation=viewer.user.organisation)]


def _notice(ctx: WebContext, viewer: SignedIn, reference: str) -> Any:
    notice = _service(ctx).store.get(reference)
    own = _own_providers(ctx, viewer)
    if own is not None and notice.provider_id not in own:
        raise NotFound(f"no notice {reference!r}", reference=reference)
    return notice


def _audit(request: Request, viewer: SignedIn, action: str, target: str, **details: Any) -> None:
    web_context(request).auth.audit(
        action,
        principal=viewer.user.principal(),
        client_ip=client_ip(request),
        target=target,
        **details,
    )


@router.get("/notices")
def notices(
    request: Request, state: str = "", page: PageNumber = 1, viewer: SignedIn = _READERS
) -> Response:
    ctx = web_context(request)
    if state and state not in STATES:
        raise InvalidInput("unknown notice state", field="state")
    pager = Pager.of(page, {"state": state}, per_page=30)
    found = _service(ctx).store.list_notices(
        provider_ids=_own_providers(ctx, viewer),
        states=[state] if state else None,
        limit=pager.per_page + 1,
        offset=pager.offset,
    )
    more = len(found) > pager.per_page
    return render(
        request,
        "notices.html",
        notices=found[: pager.per_page],
        pager=pager,
        more=more,
        state=state,
        states=STATES,
    )


@router.get("/notices/{reference}")
def notice(request: Request, reference: str, viewer: SignedIn = _READERS) -> Response:
    ctx = web_context(request)
    found = _notice(ctx, viewer, reference)
    staff = viewer.user.role in STAFF
    deliveries = _service(ctx).store.deliveries(notice_id=found.id) if staff else []
    return render(
        request,
        "notice.html",
        notice=found,
        timeline=timeline_of,
        deliveries=deliveries,
        staff=staff,
        can_resend=staff and found.first_sent_at is not None and _any_open(found),
        resend_request=uuid.uuid4().hex,
    )


def _any_open(notice: Any) -> bool:
    return any(loc.status.open for loc in notice.locations)


@router.post("/notices/{reference}/resend")
def resend(
    request: Request,
    reference: str,
    request_id: str = Form("", max_length=64),
    viewer: SignedIn = _STAFF,
) -> Response:
    """Send the open locations again now (a thread of the server's pool runs the send)."""
    ctx = web_context(request)
    _notice(ctx, viewer, reference)
    with audited(request, viewer, "notice.resend", reference) as found:  # before it is sent
        done = asyncio.run(
            _service(ctx).resend(
                reference, requested_by=viewer.user.username, request_id=request_id or None
            )
        )
        d = done.delivery
        found.update(delivery_id=d.id, state=d.state.value, asked_before=done.asked_before)
    return RedirectResponse(f"/web/notices/{reference}?done=resent", status_code=303)


@router.post("/notices/{reference}/locations/{location_id}/dispute")
def dispute(
    request: Request,
    reference: str,
    location_id: RowId,
    reason: str = Form("", max_length=4000),
    viewer: SignedIn = _READERS,
) -> Response:
    ctx = web_context(request)
    found = _notice(ctx, viewer, reference)
    if not reason.strip():
        raise InvalidInput("say why the location is disputed", field="reason")
    provider_id = found.provider_id if viewer.user.role is Role.PROVIDER else None
    _service(ctx).dispute(reference, location_id, reason.strip(), provider_id=provider_id)
    _audit(request, viewer, "notice.dispute", reference, location_id=location_id)
    return RedirectResponse(f"/web/notices/{reference}?done=disputed", status_code=303)


@router.post("/notices/{reference}/locations/{location_id}/review")
def review_dispute(
    request: Request,
    reference: str,
    location_id: RowId,
    outcome: str = Form(..., max_length=16),
    viewer: SignedIn = _STAFF,
) -> Response:
    ctx = web_context(request)
    if outcome not in ("upheld", "rejected"):
        raise InvalidInput("the outcome is upheld or rejected", field="outcome")
    _service(ctx).review(reference, location_id, outcome)
    _audit(
        request,
        viewer,
        "notice.review_dispute",
        reference,
        location_id=location_id,
        outcome=outcome,
    )
    return RedirectResponse(f"/web/notices/{reference}?done=reviewed", status_code=303)


@router.post("/notices/{reference}/locations/{location_id}/reopen")
def reopen(
    request: Request,
    reference: str,
    location_id: RowId,
    reason: str = Form("", max_length=500),
    viewer: SignedIn = _STAFF,
) -> Response:
    """Reopen a withdrawn location: notified again as the same location (keepdown.notices
    .answers); audited before it happens."""
    ctx = web_context(request)
    _notice(ctx, viewer, reference)
    with audited(request, viewer, "notice.reopen", reference, location_id=location_id):
        _service(ctx).reopen(reference, location_id, reason=reason.strip(), by=viewer.user.username)
    return RedirectResponse(f"/web/notices/{reference}?done=reopened", status_code=303)


@router.post("/notices/{reference}/deliveries/{delivery_id}/confirm")
def confirm_delivery(
    request: Request,
    reference: str,
    delivery_id: RowId,
    delivered: str = Form(..., max_length=8),
    viewer: SignedIn = _STAFF,
) -> Response:
    ctx = web_context(request)
    _service(ctx).confirm_delivery(delivery_id, delivered=delivered == "yes")
    _audit(
        request,
        viewer,
        "notice.confirm_delivery",
        reference,
        delivery_id=delivery_id,
        delivered=delivered == "yes",
    )
    return RedirectResponse(f"/web/notices/{reference}?done=confirmed", status_code=303)
