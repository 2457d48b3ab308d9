"""A fake ThreatExchange Graph API on loopback: ``threat_updates``, reactions, descriptors.

Indicators of one privacy group, each with its last update time, a ``should_delete`` flag and
descriptors (owner, tags, status). ``GET /<group>/threat_updates/`` answers the updates with
``start_time <= last_updated < stop_time`` in time order (``shuffle`` breaks the order), ``limit``
per page, and an absolute ``paging.next`` URL that carries the access token as the Graph API
does (a client must not store it). Reactions (``POST /<descriptor id>/``) are states per
descriptor; new descriptors (``POST /threat_descriptors/``) are kept in ``submitted``.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from keepdown.exchanges.fakes.server import FakeServer, Reply, Request

__all__ = ["FakeThreatExchange", "TeIndicator"]


@dataclass
class TeIndicator:
    """One indicator of the privacy group."""

    id: str
    type: str
    indicator: str
    last_updated: int
    should_delete: bool = False
    descriptors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "indicator": self.indicator,
            "type": self.type,
            "last_updated": self.last_updated,
            "should_delete": self.should_delete,
        }
        if self.descriptors:
            out["descriptors"] = {"data": self.descriptors}
        return out


class FakeThreatExchange(FakeServer):
    """The fake (module docstring)."""

    def __init__(self, *, token: str = "1234567890|fake-app-secret", group: str = "303") -> None:
        self.token = token
        self.group = group
        self.indicators: dict[str, TeIndicator] = {}
        self.shuffle = False
        self.reactions: dict[str, set[str]] = {}
        self.reaction_requests = 0
        self.submitted: list[dict[str, str]] = []
        self._cursors: dict[str, list[TeIndicator]] = {}
        super().__init__()

    def put(self, indicators: Iterable[TeIndicator]) -> None:
        with self.lock:
            for i in indicators:
                self.indicators[i.id] = i

    def expire_cursors(self) -> None:
        with self.lock:
            self._cursors.clear()

    def answer(self, request: Request) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode() or "").items()}
        params = {**request.query, **form}
        path = request.path.strip("/")
        is_data = path.endswith("threat_updates")
        if params.get("access_token") != self.token:
            return Reply(
                400,
                b'{"error": {"message": "Invalid OAuth access token", "code": 190}}',
                data=is_data,
            )
        if path == f"{self.group}/threat_updates" and request.method == "GET":
            return self._updates(params)
        if path == self.group and request.method == "GET":
            return Reply(200, json.dumps({"id": self.group, "name": "Test collaboration"}).encode())
        if path == "threat_descriptors" and request.method == "POST":
            self.submitted.append(form)
            return Reply(
                200, json.dumps({"success": True, "id": str(len(self.submitted) + 9000)}).encode()
            )
        if path.isdigit() and request.method == "POST" and "reactions" in form:
            self.reaction_requests += 1
            self.reactions.setdefault(path, set()).update(form["reactions"].split(","))
            return Reply(200, b'{"success": true}')
        return Reply(404, b'{"error": {"message": "Unsupported request"}}')

    def _updates(self, q: dict[str, str]) -> Reply:
        cursor = q.get("after")
        if cursor:
            if cursor.split(":")[0] not in self._cursors:
                return Reply(400, b'{"error": {"message": "cursor expired"}}', data=True)
            snap, offset = cursor.split(":")[0], int(cursor.split(":")[1])
            rows = self._cursors[snap]
        else:
            start, stop = int(q.get("start_time") or 0), int(q.get("stop_time") or 2**40)
            types = set((q.get("types") or "").split(",")) - {""}
            rows = [
                i
                for i in self.indicators.values()
                if start <= i.last_updated < stop and (not types or i.type in types)
            ]
            rows.sort(key=lambda i: (i.last_updated, i.id))
            if self.shuffle:
                random.Random(start).shuffle(rows)
            snap, offset = uuid.uuid4().hex[:10], 0
            self._cursors[snap] = rows
        size = max(1, int(q.get("limit") or 500))
        page = rows[offset : offset + size]
        body: dict[str, Any] = {"data": [i.to_json() for i in page]}
        if offset + size < len(rows):
            kept = {k: v for k, v in q.items() if k not in ("after",)}
            kept["after"] = f"{snap}:{offset + size}"
            body["paging"] = {
                "cursors": {"after": kept["after"]},
                "next": f"{self.url}/{self.group}/threat_updates/?{urlencode(kept)}",
            }
        return Reply(200, json.dumps(body).encode(), data=True)
