"""Request bodies read with a byte cap, raw or multipart, never written to disk.

1. A declared ``Content-Length`` over the cap is refused (413) before anything is read.
2. The body is streamed and counted; crossing the cap stops the read (413).
3. A ``multipart/form-data`` body is parsed in memory (the first part with a filename, or
   the first part) — Starlette's form parser would spool large parts to a temporary file, and
   media must never touch disk.
"""

from __future__ import annotations

import json
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


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or InputTooLarge once it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise InputTooLarge(
            f"request body of {declared} bytes is over the {limit}-byte limit", limit=limit
        )
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise InputTooLarge(f"request body is over the {limit}-byte limit", limit=limit)
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
    handlers turn into the same 413.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await _send_too_large(send, self.limit, scope["path"])
                return
        seen = 0

        async def capped_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise InputTooLarge(
                        f"request body is over the {self.limit}-byte limit", limit=self.limit
                    )
            return message

        await self.app(scope, capped_receive, send)


async def _send_too_large(send: Any, limit: int, path: str) -> None:
    error = InputTooLarge(f"request body is over the {limit}-byte limit", limit=limit)
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
