"""Sightings and matches: every media the crawler matched, filtered and paginated.

No media is shown here, ever: only where it was, what it matched and what became of it.
Reviewing happens on the review page, one claimed item at a time.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keepdown.auth.signin import SignedIn
from keepdown.errors import InvalidInput
from keepdown.review.listing import SIGHTING_STATES, sighting_filter
from keepdown.review.model import ReviewItem
from keepdown.web.context import web_context
from keepdown.web.nav import STAFF
from keepdown.web.paging import PageNumber, Pager, RowId
from keepdown.web.render import render
from keepdown.web.security import page

__all__ = ["STATES", "router"]

router = APIRouter()

_STAFF = page(*STAFF, case_work=True)
STATES = SIGHTING_STATES


@router.get("/sightings")
def sightings(
    request: Request,
    bank: str = "",
    provider: str = "",
    state: str = "",
    since: str = "",
    until: str = "",
    page: PageNumber = 1,
    viewer: SignedIn = _STAFF,
) -> Response:
    ctx = web_context(request)
    filters = {"bank": bank, "provider": provider, "state": state, "since": since, "until": until}
    pager = Pager.of(page, filters)
    error = ""
    rows: list[ReviewItem] = []
    try:
        where = sighting_filter(bank=bank, provider=provider, state=state, since=since, until=until)
        rows, total = ctx.review_store.list_sightings(
            where, limit=pager.per_page, offset=pager.offset
        )
        pager = pager.with_total(total)
    except InvalidInput as exc:
        error = exc.message
    return render(
        request,
        "sightings.html",
        status_code=400 if error else 200,
        rows=rows,
        pager=pager,
        filters=filters,
        facets=ctx.review_store.sighting_facets(),
        states=STATES,
        error=error,
    )


@router.get("/sightings/{sighting_id}")
def sighting(request: Request, sighting_id: RowId, viewer: SignedIn = _STAFF) -> Response:
    ctx = web_context(request)
    item = ctx.review_store.get(sighting_id)
    return render(
        request, "sighting.html", item=item, decisions=ctx.review_store.decisions(sighting_id)
    )
