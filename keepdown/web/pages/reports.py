"""Reported URLs: what was reported, by whom (kind), how often, the crawl it started and
what became of it (its outcome: :mod:`keepdown.crawl.outcome`); one report's page lists its
crawl's URLs with their state, attempts, failure and sightings (the same reading as ``keepdown
crawl status`` and ``GET /api/v1/reports/{reference}``).

Staff may report a URL themselves (as a hotline, trusted flagger or on their own initiative);
the public reports through the public form (keepdown.web.pages.public).
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from keepdown.auth.signin import SignedIn
from keepdown.crawl.outcome import UrlStatus
from keepdown.crawl.reported import ReportedUrls
from keepdown.errors import InvalidInput
from keepdown.web.actions import audited
from keepdown.web.context import WebContext, web_context
from keepdown.web.i18n import N_
from keepdown.web.nav import STAFF
from keepdown.web.paging import PageNumber, Pager
from keepdown.web.render import render
from keepdown.web.security import page

__all__ = ["router"]

router = APIRouter()

_STAFF = page(*STAFF, case_work=True)
STAFF_REPORTER_TYPES = ("hotline", "trusted_flagger", "own_initiative")


def _reports(ctx: WebContext) -> ReportedUrls:
    return ctx.url_reports


def _page(
    request: Request, page_number: int, *, error: str = "", status_code: int = 200
) -> Response:
    ctx = web_context(request)
    pager = Pager.of(page_number, {}, per_page=50)
    found = _reports(ctx).list_reports(limit=pager.per_page + 1, offset=pager.offset)
    return render(
        request,
        "reports.html",
        status_code=status_code,
        reports=_reports(ctx).statuses(found[: pager.per_page]),
        more=len(found) > pager.per_page,
        pager=pager,
        types=STAFF_REPORTER_TYPES,
        error=error,
    )


@router.get("/reports")
def reports(request: Request, page: PageNumber = 1, viewer: SignedIn = _STAFF) -> Response:
    return _page(request, page)


URL_STATES = ("pending", "in_progress", "done", "failed")
#: The outcomes' meanings (keepdown.crawl.outcome.MEANING), for the catalogue.
OUTCOME_TEXTS = (
    N_("not checked yet"),
    N_("being checked"),
    N_("fetched; nothing known found"),
    N_("known material found"),
    N_("could not be fetched"),
    N_("stopped: another check of the same address counts"),
)


@router.get("/reports/{reference}")
def report_page(
    request: Request,
    reference: str,
    state: str = Query("", max_length=20),
    page: PageNumber = 1,
    viewer: SignedIn = _STAFF,
) -> Response:
    ctx = web_context(request)
    shown = _reports(ctx).status(reference[:64])
    pager = Pager.of(page, {"state": state})
    error = ""
    urls: list[UrlStatus] = []
    if state and state not in URL_STATES:
        error = "unknown state"
    elif shown.summary is not None:
        urls, total = _reports(ctx).crawl_urls(
            shown.summary.crawl_id,
            limit=pager.per_page,
            offset=pager.offset,
            states=(state,) if state else (),
        )
        pager = pager.with_total(total)
    return render(
        request,
        "report.html",
        status_code=400 if error else 200,
        shown=shown,
        urls=urls,
        pager=pager,
        state=state,
        states=URL_STATES,
        error=error,
    )


@router.post("/reports")
def report(
    request: Request,
    url: str = Form(..., max_length=4096),
    reporter_type: str = Form("hotline", max_length=20),
    note: str = Form("", max_length=4000),
    viewer: SignedIn = _STAFF,
) -> Response:
    ctx = web_context(request)
    try:
        with audited(request, viewer, "report.submit", reporter_type=reporter_type) as found:
            if reporter_type not in STAFF_REPORTER_TYPES:
                raise InvalidInput("unknown reporter type", field="reporter_type")
            record, _ = _reports(ctx).submit(
                url,
                reporter_type=reporter_type,
                now=ctx.clock.now(),
                reporter=viewer.user.username,
                note=note,
            )
            found["reference"] = record.reference
    except InvalidInput as exc:
        return _page(request, 1, error=exc.message, status_code=400)
    return RedirectResponse("/web/reports?done=reported", status_code=303)
