"""Providers (contacts, notice channel, cadence, their figures) and the figures page.

Figures are computed from the lifecycle events (:func:`keepdown.notices.metrics.removal_figures`),
the same way the API and the transparency reports compute them. Regulators see the figures
only: no contact, no URL.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from keepdown.auth import Role
from keepdown.auth.signin import SignedIn
from keepdown.errors import ConfigurationError
from keepdown.notices.metrics import removal_figures
from keepdown.web.context import WebContext, web_context
from keepdown.web.nav import STAFF
from keepdown.web.render import render
from keepdown.web.security import page

__all__ = ["router"]

router = APIRouter()

_STAFF = page(*STAFF, case_work=True)


def _figures(ctx: WebContext) -> dict[str, Any]:
    if ctx.events is None:
        return {}
    return removal_figures(list(ctx.events.read()))


def _registry(ctx: WebContext) -> Any:
    if ctx.providers is None:
        raise ConfigurationError("the provider registry is not wired into this server")
    return ctx.providers


@router.get("/providers")
def providers(request: Request, viewer: SignedIn = _STAFF) -> Response:
    ctx = web_context(request)
    return render(request, "providers.html", providers=_registry(ctx).list(), figures=_figures(ctx))


@router.get("/providers/{name}")
def provider(request: Request, name: str, viewer: SignedIn = _STAFF) -> Response:
    ctx = web_context(request)
    found = _registry(ctx).get(name)
    notices = ctx.notices.store.list(provider_ids=[found.id], limit=20) if ctx.notices else []
    return render(
        request,
        "provider.html",
        provider=found,
        figures=_figures(ctx).get(found.name),
        notices=notices,
    )


@router.get("/figures")
def figures(request: Request, viewer: SignedIn = page(*STAFF, Role.REGULATOR)) -> Response:
    ctx = web_context(request)
    return render(
        request, "figures.html", figures=sorted(_figures(ctx).values(), key=lambda f: f.provider)
    )
