"""C3P Arachnid Shield compatible endpoints, so Shield's clients can point at keepdown.

Same paths, request bodies and response fields as the Shield public API (as its Python SDK,
``arachnid-shield-sdk``, sends and reads them), with HTTP Basic auth (username = key id,
password = secret, or the whole key as password):

* ``POST /v1/media/`` — raw bytes with their Content-Type -> ScannedMedia
* ``POST /v1/url/`` — ``{"url": ...}``, fetched through the SSRF guard -> ScannedMedia
* ``POST /v1/pdq/`` — ``{"hashes": [base64 PDQ, ...]}`` -> ``{"scanned_hashes": {...}}``

Mapping: a bank classified ``csam`` answers ``csam``; anything else that matched answers
``harmful-abusive-material`` (the weaker claim); no match answers ``no-known-match``.
``match_type`` is ``exact`` when a cryptographic hash matched, else ``near`` (PDQ); as in
Shield, ``near_match_details`` is empty for an exact match and lists the near matches
otherwise. They never reveal a bank entry's own hashes: their ``sha1_base32`` and
``sha256_hex`` are empty strings. Each near match also says keepdown's own kind
(``keepdown_match_type``: ``near``, or ``near (robust)`` when only a robust query variant found
it, for review only) and the variant (``keepdown_variant``); Shield's clients ignore fields
they do not know. Hex digests are upper-case, as Shield writes them.
Media that matched no exact hash and could not be decoded as a picture answers 422 with the
decoding error (Shield's response has no field to say "not compared"), so a client never takes
"not looked at" for "no known match". Errors carry ``detail`` (what Shield clients read)
besides the usual fields.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from keepdown.api.context import MatchView, get_context
from keepdown.api.deps import requires
from keepdown.api.errors import error_responses
from keepdown.api.matching import fetch_and_match, json_response, lookup, match_content
from keepdown.api.uploads import UPLOAD_BODY, read_body
from keepdown.auth import Role
from keepdown.errors import DecodeError, InvalidInput
from keepdown.hashing import HashResult
from keepdown.hashing.types import PdqHash
from keepdown.matching.matcher import ROBUST

__all__ = ["router", "shield_classification"]

router = APIRouter(prefix="/v1", tags=["shield-compatible"])

Classification = Literal["csam", "harmful-abusive-material", "no-known-match"]
_MATCHERS = requires(Role.PLATFORM, Role.ANALYST, Role.ADMIN)


class NearMatchDetail(BaseModel):
    timestamp: float = 0.0
    sha1_base32: str = ""
    sha256_hex: str = ""
    classification: Classification | None
    keepdown_match_type: Literal["near", "near (robust)"] | None = Field(
        default=None,
        description="keepdown's own kind: near (robust) when found only through a robust "
        "query variant (review only; Shield itself has no such kind)",
    )
    keepdown_variant: str | None = Field(
        default=None, description="The rotation, mirror or robust query variant that matched"
    )


class ScannedMedia(BaseModel):
    size_bytes: int
    sha1_base32: str
    sha256_hex: str
    classification: Classification
    match_type: Literal["exact", "near"] | None
    near_match_details: list[NearMatchDetail]


class UrlIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=8192)


class PdqIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hashes: list[str] = Field(
        min_length=1, max_length=1000, description="Base64-encoded PDQ hashes"
    )


class PdqMatch(BaseModel):
    classification: Classification
    match_type: Literal["near"] | None
    near_match_details: NearMatchDetail | None


class ScannedPdqHashes(BaseModel):
    scanned_hashes: dict[str, PdqMatch]


def shield_classification(views: list[MatchView]) -> Classification:
    """The Shield classification of a set of matches (see the module docstring)."""
    if not views:
        return "no-known-match"
    if any(v.classification == "csam" for v in views):
        return "csam"
    return "harmful-abusive-material"


def _scanned(result: HashResult, views: list[MatchView]) -> ScannedMedia:
    if not views and isinstance(result.pdq_error, DecodeError):
        raise result.pdq_error
    exact = any(v.match_type == "exact" for v in views)
    near = [] if exact else [v for v in views if v.match_type != "exact"]
    return ScannedMedia(
        size_bytes=result.size_bytes,
        sha1_base32=result.sha1.base32,
        sha256_hex=result.sha256.hex.upper(),
        classification=shield_classification(views),
        match_type=None if not views else ("exact" if exact else "near"),
        near_match_details=[
            NearMatchDetail(
                classification=shield_classification([v]),
                keepdown_match_type="near (robust)" if v.match_type == ROBUST else "near",
                keepdown_variant=v.variant,
            )
            for v in near
        ],
    )


@router.post(
    "/media/",
    response_model=ScannedMedia,
    summary="Scan media bytes (Arachnid Shield compatible)",
    responses=error_responses(400, 401, 403, 413, 422, 429, 503),
    openapi_extra=UPLOAD_BODY,
    dependencies=[_MATCHERS],
)
async def scan_media(request: Request) -> ScannedMedia:
    ctx = get_context(request)
    data = await read_body(request, ctx.settings.max_upload_bytes)
    if not data:
        raise InvalidInput("the request body is empty: send the media bytes")
    result, views, _hold = await match_content(request, data)
    return _scanned(result, views)


@router.post(
    "/url/",
    response_model=ScannedMedia,
    summary="Scan the media at a URL (Arachnid Shield compatible)",
    responses=error_responses(400, 401, 403, 413, 422, 429, 502, 503),
    dependencies=[_MATCHERS],
)
async def scan_url(request: Request, body: UrlIn) -> ScannedMedia:
    result, views, _hold = await fetch_and_match(request, body.url)
    return _scanned(result, views)


@router.post(
    "/pdq/",
    response_model=ScannedPdqHashes,
    summary="Scan PDQ hashes (Arachnid Shield compatible)",
    responses=error_responses(400, 401, 403, 413, 429, 503),
    dependencies=[_MATCHERS],
)
async def scan_pdq(request: Request, body: PdqIn) -> Response:
    ctx = get_context(request)
    limit = ctx.settings.match_batch_max
    if len(body.hashes) > limit:
        raise InvalidInput(f"at most {limit} hashes per request, got {len(body.hashes)}")
    hashes = [PdqHash.from_base64(text) for text in body.hashes]
    found = await lookup(request, hashes)
    scanned: dict[str, dict[str, object]] = {}
    for text, views in zip(body.hashes, found, strict=True):
        label = shield_classification(views)
        detail = NearMatchDetail(classification=label).model_dump() if views else None
        scanned[text] = {
            "classification": label,
            "match_type": "near" if views else None,
            "near_match_details": detail,
        }
    return json_response({"scanned_hashes": scanned})
