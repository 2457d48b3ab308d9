"""Banks and their entries: create, list, show, change, share, list entries, remove an entry.

Admins manage banks; analysts read them. Platforms, providers and regulators never see a
bank's contents (every endpoint here refuses them). Organisations are kept apart as
:mod:`keepdown.auth.scope` says: a bank is read by its owner, the operator organisation and the
organisations it is shared with, and changed by its owner's and the operator's admins; a bank
a key may not see answers 404. Every change, entry listing and export is audited (write-ahead,
see :func:`keepdown.api.deps.audited`). Imports and exports of whole bank files are in
:mod:`keepdown.api.bank_files`.

Listings page by keyset: banks by name (``after`` = the last name seen), entries by id
(``after`` = the last id seen), so each page is one index range read however large the bank.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import ApiContext, get_context
from keepdown.api.deps import ROW_ID_MAX, audited, principal_of, requires, scope_of
from keepdown.api.errors import error_responses
from keepdown.auth import Role, Scope
from keepdown.banks.model import Bank, Entry

__all__ = ["BankOut", "bank_out", "changeable_bank", "readable_bank", "router"]

router = APIRouter(prefix="/api/v1/banks", tags=["banks"])

_READERS = (Role.ADMIN, Role.ANALYST)
Signal = Literal["pdq", "md5", "sha1", "sha256"]
_NAME = r"^[A-Za-z0-9._-]+$"


class BankIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=_NAME)
    owner: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Owning organisation (operator admins only); default: the caller's",
    )
    source: str = Field(default="", max_length=500)
    terms: str = Field(default="", max_length=10_000)
    label: str | None = Field(default=None, max_length=200, description="Source's label")
    trust: Literal["review", "auto"] = Field(
        default="review", description="auto (an exact match acts without review): operator only"
    )
    thresholds: dict[Signal, int] = Field(
        default_factory=dict,
        description="Per-signal distances (operator only; PDQ at most bank_max_pdq_distance)",
    )


class BankPatch(BaseModel):
    """Settings to change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    trust: Literal["review", "auto"] | None = Field(
        default=None, description="auto (an exact match acts without review): operator only"
    )
    thresholds: dict[Signal, int] | None = Field(
        default=None,
        description="Replaces the bank's per-signal thresholds (operator only; PDQ at most "
        "bank_max_pdq_distance)",
    )
    accepted: bool | None = Field(
        default=None,
        description="Operator admins: true accepts the bank into pooled matching (its trust "
        "becomes review unless trust is given too), false withdraws it",
    )
    label: str | None = Field(
        default=None, min_length=1, max_length=200, description="The source's label (mapped)"
    )
    robust: bool | None = Field(
        default=None,
        description=(
            "Opt in to near (robust) matches: entries found only through a robust query "
            "variant (trimmed, un-cropped, turned back), always sent to review"
        ),
    )


class BankOut(BaseModel):
    name: str
    owner: str
    source: str
    terms: str
    label: str | None
    classification: str | None
    trust: str
    thresholds: dict[str, int]
    enabled: bool
    robust: bool = Field(description="Opted in to near (robust) matches (review only)")
    pooled: bool = Field(
        description="Takes part in pooled matching: the operator's own, or accepted by it"
    )
    accepted_by: str | None = None
    accepted_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    active_entries: int
    removed_entries: int


class BankList(BaseModel):
    banks: list[BankOut]
    total: int = Field(description="Banks this key may read, on every page")
    next_after: str | None = Field(description="Pass as ?after= for the next page; null at end")


class EntryOut(BaseModel):
    id: int
    signal_type: str
    value: str
    source_label: str | None
    classification: str | None
    source_id: str | None
    added_at: datetime
    removed_at: datetime | None
    removal_reason: str | None


class EntryPage(BaseModel):
    entries: list[EntryOut]
    next_after: int | None = Field(description="Pass as ?after= for the next page; null at end")


class TombstoneOut(BaseModel):
    entry_id: int
    bank: str
    signal_type: str
    value: str
    removed_at: datetime
    reason: str


class SharesOut(BaseModel):
    bank: str
    shared_with: list[str]


def bank_out(ctx: ApiContext, bank: Bank) -> BankOut:
    """A bank with its entry counts (one grouped count query)."""
    counts = ctx.bank_reader.entry_counts(bank.id)
    return BankOut(
        name=bank.name,
        owner=bank.owner,
        source=bank.source,
        terms=bank.source_terms,
        label=bank.default_label,
        classification=bank.classification.category.value if bank.classification else None,
        trust=bank.trust.value,
        thresholds=dict(bank.thresholds),
        enabled=bank.enabled,
        robust=bank.robust,
        pooled=bank.pooled(str(ctx.settings.operator_organisation)),
        accepted_by=bank.accepted_by,
        accepted_at=bank.accepted_at,
        created_at=bank.created_at,
        updated_at=bank.updated_at,
        active_entries=sum(c["active"] for c in counts.values()),
        removed_entries=sum(c["removed"] for c in counts.values()),
    )


