"""Stored sightings: :class:`SightingRecorder`, the crawler's media sink on SQL.

For each hashed media of a crawl, :meth:`SightingRecorder.accept`:

1. matches the hashes through an injected ``matcher`` (the composition root passes
   ``BankIndex.match_result``) and picks the best match: exact on a trusted bank, then exact,
   then the nearest;
2. attributes the host through an injected :class:`~keepdown.crawl.attribution.Attributor`
   (awaited: an RDAP lookup never stalls the crawl), cached per (host, ip) for the crawl;
3. stores one ``sightings`` row (never bytes), unless the same sighting was stored before a
   crash; a host no provider was found for is listed in ``crawl_unknown_hosts``;
4. emits :class:`MatchFound` per matching entry and one :class:`SightingRecorded` for a match,
   naming the bank's source (its provenance: an auto-confirmed match has no review decision
   to name it), the crawl, and the URL report that started the crawl (``url_reports``), so a
   reported URL can be followed to the notice its sightings went into.

States: ``unmatched``, ``confirmed`` (exact match on a bank with trust ``auto``),
``pending_review`` (a near match, or any match on a ``review`` bank), ``rejected`` (analyst).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from keepdown.crawl.attribution import Attribution, Attributor, CachingAttributor
from keepdown.crawl.sightings import Sighting
from keepdown.crawl.urls import host_of
from keepdown.events import EventSink, MatchFound, SightingRecorded
from keepdown.matching.views import MatchView, best_match, is_confirmed
from keepdown.storage.engine import inserted_id
from keepdown.storage.tables_banks import banks
from keepdown.storage.tables_crawl import crawl_unknown_hosts, sightings, url_reports

__all__ = ["SightingRecorder", "list_sightings", "sighting_state"]


def sighting_state(match: MatchView | None) -> str:
    """``confirmed`` when the best match may act without review (the one rule,
    :func:`~keepdown.matching.views.is_confirmed`), else ``pending_review``."""
    if match is None:
        return "unmatched"
    return "confirmed" if is_confirmed(match) else "pending_review"


def _match_columns(best: MatchView | None, state: str) -> dict[str, Any]:
    return {
        "bank": best.bank if best else None,
        "entry_id": best.entry_id if best else None,
        "signal_type": best.signal_type if best else None,
        "distance": best.distance if best else None,
        "variant": (best.variant or "original") if best else None,
        "match_type": best.match_type if best else None,
        "state": state,
    }


def _attribution_columns(who: Attribution) -> dict[str, Any]:
    return {
        "provider_id": who.provider_id,
        "provider": who.provider,
        "asn": who.asn,
        "network": who.network,
        "country": who.country[:2],
        "abuse_email": who.abuse_email,
        "attribution_source": who.source,
    }


class SightingRecorder:
    """The crawler's media sink on SQL (module docstring). One per crawl."""

    def __init__(
        self,
        engine: Engine,
        crawl_id: int,
        *,
        matcher: Callable[[Any], Sequence[MatchView]],
        attributor: Attributor,
        events: EventSink,
        clock_now: Callable[[], datetime],
    ) -> None:
        self.engine = engine
        self.crawl_id = crawl_id
        self.matcher = matcher
        self.attributor = CachingAttributor(attributor)
        self.events = events
        self.now = clock_now
        self.recorded = 0
        self.matched = 0
        self._sources: dict[str, str] = {}  # bank name -> its source, read once per crawl
        self._report_ref: str | None = None  # the crawl's URL report, read once

    def _bank_source(self, bank: str) -> str:
        if bank not in self._sources:
            with self.engine.connect() as conn:
                found = conn.execute(select(banks.c.source).where(banks.c.name == bank)).first()
            self._sources[bank] = str(found[0]) if found is not None else ""
        return self._sources[bank]

    def _report(self) -> str:
        """The reference of the first URL report whose crawl this is ("" when none)."""
        if self._report_ref is None:
            r = url_reports.c
            query = select(r.reference).where(r.crawl_id == self.crawl_id).order_by(r.id).limit(1)
            with self.engine.connect() as conn:
                self._report_ref = str(conn.execute(query).scalar() or "")
        return self._report_ref

    async def accept(self, sighting: Sighting, hashes: Any) -> None:
        matches = list(self.matcher(hashes))
        best = best_match(matches)
        state = sighting_state(best)
        host = host_of(sighting.final_url)
        who = await self.attributor.attribute(host, sighting.server_ip)
        row = self._row(sighting) | _match_columns(best, state) | _attribution_columns(who)
        new_id = self._store(row, host, sighting.server_ip or "", unknown=not who.known)
        if new_id is None:
            return  # recorded before a crash; the media was fetched again, not seen again
        self.recorded += 1
        if best is not None:
            self.matched += 1
            self._emit(sighting, matches, best, state, who, new_id)

    def _store(self, row: dict[str, Any], host: str, ip: str, *, unknown: bool) -> int | None:
        """Insert the row; None if this sighting is already stored."""
        with self.engine.begin() as conn:
            key = sightings.c.sighting_key == row["sighting_key"]
            if conn.execute(select(sightings.c.id).where(key)).first():
                return None
            new_id = inserted_id(conn.execute(insert(sightings).values(**row)))
            if unknown:
                self._note_unknown(conn, host, ip)
        return int(new_id)

    def _emit(
        self,
        sighting: Sighting,
        matches: Sequence[MatchView],
        best: MatchView,
        state: str,
        who: Attribution,
        sighting_id: int,
    ) -> None:
        for match in matches:
            self.events.emit(
                MatchFound(
                    at=sighting.seen_at,
                    bank=match.bank,
                    entry_id=match.entry_id,
                    signal_type=match.signal_type,
                    distance=match.distance,
                    variant=match.variant or "original",
                    source=sighting.final_url,
                )
            )
        self.events.emit(
            SightingRecorded(
                at=sighting.seen_at,
                sighting_id=str(sighting_id),
                media_url=sighting.media_url,
                page_url=sighting.page_url,
                bank=best.bank,
                entry_id=best.entry_id,
                match_type=best.match_type,
                state=state,
                provider=who.provider or "",
                country=who.country,
                bank_source=self._bank_source(best.bank),
                crawl_id=str(self.crawl_id),
                report_ref=self._report(),
                signal_type=str(getattr(best, "signal_type", "") or ""),
            )
        )

    def _row(self, s: Sighting) -> dict[str, Any]:
        key = f"{self.crawl_id}|{s.page_url}|{s.media_url}|{s.archive_member}"
        return {
            "crawl_id": self.crawl_id,
            "sighting_key": hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest(),
            "page_url": s.page_url,
            "media_url": s.media_url,
            "final_url": s.final_url,
            "archive_member": s.archive_member,
            "found_by": s.found_by[:100],
            "sha256": s.sha256,
            "md5": s.md5,
            "sha1": s.sha1,
            "pdq": s.pdq,
            "quality": s.pdq_quality,
            "size": s.size,
            "content_type": s.content_type[:100],
            "http_status": s.status,
            "server_ip": s.server_ip,
            "seen_at": s.seen_at,
        }

    def _note_unknown(self, conn: Connection, host: str, ip: str) -> None:
        c = crawl_unknown_hosts.c
        seen = conn.execute(
            select(c.id).where(c.crawl_id == self.crawl_id, c.host == host, c.ip == ip)
        ).first()
        if seen is None:
            conn.execute(
                insert(crawl_unknown_hosts).values(
                    crawl_id=self.crawl_id, host=host[:255], ip=ip, first_seen_at=self.now()
                )
            )


def list_sightings(
    engine: Engine, *, crawl_id: int | None = None, states: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Sightings as dicts, oldest first (tests, the CLI and analyst pages)."""
    query = select(sightings).order_by(sightings.c.id)
    if crawl_id is not None:
        query = query.where(sightings.c.crawl_id == crawl_id)
    if states is not None:
        query = query.where(sightings.c.state.in_(list(states)))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
