"""StopNCII.org: hashes of intimate images people asked to keep off platforms (JSON over HTTPS).

The shapes are those StopNCII documents for partner platforms, as python-threatexchange also
reads them. Every request carries the API Management subscription key
(``Ocp-Apim-Subscription-Key``) and the endpoint's own function key (``x-functions-key``):

- ``GET <base>/FetchHashes?startTimestamp=T&pageSize=N[&nextPageToken=C]``:
  ``{"count", "nextPageToken", "nextSetTimestamp", "hasMoreRecords", "hashRecords": [...]}``,
  each record ``{"lastModtimestamp", "signalType", "hashValue", "hashStatus", "caseNumbers",
  "CSPFeedbacks"}``; a record is the hash's whole current state (a later one replaces it);
- ``POST <base>/SubmitFeedback``: ``{"count", "hashFeedbacks": [{"hashValue",
  "feedbackValue", "tags"}]}``: a platform's word on a hash (``Blocked``: reviewed, it is NCII;
  ``NotBlocked``: reviewed, it is not);
- ``POST <base>/SubmitHashes``: ``{"count", "hashRecords": [{"lastModtimestamp",
  "signalType", "hashValue", "CSPFeedbacks": [...]}]}``: hashes a platform adds itself.

``hashStatus`` ``Received`` and ``Active`` are live; ``Withdrawn`` and ``Deleted`` are removals
(the person took the case back) and become tombstones. ``ImagePDQ`` becomes a PDQ entry and
``VideoMD5`` an MD5 entry; other types (TMK, text, URLs) are kept as provenance only.

A page whose body cannot be read (a truncated or corrupt answer, which has stalled other
systems for ever) is asked for again ``page_retries`` times; then the run restarts from its
start with half the page size, down to one record; a page of one record that still cannot be
read stops the feed with status ``stalled`` and says where (``keepdown feed skip`` moves on
knowingly, and a later resync fetches what was skipped). Nothing is skipped silently.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from keepdown.banks.classification import Classification
from keepdown.clock import Clock
from keepdown.errors import ExchangeError, InvalidHash
from keepdown.exchanges.checkpoint import Checkpoint, Run
from keepdown.exchanges.clients.options import OptionSpec, read_options
from keepdown.exchanges.http import ExchangeHttp, HttpLimits
from keepdown.exchanges.protocol import (
    Capability,
    CursorExpired,
    Fetched,
    PagedClient,
    PageStalled,
)
from keepdown.exchanges.records import ExchangeRecord, RecordError, signal
from keepdown.exchanges.secrets import Secret
from keepdown.hashing.types import SignalType

__all__ = ["OPTIONS", "SECRETS", "StopNciiClient", "parse_page"]

log = logging.getLogger("keepdown.exchanges")

SECRETS = ("subscription_key", "fetch_key")
OPTIONAL_SECRETS = ("feedback_key", "submit_key")
OPTIONS = {
    "start": OptionSpec(int, 10, "startTimestamp of the first run (StopNCII's own default, 10)"),
    "page_size": OptionSpec(int, 1000, "records asked for per page"),
    "page_retries": OptionSpec(int, 3, "times an unreadable page is asked for again"),
    "cursor_ttl_hours": OptionSpec(
        float, 1.0, "a stored nextPageToken older than this is not used"
    ),
}

LIVE = frozenset({"received", "active"})
GONE = frozenset({"withdrawn", "deleted"})
MATCHABLE = {"imagepdq": SignalType.PDQ, "videomd5": SignalType.MD5}
#: keepdown signal type -> StopNCII signal type (for submissions).
SUBMIT_TYPE = {SignalType.PDQ: "ImagePDQ", SignalType.MD5: "VideoMD5"}


@functools.lru_cache(maxsize=65536)
def _when(epoch: int) -> datetime:
    """A record's time (cached: many records of a page share a second)."""
    return datetime.fromtimestamp(epoch, UTC)


