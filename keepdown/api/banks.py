"""Banks and their entries: create, list, show, list entries, import, export, remove.

Admins manage banks; analysts may read them. Platforms, providers and regulators never see a
bank's contents (every endpoint here refuses them). Each change and each export is recorded in
the audit log.
"""

from __future__ import annotations

import io
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from keepdown.api.context import get_context
from keepdown.api.deps import audit, requires
from keepdown.api.errors import error_responses
from keepdown.api.uploads import UPLOAD_BODY, read_upload
from keepdown.auth import Principal, Role
from keepdown.banks.model import Bank, Entry
from keepdown.banks.service import BankDetails

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/banks", tags=["banks"])

_READERS = (Role.ADMIN, Role.ANALYST)
_SUFFIX = {"jsonl": ".jsonl", "csv": ".csv", "plain": ".txt", "pytx": ".txt", "hma": ".te"}
_MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
Format = Literal["jsonl", "csv", "plain", "pytx", "hma"]


class BankIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    source: str = Field(default="", max_length=500)
    terms: str = Field(default="", max_length=10_000)
    label: str | None = Field(default=None, max_length=200, description="Source's label")
    trust: Literal["review", "auto"] = "review"
    thresholds: dict[Literal["pdq", "md5", "sha1", "sha256"], int] = Field(default_factory=dict)


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
    created_at: datetime
    active_entries: int
    removed_entries: int


class BankList(BaseModel):
    banks: list[BankOut]


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


class ImportOut(BaseModel):
    import_id: int
    lines: int
    added: int
    already_present: int
    invalid: int
    restored: int
    kept_removed: int
    removed: int
    errors: list[str]


class TombstoneOut(BaseModel):
    entry_id: int
    bank: str
    signal_type: str
    value: str
    removed_at: datetime
    reason: str


def _bank_out(details: BankDetails) -> BankOut:
    bank: Bank = details.bank
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
        created_at=bank.created_at,
        active_entries=details.active,
        removed_entries=details.removed,
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


@router.post(
    "",
    response_model=BankOut,
    status_code=201,
    summary="Create a bank (owned by the caller's organisation)",
    responses=error_responses(400, 401, 403, 409, 429),
)
async def create_bank(
    request: Request, body: BankIn, who: Principal = requires(Role.ADMIN)
) -> BankOut:
    ctx = get_context(request)
    await run_in_threadpool(
        ctx.banks.create_bank,
        body.name,
        owner=who.organisation,
        source=body.source,
        terms=body.terms,
        label=body.label,
        trust=body.trust,
        thresholds=dict(body.thresholds),
    )
    audit(request, "bank.create", target=body.name)
    return _bank_out(await run_in_threadpool(ctx.banks.show_bank, body.name, imports=0))


