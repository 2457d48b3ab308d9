"""The DSA Transparency Database's statement API, behind a small protocol.

``POST {base}/statements`` with ``{"statements": [...]}`` (1 to 100), ``Authorization: Bearer
<token>``, JSON both ways. Its answers, as its source code gives them
(``StatementMultipleAPIController``, ``PuidNotUniqueMultipleException``):

- ``201``: every statement was created; ``{"statements": [{..., "puid", "uuid"}]}``;
- ``422`` with ``errors.existing_puids``: some PUIDs exist already (for this platform) or
  repeat within the call; **none** of the batch was created;
- ``422`` with ``errors.statement_<n>``: statement *n* was refused (field -> messages);
  **none** of the batch was created;
- ``401``: the token was refused; other ``4xx``: the request was refused; ``5xx``: the
  database failed (it is notified; try again later).

``GET {base}/statement/existing-puid/{puid}``: ``302`` found, ``404`` not found.
One request per call, no retries here: the outbox settles each answer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from keepdown.errors import FilingError
from keepdown.filings.profiles import Secret

__all__ = ["BatchAnswer", "DsaClient", "DsaService"]

log = logging.getLogger("keepdown.filings")

MAX_BATCH = 100
MAX_ANSWER_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class BatchAnswer:
    """What the database said about one batch."""

    created: dict[str, str] = field(default_factory=dict)  # puid -> the database's uuid
    existing: tuple[str, ...] = ()
    invalid: dict[int, list[str]] = field(default_factory=dict)  # index in batch -> messages

    @property
    def accepted(self) -> bool:
        return not self.existing and not self.invalid


class DsaService(Protocol):
    def submit(self, statements: list[dict[str, Any]]) -> BatchAnswer:
        """FilingError for an answer that is not about the statements (401, 5xx, network)."""
        ...

    def exists(self, puid: str) -> bool: ...

    def close(self) -> None: ...


class DsaClient:
    """The database's API over HTTPS (httpx)."""

    def __init__(
        self,
        base_url: str,
        token: Secret,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {token.reveal()}",
                "Accept": "application/json",
                "User-Agent": "keepdown-filings/0.1",
            },
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def submit(self, statements: list[dict[str, Any]]) -> BatchAnswer:
        if not 1 <= len(statements) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} statements")
        status, body = self._send("POST", "/statements", {"statements": statements})
        if status == 201:
            created = {
                str(s.get("puid", "")): str(s.get("uuid", ""))
                for s in body.get("statements", [])
                if isinstance(s, dict)
            }
            return BatchAnswer(created=created)
        if status == 422:
            return _refusal(body, len(statements))
        raise _error("POST /statements", status)

    def exists(self, puid: str) -> bool:
        status, _ = self._send("GET", f"/statement/existing-puid/{puid}", None)
        if status in (302, 404):
            return status == 302
        raise _error("GET /statement/existing-puid", status)

    def _send(self, method: str, path: str, payload: Any) -> tuple[int, dict[str, Any]]:
        try:
            response = self._client.request(method, self.base_url + path, json=payload)
        except httpx.HTTPError as exc:
            raise FilingError(
                f"{method} {path} failed: {exc.__class__.__name__}", permanent=False, network=True
            ) from exc
        log.debug("%s %s -> %d", method, path, response.status_code)
        raw = response.content[:MAX_ANSWER_BYTES]
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        return response.status_code, body if isinstance(body, dict) else {}


def _refusal(body: dict[str, Any], size: int) -> BatchAnswer:
    errors = body.get("errors")
    if not isinstance(errors, dict):
        raise FilingError("the database refused the batch without saying why", permanent=True)
    existing = errors.get("existing_puids")
    if isinstance(existing, list):
        return BatchAnswer(existing=tuple(str(p) for p in existing))
    invalid: dict[int, list[str]] = {}
    for key, messages in errors.items():
        index = key.removeprefix("statement_")
        numbered = key.startswith("statement_") and index.isascii() and index.isdigit()
        if numbered and int(index) < size:
            invalid[int(index)] = _messages(messages)
    if not invalid:
        raise FilingError(
            "the database refused the batch: " + json.dumps(errors)[:300], permanent=True
        )
    return BatchAnswer(invalid=invalid)


def _messages(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [
            f"{k}: {'; '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in messages.items()
        ]
    return [str(messages)]


def _error(what: str, status: int) -> FilingError:
    if status == 401:
        return FilingError(
            f"{what}: the token was refused (HTTP 401)", permanent=True, auth=True, status=401
        )
    return FilingError(
        f"{what} answered HTTP {status}",
        permanent=400 <= status < 500 and status not in (408, 429),
        status=status,
    )