class _Unreadable(Exception):
    """A page whose body is not the documented JSON."""


def parse_page(body: bytes, default: Classification | None = None) -> dict[str, Any]:
    """The page's fields and records; :class:`_Unreadable` when the body is not a page."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Unreadable(f"not JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("hashRecords", []), list):
        raise _Unreadable("not a FetchHashes answer")
    if "hasMoreRecords" not in data:
        raise _Unreadable("no hasMoreRecords field")
    records = [_record(item, i + 1, default) for i, item in enumerate(data.get("hashRecords", []))]
    return {
        "records": records,
        "next": data.get("nextPageToken") or None,
        "more": bool(data.get("hasMoreRecords")),
        "next_set": data.get("nextSetTimestamp"),
    }


def _record(
    item: Any, position: int, default: Classification | None
) -> ExchangeRecord | RecordError:
    if not isinstance(item, dict):
        return RecordError(position, "a hash record is not an object")
    kind = str(item.get("signalType") or "")
    value = str(item.get("hashValue") or "").strip()
    key = f"{kind}:{value.lower()}"
    try:
        if not kind or not value:
            raise ValueError("no signalType or hashValue")
        when = _when(int(item["lastModtimestamp"]))
        status = str(item.get("hashStatus") or "Unknown")
        matched = MATCHABLE.get(kind.lower())
        signals = (signal(matched, value),) if matched is not None else ()
    except (KeyError, TypeError, ValueError, OverflowError, InvalidHash) as exc:
        return RecordError(position, f"unreadable hash record: {exc}", key=key if value else None)
    deleted = status.lower() in GONE
    return ExchangeRecord(
        key=key,
        updated_at=when,
        deleted=deleted,
        signals=() if deleted else signals,
        classification=default,
        status=status,
        kind="video" if kind[:5].lower() == "video" else "image",
        fingerprints={kind: value},
        extra=_extra(item),
    )


def _extra(item: Mapping[str, Any]) -> dict[str, Any]:
    cases = item.get("caseNumbers")
    out: dict[str, Any] = {"cases": len(cases) if isinstance(cases, dict) else 0}
    feedbacks = item.get("CSPFeedbacks")
    if feedbacks:
        counts: dict[str, int] = {}
        for fb in feedbacks:
            if isinstance(fb, dict):
                value = str(fb.get("feedbackValue") or "Unknown")
                counts[value] = counts.get(value, 0) + 1
        out["feedback"] = counts
    return out


class StopNciiClient(PagedClient):
    """StopNCII.org, as one feed reads it (module docstring)."""

    kind: ClassVar[str] = "stopncii"
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
        super().__init__(clock, cursor_ttl=timedelta(hours=self.options["cursor_ttl_hours"]))
        self.secrets = dict(secrets)
        subscription = secrets["subscription_key"].reveal()
        headers = {"Ocp-Apim-Subscription-Key": subscription}
        self.http = http or ExchangeHttp(url, limits or HttpLimits(), headers=headers)
        self.default = default

    def close(self) -> None:
        self.http.close()

    def _key(self, name: str) -> dict[str, str]:
        secret = self.secrets.get(name)
        if secret is None:
            raise ExchangeError(
                f"StopNCII needs the secret {name} for this (keepdown feed update --secret)",
                permanent=True,
            )
        return {"x-functions-key": secret.reveal()}

    def whoami(self) -> dict[str, Any]:
        """StopNCII has no status call: one empty-ish fetch proves the keys."""
        reply = self.http.request(
            "GET",
            "FetchHashes",
            params={"startTimestamp": int(self.clock.now().timestamp()), "pageSize": 1},
            headers=self._key("fetch_key"),
        )
        page = self._parse(reply.body)
        return {"records_since_now": len(page["records"])}

    # --- fetching --------------------------------------------------------------------------

    def start_run(self, checkpoint: Checkpoint) -> Run | None:
        since = int(checkpoint.since) if checkpoint.since is not None else self.options["start"]
        if checkpoint.since is not None and since >= int(self.clock.now().timestamp()):
            return None
        return checkpoint.begin(since, None, full=checkpoint.since is None)

    def fetch(self, run: Run) -> Fetched:
        size = int(run.params.get("page_size") or self.options["page_size"])
        params: dict[str, Any] = {"startTimestamp": int(run.start or 0), "pageSize": size}
        if run.cursor:
            params["nextPageToken"] = run.cursor
        page = self._page_with_retries(params, run)
        if page is None:  # unreadable at this size: start the run over with smaller pages
            if size <= 1:
                raise PageStalled(
                    "StopNCII keeps answering an unreadable page at page size 1 "
                    f"(startTimestamp {run.start}, after {run.pages} pages of this run)",
                    start=run.start,
                    pages=run.pages,
                    permanent=False,
                )
            log.warning("stopncii: unreadable page at size %d; restarting with %d", size, size // 2)
            return Fetched([], None, restart=True, params={"page_size": size // 2})
        if page["more"] and page["next"]:
            return Fetched(page["records"], page["next"])
        since = page["next_set"] if page["next_set"] is not None else run.start
        return Fetched(page["records"], None, since=int(since or 0))

    def _page_with_retries(self, params: dict[str, Any], run: Run) -> dict[str, Any] | None:
        for attempt in range(int(self.options["page_retries"]) + 1):
            try:
                reply = self.http.request(
                    "GET", "FetchHashes", params=params, headers=self._key("fetch_key")
                )
            except ExchangeError as exc:
                if run.cursor and exc.details.get("status") in (400, 404, 410):
                    raise CursorExpired("StopNCII refused a stored nextPageToken") from exc
                raise
            try:
                return self._parse(reply.body)
            except _Unreadable as exc:
                log.warning("stopncii: unreadable page (try %d): %s", attempt + 1, exc)
                if attempt < int(self.options["page_retries"]):
                    wait = self.http.limits.backoff * 2**attempt
                    self.http.waits.append(wait)
                    self.http.sleep(wait)
        return None

    def _parse(self, body: bytes) -> dict[str, Any]:
        return parse_page(body, self.default)

    # --- feedback and submissions ---------------------------------------------------------

    def send_feedback(self, values: Sequence[tuple[str, bool]], tags: Sequence[str] = ()) -> None:
        """``(hash value, blocked)`` pairs: a platform's review of matches on them."""
        body = {
            "count": len(values),
            "hashFeedbacks": [
                {
                    "hashValue": value,
                    "feedbackValue": "Blocked" if blocked else "NotBlocked",
                    "tags": list(tags),
                }
                for value, blocked in values
            ],
        }
        self.http.request(
            "POST",
            "SubmitFeedback",
            json=body,
            headers=self._key("feedback_key"),
            ok=(200, 201, 202, 204),
        )

    def submit_hashes(
        self, items: Sequence[tuple[SignalType, str]], tags: Sequence[str] = ()
    ) -> None:
        """Add hashes of the platform's own (write-back), each marked ``Blocked`` by it."""
        now = int(self.clock.now().timestamp())
        records = []
        for signal_type, value in items:
            if signal_type not in SUBMIT_TYPE:
                raise ExchangeError(f"StopNCII takes no {signal_type} hashes", permanent=True)
            records.append(
                {
                    "lastModtimestamp": now,
                    "signalType": SUBMIT_TYPE[signal_type],
                    "hashValue": value,
                    "CSPFeedbacks": [{"feedbackValue": "Blocked", "tags": list(tags)}],
                }
            )
        self.http.request(
            "POST",
            "SubmitHashes",
            json={"count": len(records), "hashRecords": records},
            headers=self._key("submit_key"),
            ok=(200, 201, 202, 204),
        )