@router.get(
    "",
    response_model=BankList,
    summary="List banks",
    responses=error_responses(400, 401, 403, 429),
    dependencies=[requires(*_READERS)],
)
async def list_banks(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> BankList:
    details = await run_in_threadpool(get_context(request).banks.list_banks)
    return BankList(banks=[_bank_out(d) for d in details[offset : offset + limit]])


@router.get(
    "/{name}",
    response_model=BankOut,
    summary="Show one bank",
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[requires(*_READERS)],
)
async def show_bank(request: Request, name: str) -> BankOut:
    ctx = get_context(request)
    return _bank_out(await run_in_threadpool(ctx.banks.show_bank, name, imports=0))


def _entry_page(ctx_banks: object, name: str, after: int, limit: int, removed: bool) -> EntryPage:
    store = ctx_banks.store  # type: ignore[attr-defined]
    bank = store.get_bank(name)
    page: list[Entry] = []
    for entry in store.iter_entries(bank.id, include_removed=removed):
        if entry.id > after:
            page.append(entry)
            if len(page) > limit:
                break
    more = len(page) > limit
    page = page[:limit]
    return EntryPage(
        entries=[_entry_out(e) for e in page], next_after=page[-1].id if more else None
    )


@router.get(
    "/{name}/entries",
    response_model=EntryPage,
    summary="List a bank's entries (keyset pagination by entry id)",
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[requires(*_READERS)],
)
async def list_entries(
    request: Request,
    name: str,
    after: int = Query(0, ge=0, description="Entries with an id above this"),
    limit: int = Query(100, ge=1, le=1000),
    include_removed: bool = Query(True, description="Include tombstones"),
) -> EntryPage:
    ctx = get_context(request)
    page = await run_in_threadpool(_entry_page, ctx.banks, name, after, limit, include_removed)
    audit(request, "bank.entries.read", target=name, after=after, count=len(page.entries))
    return page


@router.post(
    "/{name}/import",
    response_model=ImportOut,
    summary="Import a bank file (upload; all lines land or none)",
    responses=error_responses(400, 401, 403, 404, 413, 429),
    openapi_extra=UPLOAD_BODY,
    dependencies=[requires(Role.ADMIN)],
)
async def import_entries(
    request: Request,
    name: str,
    format: Format | None = Query(None, description="File format; detected when omitted"),
    signal_type: Literal["pdq", "md5", "sha1", "sha256"] | None = Query(None),
    skip_invalid: bool = Query(False),
    restore: bool = Query(False, description="Re-add hashes that were removed before"),
) -> ImportOut:
    ctx = get_context(request)
    data, _ = await read_upload(request, int(ctx.settings.max_upload_bytes))
    result = await run_in_threadpool(
        _import_bytes, ctx.banks, name, data, format, signal_type, skip_invalid, restore
    )
    audit(request, "bank.import", target=name, added=result.added, lines=result.lines)
    return result


def _import_bytes(
    banks: object,
    name: str,
    data: bytes,
    fmt: str | None,
    signal_type: str | None,
    skip_invalid: bool,
    restore: bool,
) -> ImportOut:
    # Hash lists (never media) go through a temporary file: the import flow reads paths, and
    # detection peeks at the file. It is deleted on leaving this block.
    with tempfile.TemporaryDirectory(prefix="keepdown-import-") as folder:
        path = Path(folder) / f"upload{_SUFFIX.get(fmt or '', '.txt')}"
        path.write_bytes(data)
        result = banks.import_file(  # type: ignore[attr-defined]
            name,
            path,
            fmt=fmt,
            signal_type=signal_type,
            skip_invalid=skip_invalid,
            restore=restore,
        )
    return ImportOut(
        import_id=result.import_id,
        lines=result.lines,
        added=result.added,
        already_present=result.already_present,
        invalid=result.invalid,
        restored=result.restored,
        kept_removed=result.kept_removed,
        removed=result.removed,
        errors=list(result.errors),
    )


@router.get(
    "/{name}/export",
    summary="Export a bank (tombstones included by default)",
    responses={
        200: {
            "content": {
                media: {"schema": {"type": "string"}}
                for media in ("application/x-ndjson", "text/csv", "text/plain")
            },
            "description": "The bank file",
        },
        **error_responses(400, 401, 403, 404, 429),
    },
    response_class=Response,
    dependencies=[requires(*_READERS)],
)
async def export_bank(
    request: Request,
    name: str,
    format: Format = Query("jsonl"),
    include_removed: bool = Query(True),
) -> Response:
    ctx = get_context(request)
    stream = io.StringIO()
    written = await run_in_threadpool(
        ctx.banks.export, name, stream, format, include_removed=include_removed
    )
    audit(request, "bank.export", target=name, format=format, entries=written)
    return Response(
        stream.getvalue(),
        media_type=_MEDIA.get(format, "text/plain"),
        headers={"Content-Disposition": f'attachment; filename="{name}{_SUFFIX[format]}"'},
    )


@router.delete(
    "/{name}/entries/{signal_type}/{value}",
    response_model=TombstoneOut,
    summary="Remove an entry (it stays as a tombstone so peers learn of it)",
    responses=error_responses(400, 401, 403, 404, 429),
    dependencies=[requires(Role.ADMIN)],
)
async def remove_entry(
    request: Request,
    name: str,
    signal_type: Literal["pdq", "md5", "sha1", "sha256"],
    value: str,
    reason: Literal["false-positive", "source-withdrew", "other"] = Query("other"),
) -> TombstoneOut:
    ctx = get_context(request)
    tomb = await run_in_threadpool(ctx.banks.remove_entry, name, signal_type, value, reason)
    audit(request, "bank.entry.remove", target=f"{name}/{signal_type}/{tomb.value}", reason=reason)
    return TombstoneOut(
        entry_id=tomb.entry_id,
        bank=tomb.bank,
        signal_type=str(tomb.signal_type),
        value=tomb.value,
        removed_at=tomb.removed_at,
        reason=str(tomb.reason),
    )
