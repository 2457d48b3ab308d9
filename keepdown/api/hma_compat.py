"""Meta HMA (Hasher-Matcher-Actioner / OpenMediaMatch) compatible hash and lookup endpoints.

Same paths, parameters and response shapes as HMA's ``hashing`` and ``matching`` blueprints,
so HMA clients can point at keepdown:

* ``GET /h/hash?url=...[&types=pdq,md5]`` and ``POST /h/hash`` (multipart, one file whose
  field name is the content type, ``photo``) -> ``{signal_type: hash}``
* ``GET /m/raw_lookup?signal_type=&signal=[&include_distance=true][&banks=a,b]`` ->
  ``{"matches": [bank_content_id, ...]}`` or ``[{"bank_content_id", "distance"}]``
* ``GET /m/lookup?signal_type=&signal=`` -> ``{bank: [{"bank_content_id", "distance"}]}``;
  ``GET /m/lookup?url=...`` and ``POST /m/lookup`` (multipart) ->
  ``{signal_type: {bank: [...]}}``

* ``POST /m/compare`` ``{signal_type: [left, right], ...}`` ->
  ``{signal_type: [match, {"distance": n}]}`` (``{}`` for exact signals, as HMA's
  ``SignalComparisonResult`` serialises; PDQ matches within ``pdq_match_threshold``)
* ``GET /m/index/status[?signal_type=]`` -> ``{signal_type: {"present", "built_to", "size"}}``
  (``built_to``: Unix time of the index's last refresh, -1 before the first)

``bank_content_id`` is keepdown's entry id; ``distance`` is a string, as HMA prints it. HMA's
``photo`` content hashes to ``pdq`` by default; ``types`` may also ask for ``md5``, ``sha1``
and ``sha256`` (keepdown's exact signals). Errors carry ``message`` as HMA's do.

A lookup of content (an uploaded ``photo`` or a URL) is matched through keepdown's one match
chain, exactly as ``POST /api/v1/match`` matches it (the 8 rotations and mirrors, video
frames, exact hashes, the allow-list): the answer groups those matches by signal type, so the
same picture gets the same verdict through HMA's door as through every other. It is recorded
as a checked upload like the other content checks.

HMA itself has no API keys (deployments put it behind their own gateway), so its clients send
no ``Authorization`` header by default. Give them a keepdown key either as a header their HTTP
client adds (``Authorization: Bearer kd_...``) or in the base URL, which most HTTP clients turn
into Basic credentials: ``http://<key id>:<secret>@keepdown:8000`` (see docs/api.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, RootModel

from keepdown.api.context import MatchView, get_context
from keepdown.api.deps import requires
from keepdown.api.errors import error_responses
from keepdown.api.matching import fetch_and_match, json_response, lookup, match_content
from keepdown.api.uploads import multipart_parts, read_body
from keepdown.auth import Role
from keepdown.errors import InvalidInput
from keepdown.hashing import HashResult
from keepdown.hashing.types import HashValue, SignalType, parse_hash
from keepdown.matching.matcher import ROBUST

__all__ = ["RawLookupQuery", "router"]

router = APIRouter(tags=["hma-compatible"])

_MATCHERS = requires(Role.PLATFORM, Role.ANALYST, Role.ADMIN)
_PHOTO_DEFAULT = ("pdq",)
_SIGNALS = ("pdq", "md5", "sha1", "sha256")
#: HMA's upload: one multipart file whose field name is the content type.
_PHOTO_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"photo": {"type": "string", "format": "binary"}},
                    "required": ["photo"],
                }
            }
        },
    }
}


class HashMap(RootModel[dict[str, str]]):
    """Signal type -> hash value."""


class MatchWithDistance(BaseModel):
    """HMA's match; keepdown adds ``keepdown_match_type`` (``near (robust)``) with
    ``keepdown_variant`` for a match found only through a robust query variant, and
    ``keepdown_review_only`` for a match a policy sent to review, and only then (HMA's own
    answers have no such fields; its clients ignore them)."""

    model_config = ConfigDict(extra="allow")
    bank_content_id: int
    distance: str


class RawLookupOut(BaseModel):
    matches: list[int | MatchWithDistance]


class BankMatches(RootModel[dict[str, list[MatchWithDistance]]]):
    """Bank name -> matches."""


class SignalBankMatches(RootModel[dict[str, dict[str, list[MatchWithDistance]]]]):
    """Signal type -> bank name -> matches."""


class RawLookupQuery(BaseModel):
    """The query of ``/m/raw_lookup`` (validated here when served by keepdown.api.hot)."""

    signal: str = Field(min_length=1, max_length=128)
    signal_type: str = Field(min_length=1, max_length=32)
    include_distance: bool = False
    banks: str | None = Field(default=None, max_length=2000)


class CompareIn(RootModel[dict[str, list[str]]]):
    """Signal type -> the two hashes to compare."""


class CompareOut(RootModel[dict[str, list[Any]]]):
    """Signal type -> ``[match, {"distance": n}]`` (``{}`` for exact signals)."""


class IndexStatus(BaseModel):
    present: bool = Field(description="The index is loaded")
    built_to: int = Field(description="Unix time of the last refresh; -1 before the first")
    size: int = Field(description="Entries of this signal type in the index")


class IndexStatusOut(RootModel[dict[str, IndexStatus]]):
    """Signal type -> the index's status."""


