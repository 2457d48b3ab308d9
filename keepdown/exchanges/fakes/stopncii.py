"""A fake StopNCII.org API on loopback: ``FetchHashes``, ``SubmitFeedback``, ``SubmitHashes``.

Hash records are whole states keyed by (signal type, hash value). ``FetchHashes`` without a
token takes the records changed at or after ``startTimestamp`` and before the server's clock
second (``nextSetTimestamp``), pages them by ``pageSize`` and hands out an opaque
``nextPageToken``; with a token it goes on. Faults besides those of
:class:`~keepdown.exchanges.fakes.server.FakeServer`:

- ``truncate_over``: every page of more than this many records comes back cut in half (the
  truncated page that stalls other systems; only a smaller page gets through);
- ``shuffle``: records of a fetch out of time order;
- ``expire_cursors()``: tokens answered ``400``.

``feedback`` keeps each platform's word on a hash as a state (a repeat replaces it);
``feedback_requests`` counts requests.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from keepdown.exchanges.fakes.server import FakeServer, Reply, Request

__all__ = ["FakeStopNcii", "StopNciiHash"]


@dataclass
class StopNciiHash:
    """One hash record as StopNCII holds it."""

    value: str
    timestamp: int
    signal_type: str = "ImagePDQ"
    status: str = "Active"
    cases: int = 1
    feedbacks: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "lastModtimestamp": self.timestamp,
            "signalType": self.signal_type,
            "hashValue": self.value,
            "hashStatus": self.status,
            "caseNumbers": {f"case-{i}": self.status for i in range(self.cases)},
            "CSPFeedbacks": self.feedbacks,
        }


class FakeStopNcii(FakeServer):
    """The fake (module docstring)."""

    def __init__(
        self,
        *,
        subscription_key: str = "sub-key",
        fetch_key: str = "fetch-key",
        feedback_key: str = "feedback-key",
        submit_key: str = "submit-key",
        platform: str = "keepdown-test",
        seed: int = 0,
    ) -> None:
        self.hashes: dict[tuple[str, str], StopNciiHash] = {}
        self.keys = {
            "FetchHashes": fetch_key,
            "SubmitFeedback": feedback_key,
            "SubmitHashes": submit_key,
        }
        self.subscription_key = subscription_key
        self.platform = platform
        self.truncate_over: int | None = None
        self.shuffle = False
        self.seed = seed
        self.clock: float | None = None  # the server's own now (None: time.time())
        self.feedback: dict[tuple[str, str], str] = {}
        self.feedback_requests = 0
        self.submitted: list[dict[str, Any]] = []
        self._cursors: dict[str, tuple[list[StopNciiHash], int]] = {}
        super().__init__()

    def put(self, hashes: Iterable[StopNciiHash]) -> None:
        with self.lock:
            for h in hashes:
                self.hashes[(h.signal_type, h.value)] = h

    def expire_cursors(self) -> None:
        with self.lock:
            self._cursors.clear()

    def answer(self, request: Request) -> Reply:
        name = request.path.rstrip("/").rsplit("/", 1)[-1]
        if name not in self.keys:
            return Reply(404, b"{}")
        if (
            request.headers.get("Ocp-Apim-Subscription-Key") != self.subscription_key
            or request.headers.get("x-functions-key") != self.keys[name]
        ):
            return Reply(401, b'{"error": "unauthorised"}', data=name == "FetchHashes")
        if name == "FetchHashes":
            return self._fetch(request)
        if name == "SubmitFeedback":
            return self._feedback(request.body)
        self.submitted.extend(json.loads(request.body).get("hashRecords", []))
        return Reply(200, b"{}")

    def _fetch(self, request: Request) -> Reply:
        q = request.query
        size = max(1, min(int(q.get("pageSize", "800")), 10_000))
        token = q.get("nextPageToken")
        if token:
            if token.split(":")[0] not in self._cursors:
                return Reply(400, b'{"error": "invalid nextPageToken"}', data=True)
            snapshot_id, offset = token.split(":")[0], int(token.split(":")[1])
            rows, next_set = self._cursors[snapshot_id]
        else:
            rows, next_set = self._snapshot(int(q.get("startTimestamp", "10")))
            snapshot_id, offset = uuid.uuid4().hex[:12], 0
            self._cursors[snapshot_id] = (rows, next_set)
        page = rows[offset : offset + size]
        more = offset + size < len(rows)
        body = json.dumps(
            {
                "count": len(page),
                "nextPageToken": f"{snapshot_id}:{offset + size}" if more else None,
                "nextSetTimestamp": next_set,
                "hasMoreRecords": more,
                "hashRecords": [h.to_json() for h in page],
            }
        ).encode()
        if self.truncate_over is not None and len(page) > self.truncate_over:
            body = body[: len(body) // 2]
        return Reply(200, body, data=True)

    def _snapshot(self, start: int) -> tuple[list[StopNciiHash], int]:
        now = int(self.clock if self.clock is not None else time.time())
        rows = [h for h in self.hashes.values() if start <= h.timestamp < now]
        rows.sort(key=lambda h: (h.timestamp, h.signal_type, h.value))
        if self.shuffle:
            random.Random(f"{self.seed}:{start}").shuffle(rows)
        return rows, now

    def _feedback(self, body: bytes) -> Reply:
        self.feedback_requests += 1
        data = json.loads(body)
        items = data.get("hashFeedbacks") or []
        if data.get("count") != len(items):
            return Reply(400, b'{"error": "count does not match"}')
        for item in items:
            if item.get("feedbackValue") not in ("Blocked", "NotBlocked", "None", "PendingReview"):
                return Reply(400, b'{"error": "bad feedbackValue"}')
        for item in items:
            self.feedback[(self.platform, str(item["hashValue"]))] = str(item["feedbackValue"])
        return Reply(200, b"{}")
