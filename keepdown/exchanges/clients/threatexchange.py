"""ThreatExchange (Meta's Graph API, under the Tech Coalition's Lantern): a privacy group's
``threat_updates`` stream in, reactions out.

The shapes are those of Meta's ThreatExchange reference, as python-threatexchange reads them:

- ``GET <base>/<privacy group>/threat_updates/?access_token=&start_time=&stop_time=&limit=
  &fields=&types=``: ``{"data": [{"id", "indicator", "type", "last_updated",
  "should_delete", "descriptors": {"data": [{"id", "owner": {"id"}, "tags", "status",
  "added_on"}]}}], "paging": {"next": URL}}``; ``should_delete`` (or no descriptor left) is a
  tombstone; updates are retained for 90 days, so a feed not fetched for ``stale_days`` (85)
  starts over with a full fetch, which withdraws what it no longer brings;
- ``POST <base>/<descriptor id>/`` with ``reactions=...``: a member's reaction to a descriptor
  (``HELPFUL`` for a confirmed match, ``DISAGREE_WITH_TAGS`` for a false one);
- ``POST <base>/threat_descriptors/``: a descriptor of one's own (write-back).

The token (``<app id>|<secret>``) travels in the query string, as the Graph API wants; it is
stripped from every ``paging.next`` URL before that URL is stored as a cursor, and added again
at each request, so no stored checkpoint holds it.

Indicator types: ``HASH_PDQ`` is PDQ, ``HASH_MD5`` and ``HASH_VIDEO_MD5`` MD5, ``HASH_SHA1``
SHA-1, ``HASH_SHA256`` and ``HASH_VIDEO_SHA256`` SHA-256; anything else is provenance only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from keepdown.banks.classification import Classification, map_label
from keepdown.clock import Clock
from keepdown.errors import ExchangeError, InvalidHash, InvalidInput
from keepdown.exchanges.checkpoint import Checkpoint, Run
from keepdown.exchanges.clients.options import OptionSpec, read_options
from keepdown.exchanges.http import ExchangeHttp, HttpLimits
from keepdown.exchanges.protocol import Capability, CursorExpired, Fetched, PagedClient
from keepdown.exchanges.records import ExchangeRecord, RecordError, signal
from keepdown.exchanges.secrets import Secret
from keepdown.hashing.types import SignalType

__all__ = ["OPTIONS", "SECRETS", "ThreatExchangeClient", "parse_updates"]

log = logging.getLogger("keepdown.exchanges")

SECRETS = ("access_token",)
OPTIONS = {
    "privacy_group": OptionSpec(str, "", "the privacy group (collaboration) id; required"),
    "types": OptionSpec(list, ["HASH_PDQ", "HASH_MD5", "HASH_SHA256"], "indicator types to fetch"),
    "page_size": OptionSpec(int, 500, "updates asked for per page"),
    "start": OptionSpec(int, 0, "epoch seconds to fetch from on the first run (0: all)"),
    "lag_seconds": OptionSpec(int, 5, "a run ends this long before now"),
    "stale_days": OptionSpec(float, 85.0, "older checkpoints start over with a full fetch"),
    "cursor_ttl_hours": OptionSpec(float, 12.0, "a stored next URL older than this is not used"),
}

MATCHABLE = {
    "HASH_PDQ": SignalType.PDQ,
    "HASH_MD5": SignalType.MD5,
    "HASH_VIDEO_MD5": SignalType.MD5,
    "HASH_SHA1": SignalType.SHA1,
    "HASH_SHA256": SignalType.SHA256,
    "HASH_VIDEO_SHA256": SignalType.SHA256,
}
SUBMIT_TYPE = {
    SignalType.PDQ: "HASH_PDQ",
    SignalType.MD5: "HASH_MD5",
    SignalType.SHA1: "HASH_SHA1",
    SignalType.SHA256: "HASH_SHA256",
}
FIELDS = (
    "id,indicator,type,last_updated,should_delete,descriptors{id,owner{id},tags,status,added_on}"
)


def strip_token(url: str) -> str:
    """``url`` without its ``access_token`` parameter (what may be stored)."""
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_updates(
    body: bytes, default: Classification | None = None
) -> tuple[list[ExchangeRecord | RecordError], str | None]:
    """The records and the next URL (token stripped) of one ``threat_updates`` answer."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExchangeError(f"ThreatExchange answered something that is not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ExchangeError("ThreatExchange's threat_updates answer has no data list")
    records = [_record(item, i + 1, default) for i, item in enumerate(data.get("data", []))]
    next_url = (data.get("paging") or {}).get("next")
    return records, strip_token(next_url) if next_url else None


def _record(
    item: Any, position: int, default: Classification | None
) -> ExchangeRecord | RecordError:
    if not isinstance(item, dict) or not item.get("id"):
        return RecordError(position, "an update without an id")
    key = str(item["id"])
    kind = str(item.get("type") or "")
    indicator = str(item.get("indicator") or "")
    try:
        when = _te_time(item.get("last_updated"))
        descriptors = [
            d for d in (item.get("descriptors") or {}).get("data", []) if isinstance(d, dict)
        ]
        deleted = bool(item.get("should_delete")) or not descriptors
        matched = MATCHABLE.get(kind)
        signals = (signal(matched, indicator),) if matched and not deleted else ()
    except (TypeError, ValueError, InvalidHash) as exc:
        return RecordError(position, f"unreadable update: {exc}", key=key)
    tags = sorted({str(t) for d in descriptors for t in _tags(d)})
    label = next((t for t in tags if _known(t)), None)
    return ExchangeRecord(
        key=key,
        updated_at=when,
        deleted=deleted,
        signals=signals,
        member=",".join(sorted({str((d.get("owner") or {}).get("id", "")) for d in descriptors}))
        or None,
        label=label,
        classification=map_label(label) if label else default,
        status=",".join(sorted({str(d.get("status", "")) for d in descriptors})) or None,
        kind=kind,
        fingerprints={kind: indicator} if indicator else {},
        extra={"descriptors": [str(d.get("id")) for d in descriptors if d.get("id")], "tags": tags},
    )


