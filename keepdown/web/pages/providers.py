"""Providers (contacts, notice channel, cadence, their figures) and the figures page.

Figures are the transparency report's, computed from the lifecycle events by
:func:`keepdown.reports.running_figures` (everything to now, or the period asked for): the
same numbers as ``keepdown notices figures`` and ``GET /api/v1/notices/figures``. Regulators
see the figures only: no contact, no URL.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from keepdown.auth import Role
from keepdown.auth.signin import SignedIn
from keepdown.notices.providers import ProviderStore
from keepdown.reports import RemovalFigures, RunningFigures, parse_period, running_figures, to_date
from keepdown.reports.ledger import LEDGER_KINDS
from keepdown.web.context import WebContext, web_context
from keepdown.web.nav import STAFF
from keepdown.web.render import render
from keepdown.web.security import page

__all__ = ["router"]

router = APIRouter()

_STAFF = page(*STAFF, case_work=True)


def _figures(ctx: WebContext, period: str | None = None) -> RunningFigures:
    chosen = parse_period(period) if period else to_date(ctx.clock.now())
    return running_figures(ctx.events.read(kinds=LEDGER_KINDS, until=chosen.end), chosen)


def _by_provider(ctx: WebContext) -> dict[str, RemovalFigures]:
    return _figures(ctx).by_key()


def _registry(ctx: WebContext) -> ProviderStore:
    return ctx.providers


@router.get("/providers")
def providers(request: Request, viewer: SignedIn = _STAFF) -> Response:
    ctx = web_context(request)
    return render(
        request,
        "providers.html",
        providers=_registry(ctx).list_providers(),
        figures=_by_provider(ctx),
    )


@router.get("/providers/{name}")
def provider(request: Request, name: str, viewer: SignedIn = _STAFF) -> Response:
    ctx = web_context(request)
    found = _registry(ctx).get(name)
    notices = ctx.notices.store.list_notices(provider_ids=[found.id], limit=20)
    return render(
        request,
        "provider.html",
        provider=found,
        figures=_by_provider(ctx).get(str(found.id)),
        notices=notices,
    )


@router.get("/figures")
def figures(
    request: Request,
    period: str | None = Query(None, max_length=40),
    viewer: SignedIn = page(*STAFF, Role.REGULATOR),
) -> Response:
    found = _figures(web_context(request), period or None)
    return render(
        request,
        "figures.html",
        figures=found.providers if found else [],
        totals=found.totals if found else None,
        period=found.period if found else None,
        asked=period or "",
    )
