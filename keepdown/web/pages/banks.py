"""Banks: their entries, tombstones, imports, and (for admins) import, export and removal.

Staff read banks and entries (hash values included: analysts work with them). Only admins
import a file, export a bank or remove an entry (leaving a tombstone); each is audited
write-ahead. An uploaded file is written to a private temporary file for the import (a hash
list, never media) and deleted at once; an export is streamed from memory.

Scoped as the API is (:mod:`keepdown.web.actions`): the operator organisation reads and
changes every bank; another organisation reads the banks it owns and those shared with it,
and its admins change only the banks it owns. A bank a person may not read answers 404.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from keepdown.auth import Role
from keepdown.auth.signin import SignedIn
from keepdown.banks.formats import EXPORT_FORMATS, FORMATS
from keepdown.banks.model import ImportResult, RemovalReason
from keepdown.banks.service import BankDetails
from keepdown.errors import InputTooLarge, InvalidInput
from keepdown.web.actions import audited, bank_reader, scope_of, visible_bank
from keepdown.web.context import web_context
from keepdown.web.nav import STAFF
from keepdown.web.paging import RowAfter
from keepdown.web.render import render
from keepdown.web.security import page

__all__ = ["router"]

router = APIRouter()

_STAFF = page(*STAFF)
_ADMIN = page(Role.ADMIN)
ENTRIES_PER_PAGE = 100


@router.get("/banks")
def banks(request: Request, viewer: SignedIn = _STAFF) -> Response:
    ctx = web_context(request)
    reads = bank_reader(request, scope_of(request, viewer))
    listed: list[BankDetails] = [d for d in ctx.banks.list_banks() if reads(d.bank)]
    return render(request, "banks.html", banks=listed)


def _bank_page(
    request: Request,
    viewer: SignedIn,
    name: str,
    after: int,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    ctx = web_context(request)
    visible_bank(request, scope_of(request, viewer), name)
    details = ctx.banks.show_bank(name, imports=10)
    entries = ctx.bank_store.page_entries(
        details.bank.id, after=max(0, after), limit=ENTRIES_PER_PAGE + 1
    )
    more = len(entries) > ENTRIES_PER_PAGE
    entries = entries[:ENTRIES_PER_PAGE]
    return render(
        request,
        "bank.html",
        status_code=status_code,
        details=details,
        entries=entries,
        next_after=entries[-1].id if more and entries else None,
        after=after,
        formats=FORMATS,
        export_formats=EXPORT_FORMATS,
        reasons=[r.value for r in RemovalReason],
        error=error,
    )


@router.get("/banks/{name}")
def bank(request: Request, name: str, after: RowAfter = 0, viewer: SignedIn = _STAFF) -> Response:
    return _bank_page(request, viewer, name, after)


@router.get("/banks/{name}/export")
def export(
    request: Request, name: str, format: str = "jsonl", viewer: SignedIn = _ADMIN
) -> Response:
    ctx = web_context(request)
    if format not in EXPORT_FORMATS:
        raise InvalidInput("unknown export format", field="format")
    stream = io.StringIO()
    with audited(request, viewer, "bank.export", name, format=format) as found:
        visible_bank(request, scope_of(request, viewer), name, change=True)
        found["entries"] = ctx.banks.export(name, stream, format)
    suffix = {"jsonl": "jsonl", "csv": "csv", "hma": "te"}.get(format, "txt")
    return Response(
        stream.getvalue(),
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.{suffix}"'},
    )


@router.post("/banks/{name}/import")
def import_file(
    request: Request,
    name: str,
    file: UploadFile = File(...),
    format: str = Form(""),
    viewer: SignedIn = _ADMIN,
) -> Response:
    visible_bank(request, scope_of(request, viewer), name, change=True)
    if format and format not in FORMATS:
        return _bank_page(request, viewer, name, 0, error="unknown format", status_code=400)
    safe_name = Path(file.filename or "upload").name[:100] or "upload"
    try:
        with audited(request, viewer, "bank.import", name, file=safe_name) as found:
            result = _import(request, name, file, safe_name, format)
            found.update(added=result.added, already_present=result.already_present)
    except InvalidInput as exc:
        return _bank_page(request, viewer, name, 0, error=exc.message, status_code=400)
    return RedirectResponse(f"/web/banks/{name}?done=imported", status_code=303)


def _import(
    request: Request, name: str, file: UploadFile, safe_name: str, format: str
) -> ImportResult:
    """Copy the upload to a private temporary file (within ``max_upload_bytes``), import it."""
    ctx = web_context(request)
    limit = ctx.settings.max_upload_bytes
    with ctx.banks.staged() as folder:  # private, swept after a kill -9
        path = folder / safe_name
        copied = 0
        with path.open("wb") as out:
            while chunk := file.file.read(1024 * 1024):
                copied += len(chunk)
                if copied > limit:
                    raise InputTooLarge(f"the file is over {limit} bytes", limit=limit)
                out.write(chunk)
        os.chmod(path, 0o600)
        return ctx.banks.import_file(name, path, fmt=format or None)


@router.post("/banks/{name}/entries/remove")
def remove_entry(
    request: Request,
    name: str,
    signal_type: str = Form(..., max_length=16),
    value: str = Form(..., max_length=200),
    reason: str = Form("other", max_length=32),
    viewer: SignedIn = _ADMIN,
) -> Response:
    ctx = web_context(request)
    details = {"signal_type": signal_type, "reason": reason}
    try:
        with audited(request, viewer, "bank.remove_entry", name, **details):
            visible_bank(request, scope_of(request, viewer), name, change=True)
            ctx.banks.remove_entry(name, signal_type, value.strip(), reason)
    except InvalidInput as exc:
        return _bank_page(request, viewer, name, 0, error=exc.message, status_code=400)
    return RedirectResponse(f"/web/banks/{name}?done=removed", status_code=303)
