"""Match content against the banks: an upload, a URL, or a batch of hashes.

* ``POST /api/v1/match`` — upload (raw or multipart): hashed, then matched (exact hashes and
  PDQ with its rotations and mirrors when ``match_dihedral`` is on).
* ``POST /api/v1/match/url`` — the server fetches the URL through the crawler's SSRF guard
  (private, loopback and link-local addresses are refused), then as above.
* ``POST /api/v1/match/hashes`` — up to ``match_batch_max`` hashes, each matched on its own.

A platform key learns whether and how its content matched (bank, match type, distance,
classification), never a bank entry's hash value. An upload whose picture could not be decoded
is still matched on its exact hashes; the answer says so (``checked`` lists the signal types
compared, ``pdq_error`` says why PDQ was not), so "no match" is never silently "not looked at".

On the event loop: a batch of up to :data:`INLINE_BATCH` hashes is matched inline (the index
answers one hash in ~0.1-0.2 ms at 1e6 entries, less than a hop to a worker thread costs);
larger batches, and uploads (hashing plus the 8 dihedral variants), run in a worker thread,
where the index's compiled kernels release the GIL. The hot answers are written straight to
JSON bytes (the ``response_model`` still documents them).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import ApiContext, MatchView, get_context
from keepdown.api.deps import principal_of, requires
from keepdown.api.errors import ErrorBody, error_responses
from keepdown.api.metrics import count_matches
from keepdown.api.uploads import UPLOAD_BODY, read_upload
from keepdown.auth import Principal, Role
from keepdown.errors import InvalidInput
from keepdown.events import UploadChecked
from keepdown.hashing import HashResult
from keepdown.hashing.types import HashValue, parse_hash
from keepdown.matching.matcher import Verdict
from keepdown.matching.views import verdict_of
from keepdown.submissions.holds import Hold

__all__ = [
    "INLINE_BATCH",
    "MatchItem",
    "MatchOut",
    "checked_signals",
    "json_response",
    "lookup",
    "match_items",
    "router",
]

#: Batches up to this many hashes are matched on the event loop (see the module docstring).
INLINE_BATCH = 4

router = APIRouter(prefix="/api/v1/match", tags=["matching"])

_MATCHERS = (Role.PLATFORM, Role.ANALYST, Role.ADMIN)


class MatchItem(BaseModel):
    """One bank entry the input matched."""

    bank: str
    entry_id: int
    signal_type: str
    match_type: Literal["exact", "near", "near (robust)"] = Field(
        description=(
            "exact (a cryptographic hash), near (PDQ) or near (robust): found only through a "
            "robust query variant (trimmed, un-cropped, turned back; named in variant), on a "
            "bank that opted in; always for review"
        )
    )
    distance: int
    variant: str | None = Field(
        default=None, description="Which rotation/mirror, or robust query variant, matched"
    )
    classification: str | None = None
    frame: int | None = Field(default=None, description="Video: the frame that matched")
    timestamp: float | None = Field(default=None, description="Video: that frame's time (s)")
    query_match_percent: float | None = Field(
        default=None, description="vPDQ: share of the upload's frames matching the bank video"
    )
    compared_match_percent: float | None = Field(
        default=None, description="vPDQ: share of the bank video's frames matching the upload"
    )
    review_only: bool = Field(
        default=False, description="A policy sent this match to review: it never acts alone"
    )
    review_why: str | None = Field(default=None, description="Which policy, and why")


VerdictName = Literal["confirmed", "review", "no_match"]
_VERDICT_HELP = (
    "What the matches call for, the same at every door: confirmed (an exact match in a trusted "
    "bank, may be acted on without review), review (a person decides), no_match"
)


class InputHashes(BaseModel):
    size_bytes: int
    md5: str
    sha1: str
    sha256: str
    pdq: str | None = None
    quality: int | None = None


class HoldOut(BaseModel):
    """The upload held for review because it matched a self-submitted hash."""

    id: int
    state: Literal["held", "confirmed", "not_a_match"]
    action: Literal["review", "block", "allow"] = Field(
        description=(
            "What to do with the upload: review (hold it, do not publish), block (an analyst "
            "confirmed the same file), allow (an analyst said it is not a match)"
        )
    )
    bank: str
    match_type: str
    content_ref: str


class MatchOut(BaseModel):
    """Whether the input matched, and every match."""

    matched: bool
    verdict: VerdictName = Field(description=_VERDICT_HELP)
    hashes: InputHashes
    matches: list[MatchItem]
    checked: list[str] = Field(description="Signal types compared with the banks")
    pdq_error: ErrorBody | None = Field(
        default=None, description="Why no PDQ was compared (undecodable or too large picture)"
    )
    hold: HoldOut | None = Field(
        default=None,
        description="Set when the upload matched a self-submitted hash: it is held for review",
    )


class UrlIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=8192, description="http(s) URL of the media")


class UrlMatchOut(MatchOut):
    url: str


class HashIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signal_type: Literal["pdq", "md5", "sha1", "sha256"]
    value: str = Field(min_length=1, max_length=128)


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hashes: list[HashIn] = Field(min_length=1, max_length=1000)


class HashMatches(BaseModel):
    signal_type: str
    value: str
    matched: bool
    verdict: VerdictName = Field(description=_VERDICT_HELP)
    matches: list[MatchItem]


class BatchOut(BaseModel):
    results: list[HashMatches]


def match_items(views: list[MatchView]) -> list[MatchItem]:
    return [MatchItem(**_item(v)) for v in views]


def _item(v: MatchView) -> dict[str, Any]:
    return {
        "bank": v.bank,
        "entry_id": v.entry_id,
        "signal_type": v.signal_type,
        "match_type": v.match_type,
        "distance": v.distance,
        "variant": v.variant,
        "classification": v.classification,
        **{k: getattr(v, k) for k in _VIDEO if getattr(v, k, None) is not None},  # videos
        **({"review_only": True, "review_why": v.review_why} if v.review_only else {}),
    }


_VIDEO = ("frame", "timestamp", "query_match_percent", "compared_match_percent")


def json_response(body: Any, status_code: int = 200) -> Response:
    """A JSON response written directly (no second validation against the response model)."""
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(payload, status_code=status_code, media_type="application/json")


async def lookup(request: Request, values: Sequence[HashValue]) -> list[list[MatchView]]:
    """Match ``values``: inline when few, in a worker thread otherwise; counted in metrics."""
    match = functools.partial(
        get_context(request).matcher.match_hashes,
        door="lookup",
        organisation=principal_of(request).organisation,
    )
    if len(values) <= INLINE_BATCH:
        found = match(values)
    else:
        found = await run_in_threadpool(match, values)
    for views in found:
        count_matches(request, views)
    return found


def pdq_error_of(ctx: ApiContext, result: HashResult) -> dict[str, Any] | None:
    """Why PDQ was not compared: the hashing error, or a quality under the floor (the docs
    promise a reason whenever ``pdq`` is missing from ``checked``; it was null for a picture
    skipped for low quality)."""
    if result.pdq_error is not None:
        return result.pdq_error.to_dict()
    floor = ctx.settings.pdq_quality_floor
    if result.pdq is not None and (result.quality or 0) < floor:
        return {
            "code": "pdq_low_quality",
            "message": (
                f"PDQ quality {result.quality} is under pdq_quality_floor ({floor}): too "
                "little detail for a reliable near match; matched on exact hashes only"
            ),
            "details": {"quality": result.quality, "floor": floor},
        }
    return None


def checked_signals(ctx: ApiContext, result: HashResult) -> list[str]:
    """The signal types an input was compared on (PDQ only when usable)."""
    checked = ["md5", "sha1", "sha256"]
    if result.pdq is not None and (result.quality or 0) >= ctx.settings.pdq_quality_floor:
        checked.append("pdq")
    return checked


def _input_hashes(result: HashResult) -> InputHashes:
    return InputHashes(
        size_bytes=result.size_bytes,
        md5=result.md5.hex,
        sha1=result.sha1.hex,
        sha256=result.sha256.hex,
        pdq=result.pdq.hex if result.pdq else None,
        quality=result.quality,
    )


def hold_out(hold: Hold | None) -> dict[str, Any] | None:
    if hold is None:
        return None
    return {
        "id": hold.id,
        "state": hold.state.value,
        "action": hold.verdict,
        "bank": hold.match.bank,
        "match_type": hold.match.match_type,
        "content_ref": hold.content_ref,
    }


def _match_out(ctx: ApiContext, checked: Checked) -> dict[str, Any]:
    result, views, hold = checked
    return {
        "matched": bool(views),
        "verdict": str(verdict_of(views)),
        "hashes": _input_hashes(result).model_dump(),
        "matches": [_item(v) for v in views],
        "checked": checked_signals(ctx, result),
        "pdq_error": pdq_error_of(ctx, result),
        "hold": hold_out(hold),
    }


#: An upload's hashes, its matches, and its hold when it matched a self-submitted hash.
Checked = tuple[HashResult, list[MatchView], Hold | None]


async def match_content(
    request: Request, data: bytes | None = None, content_ref: str = ""
) -> Checked:
    """Hash (an upload when ``data`` is None) and match it, both in one worker thread: the
    robust query variants too when the upload door asks for them (``robust_doors``); an upload
    that matched a self-submitted hash is held for review (``content_ref``: the platform's own
    reference to it; its SHA-256 when empty)."""
    ctx = get_context(request)
    dihedral = ctx.settings.match_dihedral
    if data is None:
        data, _media_type = await read_upload(request, ctx.settings.max_upload_bytes)

    who = principal_of(request)

    def hash_and_match(content: bytes) -> Checked:
        result = ctx.hasher(content, dihedral, ctx.matcher.wants_robust("upload"))
        views = ctx.matcher.match_result(result, door="upload", organisation=who.organisation)
        hold = None
        if views:
            hold = ctx.platform.check_upload(
                organisation=who.organisation,
                key_id=who.key_id,
                content_ref=content_ref,
                result=result,
                matches=views,
            )
        if ctx.events is not None:
            ctx.events.emit(upload_checked(who, views, ctx.clock.now()))
        return result, views, hold

    checked: Checked = await ctx.hash_pool.run(hash_and_match, data)
    count_matches(request, checked[1])
    return checked


#: What an upload's verdict does on a platform.
_UPLOAD_OUTCOME = {Verdict.CONFIRMED: "block", Verdict.REVIEW: "review", Verdict.NO_MATCH: "allow"}


def upload_checked(who: Principal, views: list[MatchView], at: datetime) -> UploadChecked:
    """The event of one checked upload, for the per-key transparency figures.

    The verdict is the match chain's one rule (:func:`keepdown.matching.views.verdict_of`):
    a confirmed match (exact, in a trusted bank, not sent to review by any policy) blocks
    without review (automated); any other match is sent to review (a human decides); no match
    is allowed (automated). Bare hash lookups are not recorded: at thousands per second they
    would flood the event log (docs/transparency.md)."""
    outcome = _UPLOAD_OUTCOME[verdict_of(views)]
    exact = any(v.match_type == "exact" for v in views)
    return UploadChecked(
        at=at,
        key_id=who.key_id,
        organisation=who.organisation,
        outcome=outcome,
        match_type=("exact" if exact else "near") if views else "",
        automated=outcome != "review",
    )


async def fetch_and_match(request: Request, url: str) -> Checked:
    """Fetch ``url`` through the SSRF guard (capped at ``max_upload_bytes``) and match it."""
    ctx = get_context(request)
    data, _content_type = await ctx.fetch_url(url, ctx.settings.max_upload_bytes)
    return await match_content(request, data)


@router.post(
    "",
    response_model=MatchOut,
    summary="Match uploaded content",
    responses=error_responses(400, 401, 403, 413, 429, 503),
    openapi_extra=UPLOAD_BODY,
    dependencies=[requires(*_MATCHERS)],
)
async def match_upload(
    request: Request,
    content_ref: str = Query(
        "",
        max_length=1024,
        description="Your own reference to the upload (storage key, content id), kept with a hold",
    ),
) -> Response:
    checked = await match_content(request, content_ref=content_ref)
    return json_response(_match_out(get_context(request), checked))


@router.post(
    "/url",
    response_model=UrlMatchOut,
    summary="Fetch a URL on the server (SSRF-guarded) and match its content",
    responses=error_responses(400, 401, 403, 413, 429, 502, 503),
    dependencies=[requires(*_MATCHERS)],
)
async def match_url(request: Request, body: UrlIn) -> Response:
    checked = await fetch_and_match(request, body.url)
    return json_response({"url": body.url, **_match_out(get_context(request), checked)})


@router.post(
    "/hashes",
    response_model=BatchOut,
    summary="Match a batch of hashes",
    responses=error_responses(400, 401, 403, 413, 429, 503),
    dependencies=[requires(*_MATCHERS)],
)
async def match_hashes(request: Request, body: BatchIn) -> Response:
    """Each hash is matched on its own; the answer keeps the order of the request."""
    ctx = get_context(request)
    limit = ctx.settings.match_batch_max
    if len(body.hashes) > limit:
        raise InvalidInput(f"a batch holds at most {limit} hashes, got {len(body.hashes)}")
    values = [parse_hash(h.signal_type, h.value) for h in body.hashes]
    found = await lookup(request, values)
    results = [
        {
            "signal_type": str(v.signal_type),
            "value": v.hex,
            "matched": bool(views),
            "verdict": str(verdict_of(views)),
            "matches": [_item(m) for m in views],
        }
        for v, views in zip(values, found, strict=True)
    ]
    return json_response({"results": results})
