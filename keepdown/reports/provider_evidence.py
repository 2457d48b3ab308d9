"""A provider's own evidence: every event behind its row, with its place in the event chain.

What a hosting provider downloads (through a notice's signed link: that notice; with a
provider-role key: all its notices, optionally one period), so it can check what it is held
to, and keep it:

- **per location**: when keepdown first saw the material there, each notice (and re-notice)
  naming it, each re-check with its outcome and HTTP status and time, its removal (reported
  by the provider, confirmed by a check), disputes, reopenings and reappearances;
- **the row**: the provider's figures of the period, as the transparency report counts them
  (the same computation, keepdown.reports.figures);
- **each event as stored**: position, kind, time, the exact payload text, its chain hash and
  the hash before it, so the provider recomputes
  ``hash = SHA-256(0x01 || previous || SHA-256(0x00 || "position\\nkind\\nat\\npayload"))``
  itself (docs/transparency.md); an event that also names another provider (a reappearance
  of material removed elsewhere) is given by its leaf hash only, never its text;
- **the chain**: its head and genesis, and the latest signed checkpoint;
- a **signature** over all of it (Ed25519, canonical JSON, context
  ``keepdown-provider-evidence-v1``), so the file proves what keepdown showed.

:func:`check_evidence` is what the provider (or ``keepdown verify evidence``) runs on the
file: every event's hash from its text and the hash before it, the file's and the
checkpoint's signatures.

Pure: the caller reads the stored events (keepdown.storage.evidence_store) and signs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keepdown.banks.signing import raw_fingerprint, verify_bytes
from keepdown.errors import InvalidInput, SignatureError
from keepdown.events import (
    Event,
    LocationRechecked,
    NoticeSent,
    ReappearanceDetected,
    RemovalConfirmed,
    SightingRecorded,
)
from keepdown.evidence.chain import event_hash, leaf_hash, link_hash
from keepdown.evidence.checkpoints import parse_checkpoint
from keepdown.evidence.encoding import canonical_json, event_bytes
from keepdown.evidence.keys import SigningKey
from keepdown.reports.figures import removal_figures
from keepdown.reports.ledger import build_ledger
from keepdown.reports.period import Period

__all__ = [
    "CONTEXT",
    "EVIDENCE_KINDS",
    "EvidenceScope",
    "StoredEvent",
    "check_evidence",
    "provider_evidence",
    "sign_evidence",
]

CONTEXT = b"keepdown-provider-evidence-v1\x00"

#: The kinds a provider's evidence is made of (and the ledger's, for its row).
EVIDENCE_KINDS = (
    "sighting_recorded",
    "notice_sent",
    "notice_acknowledged",
    "notice_escalated",
    "delivery_failed",
    "location_rechecked",
    "removal_reported",
    "removal_confirmed",
    "notice_disputed",
    "dispute_reviewed",
    "location_reopened",
    "reappearance_detected",
)
_BY_LOCATION = {
    "location_rechecked",
    "removal_reported",
    "removal_confirmed",
    "notice_disputed",
    "dispute_reviewed",
    "location_reopened",
}
_BY_NOTICE = {"notice_acknowledged", "notice_escalated", "delivery_failed"}


@dataclass(frozen=True)
class StoredEvent:
    """An event as the chain holds it: its texts, its hash and the hash before it."""

    position: int
    kind: str
    at: str
    payload: str
    hash: bytes
    previous: bytes
    event: Event


@dataclass(frozen=True)
class EvidenceScope:
    """Whose evidence: the provider (its registry ids and, for events older than ids, its
    names), and optionally one notice (a signed link) or one period."""

    provider_ids: frozenset[str]
    provider_names: frozenset[str] = frozenset()
    notice_ref: str | None = None
    period: Period | None = None

    def owns(self, provider_id: str, provider: str) -> bool:
        if provider_id:
            return provider_id in self.provider_ids
        return provider in self.provider_names


@dataclass
class _Selection:
    notices: set[str] = field(default_factory=set)
    locations: dict[str, str] = field(default_factory=dict)  # location -> its notice
    sightings: set[str] = field(default_factory=set)
    chosen: list[StoredEvent] = field(default_factory=list)


def _notices_and_locations(stored: Sequence[StoredEvent], scope: EvidenceScope) -> _Selection:
    found = _Selection()
    for s in stored:
        e = s.event
        if not isinstance(e, NoticeSent) or not scope.owns(e.provider_id, e.provider):
            continue
        if scope.notice_ref is not None and e.notice_ref != scope.notice_ref:
            continue
        found.notices.add(e.notice_ref)
        for location in e.locations:
            found.locations.setdefault(location, e.notice_ref)
        found.sightings.update(e.sighting_ids)
        found.sightings.update(x for x in e.location_sightings if x)
    return found


def _concerns(s: StoredEvent, found: _Selection) -> bool:
    e: Any = s.event
    if s.kind == "notice_sent":
        return bool(e.notice_ref in found.notices)
    if s.kind == "sighting_recorded":
        return bool(e.sighting_id in found.sightings)
    if s.kind in _BY_NOTICE:
        return bool(e.notice_ref in found.notices)
    if s.kind in _BY_LOCATION:
        return bool(e.location_id in found.locations)
    if s.kind == "reappearance_detected":
        return bool(e.location_id in found.locations or e.previous_location_id in found.locations)
    return False


def _foreign(s: StoredEvent, scope: EvidenceScope) -> bool:
    """An event that also names another provider: given by its leaf hash only."""
    e = s.event
    if isinstance(e, ReappearanceDetected):
        mine = scope.owns(e.provider_id, e.provider)
        theirs = scope.owns(e.previous_provider_id, e.previous_provider)
        return not (mine and (theirs or not e.previous_provider))
    return False


def provider_evidence(
    stored: Iterable[StoredEvent],
    scope: EvidenceScope,
    *,
    provider: dict[str, Any],
    generated_at: datetime,
    operator: str,
    chain: dict[str, Any],
) -> dict[str, Any]:
    """The evidence document (module docstring), not yet signed."""
    events = list(stored)
    found = _notices_and_locations(events, scope)
    found.chosen = [s for s in events if _concerns(s, found)]
    return {
        "evidence": "keepdown provider evidence",
        "version": 1,
        "operator": operator,
        "provider": provider,
        "scope": {
            "notice": scope.notice_ref,
            "period": scope.period.label if scope.period else None,
        },
        "generated_at": generated_at.isoformat(),
        "row": _row(events, scope),
        "locations": _locations(found),
        "events": [_event_entry(s, _foreign(s, scope)) for s in found.chosen],
        "chain": chain,
        "how_to_check": (
            "For each event: leaf = SHA-256(0x00 || UTF-8 of position, kind, at and payload "
            "joined by newlines); it must hold that hash = SHA-256(0x01 || previous_hash || "
            "leaf). The signature is Ed25519 over 'keepdown-provider-evidence-v1' NUL + the "
            "canonical JSON of this document without 'signature'. keepdown verify evidence "
            "FILE does both, and checks the checkpoint. docs/transparency.md explains."
        ),
    }


def _row(events: Sequence[StoredEvent], scope: EvidenceScope) -> list[dict[str, Any]] | None:
    """The provider's rows (one per registry id) as the report of the period counts them."""
    if scope.period is None:
        return None
    period = scope.period
    ledger = build_ledger(s.event for s in events if s.event.at < period.end)
    rows = removal_figures(ledger, period, "provider")
    keys = scope.provider_ids | scope.provider_names  # ids, or names in events before ids
    return [f.to_dict() for key, f in sorted(rows.items()) if key in keys]