def _types(types: str | None) -> tuple[str, ...]:
    if not types:
        return _PHOTO_DEFAULT
    chosen = tuple(t.strip() for t in types.split(",") if t.strip())
    unknown = [t for t in chosen if t not in _SIGNALS]
    if unknown or not chosen:
        raise InvalidInput(f"signal type {unknown[0] if unknown else ''!r} doesn't exist")
    return chosen


def _hash_map(result: HashResult, types: tuple[str, ...]) -> dict[str, str]:
    """The asked-for hashes; a PDQ that could not be computed is an error, never left out
    silently (a lookup would otherwise answer "no match" for a picture it never compared)."""
    if "pdq" in types and result.pdq is None and result.pdq_error is not None:
        raise result.pdq_error
    values: dict[str, HashValue | None] = {
        "pdq": result.pdq,
        "md5": result.md5,
        "sha1": result.sha1,
        "sha256": result.sha256,
    }
    return {t: value.hex for t in types if (value := values[t]) is not None}


async def _hash_url(request: Request, url: str) -> HashResult:
    ctx = get_context(request)
    data, _ = await ctx.fetch_url(url, ctx.settings.max_upload_bytes)
    return await ctx.hash_pool.run(ctx.hasher, data, False, False)


async def _form_file(request: Request) -> bytes:
    ctx = get_context(request)
    body = await read_body(request, ctx.settings.max_upload_bytes)
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise InvalidInput("Missing multipart/form-data file upload")
    parts = [p for p in multipart_parts(body, content_type) if p.filename is not None]
    if len(parts) != 1:
        raise InvalidInput("Only one file allowed per request" if parts else "no file uploaded")
    if parts[0].name != "photo":
        raise InvalidInput(f"no such content_type: '{parts[0].name}'")
    return parts[0].data


async def _hash_form(request: Request) -> HashResult:
    data = await _form_file(request)
    ctx = get_context(request)
    return await ctx.hash_pool.run(ctx.hasher, data, False, False)


def _by_signal(
    result: HashResult, views: list[MatchView], types: str | None, banks: set[str] | None
) -> dict[str, dict[str, list[MatchWithDistance]]]:
    """The content's matches, from the one match chain, grouped as HMA groups them: by signal
    type (``types``, or ``pdq`` and every signal type that matched), then bank."""
    chosen = _types(types) if types else ("pdq", *sorted({v.signal_type for v in views}))
    if "pdq" in chosen and result.pdq is None and result.pdq_error is not None:
        raise result.pdq_error  # never "no match" for a picture that was never compared
    return {
        st: _by_bank([v for v in views if v.signal_type == st], banks)
        for st in dict.fromkeys(chosen)
    }


def _by_bank(views: list[MatchView], banks: set[str] | None) -> dict[str, list[MatchWithDistance]]:
    out: dict[str, list[MatchWithDistance]] = {}
    for v in views:
        if banks is None or v.bank in banks:
            out.setdefault(v.bank, []).append(
                MatchWithDistance(
                    bank_content_id=v.entry_id, distance=str(v.distance), **_keepdown_kind(v)
                )
            )
    return out


def _keepdown_kind(v: MatchView) -> dict[str, Any]:
    """keepdown's own fields of a match, only where HMA's answer would hide something."""
    out: dict[str, Any] = {}
    if v.match_type == ROBUST:
        out.update(keepdown_match_type=ROBUST, keepdown_variant=v.variant)
    if v.review_only:
        out["keepdown_review_only"] = True
    return out


async def _lookup(request: Request, signal_type: str, signal: str) -> list[MatchView]:
    if signal_type not in _SIGNALS:
        raise InvalidInput(f"No such SignalType '{signal_type}'")
    value = parse_hash(SignalType(signal_type), signal)
    return (await lookup(request, [value]))[0]


def _banks(banks: str | None) -> set[str] | None:
    return {b for b in banks.split(",") if b} if banks else None


@router.get(
    "/h/hash",
    response_model=HashMap,
    summary="Hash the media at a URL (HMA compatible)",
    responses=error_responses(400, 401, 403, 413, 422, 429, 502),
    dependencies=[_MATCHERS],
)
async def hash_url(
    request: Request,
    url: str = Query(min_length=1, max_length=8192),
    content_type: str | None = Query(None, max_length=32),
    types: str | None = Query(None, max_length=200),
) -> HashMap:
    chosen = _types(types)
    return HashMap(_hash_map(await _hash_url(request, url), chosen))


