"""A fake NCMEC Hash Sharing API v2 on loopback: the documented XML, and NCMEC's habits.

It holds entries (member, id, image or video, last-change time, classification,
fingerprints, or a deletion) and answers ``/v2/status``, ``/v2/members``, ``/v2/entries``
(with ``from``/``to`` and ``next`` paging), ``/v2/feedback/<TYPE>/reasons`` and the feedback
``PUT``. It behaves as NCMEC is reported to:

- entries of a window come **out of time order** (shuffled with ``seed``);
- ``next`` carries ``start``, ``size`` and ``max``: an **offset** into the query's results.
  The results of a query are kept while its cursor is alive; replaying a ``next`` whose
  ``from``/``to`` differ from the query that made it serves that other query's results at the
  same offset: history is **silently skipped**, as with the real API;
- cursors **expire** (``expire_cursors()``, the ``expire`` fault): a ``next`` of a forgotten
  query is answered ``410 Gone``;
- a vote is a **state** per (voter, entry, fingerprint type): sending it twice leaves one vote
  (``votes``), while ``feedback_requests`` counts every request.
"""

from __future__ import annotations

import base64
import random
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from keepdown.exchanges.fakes.server import FakeServer, Reply, Request

__all__ = ["FakeNcmec", "NcmecEntry"]

NS = "https://hashsharing.ncmec.org/hashsharing/v2"
REASONS = {
    "PDQ": [("a1b2c3d4-0000-4000-8000-000000000001", "Not CSAM")],
    "MD5": [("a1b2c3d4-0000-4000-8000-000000000002", "Not CSAM")],
    "SHA1": [("a1b2c3d4-0000-4000-8000-000000000003", "Not CSAM")],
}


@dataclass
class NcmecEntry:
    """One entry as NCMEC holds it (``deleted``: a tombstone)."""

    member: int
    id: str
    timestamp: int
    kind: str = "image"
    deleted: bool = False
    classification: str | None = "A1"
    fingerprints: dict[str, str] = field(default_factory=dict)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def entry_xml(e: NcmecEntry) -> str:
    """One entry element, as NCMEC writes it."""
    tag = ("deleted" + e.kind.capitalize()) if e.deleted else e.kind
    parts = [f'<{tag}><member id="{e.member}">Member {e.member}</member>']
    parts.append(f"<timestamp>{_iso(e.timestamp)}</timestamp><id>{e.id}</id>")
    if not e.deleted:
        if e.classification:
            parts.append(f"<classification>{e.classification}</classification>")
        prints = "".join(f"<{k}>{v}</{k}>" for k, v in e.fingerprints.items())
        parts.append(f"<fingerprints>{prints}</fingerprints>")
    parts.append(f"</{tag}>")
    return "".join(parts)


