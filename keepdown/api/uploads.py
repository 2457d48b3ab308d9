"""Request bodies read with a byte cap, raw or multipart, never written to disk.

1. A declared ``Content-Length`` over the cap is refused (413) before anything is read.
2. The body is streamed and counted; crossing the cap stops the read (413).
3. A ``multipart/form-data`` body is parsed in memory (the first part with a filename, or
   the first part) — Starlette's form parser would spool large parts to a temporary file, and
   media must never touch disk.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any

from fastapi import Request

from keepdown.errors import InputTooLarge, InvalidInput

__all__ = [
    "UPLOAD_BODY",
    "BodyLimitMiddleware",
    "Part",
    "multipart_parts",
    "read_body",
    "read_upload",
    "too_large",
]

#: OpenAPI requestBody for upload endpoints: raw bytes of any media type, or multipart.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


def too_large(
    limit: int, declared: int | None = None, setting: str = "max_upload_bytes"
) -> InputTooLarge:
    """The 413 error, quoting the configured limit and the setting that holds it."""
    size = f"of {declared:,} bytes " if declared is not None else ""
    return InputTooLarge(
        f"request body {size}is over the {_human(limit)} limit ({limit:,} bytes, {setting})",
        limit=limit,
        setting=setting,
    )


def _human(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} B"


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or InputTooLarge once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large(limit, int(declared))
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_upload(request: Request, limit: int) -> tuple[bytes, str | None]:
    """The uploaded content and its media type, raw or from a multipart body."""
    body = await read_body(request, limit)
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith("multipart/form-data"):
        return _first_part(body, content_type)
    if not body:
        raise InvalidInput("the request body is empty: send the media bytes")
    return body, content_type.split(";")[0].strip() or None


@dataclass(frozen=True)
class Part:
    """One part of a multipart/form-data body."""

    name: str
    filename: str | None
    content_type: str
    data: bytes


def multipart_parts(body: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart/form-data body, parsed in memory."""
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise InvalidInput("the multipart body could not be parsed")
    parts = []
    for item in message.iter_parts():
        payload = item.get_payload(decode=True)
        parts.append(
            Part(
                name=str(item.get_param("name", "", header="content-disposition")),
                filename=item.get_filename(),
                content_type=item.get_content_type(),
                data=payload if isinstance(payload, bytes) else b"",
            )
        )
    if not parts:
        raise InvalidInput("the multipart body has no parts")
    return parts


def _first_part(body: bytes, content_type: str) -> tuple[bytes, str | None]:
    parts = multipart_parts(body, content_type)
    chosen = next((p for p in parts if p.filename), parts[0])
    if not chosen.data:
        raise InvalidInput("the uploaded file is empty")
    return chosen.data, chosen.content_type


class BodyLimitMiddleware:
    """Caps every request body at ``limit`` bytes, JSON bodies included.

    A declared Content-Length over the cap is answered 413 at once; an undeclared (chunked)
    body raises InputTooLarge from ``receive`` when it crosses the cap, which the error
    handlers turn into the same 413. Paths matching ``large_path`` (bank imports, which are
    streamed to a temporary file and capped by their own setting) are capped at
    ``large_limit`` instead.
    """

    def __init__(
        self,
        app: Any,
        limit: int,
        *,
        large_path: str = "",
        large_limit: int = 0,
        large_setting: str = "bank_import_max_bytes",
    ) -> None:
        self.app = app
        self.limit = limit
        self.large_path = re.compile(large_path) if large_path else None
        self.large_limit = large_limit
        self.large_setting = large_setting

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.limit, "max_upload_bytes"
        if self.large_path is not None and self.large_path.match(scope["path"]):
            limit, setting = self.large_limit, self.large_setting
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _send_too_large(send, too_large(limit, int(value), setting), scope["path"])
                return
        seen = 0

        async def capped_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large(limit, setting=setting)
            return message

        await self.app(scope, capped_receive, send)


async def _send_too_large(send: Any, error: InputTooLarge, path: str) -> None:
    body = error.to_dict()
    if path.startswith("/v1/"):
        body["detail"] = error.message
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
