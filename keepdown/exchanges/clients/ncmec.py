"""NCMEC Hash Sharing API v2: entries in, feedback out (XML over HTTPS, HTTP Basic).

The shapes are those of NCMEC's public documentation (``<base>/v2/documentation.pdf``), as
python-threatexchange also reads them:

- ``GET <base>/v2/status``: ``<status><member id="N">name</member>...``: who we are;
- ``GET <base>/v2/entries?from=T1&to=T2``: ``<queryResult>`` with ``<images>`` and
  ``<videos>`` (``image``/``video`` entries and ``deletedImage``/``deletedVideo`` tombstones:
  member, id, timestamp, classification, fingerprints, feedback) and ``<paging><next>``, a
  path with ``start``, ``size`` and ``max`` to the next page of the same query;
- ``GET <base>/v2/feedback/<TYPE>/reasons``: the reasons a negative vote may give;
- ``PUT <base>/v2/entries/<member>/<id>/<TYPE>/feedback``: ``<feedbackSubmission>`` with
  ``<affirmative/>`` or ``<negative><reasonIds><guid>...``: a member's vote on one
  fingerprint of an entry (a state: sending it again leaves one vote).

How a fetch runs (see :mod:`keepdown.exchanges.checkpoint` for the why):

1. a run is a window ``(from, to]`` of the entries' last-change times; ``to`` is fixed when
   the run starts (``lag_seconds`` before now, so the exchange has finished writing it), and
   never changes while its ``next`` path is in use: a ``next`` replayed with another ``to``
   skips history;
2. entries come out of time order inside a window, so nothing is concluded from their times:
   the window is done when ``next`` runs out, and only then does ``since`` move to ``to``;
3. the first page says how many entries the window holds (``max``); a window with more than
   ``window_records`` is narrowed (never below one second) before going on, so a restart of
   an expired cursor costs little; a window of one second holding thousands of entries is paged
   through with ``next`` saved after every page (it is never refetched from its start, unless
   its cursor expires: ``cursor_ttl_hours``, 12 by default, as NCMEC advises);
4. fingerprints keepdown matches (MD5, SHA-1, PDQ) become bank entries; every other
   fingerprint (PhotoDNA, NetClean, Videntifier, TMK+PDQF, ...) is kept as provenance.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

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

__all__ = ["NS", "OPTIONS", "SECRETS", "NcmecClient", "parse_entries"]

log = logging.getLogger("keepdown.exchanges")

#: The XML namespace of every NCMEC v2 document.
NS = "https://hashsharing.ncmec.org/hashsharing/v2"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

SECRETS = ("username", "password")
OPTIONS = {
    "start": OptionSpec(int, 0, "epoch seconds to fetch from on the first run (0: all)"),
    "members": OptionSpec(list, [], "only entries of these member (ESP) ids; [] for all"),
    "lag_seconds": OptionSpec(int, 5, "a run ends this long before now"),
    "window_records": OptionSpec(int, 100_000, "narrow a window holding more entries than this"),
    "cursor_ttl_hours": OptionSpec(float, 12.0, "a stored next path older than this is not used"),
    "page_retries": OptionSpec(int, 3, "times an unreadable page is asked for again"),
    "overlap_seconds": OptionSpec(int, 0, "start each window this much before the last end"),
    "negative_reason": OptionSpec(str, "", "negative feedback reason (its name or guid)"),
}

#: NCMEC fingerprint element -> keepdown signal type (the rest is provenance only).
MATCHABLE = {"md5": SignalType.MD5, "sha1": SignalType.SHA1, "pdq": SignalType.PDQ}
#: keepdown signal type -> NCMEC fingerprint type in feedback paths.
FEEDBACK_TYPE = {SignalType.MD5: "MD5", SignalType.SHA1: "SHA1", SignalType.PDQ: "PDQ"}


@dataclass(frozen=True)
class _Window:
    """Where a ``next`` path stands: its query and its position."""

    start: int
    size: int
    total: int


def _fmt(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(TIME_FORMAT)


def _time(text: str | None) -> datetime:
    if not text:
        raise ValueError("no timestamp")
    return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).astimezone(UTC)


def _strip(element: ET.Element) -> None:
    """Drop namespaces: NCMEC's one namespace adds nothing to reading."""
    for node in element.iter():
        if isinstance(node.tag, str) and "}" in node.tag:
            node.tag = node.tag.split("}", 1)[1]