def _tags(descriptor: Mapping[str, Any]) -> list[str]:
    tags = descriptor.get("tags") or []
    if isinstance(tags, dict):  # the Graph API's {"data": [{"text": ...}]} form
        tags = [t.get("text", "") for t in tags.get("data", []) if isinstance(t, dict)]
    return [str(t) for t in tags if t]


def _known(label: str) -> bool:
    try:
        map_label(label)
    except InvalidInput:
        return False
    return True


def _te_time(raw: Any) -> datetime:
    if isinstance(raw, int | float) or (isinstance(raw, str) and raw.isascii() and raw.isdigit()):
        return datetime.fromtimestamp(int(raw), UTC)
    if isinstance(raw, str) and raw:
        return datetime.fromisoformat(raw.replace("Z", "+00:00").replace("+0000", "+00:00"))
    raise ValueError("no last_updated")


class ThreatExchangeClient(PagedClient):
    """One privacy group of ThreatExchange, as one feed reads it (module docstring)."""

    kind: ClassVar[str] = "threatexchange"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.FEEDBACK, Capability.WRITE_BACK}
    )
    runs_per_sync: ClassVar[int | None] = 1  # a run reaches up to now

    def __init__(
        self,
        url: str,
        options: Mapping[str, Any],
        secrets: Mapping[str, Secret],
        clock: Clock,
        *,
        default: Classification | None = None,
        limits: HttpLimits | None = None,
        http: ExchangeHttp | None = None,
    ) -> None:
        self.options = read_options(OPTIONS, options)
        if not str(self.options["privacy_group"]).strip().isdigit():
            raise InvalidInput("a threatexchange feed needs option privacy_group (its id)")
        super().__init__(clock, cursor_ttl=timedelta(hours=self.options["cursor_ttl_hours"]))
        self.token = secrets["access_token"]
        self.http = http or ExchangeHttp(url, limits or HttpLimits())
        self.default = default
        self.group = str(self.options["privacy_group"]).strip()

    def close(self) -> None:
        self.http.close()

    def _auth(self) -> dict[str, str]:
        return {"access_token": self.token.reveal()}

    def whoami(self) -> dict[str, Any]:
        reply = self.http.request("GET", self.group, params={**self._auth(), "fields": "id,name"})
        data = json.loads(reply.body)
        return {"privacy_group": data.get("id"), "name": data.get("name")}

    # --- fetching --------------------------------------------------------------------------

    def start_run(self, checkpoint: Checkpoint) -> Run | None:
        now = int(self.clock.now().timestamp())
        target = now - int(self.options["lag_seconds"])
        since = checkpoint.since
        if since is not None and now - int(since) > self.options["stale_days"] * 86400:
            # Deletions are kept 90 days: after that only a full fetch tells what is gone.
            log.warning(
                "threatexchange: checkpoint older than %s days: full fetch",
                self.options["stale_days"],
            )
            since = None
        start = int(since) if since is not None else int(self.options["start"])
        if since is not None and start >= target:
            return None
        return checkpoint.begin(start, target, full=since is None)

    def fetch(self, run: Run) -> Fetched:
        if run.cursor is None:
            params = {
                **self._auth(),
                # one second of overlap: an update in the last window's last second comes again
                "start_time": max(0, int(run.start or 0) - 1),
                "stop_time": int(run.end or 0),
                "limit": int(self.options["page_size"]),
                "fields": FIELDS,
                "types": ",".join(self.options["types"]),
            }
            reply = self.http.request("GET", f"{self.group}/threat_updates/", params=params)
        else:
            try:
                reply = self.http.request("GET", run.cursor, params=self._auth())
            except ExchangeError as exc:
                if exc.details.get("status") in (400, 404, 410):
                    raise CursorExpired("ThreatExchange refused a stored next URL") from exc
                raise
        records, next_url = parse_updates(reply.body, self.default)
        if next_url is None:
            return Fetched(records, None, since=int(run.end or 0))
        return Fetched(records, next_url)

    # --- reactions and submissions ---------------------------------------------------------

    def react(self, descriptor_id: str, reaction: str) -> None:
        """React to one descriptor (``HELPFUL``, ``DISAGREE_WITH_TAGS``...); a state."""
        if not (descriptor_id.isascii() and descriptor_id.isdigit()):
            raise ExchangeError(f"not a descriptor id: {descriptor_id!r}", permanent=True)
        self.http.request(
            "POST",
            f"{descriptor_id}/",
            params=self._auth(),
            content=urlencode({"reactions": reaction}).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def submit_descriptor(self, signal_type: SignalType, value: str, tags: list[str]) -> str:
        """Share one hash with the privacy group; the new descriptor's id."""
        if signal_type not in SUBMIT_TYPE:
            raise ExchangeError(f"ThreatExchange takes no {signal_type} indicators", permanent=True)
        form = {
            "indicator": value,
            "type": SUBMIT_TYPE[signal_type],
            "description": "shared by keepdown",
            "share_level": "AMBER",
            "status": "MALICIOUS",
            "privacy_type": "HAS_PRIVACY_GROUP",
            "privacy_members": self.group,
            "tags": ",".join(tags),
        }
        reply = self.http.request(
            "POST",
            "threat_descriptors/",
            params=self._auth(),
            content=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return str(json.loads(reply.body).get("id", ""))