@router.post(
    "/h/hash",
    response_model=HashMap,
    summary="Hash an uploaded file (HMA compatible)",
    responses=error_responses(400, 401, 403, 413, 422, 429),
    openapi_extra=_PHOTO_FORM,
    dependencies=[_MATCHERS],
)
async def hash_post(request: Request, types: str | None = Query(None, max_length=200)) -> HashMap:
    chosen = _types(types)
    return HashMap(_hash_map(await _hash_form(request), chosen))


@router.get(
    "/m/raw_lookup",
    response_model=RawLookupOut,
    summary="Raw hash lookup (HMA compatible)",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[_MATCHERS],
)
async def raw_lookup(
    request: Request,
    signal: str = Query(min_length=1, max_length=128),
    signal_type: str = Query(min_length=1, max_length=32),
    include_distance: bool = Query(False),
    banks: str | None = Query(None, max_length=2000),
) -> Response:
    views = await _lookup(request, signal_type, signal)
    matches = [m for ms in _by_bank(views, _banks(banks)).values() for m in ms]
    if include_distance:
        return json_response({"matches": [m.model_dump() for m in matches]})
    return json_response({"matches": [m.bank_content_id for m in matches]})


@router.get(
    "/m/lookup",
    response_model=BankMatches | SignalBankMatches,
    summary="Look up a hash, or the media at a URL (HMA compatible)",
    responses=error_responses(400, 401, 403, 413, 422, 429, 502),
    dependencies=[_MATCHERS],
)
async def lookup_get(
    request: Request,
    url: str | None = Query(None, max_length=8192),
    signal: str | None = Query(None, max_length=128),
    signal_type: str | None = Query(None, max_length=32),
    types: str | None = Query(None, max_length=200),
    banks: str | None = Query(None, max_length=2000),
    content_type: str | None = Query(None, max_length=32),
    seed: str | None = Query(None, max_length=200),
    bypass_coinflip: bool = Query(False),
) -> BankMatches | SignalBankMatches:
    wanted = _banks(banks)
    if url:  # the media's matches through the one match chain, as /api/v1/match/url
        result, views, _hold = await fetch_and_match(request, url)
        by_type = _by_signal(result, views, types, wanted)
        if signal_type is not None:
            return BankMatches(by_type.get(signal_type, {}))
        return SignalBankMatches(by_type)
    if not signal or not signal_type:
        raise InvalidInput("Either url or both signal and signal_type are required")
    return BankMatches(_by_bank(await _lookup(request, signal_type, signal), wanted))


@router.post(
    "/m/lookup",
    response_model=SignalBankMatches,
    summary="Look up an uploaded file (HMA compatible)",
    responses=error_responses(400, 401, 403, 413, 422, 429),
    openapi_extra=_PHOTO_FORM,
    dependencies=[_MATCHERS],
)
async def lookup_post(
    request: Request,
    banks: str | None = Query(None, max_length=2000),
    types: str | None = Query(None, max_length=200),
    bypass_coinflip: bool = Query(False),
) -> SignalBankMatches:
    result, views, _hold = await match_content(request, await _form_file(request))
    return SignalBankMatches(_by_signal(result, views, types, _banks(banks)))


@router.post(
    "/m/compare",
    response_model=CompareOut,
    summary="Compare pairs of hashes (HMA compatible)",
    responses=error_responses(400, 401, 403, 413, 429, 503),
    dependencies=[_MATCHERS],
)
async def compare(request: Request, body: CompareIn = Body(...)) -> CompareOut:
    threshold = int(get_context(request).settings.pdq_match_threshold)
    results: dict[str, list[Any]] = {}
    for signal_type, pair in body.root.items():
        if signal_type not in _SIGNALS:
            raise InvalidInput(f"No such SignalType '{signal_type}'")
        if len(pair) != 2:
            raise InvalidInput("Comparison hash list length must be exactly 2")
        left, right = (parse_hash(SignalType(signal_type), text) for text in pair)
        distance = left - right
        if signal_type == "pdq":
            results[signal_type] = [distance <= threshold, {"distance": distance}]
        else:
            results[signal_type] = [distance == 0, {}]
    return CompareOut(results)


@router.get(
    "/m/index/status",
    response_model=IndexStatusOut,
    summary="Status of the match index per signal type (HMA compatible)",
    responses=error_responses(400, 401, 403, 429, 503),
    dependencies=[_MATCHERS],
)
async def index_status(
    request: Request, signal_type: str | None = Query(None, max_length=32)
) -> IndexStatusOut:
    matcher = get_context(request).matcher
    status = matcher.status()
    chosen = _SIGNALS if signal_type is None else (signal_type,)
    if signal_type is not None and signal_type not in _SIGNALS:
        raise InvalidInput(f"No such signal type '{signal_type}'")
    refreshed = status.get("refreshed_at")
    built_to = int(datetime.fromisoformat(refreshed).timestamp()) if refreshed else -1
    entries = status.get("entries", {})
    return IndexStatusOut(
        {
            name: IndexStatus(
                present=matcher.ready, built_to=built_to, size=int(entries.get(name, 0))
            )
            for name in chosen
        }
    )
