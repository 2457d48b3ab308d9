"""The review queue page: one item at a time, keyboard first, media blurred until revealed.

``GET /web/review`` claims (or shows again) the analyst's item: the bank entry's metadata
beside a blurred, grayscale, small preview (``/web/review/<id>/media``, rendered on the
server from bytes fetched live through the SSRF guard). Revealing (button or ``R``) is a POST
that writes the audit record first (write-ahead, :func:`keepdown.web.actions.audited`); only
then does ``/web/review/<id>/media/revealed`` answer. Decisions are POSTs of the item's
holder; each is audited the same way and emits ReviewDecided.
Keys: C confirm, N not a match, E escalate, S skip, A allow-list, R reveal (js/review.js).
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from keepdown.auth.signin import SignedIn
from keepdown.banks.classification import Category
from keepdown.review import Decision, ReviewItem, break_due
from keepdown.web.actions import audited
from keepdown.web.context import web_context
from keepdown.web.i18n import N_
from keepdown.web.nav import STAFF
from keepdown.web.paging import RowId
from keepdown.web.render import render
from keepdown.web.security import page

__all__ = ["CATEGORY_LABELS", "router"]

router = APIRouter()

_REVIEWER = page(*STAFF, case_work=True)

CATEGORY_LABELS = {
    Category.CSAM.value: N_("Child sexual abuse material"),
    Category.HARMFUL_ABUSIVE.value: N_("Harmful or abusive material"),
    Category.OTHER.value: N_("Other"),
}

SHORTCUTS = [
    ("R", N_("Reveal or hide the media")),
    ("C", N_("Confirm a match")),
    ("N", N_("Not a match")),
    ("A", N_("Toggle: add to the allow-list")),
    ("E", N_("Escalate to a senior analyst")),
    ("S", N_("Skip")),
    ("1-3", N_("Choose the category")),
]


def _page(request: Request, viewer: SignedIn) -> Response:
    ctx = web_context(request)
    user = viewer.user
    item = ctx.review.next(user.username, senior=user.senior)
    prefs = ctx.review.prefs(user.username)
    now = ctx.clock.now()
    since = viewer.session.review_since or viewer.session.created_at
    reminder = break_due(
        prefs, reviews=ctx.review.store.decided_since(user.username, since), since=since, now=now
    )
    return render(
        request,
        "review.html",
        item=item,
        prefs=prefs,
        reminder=reminder,
        waiting=ctx.review.store.waiting(now),
        categories=CATEGORY_LABELS,
        shortcuts=SHORTCUTS,
        # Blurred on every load; revealed only right after the reveal (no-JS path).
        revealed=(
            item is not None
            and item.revealed_at is not None
            and request.query_params.get("revealed") == "1"
        ),
    )


@router.get("/review")
async def review(request: Request, viewer: SignedIn = _REVIEWER) -> Response:
    return await run_in_threadpool(_page, request, viewer)


def _item_details(found: dict[str, object], item: ReviewItem) -> None:
    """What the audit record says of the item (its bank entry), once it is read."""
    found.update(bank=item.bank, entry_id=item.entry_id)


@router.post("/review/{sighting_id}/reveal")
async def reveal(request: Request, sighting_id: RowId, viewer: SignedIn = _REVIEWER) -> Response:
    ctx = web_context(request)

    def apply() -> ReviewItem:
        # Write-ahead: the record is written before the item is even read, so no reveal
        # happens unrecorded; it is settled ok (with the bank entry) or failed.
        with audited(request, viewer, "review.reveal", f"sighting:{sighting_id}") as found:
            return ctx.review.reveal(
                viewer.user.username, sighting_id, lambda item: _item_details(found, item)
            )

    item = await run_in_threadpool(apply)
    if request.headers.get("hx-request"):
        return render(request, "partials/media.html", item=item, revealed=True)
    return RedirectResponse("/web/review?revealed=1", status_code=303)


@router.get("/review/{sighting_id}/panel")
async def panel(request: Request, sighting_id: RowId, viewer: SignedIn = _REVIEWER) -> Response:
    """The media panel, blurred again (the "blur again" button)."""
    ctx = web_context(request)
    item = await run_in_threadpool(ctx.review.held, viewer.user.username, sighting_id)
    return render(request, "partials/media.html", item=item, revealed=False)


@router.post("/review/{sighting_id}/decide")
async def decide(
    request: Request,
    sighting_id: RowId,
    decision: str = Form(..., max_length=16),
    category: str = Form("", max_length=32),
    note: str = Form("", max_length=4000),
    allow_list: str = Form(""),
    viewer: SignedIn = _REVIEWER,
) -> Response:
    ctx = web_context(request)

    def apply() -> None:
        details = {
            "decision": decision,
            "allow_listed": bool(allow_list) and decision == Decision.NOT_A_MATCH.value,
        }
        target = f"sighting:{sighting_id}"
        with audited(request, viewer, "review.decide", target, **details) as found:
            item = ctx.review.decide(
                viewer.user.username,
                sighting_id,
                decision,
                category=category or None,
                note=note,
                allow_list=bool(allow_list),
            )
            _item_details(found, item)
            found["category"] = category or item.category or ""

    await run_in_threadpool(apply)
    return RedirectResponse("/web/review?done=decided", status_code=303)


@router.post("/review/break")
async def took_break(request: Request, viewer: SignedIn = _REVIEWER) -> Response:
    ctx = web_context(request)
    await run_in_threadpool(
        ctx.signin.store.update_session, viewer.session.id, review_since=ctx.clock.now()
    )
    return RedirectResponse("/web/review?done=break", status_code=303)
