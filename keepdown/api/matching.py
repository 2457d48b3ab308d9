"""Match content against the banks: an upload, a URL, or a batch of hashes.

* ``POST /api/v1/match`` — upload (raw or multipart): hashed, then matched (exact hashes and
  PDQ with its rotations and mirrors when ``match_dihedral`` is on).
* ``POST /api/v1/match/url`` — the server fetches the URL through the crawler's SSRF guard
  (private, loopback and link-local addresses are refused), then as above.
* ``POST /api/v1/match/hashes`` — up to ``match_batch_max`` hashes, each matched on its own.

A platform key learns whether and how its content matched (bank, match type, distance,
classification), never a bank entry's hash value.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import MatchView, get_context
from keepdown.api.deps import requires
from keepdown.api.errors import error_responses
from keepdown.api.hashing import hash_upload
from keepdown.api.uploads import UPLOAD_BODY
from keepdown.auth import Role
from keepdown.errors import InvalidInput
from keepdown.hashing import HashResult
from keepdown.hashing.types import parse_hash

__all__ = ["MatchItem", "MatchOut", "match_items", "router"]

router = APIRouter(prefix="/api/v1/match", tags=["matching"])

_MATCHERS = (Role.PLATFORM, Role.ANALYST, Role.ADMIN)


class MatchItem(BaseModel):
    """One bank entry the input matched."""

    bank: str
    entry_id: int
    signal_type: str
    match_type: Literal["exact", "near"]
    distance: int
    variant: str | None = Field(default=None, description="Which rotation/mirror matched")
    classification: str | None = None


class InputHashes(BaseModel):
    size_bytes: int
    md5: str
    sha1: str
    sha256: str
    pdq: str | None = None
    quality: int | None = None


class MatchOut(BaseModel):
    """Whether the input matched, and every match."""

    matched: bool
    hashes: InputHashes
    matches: list[MatchItem]


class UrlIn(BaseModel):
    url: str = Field(min_length=1, max_length=8192, description="http(s) URL of the media")


class UrlMatchOut(MatchOut):
    url: str


class HashIn(BaseModel):
    signal_type: Literal["pdq", "md5", "sha1", "sha256"]
    value: str = Field(min_length=1, max_length=128)


class BatchIn(BaseModel):
    hashes: list[HashIn] = Field(min_length=1)


class HashMatches(BaseModel):
    signal_type: str
    value: str
    matched: bool
    matches: list[MatchItem]


class BatchOut(BaseModel):
    results: list[HashMatches]


def match_items(views: list[MatchView]) -> list[MatchItem]:
    return [
        MatchItem(
            bank=v.bank,
            entry_id=v.entry_id,
            signal_type=v.signal_type,
            match_type="exact" if v.match_type == "exact" else "near",
            distance=v.distance,
            variant=v.variant,
            classification=v.classification,
        )
        for v in views
    ]


def _input_hashes(result: HashResult) -> InputHashes:
    return InputHashes(
        size_bytes=result.size_bytes,
        md5=result.md5.hex,
        sha1=result.sha1.hex,
        sha256=result.sha256.hex,
        pdq=result.pdq.hex if result.pdq else None,
        quality=result.quality,
    )


async def match_content(
    request: Request, data: bytes | None = None
) -> tuple[HashResult, list[MatchView]]:
    """Hash (an upload when ``data`` is None) and match it."""
    ctx = get_context(request)
    dihedral = bool(ctx.settings.match_dihedral)
    if data is None:
        result = await hash_upload(request, dihedral=dihedral)
    else:
        result = await run_in_threadpool(ctx.hasher, data, dihedral)
    return result, ctx.matcher.match_result(result)


async def fetch_and_match(request: Request, url: str) -> tuple[HashResult, list[MatchView]]:
    """Fetch ``url`` through the SSRF guard (capped at ``max_upload_bytes``) and match it."""
    ctx = get_context(request)
    data, _content_type = await ctx.fetch_url(url, int(ctx.settings.max_upload_bytes))
    return await match_content(request, data)


@router.post(
    "",
    response_model=MatchOut,
    summary="Match uploaded content",
    responses=error_responses(400, 401, 403, 413, 429),
    openapi_extra=UPLOAD_BODY,
    dependencies=[requires(*_MATCHERS)],
)
async def match_upload(request: Request) -> MatchOut:
    result, views = await match_content(request)
    return MatchOut(matched=bool(views), hashes=_input_hashes(result), matches=match_items(views))


@router.post(
    "/url",
    response_model=UrlMatchOut,
    summary="Fetch a URL on the server (SSRF-guarded) and match its content",
    responses=error_responses(400, 401, 403, 413, 429, 502),
    dependencies=[requires(*_MATCHERS)],
)
async def match_url(request: Request, body: UrlIn) -> UrlMatchOut:
    result, views = await fetch_and_match(request, body.url)
    return UrlMatchOut(
        url=body.url,
        matched=bool(views),
        hashes=_input_hashes(result),
        matches=match_items(views),
    )


@router.post(
    "/hashes",
    response_model=BatchOut,
    summary="Match a batch of hashes",
    responses=error_responses(400, 401, 403, 413, 429),
    dependencies=[requires(*_MATCHERS)],
)
async def match_hashes(request: Request, body: BatchIn) -> BatchOut:
    """Each hash is matched on its own; the answer keeps the order of the request."""
    ctx = get_context(request)
    limit = int(ctx.settings.match_batch_max)
    if len(body.hashes) > limit:
        raise InvalidInput(f"a batch holds at most {limit} hashes, got {len(body.hashes)}")
    values = [parse_hash(h.signal_type, h.value) for h in body.hashes]
    found = ctx.matcher.match_hashes(values)
    return BatchOut(
        results=[
            HashMatches(
                signal_type=str(v.signal_type),
                value=v.hex,
                matched=bool(views),
                matches=match_items(views),
            )
            for v, views in zip(values, found, strict=True)
        ]
    )
