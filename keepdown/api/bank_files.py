"""Whole bank files in and out: import (streamed to a temporary file) and export (streamed).

Hash lists are not media, and they can be large (millions of lines), so neither direction holds
a file in memory:

* **Import**, step by step: 1. the key must be allowed to change the bank; 2. the audit record
  is written (``started``); 3. the raw request body is streamed to a temporary file, refused
  with 413 past ``bank_import_max_bytes`` (2 GiB by default; the body-limit middleware lets
  this one route past ``max_upload_bytes``); 4. the file is imported in one transaction (all
  lines or none) in a worker thread; 5. the temporary file is deleted and the record settled.
* **Export**: a worker thread writes the bank through :meth:`BankService.export` into a small
  bounded queue that the response drains chunk by chunk, so a slow client slows the export
  instead of filling memory. The audit record is written before the first byte and settled
  (with the number of entries written) after the last.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TextIO, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from keepdown.api.banks import changeable_bank, readable_bank
from keepdown.api.context import ApiContext, get_context
from keepdown.api.deps import audited, client_ip, requires
from keepdown.api.errors import content_responses, error_responses
from keepdown.api.uploads import too_large
from keepdown.auth import AuditRecord, Role
from keepdown.errors import InvalidInput

__all__ = ["IMPORT_PATH", "router"]

router = APIRouter(prefix="/api/v1/banks", tags=["banks"])

#: The one route whose body may exceed ``max_upload_bytes`` (up to ``bank_import_max_bytes``).
IMPORT_PATH = r"^/api/v1/banks/[^/]+/import$"

_SUFFIX = {"jsonl": ".jsonl", "csv": ".csv", "plain": ".txt", "pytx": ".txt", "hma": ".te"}
_MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
_CHUNK = 64 * 1024
_SPOOL = 1 << 20
Format = Literal["jsonl", "csv", "plain", "pytx", "hma"]
ImportFormat = Literal["jsonl", "csv", "plain", "pytx", "hma", "hashes"]

_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The bank file as the raw body (not multipart)",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("text/plain", "text/csv", "application/x-ndjson", "application/json")
        },
    }
}


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


async def _spool(request: Request, path: Path, limit: int) -> int:
    """Write the request body to ``path``; InputTooLarge past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large(limit, int(declared), "bank_import_max_bytes")
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        raise InvalidInput("send the bank file as the raw request body, not multipart")
    total = 0
    buffer = bytearray()
    with path.open("wb") as out:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise too_large(limit, setting="bank_import_max_bytes")
            buffer += chunk
            if len(buffer) >= _SPOOL:
                await run_in_threadpool(out.write, bytes(buffer))
                buffer.clear()
        if buffer:
            await run_in_threadpool(out.write, bytes(buffer))
    return total


@router.post(
    "/{name}/import",
    response_model=ImportOut,
    summary="Import a bank file (raw body, streamed; all lines land or none)",
    responses=error_responses(400, 401, 403, 404, 413, 429, 503),
    openapi_extra=_IMPORT_BODY,
    dependencies=[requires(Role.ADMIN)],
)
async def import_entries(
    request: Request,
    name: str,
    format: ImportFormat | None = Query(None, description="File format; detected when omitted"),
    signal_type: Literal["pdq", "md5", "sha1", "sha256"] | None = Query(None),
    skip_invalid: bool = Query(False),
    restore: bool = Query(False, description="Re-add hashes that were removed before"),
) -> ImportOut:
    ctx = get_context(request)
    await changeable_bank(request, name)
    limit = ctx.settings.bank_import_max_bytes
    async with audited(request, "bank.import", target=name) as found:
        with ctx.banks.staged() as folder:  # private, swept after a kill -9 (item 13)
            path = folder / f"upload{_SUFFIX.get(format or '', '.txt')}"
            found["bytes"] = await _spool(request, path, limit)
            if not found["bytes"]:
                raise InvalidInput("the request body is empty: send the bank file")
            result = await run_in_threadpool(
                lambda: ctx.banks.import_file(
                    name,
                    path,
                    fmt=format,
                    signal_type=signal_type,
                    skip_invalid=skip_invalid,
                    restore=restore,
                )
            )
        found.update(added=result.added, lines=result.lines)
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


class _Cancelled(Exception):
    """The client went away: stop writing the export."""


class _QueueWriter:
    """A text stream (``write`` is all the formats use) that hands ~64 KiB byte chunks to a
    bounded queue."""

    def __init__(self, chunks: queue.Queue[Any], cancelled: threading.Event) -> None:
        self.chunks = chunks
        self.cancelled = cancelled
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= _CHUNK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.parts:
            self._put(("data", "".join(self.parts).encode("utf-8")))
            self.parts, self.size = [], 0

    def _put(self, item: tuple[str, Any]) -> None:
        while True:
            if self.cancelled.is_set():
                raise _Cancelled
            try:
                self.chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


def _export_chunks(
    ctx: ApiContext, name: str, fmt: str, include_removed: bool, record: AuditRecord
) -> Iterator[bytes]:
    """The export's bytes; Starlette iterates this in a worker thread."""
    chunks: queue.Queue[Any] = queue.Queue(maxsize=16)
    cancelled = threading.Event()
    writer = _QueueWriter(chunks, cancelled)

    def produce() -> None:
        try:
            stream = cast(TextIO, writer)
            written = ctx.banks.export(name, stream, fmt, include_removed=include_removed)
            writer.flush()
            writer._put(("done", written))
        except _Cancelled:
            return
        except BaseException as exc:  # handed to the response side, which settles the record
            chunks.put(("error", exc))

    threading.Thread(target=produce, name="keepdown-export", daemon=True).start()
    try:
        while True:
            kind, value = chunks.get()
            if kind == "data":
                yield value
            elif kind == "done":
                ctx.auth.settle_audit(record, entries=value)
                return
            else:
                ctx.auth.settle_audit(record, value)
                return  # the body is cut short; the audit record says why
    except GeneratorExit:
        cancelled.set()
        ctx.auth.settle_audit(record, InvalidInput("the client closed the connection"))
        raise


@router.get(
    "/{name}/export",
    summary="Export a bank (streamed; tombstones included by default)",
    responses={
        **content_responses("The bank file", "application/x-ndjson", "text/csv", "text/plain"),
        **error_responses(400, 401, 403, 404, 429, 503),
    },
    response_class=StreamingResponse,
    dependencies=[requires(Role.ADMIN, Role.ANALYST)],
)
async def export_bank(
    request: Request,
    name: str,
    format: Format = Query("jsonl"),
    include_removed: bool = Query(True),
) -> StreamingResponse:
    ctx = get_context(request)
    await readable_bank(request, name)
    record = await run_in_threadpool(
        lambda: ctx.auth.begin_audit(
            "bank.export",
            principal=getattr(request.state, "principal", None),
            client_ip=client_ip(request),
            target=name,
            format=format,
        )
    )
    return StreamingResponse(
        _export_chunks(ctx, name, format, include_removed, record),
        media_type=_MEDIA.get(format, "text/plain"),
        headers={"Content-Disposition": f'attachment; filename="{name}{_SUFFIX[format]}"'},
    )
