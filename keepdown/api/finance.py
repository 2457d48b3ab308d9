"""Financial indicators over HTTP, for analysts and admins.

- ``GET /api/v1/finance/indicators``: indicators with confirmed sightings (``all=true``: every
  one recorded), with the page URLs they were seen on (this endpoint is for staff only);
- ``GET /api/v1/finance/export?format=stix|csv&tlp=amber``: what financial institutions get
  (no page URL: counts and provider names);
- ``GET|POST /api/v1/finance/subscriptions``, ``DELETE /api/v1/finance/subscriptions/{name}``:
  institutions subscribed to alerts (a webhook secret is write-only);
- ``GET /api/v1/finance/alerts``: every alert recorded, its state and when it was sent.

Exports and subscription changes are written to the audit log before they run (write-ahead),
then settled with their outcome.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import audited, requires
from keepdown.api.errors import error_responses
from keepdown.auth import Role
from keepdown.finance.alerts import FinanceDesk, Subscription

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/finance", tags=["finance"])

_STAFF = requires(Role.ANALYST, Role.ADMIN, case_work=True)
TypeName = Literal["btc", "ltc", "eth", "xmr", "payment_link", "email"]
TlpName = Literal["clear", "green", "amber", "amber+strict", "red"]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    channel: Literal["email", "webhook"]
    target: str = Field(min_length=3, max_length=2000, description="E-mail address or URL.")
    threshold: int | None = Field(default=None, ge=1, le=1_000_000)
    types: list[TypeName] = Field(default_factory=list, max_length=6)
    secret: str | None = Field(
        default=None, min_length=16, max_length=200, description="Webhook HMAC key; write-only."
    )


def _desk(request: Request) -> FinanceDesk:
    return get_context(request).finance


@router.get("/indicators", dependencies=[_STAFF], responses=error_responses(401, 403))
async def indicators(request: Request, all: bool = False) -> dict[str, Any]:
    desk = _desk(request)
    found = await run_in_threadpool(desk.confirmed_indicators, include_unconfirmed=all)
    return {"indicators": [i.to_public(with_pages=True) for i in found]}


@router.get(
    "/export",
    dependencies=[_STAFF],
    responses=error_responses(400, 401, 403),
    response_class=Response,
)
async def export(
    request: Request, format: Literal["stix", "csv"] = "stix", tlp: TlpName | None = None
) -> Response:
    desk = _desk(request)
    chosen = tlp or get_context(request).settings.finance_tlp
    async with audited(request, "finance.export", target=format, tlp=chosen):
        text = await run_in_threadpool(desk.export, format, tlp=tlp)
    media = "application/stix+json;version=2.1" if format == "stix" else "text/csv"
    return Response(text, media_type=media)


@router.get("/subscriptions", dependencies=[_STAFF], responses=error_responses(401, 403))
async def subscriptions(request: Request) -> dict[str, Any]:
    desk = _desk(request)
    subs = await run_in_threadpool(desk.alerts.subscriptions, active_only=False)
    return {"subscriptions": [s.to_public() for s in subs]}


@router.post(
    "/subscriptions",
    dependencies=[_STAFF],
    status_code=201,
    responses=error_responses(400, 401, 403, 409),
)
async def subscribe(request: Request, body: SubscriptionIn) -> dict[str, Any]:
    desk = _desk(request)
    threshold = body.threshold or get_context(request).settings.finance_alert_threshold
    sub = Subscription(
        name=body.name,
        channel=body.channel,
        target=body.target,
        threshold=threshold,
        types=tuple(body.types),
        secret=body.secret,
    )
    async with audited(request, "finance.subscribe", target=sub.name, channel=sub.channel):
        stored = await run_in_threadpool(desk.subscribe, sub)
    return dict(stored.to_public())


@router.delete(
    "/subscriptions/{name}",
    dependencies=[_STAFF],
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404),
)
async def unsubscribe(request: Request, name: str) -> Response:
    desk = _desk(request)
    async with audited(request, "finance.unsubscribe", target=name):
        await run_in_threadpool(desk.alerts.remove_subscription, name)
    return Response(status_code=204)


@router.get("/alerts", dependencies=[_STAFF], responses=error_responses(401, 403))
async def alerts(request: Request) -> dict[str, Any]:
    desk = _desk(request)
    found = await run_in_threadpool(desk.alerts.alerts)
    return {"alerts": [a.to_public() for a in found]}
