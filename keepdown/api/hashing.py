"""``POST /api/v1/hash``: every hash of uploaded content (raw bytes or multipart).

Hashing is CPU work, so it runs in the thread pool and the event loop keeps serving other
requests. Content is held in memory only for as long as it is hashed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from keepdown.api.context import get_context
from keepdown.api.deps import requires
from keepdown.api.errors import error_responses
from keepdown.api.uploads import UPLOAD_BODY, read_upload
from keepdown.auth import Role
from keepdown.hashing import HashResult

__all__ = ["HashOut", "hash_upload", "router"]

router = APIRouter(prefix="/api/v1", tags=["hashing"])


class HashOut(BaseModel):
    """Hashes of one input. ``pdq`` is null (and ``pdq_error`` says why) for non-images."""

    size_bytes: int
    md5: str
    sha1: str
    sha256: str
    pdq: str | None = None
    quality: int | None = None
    media_type: str | None = None
    width: int | None = None
    height: int | None = None
    dihedral: dict[str, dict[str, Any]] | None = Field(
        default=None, description="PDQ of the 8 rotations and mirrors, when asked"
    )
    pdq_error: dict[str, Any] | None = None
    vpdq: list[dict[str, Any]] | None = Field(
        default=None, description="Video: each hashed frame (frame, pdq, quality, timestamp)"
    )
    duration_seconds: float | None = None

    @classmethod
    def of(cls, result: HashResult) -> HashOut:
        data = result.to_dict()
        return cls.model_validate({k: data.get(k) for k in cls.model_fields})


async def hash_upload(request: Request, *, dihedral: bool = False) -> HashResult:
    """Read the upload (capped) and hash it in the thread pool."""
    ctx = get_context(request)
    data, _media_type = await read_upload(request, ctx.settings.max_upload_bytes)
    return await ctx.hash_pool.run(ctx.hasher, data, dihedral, False)


@router.post(
    "/hash",
    response_model=HashOut,
    summary="Hash uploaded content",
    responses=error_responses(400, 401, 403, 413, 429),
    openapi_extra=UPLOAD_BODY,
    dependencies=[requires(Role.PLATFORM, Role.ANALYST, Role.ADMIN)],
)
async def hash_content(
    request: Request,
    dihedral: bool = Query(False, description="Also give the PDQ of the 8 rotations/mirrors"),
) -> HashOut:
    """MD5, SHA-1, SHA-256 and (for images) PDQ with its quality."""
    return HashOut.of(await hash_upload(request, dihedral=dihedral))
