"""Liveness and readiness, public: they say whether to send traffic, nothing about banks.

``/api/v1/health`` answers 200 while the process serves. ``/api/v1/ready`` answers 200 once
the database answers and the match index has loaded, 503 (StorageError) otherwise, so a load
balancer holds traffic back from a replica that would answer wrongly.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.errors import error_responses
from keepdown.errors import StorageError

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["health"])


class HealthOut(BaseModel):
    status: str


@router.get(
    "/health", response_model=HealthOut, summary="Liveness (public)", responses=error_responses()
)
async def health() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/ready", response_model=HealthOut, summary="Readiness (public)", responses=error_responses(503)
)
async def ready(request: Request) -> HealthOut:
    ctx = get_context(request)
    await run_in_threadpool(ctx.check_database)
    if not ctx.matcher.ready:
        raise StorageError("the match index is still loading")
    return HealthOut(status="ready")