def parse_xml(body: bytes) -> ET.Element:
    """An NCMEC document; a DOCTYPE (entity tricks) or malformed XML is refused."""
    if b"<!DOCTYPE" in body[:4096].upper():
        raise ExchangeError("NCMEC answered XML with a DOCTYPE; refused", permanent=True)
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ExchangeError(f"NCMEC answered malformed XML: {exc}", permanent=False) from exc
    _strip(root)
    return root


def _query_result(root: ET.Element) -> ET.Element:
    """``root`` if it is a ``queryResult``: a 200 carrying anything else (an HTML error page,
    another document) must not read as "no more entries"."""
    if root.tag != "queryResult":
        raise ExchangeError(f"NCMEC answered a <{root.tag}> document, not a queryResult")
    return root


def parse_entries(
    root: ET.Element, default: Classification | None = None
) -> tuple[list[ExchangeRecord | RecordError], str | None]:
    """The records and the ``next`` path of a ``queryResult`` document."""
    records: list[ExchangeRecord | RecordError] = []
    for group in ("images", "videos"):
        for element in root.findall(group) or []:
            for child in element:
                records.append(_record(child, len(records) + 1, default))
    next_path = root.findtext("paging/next")
    return records, (next_path.strip() or None) if next_path else None


def _record(
    element: ET.Element, position: int, default: Classification | None
) -> ExchangeRecord | RecordError:
    tag = element.tag
    deleted = tag.startswith("deleted")
    kind = (tag[len("deleted") :] if deleted else tag).lower()
    entry_id = (element.findtext("id") or "").strip()
    member = element.find("member")
    member_id = (member.get("id") or "").strip() if member is not None else ""
    key = f"{member_id}-{entry_id}"
    try:
        if kind not in ("image", "video") or not entry_id or not member_id:
            raise ValueError(f"<{tag}> without a member id and an id")
        when = _time(element.findtext("timestamp"))
        label = (element.findtext("classification") or "").strip() or None
        prints, signals, invalid = _fingerprints(element.find("fingerprints"))
    except (ValueError, TypeError) as exc:
        return RecordError(position, str(exc), key=key if entry_id else None)
    extra: dict[str, Any] = {"member_id": member_id, "entry_id": entry_id}
    if invalid:
        extra["invalid_fingerprints"] = invalid
    feedback = _feedback_summary(element.find("feedback"))
    if feedback:
        extra["feedback"] = feedback
    return ExchangeRecord(
        key=key,
        updated_at=when,
        deleted=deleted,
        signals=() if deleted else tuple(signals),
        member=f"{member_id} {(member.text or '').strip()}".strip() if member is not None else None,
        label=label,
        classification=_classify(label, default),
        kind=kind,
        fingerprints=prints,
        extra=extra,
    )


def _fingerprints(
    element: ET.Element | None,
) -> tuple[dict[str, str], list[tuple[SignalType, str]], list[str]]:
    prints: dict[str, str] = {}
    signals: list[tuple[SignalType, str]] = []
    invalid: list[str] = []
    for child in element if element is not None else ():
        name = child.tag.lower()
        value = (child.text or "").strip() or (
            f"href:{child.get('href')}" if child.get("href") else ""
        )
        if not value:
            continue
        prints[name] = value
        if name in MATCHABLE:
            try:
                signals.append(signal(MATCHABLE[name], value))
            except InvalidHash:
                invalid.append(name)
    return prints, signals, invalid