class FakeNcmec(FakeServer):
    """The fake (module docstring). ``page_size`` is NCMEC's 1000 unless a test wants less."""

    def __init__(
        self,
        *,
        username: str = "esp-user",
        password: str = "esp-secret",
        member_id: int = 7,
        page_size: int = 1000,
        seed: int = 0,
    ) -> None:
        self.entries: dict[tuple[int, str], NcmecEntry] = {}
        self.username, self.password, self.member_id = username, password, member_id
        self.page_size = page_size
        self.seed = seed
        self.votes: dict[tuple[int, int, str, str], tuple[str, str]] = {}
        self.feedback_requests = 0
        self._queries: dict[tuple[int, int], list[NcmecEntry]] = {}
        super().__init__()

    def put(self, entries: Iterable[NcmecEntry]) -> None:
        """Add or replace entries (by member and id)."""
        with self.lock:
            for e in entries:
                self.entries[(e.member, e.id)] = e

    def expire_cursors(self) -> None:
        with self.lock:
            self._queries.clear()

    # --- answering ---------------------------------------------------------------------------

    def answer(self, request: Request) -> Reply:
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return Reply(401, b"unauthorised", "text/plain")
        path = request.path.rstrip("/")
        if path.endswith("/v2/status"):
            return self._xml(
                f'<status xmlns="{NS}"><ipAddress>127.0.0.1</ipAddress><username>'
                f'{self.username}</username><member id="{self.member_id}">Keepdown Test'
                "</member></status>"
            )
        if path.endswith("/v2/entries") and request.method == "GET":
            return self._entries(request)
        if "/feedback/" in path and path.endswith("/reasons"):
            kind = path.split("/feedback/")[1].split("/")[0]
            rows = "".join(
                f'<reason guid="{g}" name="{n}" type="{kind}"/>' for g, n in REASONS.get(kind, [])
            )
            return self._xml(
                f'<availableFeedbackReasons xmlns="{NS}">{rows}</availableFeedbackReasons>'
            )
        if request.method == "PUT" and path.endswith("/feedback"):
            return self._vote(path, request.body)
        return Reply(404, b"no such endpoint", "text/plain")

    def _xml(self, text: str, *, data: bool = False) -> Reply:
        body = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + text
        return Reply(200, body.encode(), "application/xml", data=data)

    def _entries(self, request: Request) -> Reply:
        q = request.query
        try:
            start_t, end_t = _epoch(q["from"]), _epoch(q["to"])
        except (KeyError, ValueError):
            return Reply(400, b"from and to are required", "text/plain", data=True)
        offset = int(q.get("start", "1")) - 1
        if "start" in q and not self._queries:
            return Reply(410, b"paging expired", "text/plain", data=True)
        # A cursor replayed with other bounds than its query's is served the offset of a
        # fresh query, skipping whatever came before (see the module docstring).
        rows = self._query(start_t, end_t, fresh="start" not in q)
        page = rows[offset : offset + self.page_size]
        images = [e for e in page if e.kind == "image"]
        videos = [e for e in page if e.kind == "video"]
        parts = [f'<queryResult xmlns="{NS}">']
        for name, group in (("images", images), ("videos", videos)):
            top = max((e.timestamp for e in group), default=end_t)
            parts.append(f'<{name} count="{len(group)}" maxTimestamp="{_iso(top)}">')
            parts.extend(entry_xml(e) for e in group)
            parts.append(f"</{name}>")
        following = offset + self.page_size
        if following < len(rows):
            nxt = (
                f"/v2/entries?from={quote(q['from'])}&amp;to={quote(q['to'])}&amp;start="
                f"{following + 1}&amp;size={self.page_size}&amp;max={len(rows)}"
            )
            parts.append(f"<paging><next>{nxt}</next></paging>")
        parts.append("</queryResult>")
        return self._xml("".join(parts), data=True)

    def _query(self, start_t: int, end_t: int, *, fresh: bool) -> list[NcmecEntry]:
        """The results of a query: made afresh for a first page, kept for its cursor."""
        key = (start_t, end_t)
        if fresh or key not in self._queries:
            rows = [e for e in self.entries.values() if start_t < e.timestamp <= end_t]
            rows.sort(key=lambda e: (e.member, e.id))
            random.Random(f"{self.seed}:{start_t}:{end_t}").shuffle(rows)  # out of time order
            self._queries[key] = rows
        return self._queries[key]

    def _vote(self, path: str, body: bytes) -> Reply:
        self.feedback_requests += 1
        parts = path.split("/v2/entries/")[1].split("/")
        member, entry_id, kind = int(parts[0]), parts[1], parts[2]
        if (member, entry_id) not in self.entries:
            return Reply(404, b"no such entry", "text/plain")
        root = ET.fromstring(body)
        names = [child.tag.split("}")[-1] for child in root]
        guid = "".join(g.text or "" for g in root.iter() if g.tag.split("}")[-1] == "guid")
        if names == ["affirmative"]:
            self.votes[(self.member_id, member, entry_id, kind)] = ("up", "")
        elif names == ["negative"] and guid in {g for g, _ in REASONS.get(kind, [])}:
            self.votes[(self.member_id, member, entry_id, kind)] = ("down", guid)
        else:
            return Reply(400, b"bad feedback submission", "text/plain")
        return self._xml(f'<submissionResult xmlns="{NS}"/>')
