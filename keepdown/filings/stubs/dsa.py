"""A loopback stand-in for the DSA Transparency Database's statement API (``/api/v1``).

It answers as the database's source code does: a Bearer token per platform (an unknown one:
401), ``POST /statements`` with 1 to 100 statements, each validated (by default against the
schema keepdown keeps, ``dsa_statement.schema.json``), a batch created whole or not at all,
``422`` with ``errors.statement_<n>`` for refused statements and with
``errors.existing_puids`` for PUIDs the platform used before or repeats in the call;
``POST /statement`` for one; ``GET /statement/existing-puid/<puid>`` (302 or 404).

A test schedules faults (:attr:`DsaStub.faults`: an HTTP status such as ``"503"``, or
``"drop"``) and reads what was created (:attr:`statements`, per platform) and every call.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any

from keepdown.filings.stubs.http import Answer, Incoming, LoopbackServer
from keepdown.filings.validate import statement_problems

__all__ = ["DsaStub"]


class DsaStub:
    """The stub database (module docstring), serving at :attr:`url` + ``/api/v1``."""

    def __init__(
        self,
        tokens: dict[str, str] | None = None,
        validate: Callable[[dict[str, Any]], list[str]] = statement_problems,
    ) -> None:
        self.tokens = dict(tokens or {"sandbox-token": "Acme Platform"})
        self.validate = validate
        self.lock = threading.RLock()
        self.statements: dict[str, dict[str, dict[str, Any]]] = {}  # platform -> puid -> body
        self.calls: list[tuple[str, int]] = []  # (endpoint, statements in the call)
        self.faults: dict[str, list[str]] = {}
        self._seq = itertools.count(1)
        self._server = LoopbackServer(self._handle)

    @property
    def url(self) -> str:
        return self._server.url + "/api/v1"

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> DsaStub:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def created(self, platform: str = "Acme Platform") -> dict[str, dict[str, Any]]:
        return self.statements.get(platform, {})

    # --- the API -------------------------------------------------------------------------------

    def _handle(self, req: Incoming) -> Answer:
        path = req.path.split("?")[0].removeprefix("/api/v1")
        platform = self.tokens.get(req.headers.get("Authorization", "").removeprefix("Bearer "))
        with self.lock:
            if platform is None:
                self.calls.append((path, -1))
                return _json(401, {"message": "Unauthenticated."})
            queue = self.faults.get(path)
            fault = queue.pop(0) if queue else None
            if fault == "drop":
                self.calls.append((path, 0))
                return Answer(drop=True)
            if fault is not None:
                self.calls.append((path, 0))
                return _json(int(fault), {"message": "Server Error"})
            if req.method == "GET" and path.startswith("/statement/existing-puid/"):
                puid = path.rsplit("/", 1)[1]
                found = puid in self.statements.get(platform, {})
                return _json(302 if found else 404, {"puid": puid})
            if req.method == "POST" and path in ("/statements", "/statement"):
                return self._store(platform, path, req.body)
            return _json(404, {"message": "Not Found"})

    def _store(self, platform: str, path: str, raw: bytes) -> Answer:
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            return _json(400, {"message": "bad JSON"})
        batch = payload.get("statements") if path == "/statements" else [payload]
        self.calls.append((path, len(batch) if isinstance(batch, list) else 0))
        if not isinstance(batch, list) or not 1 <= len(batch) <= 100:
            return _json(422, {"errors": {"statements": ["between 1 and 100 statements"]}})
        errors = {
            f"statement_{i}": {"statement": problems}
            for i, s in enumerate(batch)
            if (problems := self.validate(s) if isinstance(s, dict) else ["not an object"])
        }
        if errors:
            return _json(422, {"errors": errors})
        held = self.statements.setdefault(platform, {})
        puids = [s["puid"] for s in batch]
        duplicates = sorted({p for p in puids if p in held or puids.count(p) > 1})
        if duplicates:
            message = "The platform identifier(s) are not all unique within this call."
            return _json(
                422,
                {"message": message, "errors": {"puid": [message], "existing_puids": duplicates}},
            )
        out = []
        for s in batch:
            created = {**s, "uuid": str(uuid.UUID(int=next(self._seq)))}
            held[s["puid"]] = created
            out.append(created)
        return _json(201, {"statements": out} if path == "/statements" else out[0])


def _json(status: int, body: dict[str, Any]) -> Answer:
    return Answer(status, json.dumps(body).encode(), "application/json")