def _feedback_summary(element: ET.Element | None) -> dict[str, dict[str, int]]:
    """Votes other members gave, per fingerprint type: {"MD5": {"up": 2, "down": 1}}."""
    out: dict[str, dict[str, int]] = {}
    for sentiment in element if element is not None else ():
        kind = (sentiment.get("type") or "?").upper()
        key = "up" if sentiment.tag == "affirmativeFeedback" else "down"
        votes = len(sentiment.findall(".//member"))
        if votes:
            out.setdefault(kind, {}).setdefault(key, 0)
            out[kind][key] += votes
    return out


def _classify(label: str | None, default: Classification | None) -> Classification | None:
    if label is None:
        return default
    try:
        return map_label(label, "industry")
    except InvalidInput:
        return default


def _window_of(path: str) -> _Window | None:
    query = parse_qs(urlsplit(path.replace("&amp;", "&")).query)
    try:
        return _Window(int(query["start"][0]), int(query["size"][0]), int(query["max"][0]))
    except (KeyError, ValueError, IndexError):
        return None


class NcmecClient(PagedClient):
    """One NCMEC environment, as one feed reads it (module docstring)."""

    kind: ClassVar[str] = "ncmec"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.FEEDBACK})

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
        auth = (secrets["username"].reveal(), secrets["password"].reveal())
        self.http = http or ExchangeHttp(url, limits or HttpLimits(), auth=auth)
        self.default = default
        self.members = {str(m) for m in self.options["members"]}
        self._reasons: dict[str, dict[str, str]] = {}

    def close(self) -> None:
        self.http.close()

    def whoami(self) -> dict[str, Any]:
        root = parse_xml(self.http.request("GET", "v2/status").body)
        member = root.find("member")
        if member is None:
            raise ExchangeError("NCMEC's status answer names no member", permanent=True)
        return {"member_id": member.get("id"), "member": (member.text or "").strip()}

    # --- fetching --------------------------------------------------------------------------

    def start_run(self, checkpoint: Checkpoint) -> Run | None:
        target = int(self.clock.now().timestamp()) - int(self.options["lag_seconds"])
        since = int(checkpoint.since) if checkpoint.since is not None else self.options["start"]
        if since >= target:
            return None
        width = int(checkpoint.hints.get("width") or (target - since))
        end = min(since + max(1, width), target)
        return checkpoint.begin(since, end, full=checkpoint.since is None, seen=0)

    def fetch(self, run: Run) -> Fetched:
        start, end = int(run.start or 0), int(run.end or 0)
        root = self._page(run, start, end)
        records, next_path = parse_entries(root, self.default)
        records = self._only_members(records)
        seen = int(run.params.get("seen", 0)) + len(records)
        if next_path is None:
            width, limit = end - start, int(self.options["window_records"])
            factor = 4 if seen == 0 else 2 if seen < limit // 4 else 1  # grow fast over gaps
            return Fetched(records, None, since=end, hints={"width": width * factor})
        window = _window_of(next_path)
        narrowed = self._narrowed(run, window, records)
        if narrowed is not None:
            log.info(
                "ncmec: window of %d s holds ~%s entries; narrowing",
                end - start,
                window and window.total,
            )
            return Fetched(records, None, restart=True, new_end=narrowed, params={"seen": 0})
        return Fetched(records, next_path, params={"seen": seen})

    def _page(self, run: Run, start: int, end: int) -> ET.Element:
        """One page's document; an unreadable answer (cut short, not XML) is asked for again
        ``page_retries`` times before the run fails (and the next run asks again)."""
        tries = int(self.options["page_retries"]) + 1
        for attempt in range(tries):
            if run.cursor is None:
                # ``from`` is exclusive and ``to`` inclusive, as NCMEC is observed to behave
                # (python-threatexchange pull request 1118), so windows meet without a gap or
                # an overlap; ``overlap_seconds`` widens each window back, should that change.
                since = max(0, start - int(self.options["overlap_seconds"]))
                params = {"from": _fmt(since), "to": _fmt(end)}
                reply = self.http.request("GET", "v2/entries", params=params)
            else:
                reply = self._next(run.cursor)
            try:
                return _query_result(parse_xml(reply.body))
            except ExchangeError as exc:
                if exc.details.get("permanent") or attempt == tries - 1:
                    raise
                log.warning("ncmec: unreadable page (try %d): %s", attempt + 1, exc.message)
                wait = self.http.limits.backoff * 2**attempt
                self.http.waits.append(wait)
                self.http.sleep(wait)
        raise AssertionError("unreachable")

    def _next(self, path: str) -> Any:
        try:
            return self.http.request("GET", path.replace("&amp;", "&"))
        except ExchangeError as exc:
            if exc.details.get("status") in (400, 404, 410):
                raise CursorExpired(
                    f"NCMEC refused a stored next path (HTTP {exc.details['status']})",
                    status=exc.details["status"],
                ) from exc
            raise

    def _narrowed(
        self, run: Run, window: _Window | None, sample: list[ExchangeRecord | RecordError]
    ) -> int | None:
        """The narrower end for a first page announcing too many entries, or None.

        A window's first page is a sample of it (NCMEC's order is not by time), so the new
        end is the time below which about half of ``window_records`` of the window lie."""
        start, end = int(run.start or 0), int(run.end or 0)
        limit = int(self.options["window_records"])
        if run.cursor is not None or window is None or window.total <= limit or end - start <= 1:
            return None
        share = limit / (2 * window.total)
        times = sorted(
            int(r.updated_at.timestamp()) for r in sample if isinstance(r, ExchangeRecord)
        )
        if times:
            guess = times[min(len(times) - 1, int(share * len(times)))]
        else:
            guess = start + int((end - start) * share)
        return min(end - 1, max(start + 1, guess))

    def _only_members(
        self, records: list[ExchangeRecord | RecordError]
    ) -> list[ExchangeRecord | RecordError]:
        if not self.members:
            return records
        return [
            r
            for r in records
            if isinstance(r, RecordError) or str(r.extra.get("member_id")) in self.members
        ]

    # --- feedback --------------------------------------------------------------------------

    def feedback_reasons(self, signal_type: SignalType) -> dict[str, str]:
        """guid -> name of the negative reasons NCMEC accepts for this fingerprint type."""
        kind = FEEDBACK_TYPE[signal_type]
        if kind not in self._reasons:
            root = parse_xml(self.http.request("GET", f"v2/feedback/{kind}/reasons").body)
            found = root.findall("reason") or root.findall(".//reason")
            self._reasons[kind] = {r.get("guid", ""): r.get("name", "") for r in found}
        return self._reasons[kind]

    def send_vote(
        self, member_id: str, entry_id: str, signal_type: SignalType, *, affirmative: bool
    ) -> None:
        """Vote on one fingerprint of an entry (a state: a repeat leaves one vote)."""
        if signal_type not in FEEDBACK_TYPE:
            raise ExchangeError(f"NCMEC takes no feedback on {signal_type}", permanent=True)
        root = ET.Element("feedbackSubmission", {"xmlns": NS})
        vote = ET.SubElement(root, "affirmative" if affirmative else "negative")
        if not affirmative:
            guid = self._reason_guid(signal_type)
            ET.SubElement(ET.SubElement(vote, "reasonIds"), "guid").text = guid
        body = b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root)
        path = f"v2/entries/{member_id}/{entry_id}/{FEEDBACK_TYPE[signal_type]}/feedback"
        self.http.request(
            "PUT",
            path,
            content=body,
            headers={"Content-Type": "application/xml; charset=utf-8"},
            ok=(200, 201, 204),
        )

    def _reason_guid(self, signal_type: SignalType) -> str:
        reasons = self.feedback_reasons(signal_type)
        wanted = str(self.options["negative_reason"]).strip()
        for guid, name in reasons.items():
            if wanted and wanted.lower() in (guid.lower(), name.lower()):
                return guid
        if not wanted and len(reasons) == 1:
            return next(iter(reasons))
        names = ", ".join(f"{name} ({guid})" for guid, name in reasons.items()) or "none"
        raise ExchangeError(
            "choose the NCMEC negative feedback reason (feed option negative_reason); "
            f"NCMEC offers for {signal_type}: {names}",
            permanent=True,
        )