def _entry_out(entry: Entry) -> EntryOut:
    return EntryOut(
        id=entry.id,
        signal_type=str(entry.signal_type),
        value=entry.value,
        source_label=entry.source_label,
        classification=entry.classification.category.value if entry.classification else None,
        source_id=entry.source_id,
        added_at=entry.added_at,
        removed_at=entry.removed_at,
        removal_reason=entry.removal_reason,
    )


def _shared(ctx: ApiContext, scope: Scope, bank: Bank) -> frozenset[str]:
    if scope.own(bank.owner):
        return frozenset()
    return ctx.auth.banks_shared_with(scope.organisation)


async def readable_bank(request: Request, name: str) -> Bank:
    """The bank ``name`` if this key may read it; NotFound otherwise."""
    ctx, scope = get_context(request), scope_of(request)

    def load() -> Bank:
        bank = ctx.bank_reader.get_bank(name)
        scope.check_bank_read(bank.owner, name, _shared(ctx, scope, bank))
        return bank

    return await run_in_threadpool(load)


async def changeable_bank(request: Request, name: str) -> Bank:
    """The bank ``name`` if this key may change it (NotFound / Forbidden otherwise)."""
    ctx, scope = get_context(request), scope_of(request)

    def load() -> Bank:
        bank = ctx.bank_reader.get_bank(name)
        scope.check_bank_change(bank.owner, name, _shared(ctx, scope, bank))
        return bank

    return await run_in_threadpool(load)


@router.post(
    "",
    response_model=BankOut,
    status_code=201,
    summary="Create a bank (owned by the caller's organisation unless the operator says)",
    responses=error_responses(400, 401, 403, 404, 409, 413, 429, 503),
    dependencies=[requires(Role.ADMIN)],
)
async def create_bank(request: Request, body: BankIn) -> BankOut:
    ctx, scope = get_context(request), scope_of(request)
    owner = body.owner or scope.organisation
    scope.require_own(owner, "create a bank")

    def create() -> BankOut:
        ctx.auth.store.get_organisation(owner)  # NotFound: banks are for known organisations
        bank = ctx.banks.create_bank(
            body.name,
            owner=owner,
            source=body.source,
            terms=body.terms,
            label=body.label,
            trust=body.trust,
            thresholds={str(k): v for k, v in body.thresholds.items()},
            by_operator=scope.is_operator,
        )
        return bank_out(ctx, bank)

    async with audited(request, "bank.create", target=body.name, owner=owner):
        return await run_in_threadpool(create)


@router.get(
    "",
    response_model=BankList,
    summary="List the banks this key may read, by name",
    responses=error_responses(400, 401, 403, 429, 503),
    dependencies=[requires(*_READERS)],
)
async def list_banks(
    request: Request,
    after: str | None = Query(None, max_length=200, description="Banks named after this"),
    limit: int = Query(100, ge=1, le=1000),
) -> BankList:
    ctx, scope = get_context(request), scope_of(request)

    def page() -> BankList:
        banks = sorted(ctx.bank_reader.list_banks(), key=lambda b: b.name)
        if not scope.is_operator:
            shared = ctx.auth.banks_shared_with(scope.organisation)
            banks = [b for b in banks if scope.reads_bank(b.owner, b.name, shared)]
        rest = [b for b in banks if after is None or b.name > after][: limit + 1]
        more = len(rest) > limit
        chosen = rest[:limit]
        return BankList(
            banks=[bank_out(ctx, b) for b in chosen],
            total=len(banks),
            next_after=chosen[-1].name if more else None,
        )

    return await run_in_threadpool(page)


@router.get(
    "/{name}",
    response_model=BankOut,
    summary="Show one bank",
    responses=error_responses(400, 401, 403, 404, 429, 503),
    dependencies=[requires(*_READERS)],
)
async def show_bank(request: Request, name: str) -> BankOut:
    bank = await readable_bank(request, name)
    return await run_in_threadpool(bank_out, get_context(request), bank)