def _locations(found: _Selection) -> list[dict[str, Any]]:
    by_location: dict[str, dict[str, Any]] = {
        loc: {"location_id": loc, "first_notice": notice, "events": []}
        for loc, notice in sorted(found.locations.items())
    }
    sighting_of: dict[str, list[str]] = {}
    for s in found.chosen:
        e: Any = s.event
        if isinstance(e, NoticeSent):
            for i, loc in enumerate(e.locations):
                entry = by_location.get(loc)
                if entry is None:
                    continue
                entry["events"].append(s.position)
                entry.setdefault("first_notice_at", s.event.at.isoformat())
                sighting = _sighting_of(e, i)
                if sighting:
                    sighting_of.setdefault(sighting, []).append(loc)
            continue
        loc = getattr(e, "location_id", "")
        if loc in by_location:
            _add(by_location[loc], s)
        if isinstance(e, ReappearanceDetected) and e.previous_location_id in by_location:
            by_location[e.previous_location_id]["events"].append(s.position)
    for s in found.chosen:
        if isinstance(s.event, SightingRecorded):
            for loc in sighting_of.get(s.event.sighting_id, []):
                entry = by_location[loc]
                entry["events"].append(s.position)
                entry.setdefault(
                    "first_seen", {"at": s.event.at.isoformat(), "position": s.position}
                )
                entry.setdefault("media_url", s.event.media_url)
    for entry in by_location.values():
        entry["events"] = sorted(set(entry["events"]))
    return list(by_location.values())


