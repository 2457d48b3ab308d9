"""Referrals between hotlines on one runtime (issue 18, docs/federation.md).

:class:`ReferralDesk` (``runtime.federation.referrals``):

1. :meth:`~ReferralDesk.plan` (the originator): every confirmed sighting hosted in a country
   a peer covers and this hotline does not (``federation_countries``) becomes one referral in
   the outbox: URLs, hashes, classification, attribution, first seen, our reference, signed;
2. :meth:`~ReferralDesk.send_due` (both sides): the outbox's messages go out in order, each
   exactly once at the peer (``keepdown.federation.referrals``);
3. :meth:`~ReferralDesk.receive` (the API's ``POST /api/v1/federation/messages``): a referral
   is verified and stored with its inbox row; its URLs become reported URLs (reporter
   ``hotline``, ``peer:<name>``) that this hotline's crawler checks itself; media whose
   hashes already match a bank here is marked as already assessed; a ``received`` status is
   planned. A status callback is stored on our referral's timeline;
4. :meth:`~ReferralDesk.follow` (the receiver): its own events (sightings of the referral's
   crawl, review decisions, notices, removals, reappearances) become status callbacks;
5. :meth:`~ReferralDesk.decline`: a hotline declines a referral, with a reason.

Figures (the transparency report's cross-border section) are computed from the events
``PeerReferralSent``, ``PeerReferralReceived`` and ``PeerReferralStatus`` recorded here.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from keepdown.errors import Forbidden, InvalidInput, NotFound
from keepdown.events import (
    PeerReferralReceived,
    PeerReferralSent,
    PeerReferralStatus,
    SightingRecorded,
)
from keepdown.federation.messages import (
    Referral,
    ReferralItem,
    StatusUpdate,
    accept,
    referral_body,
    seal_message,
    status_body,
)
from keepdown.federation.peers import Peer, referral_peer
from keepdown.federation.referrals import (
    STATUS_EVENT_KINDS,
    OutboxMessage,
    ReferralRecord,
    status_of,
)
from keepdown.hashing.types import parse_hash
from keepdown.storage.referral_store import SqlReferralStore, sighting_facts

if TYPE_CHECKING:
    from keepdown.app.federation import FederationServices

__all__ = ["ReferralDesk"]

log = logging.getLogger("keepdown.federation")
MESSAGES_PATH = "/api/v1/federation/messages"


@dataclass
class ReferralDesk:
    """Referrals and status callbacks (module docstring)."""

    parts: FederationServices
    store: SqlReferralStore
    lease_seconds: float = 60.0
    retry_seconds: float = 5.0

    @property
    def _runtime(self) -> Any:
        return self.parts.runtime

    def _now(self) -> Any:
        return self.parts.clock.now()

    # --- 1. the originator plans ------------------------------------------------------------

    def plan(self) -> int:
        """Plan a referral for every confirmed sighting a peer should have; how many are new."""
        peers = [p for p in self.parts.peers() if p.enabled]
        if not peers:
            return 0
        planned = 0
        for event in self._runtime.storage.events.read(SightingRecorded.kind):
            assert isinstance(event, SightingRecorded)
            if event.state != "confirmed":
                continue
            peer = referral_peer(event.country, self.parts.countries, peers)
            if peer is not None and self._plan_one(peer, event):
                planned += 1
        return planned

    def _plan_one(self, peer: Peer, event: SightingRecorded) -> bool:
        facts = sighting_facts(self._runtime.storage.engine, int(event.sighting_id))
        if facts is None:
            return False
        item = ReferralItem(
            url=facts["media_url"],
            page_url=facts["page_url"] or "",
            pdq=facts["pdq"] or "",
            md5=facts["md5"] or "",
            sha256=facts["sha256"] or "",
            classification=self._classification(event.bank),
            first_seen_at=facts["seen_at"].isoformat(),
        )
        reference = f"S{event.sighting_id}"
        attribution = {
            "provider": event.provider,
            "country": event.country,
            "ip": facts.get("server_ip") or "",
        }

        def build(seq: int) -> dict[str, Any]:
            body = referral_body(
                sender=self.parts.name,
                recipient=peer.name,
                seq=seq,
                sent_at=self._now(),
                reference=reference,
                items=[item],
                attribution=attribution,
            )
            return seal_message(body, self.parts.key())

        return self.store.plan(
            peer.id,
            "referral",
            f"referral:{peer.id}:{reference}",
            build,
            self._now(),
            referral={
                "reference": reference,
                "local_ref": event.sighting_id,
                "country": event.country[:2],
                "body": {"items": [item.to_wire()], "attribution": attribution},
            },
        )

    def _classification(self, bank: str) -> str:
        try:
            found = self._runtime.storage.banks.get_bank(bank)
        except NotFound:
            return ""
        if found.default_label:
            return str(found.default_label)[:64]
        return str(found.classification.category) if found.classification else ""

    # --- 2. the outbox goes out --------------------------------------------------------------

    def send_due(self, owner: str = "", *, limit: int = 1000) -> int:
        """Send due messages until none is left (or ``limit``); how many were delivered."""
        owner = owner or f"worker-{os.getpid()}"
        delivered = 0
        for _ in range(limit):
            now = self._now()
            message = self.store.claim(now, owner, now + timedelta(seconds=self.lease_seconds))
            if message is None:
                break
            delivered += self._send(message, owner)
        return delivered

    def _send(self, message: OutboxMessage, owner: str) -> int:
        peer = next((p for p in self.parts.peers() if p.id == message.peer_id), None)
        if peer is None:
            self.store.settle(message, owner, self._now(), error="no such peer", failed=True)
            return 0
        error, permanent = self._post(peer, message.envelope)
        now = self._now()
        if error:
            retry = now + timedelta(seconds=self.retry_seconds * 2 ** min(message.attempts, 8))
            self.store.settle(message, owner, now, error=error, retry_at=retry, failed=permanent)
            log.warning(
                "federation: %s %s to %s: %s", message.stream, message.seq, peer.name, error
            )
            return 0
        self.store.settle(message, owner, now)
        if message.stream == "referral":
            body = json.loads(message.envelope["body"])
            self._runtime.storage.events.emit(
                PeerReferralSent(
                    at=now,
                    peer=peer.name,
                    reference=str(body["reference"]),
                    country=str(body.get("attribution", {}).get("country", "")),
                    items=len(body.get("items", [])),
                )
            )
        return 1

    def _post(self, peer: Peer, envelope: Mapping[str, Any]) -> tuple[str, bool]:
        """("", False) when the peer holds the message now; else (error, permanent)."""
        token = os.environ.get(peer.token_env, "") if peer.token_env else ""
        try:
            reply = httpx.post(
                peer.url + MESSAGES_PATH,
                json=dict(envelope),
                headers={"Authorization": f"Bearer {token}"},
                timeout=30.0,
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}", False
        if reply.status_code in (200, 201):
            return "", False
        if reply.status_code == 400 and _refusal(reply) == "replayed":
            return "", False  # delivered before (a retry after a lost answer, or a kill)
        permanent = reply.status_code in (400, 401, 403, 404)
        return f"HTTP {reply.status_code}: {reply.text[:300]}", permanent

    # --- 3. the receiver accepts ---------------------------------------------------------------

    def receive(self, sender: str, envelope: Mapping[str, Any]) -> dict[str, Any]:
        """Accept one message from the peer ``sender`` (module docstring, step 3)."""
        peer = self.parts.store.find_peer(sender)
        if peer is None or not peer.enabled:
            raise Forbidden(f"{sender} is not an enabled peer of this hotline", peer=sender)
        message = accept(
            envelope,
            sender_key=peer.public_key,
            sender=peer.name,
            recipient=self.parts.name,
            seen=self.store,
            now=self._now(),
            window=timedelta(hours=self.parts.settings.federation_message_window_hours),
        )
        if isinstance(message, Referral):
            return self._referral_in(peer, message)
        return self._status_in(peer, message)

    def _referral_in(self, peer: Peer, message: Referral) -> dict[str, Any]:
        now = self._now()
        known = self._already_assessed(message)
        referral_id = self.store.accept_referral(
            peer.id,
            message.seq,
            message.digest,
            {
                "reference": message.reference,
                "country": str(message.attribution.get("country", ""))[:2],
                "body": {
                    "items": [i.to_wire() for i in message.items],
                    "attribution": dict(message.attribution),
                    "known": known,
                },
            },
            now,
        )
        report_refs = self._intake(peer, message)
        record = self.store.referral("in", peer.id, message.reference)
        assert record is not None
        body = {**record.body, "report_refs": report_refs, "sightings": [], "locations": []}
        self.store.update_referral(
            referral_id,
            now,
            state="open",
            local_ref=report_refs[0] if report_refs else "",
            body=body,
        )
        self._runtime.storage.events.emit(
            PeerReferralReceived(
                at=now,
                peer=peer.name,
                reference=message.reference,
                report_ref=report_refs[0] if report_refs else "",
                items=len(message.items),
                known=len(known),
            )
        )
        self._status(record, "received", now)
        return {"accepted": "referral", "seq": message.seq, "reported": report_refs}

    def _intake(self, peer: Peer, message: Referral) -> list[str]:
        reports = self._runtime.crawling.reports
        refs = []
        for item in message.items:
            intake = reports.intake(
                item.url,
                reporter_type="hotline",
                reporter=f"peer:{peer.name}",
                note=f"referral {message.reference} from {peer.name}",
                now=self._now(),
            )
            refs.append(intake.record.reference)
        return refs

    def _already_assessed(self, message: Referral) -> list[str]:
        """The items whose hashes already match a bank here (analysts look at less)."""
        known = []
        matcher = self._runtime.matcher
        for item in message.items:
            values = [
                parse_hash(kind, getattr(item, kind))
                for kind in ("sha256", "md5", "pdq")
                if getattr(item, kind)
            ]
            if values and any(matcher.match_hashes(values, door="lookup")):
                known.append(item.url)
        return known

    def _status_in(self, peer: Peer, message: StatusUpdate) -> dict[str, Any]:
        now = self._now()
        stored = self.store.accept_status(
            peer.id,
            message.seq,
            message.digest,
            message.reference,
            message.status,
            message.at,
            message.reason,
            now,
        )
        if stored:
            self._runtime.storage.events.emit(
                PeerReferralStatus(
                    at=now,
                    peer=peer.name,
                    reference=message.reference,
                    status=message.status,
                    status_at=message.at,
                    reason=message.reason,
                )
            )
        return {"accepted": "status", "seq": message.seq, "known_referral": stored}

    # --- 4. the receiver's events become statuses ------------------------------------------

    def follow(self) -> int:
        """Turn this hotline's events into status callbacks of open referrals; how many."""
        open_ = [r for r in self.store.referrals(direction="in") if r.state != "declined"]
        if not open_:
            return 0
        by_report = {ref: r.id for r in open_ for ref in r.body.get("report_refs", [])}
        sightings = {r.id: set(r.body.get("sightings", [])) for r in open_}
        locations = {r.id: set(r.body.get("locations", [])) for r in open_}
        planned = []
        for event in self._runtime.storage.events.read(kinds=list(STATUS_EVENT_KINDS)):
            change = status_of(event)
            if change is None:
                continue
            concerned = {
                rid
                for rid in sightings
                if sightings[rid] & set(change.sighting_ids)
                or locations[rid] & set(change.location_ids)
            }
            if change.report_ref in by_report:
                concerned.add(by_report[change.report_ref])
            for rid in concerned:
                sightings[rid] |= set(change.sighting_ids)
                if change.status in ("notice_sent",):
                    locations[rid] |= set(change.location_ids)
                if change.status:
                    planned.append((rid, change.status, change.at))
        records = {r.id: r for r in open_}
        now = self._now()
        for rid, record in records.items():
            body = {
                **record.body,
                "sightings": sorted(sightings[rid]),
                "locations": sorted(locations[rid]),
            }
            if body != dict(record.body):
                self.store.update_referral(rid, now, body=body, state=record.state)
        count = 0
        for rid, status, at in planned:
            count += self._status(records[rid], status, at)
        return count

    def _status(self, record: ReferralRecord, status: str, at: Any, reason: str = "") -> int:
        """Add ``status`` to an inbound referral's timeline and plan its callback (once)."""
        peer = next(p for p in self.parts.peers() if p.id == record.peer_id)
        if not self.store.add_status(record.id, status, at, reason, self._now()):
            return 0

        def build(seq: int) -> dict[str, Any]:
            body = status_body(
                sender=self.parts.name,
                recipient=peer.name,
                seq=seq,
                sent_at=self._now(),
                reference=record.reference,
                status=status,
                at=at,
                reason=reason,
                their_reference=record.local_ref,
            )
            return seal_message(body, self.parts.key())

        dedupe = f"status:{peer.id}:{record.reference}:{status}"
        return int(self.store.plan(peer.id, "status", dedupe, build, self._now()))

    # --- 5. declining, reading ---------------------------------------------------------------

    def decline(self, peer: str, reference: str, reason: str) -> ReferralRecord:
        """Decline a peer's referral with a reason (the originator sees it)."""
        if not reason.strip():
            raise InvalidInput("a declined referral says why")
        record = self.store.referral("in", self.parts.store.get_peer(peer).id, reference)
        if record is None:
            raise NotFound(f"no referral {reference} from {peer}")
        self._status(record, "declined", self._now(), reason.strip())
        found = self.store.referral("in", record.peer_id, reference)
        assert found is not None
        return found

    def referrals(self, direction: str | None = None) -> list[ReferralRecord]:
        return self.store.referrals(direction=direction)

    def timeline(self, reference: str) -> list[ReferralRecord]:
        """Our referral ``reference`` (and a peer's of that reference) with its timeline."""
        return [r for r in self.store.referrals() if r.reference == reference]


def _refusal(reply: httpx.Response) -> str:
    try:
        return str(reply.json().get("details", {}).get("reason", ""))
    except ValueError:
        return ""
