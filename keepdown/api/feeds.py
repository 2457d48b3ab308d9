"""Hash exchanges' feeds over HTTP (docs/exchanges.md; ``keepdown feed`` on the command line).

For admins and analysts of the operator:

- ``GET /api/v1/feeds``, ``GET /api/v1/feeds/{name}``: each feed with where it stands
  (status, checkpoint, last success, records, entries); secrets by variable name only;
- ``GET /api/v1/quarantines``: entries quarantined for a burst of matches, and why;
  ``POST /api/v1/quarantines/{entry_id}/lift`` (audited): the entry acts again.

For admins (every change audited): ``POST /api/v1/feeds`` adds a feed and its bank (secrets
are the names of environment variables, never values); ``POST /api/v1/feeds/{name}/run``
makes it due now (the workers run it); ``POST /api/v1/feeds/{name}/resync`` starts a new full
fetch.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import ExchangeDesk, get_context
from keepdown.api.deps import audited, principal_of, requires
from keepdown.api.errors import error_responses
from keepdown.api.params import RowId
from keepdown.auth import Role
from keepdown.exchanges.guards import GuardConfig
from keepdown.exchanges.quarantine import Quarantine

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["exchanges"])

_STAFF = requires(Role.ADMIN, Role.ANALYST, case_work=True)
_ADMIN = requires(Role.ADMIN, case_work=True)
_NAME = r"^[A-Za-z0-9._-]+$"


def desk(request: Request) -> ExchangeDesk:
    return get_context(request).exchanges


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=_NAME)
    kind: str = Field(pattern=r"^(ncmec|stopncii|threatexchange)$")
    url: str = Field(default="", max_length=500)
    options: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(
        default_factory=dict, description="credential -> the environment variable holding it"
    )
    every_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    feedback: bool = False
    quarantine: bool = True
    low_information_guard: bool = True
    quality_floor: int | None = Field(default=None, ge=0, le=100)
    label: str | None = Field(default=None, max_length=200)
    trust: str = Field(default="review", pattern=r"^(review|auto)$")
    thresholds: dict[str, int] = Field(default_factory=dict)


class LiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000)


def _quarantine(q: Quarantine) -> dict[str, Any]:
    return {
        "entry_id": q.entry_id,
        "bank": q.bank,
        "signal_type": q.signal_type,
        "state": q.state,
        "matches": q.matches,
        "baseline": q.baseline,
        "threshold": q.threshold,
        "window_seconds": q.window_seconds,
        "quarantined_at": q.quarantined_at.isoformat(),
        "lifted_at": q.lifted_at.isoformat() if q.lifted_at else None,
        "lifted_by": q.lifted_by,
        "note": q.note,
        "why": q.why,
    }


@router.get(
    "/feeds",
    summary="Feeds from hash exchanges, with where each stands",
    responses=error_responses(401, 403, 429),
    dependencies=[_STAFF],
)
async def list_feeds(request: Request) -> dict[str, Any]:
    found = await run_in_threadpool(desk(request).feeds.list)
    return {"feeds": [d.to_dict() for d in found]}


@router.get(
    "/feeds/{name}",
    summary="One feed",
    responses=error_responses(401, 403, 404, 429),
    dependencies=[_STAFF],
)
async def show_feed(request: Request, name: str) -> dict[str, Any]:
    details = await run_in_threadpool(desk(request).feeds.details, name)
    return details.to_dict()


@router.post(
    "/feeds",
    summary="Add a feed and the bank it fills (audited)",
    status_code=201,
    responses=error_responses(400, 401, 403, 409, 429),
    dependencies=[_ADMIN],
)
async def add_feed(request: Request, body: FeedIn) -> dict[str, Any]:
    who = principal_of(request)
    feeds = desk(request).feeds

    def add() -> dict[str, Any]:
        feed = feeds.add(
            body.name,
            body.kind,
            owner=who.organisation,
            url=body.url,
            options=body.options,
            secrets=body.secrets,
            every_seconds=body.every_seconds,
            feedback=body.feedback,
            quarantine=body.quarantine,
            guards=GuardConfig(
                low_information=body.low_information_guard, quality_floor=body.quality_floor
            ),
            label=body.label,
            trust=body.trust,
            thresholds=body.thresholds,
        )
        return feeds.details(feed.name).to_dict()

    async with audited(request, "feed.add", body.name, kind=body.kind, url=body.url):
        return await run_in_threadpool(add)


@router.post(
    "/feeds/{name}/run",
    summary="Make a feed due now: the workers run it (audited)",
    responses=error_responses(401, 403, 404, 429),
    dependencies=[_ADMIN],
)
async def run_feed(request: Request, name: str) -> dict[str, Any]:
    async with audited(request, "feed.run_soon", name):
        feed = await run_in_threadpool(desk(request).feeds.run_soon, name)
    return {"feed": feed.name, "due": True}


@router.post(
    "/feeds/{name}/resync",
    summary="Fetch everything again on the next run (a new full fetch; audited)",
    responses=error_responses(401, 403, 404, 429),
    dependencies=[_ADMIN],
)
async def resync_feed(request: Request, name: str) -> dict[str, Any]:
    async with audited(request, "feed.resync", name):
        checkpoint = await run_in_threadpool(desk(request).feeds.resync, name)
    return {"feed": name, "generation": checkpoint.generation}


@router.get(
    "/quarantines",
    summary="Feed entries quarantined for a burst of matches, and why",
    responses=error_responses(401, 403, 429),
    dependencies=[_STAFF],
)
async def list_quarantines(
    request: Request, state: str | None = Query(None, pattern=r"^(active|lifted|removed)$")
) -> dict[str, Any]:
    found = await run_in_threadpool(desk(request).quarantines, [state] if state else None)
    return {"quarantines": [_quarantine(q) for q in found]}


@router.post(
    "/quarantines/{entry_id}/lift",
    summary="Lift an entry's quarantine: it acts again until a new burst (audited)",
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[_STAFF],
)
async def lift_quarantine(request: Request, entry_id: RowId, body: LiftIn) -> dict[str, Any]:
    who = principal_of(request)
    async with audited(request, "feed.quarantine.lift", str(entry_id)):
        lifted = await run_in_threadpool(
            lambda: desk(request).lift(entry_id, by=f"key:{who.key_id}", note=body.note)
        )
    return _quarantine(lifted)