def _sighting_of(e: NoticeSent, i: int) -> str:
    """The sighting of the notice's i-th location: ``location_sightings`` says; events from
    before that field name sightings in the locations' order when there is one per location."""
    if e.location_sightings:
        return e.location_sightings[i] if i < len(e.location_sightings) else ""
    if len(e.sighting_ids) == len(e.locations):
        return e.sighting_ids[i]
    return ""


def _add(entry: dict[str, Any], s: StoredEvent) -> None:
    e: Any = s.event
    entry["events"].append(s.position)
    if isinstance(e, LocationRechecked):
        entry.setdefault("rechecks", []).append(
            {"at": e.at.isoformat(), "result": e.result, "status": e.status, "position": s.position}
        )
    elif isinstance(e, RemovalConfirmed) and "removal_confirmed" not in entry:
        removed = e.removed_at or e.at
        entry["removal_confirmed"] = {
            "at": e.at.isoformat(),
            "removed_at": removed.isoformat(),
            "hours_to_removal": round((removed - e.first_notice_at).total_seconds() / 3600, 4),
            "status": e.status,
            "position": s.position,
        }


def _event_entry(s: StoredEvent, redacted: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"position": s.position, "kind": s.kind, "at": s.at}
    if redacted:
        entry["leaf"] = leaf_hash(event_bytes(s.position, s.kind, s.at, s.payload)).hex()
        entry["redacted"] = "names another provider: its text is not given, only its leaf hash"
    else:
        entry["payload"] = s.payload
    entry["hash"] = s.hash.hex()
    entry["previous_hash"] = s.previous.hex()
    return entry


def sign_evidence(document: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """The document with its ``signature`` (over the canonical JSON of the rest)."""
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    value = key.sign(canonical_json(unsigned).encode("ascii"), context=CONTEXT)
    return {
        **unsigned,
        "signature": {
            "algorithm": "Ed25519",
            "key_sha256": key.fingerprint,
            "public_key": base64.b64encode(key.public).decode("ascii"),
            "value": base64.b64encode(value).decode("ascii"),
        },
    }


def check_evidence(document: Any, *, trusted: bytes | None = None) -> list[str]:
    """Every problem with an evidence file: [] when its events, its signature and its
    checkpoint all verify (module docstring). ``trusted`` is the operator's public key."""
    if not isinstance(document, dict) or document.get("evidence") != "keepdown provider evidence":
        raise InvalidInput("not a keepdown provider evidence file")
    problems = [_event_problem(e) for e in document.get("events", [])]
    problems = [p for p in problems if p]
    problems += _signature_problems(document, trusted)
    checkpoint = (document.get("chain") or {}).get("checkpoint")
    if checkpoint:
        try:
            parse_checkpoint(checkpoint).verify(trusted)
        except (InvalidInput, SignatureError) as exc:
            problems.append(f"checkpoint: {exc.message}")
    return problems


def _event_problem(entry: dict[str, Any]) -> str:
    try:
        position, kind, at = int(entry["position"]), str(entry["kind"]), str(entry["at"])
        previous, stored = bytes.fromhex(entry["previous_hash"]), bytes.fromhex(entry["hash"])
        if "payload" in entry:
            expected = event_hash(previous, position, kind, at, str(entry["payload"]))
        else:
            expected = link_hash(previous, bytes.fromhex(entry["leaf"]))
    except (KeyError, TypeError, ValueError) as exc:
        return f"an event entry is malformed: {exc}"
    if expected != stored:
        return f"event at position {position} ({kind}) does not match its chain hash"
    return ""


def _signature_problems(document: dict[str, Any], trusted: bytes | None) -> list[str]:
    signature = document.get("signature")
    if not isinstance(signature, dict):
        return ["the file is not signed"]
    try:
        public = base64.b64decode(str(signature["public_key"]), validate=True)
        value = base64.b64decode(str(signature["value"]), validate=True)
    except (KeyError, binascii.Error, ValueError):
        return ["the file's signature is malformed"]
    problems = []
    if trusted is not None and public != trusted:
        problems.append(
            f"signed with key {raw_fingerprint(public)[:16]}..., not the operator's "
            f"{raw_fingerprint(trusted)[:16]}..."
        )
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    try:
        verify_bytes(canonical_json(unsigned).encode("ascii"), value, public, context=CONTEXT)
    except SignatureError:
        problems.append("the file does not match its signature: it was changed after signing")
    return problems