@router.patch(
    "/{name}",
    response_model=BankOut,
    summary="Change a bank's settings: enabled, trust, thresholds, label, robust, acceptance",
    responses=error_responses(400, 401, 403, 404, 413, 429, 503),
    dependencies=[requires(Role.ADMIN)],
)
async def update_bank(request: Request, name: str, body: BankPatch) -> BankOut:
    """The match index picks the change up on its next refresh (``index_refresh_seconds``)."""
    ctx, scope = get_context(request), scope_of(request)
    await changeable_bank(request, name)
    who = principal_of(request)

    def update() -> BankOut:
        bank = ctx.banks.change(
            name,
            enabled=body.enabled,
            trust=body.trust,
            thresholds=(
                {str(k): v for k, v in body.thresholds.items()}
                if body.thresholds is not None
                else None
            ),
            label=body.label,
            robust=body.robust,
            accepted=body.accepted,
            by=who.key_id,
            by_operator=scope.is_operator,
        )
        return bank_out(ctx, bank)

    async with audited(request, "bank.update", target=name, **body.model_dump(exclude_none=True)):
        return await run_in_threadpool(update)


@router.get(
    "/{name}/shares",
    response_model=SharesOut,
    summary="The organisations a bank is shared with (read-only for them)",
    responses=error_responses(400, 401, 403, 404, 429, 503),
    dependencies=[requires(Role.ADMIN)],
)
async def list_shares(request: Request, name: str) -> SharesOut:
    await changeable_bank(request, name)
    shares = await run_in_threadpool(get_context(request).auth.bank_shares, name)
    return SharesOut(bank=name, shared_with=shares)


@router.put(
    "/{name}/shares/{organisation}",
    response_model=SharesOut,
    summary="Share a bank with another organisation (its analysts and admins may read it)",
    responses=error_responses(400, 401, 403, 404, 429, 503),
    dependencies=[requires(Role.ADMIN)],
)
async def share_bank(request: Request, name: str, organisation: str) -> SharesOut:
    auth = get_context(request).auth
    await changeable_bank(request, name)
    async with audited(request, "bank.share", target=name, organisation=organisation):
        await run_in_threadpool(auth.share_bank, name, organisation)
    return SharesOut(bank=name, shared_with=await run_in_threadpool(auth.bank_shares, name))


@router.delete(
    "/{name}/shares/{organisation}",
    response_model=SharesOut,
    summary="Stop sharing a bank with an organisation",
    responses=error_responses(400, 401, 403, 404, 429, 503),
    dependencies=[requires(Role.ADMIN)],
)
async def unshare_bank(request: Request, name: str, organisation: str) -> SharesOut:
    auth = get_context(request).auth
    await changeable_bank(request, name)
    async with audited(request, "bank.unshare", target=name, organisation=organisation):
        await run_in_threadpool(auth.unshare_bank, name, organisation)
    return SharesOut(bank=name, shared_with=await run_in_threadpool(auth.bank_shares, name))


@router.get(
    "/{name}/entries",
    response_model=EntryPage,
    summary="List a bank's entries (keyset pagination by entry id)",
    responses=error_responses(400, 401, 403, 404, 429, 503),
    dependencies=[requires(*_READERS)],
)
async def list_entries(
    request: Request,
    name: str,
    after: int = Query(0, ge=0, le=ROW_ID_MAX, description="Entries with an id above this"),
    limit: int = Query(100, ge=1, le=1000),
    include_removed: bool = Query(True, description="Include tombstones"),
) -> EntryPage:
    ctx = get_context(request)
    bank = await readable_bank(request, name)
    async with audited(request, "bank.entries.read", target=name, after=after) as found:
        rows = await run_in_threadpool(
            lambda: ctx.bank_reader.page_entries(
                bank.id, after=after, limit=limit + 1, include_removed=include_removed
            )
        )
        page = rows[:limit]
        found["count"] = len(page)
    return EntryPage(
        entries=[_entry_out(e) for e in page],
        next_after=page[-1].id if len(rows) > limit else None,
    )


@router.delete(
    "/{name}/entries/{signal_type}/{value}",
    response_model=TombstoneOut,
    summary="Remove an entry (it stays as a tombstone so peers learn of it)",
    responses=error_responses(400, 401, 403, 404, 409, 429, 503),
    dependencies=[requires(Role.ADMIN)],
)
async def remove_entry(
    request: Request,
    name: str,
    signal_type: Signal,
    value: str,
    reason: Literal["false-positive", "source-withdrew", "other"] = Query("other"),
) -> TombstoneOut:
    ctx = get_context(request)
    await changeable_bank(request, name)
    target = f"{name}/{signal_type}/{value[:128]}"
    async with audited(request, "bank.entry.remove", target=target, reason=reason):
        tomb = await run_in_threadpool(ctx.banks.remove_entry, name, signal_type, value, reason)
    return TombstoneOut(
        entry_id=tomb.entry_id,
        bank=tomb.bank,
        signal_type=str(tomb.signal_type),
        value=tomb.value,
        removed_at=tomb.removed_at,
        reason=str(tomb.reason),
    )
