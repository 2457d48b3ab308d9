"""Drafting: confirmed sightings become notices, and reappearances are linked to their past.

:meth:`Drafter.draft` takes every confirmed sighting no notice accounts for yet, finds its
provider (the crawler's attribution, else the registry by host and IP; unattributed ones wait
for the registry) and, per provider, for each sighting of a *place* (media URL and archive
entry), the first rule that applies (:func:`placement`):

1. the place is **open** at that provider (a location not removed nor withdrawn): the
   sighting joins that location, whichever path (crawl or watch re-check) opened it;
2. the place was **withdrawn** (a dispute upheld) and the sighting is of the same material:
   the sighting is kept with that location and nothing is notified: the dispute stands until
   an analyst reopens the location (``keepdown notices reopen``), which keeps it one location
   with the dispute in its history. Other material at that place is a new location;
3. the place was **removed**, and the sighting is of the same material seen no later than
   the removal: it is that location's (a crawl that ran before the removal was confirmed),
   not a reappearance;
4. otherwise it becomes a new location; several sightings of one place one location. Known
   material (same file, or same bank entry) confirmed removed *before it was seen* makes it a
   **reappearance** linked to the most recent such removal: ``same_url`` (the same place),
   ``same_provider`` (elsewhere at the same provider) or ``other`` (it moved from another
   provider);
5. the new locations go into one new drafted notice, with ``NoticeDrafted`` (its locations'
   facts, :mod:`keepdown.notices.facts`, and whether it repeats material already notified to
   this provider) and, for each reappearance, ``ReappearanceDetected``.

A watch re-check that finds a removed location online again is a ``same_url`` reappearance too:
:func:`reappearance_draft` makes its notice, which the tracker writes in the same transaction
as the check. **Either path, or both, in either order, makes one reappearance**: the store
creates a location only where the place is not open at that provider (checked again under the
provider's lock, so a crawl and a watch re-check in two processes cannot both open it), and a
new location at a place ends the watch of the removed ones there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit

from keepdown.events import Event, NoticeDrafted, ReappearanceDetected
from keepdown.notices import lifecycle as lc
from keepdown.notices.attribution import registry_match
from keepdown.notices.facts import location_facts, repeat_at_provider
from keepdown.notices.model import (
    Candidate,
    Location,
    NewLocation,
    Notice,
    NoticeDraft,
    NoticeStore,
)
from keepdown.notices.providers import Provider, ProviderStore

__all__ = [
    "Drafter",
    "UnattributedHost",
    "drafted_events",
    "new_location",
    "placement",
    "reappearance_draft",
    "same_material",
]


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def same_material(c: Candidate, loc: Location) -> bool:
    """The same file (SHA-256) or the same bank entry."""
    return loc.sha256 == c.sha256 or (c.entry_id is not None and loc.entry_id == c.entry_id)


def _previous_removal(c: Candidate, earlier: list[Location]) -> Location | None:
    """The most recently removed location of the same material, removed before ``c`` was
    seen (a copy seen while the other was still up is not back after a removal)."""
    removed = [
        loc
        for loc in earlier
        if loc.status.state is lc.LocationState.REMOVED
        and loc.status.removed_at is not None
        and loc.status.removed_at < c.seen_at
        and same_material(c, loc)
    ]
    return max(removed, key=lambda loc: (loc.status.removed_at, loc.id), default=None)


def placement(c: Candidate, provider_id: int, earlier: list[Location]) -> Location | None:
    """The existing location a candidate belongs to (rules 1-3 of the module docstring), or
    None when it makes a new one."""
    here = [
        loc
        for loc in earlier
        if loc.provider_id == provider_id and loc.place == (c.media_url, c.archive_member)
    ]
    for loc in sorted(here, key=lambda loc: -loc.id):
        s = loc.status
        if s.state not in lc.CLOSED:
            return loc
        if s.state is lc.LocationState.WITHDRAWN and same_material(c, loc):
            return loc
        held = s.removed_at is not None and c.seen_at <= s.removed_at
        if s.state is lc.LocationState.REMOVED and held and same_material(c, loc):
            return loc
    return None


def _where(previous: Location, place: tuple[str, str], provider: Provider) -> str:
    if previous.place == place and previous.provider_id == provider.id:
        return "same_url"
    if previous.provider_id == provider.id:
        return "same_provider"
    return "other"


def new_location(c: Candidate, provider: Provider, earlier: list[Location]) -> NewLocation:
    """The location a candidate becomes at ``provider``, linked to a past removal if any."""
    previous = _previous_removal(c, earlier)
    return NewLocation(
        media_url=c.media_url,
        archive_member=c.archive_member,
        page_url=c.page_url,
        host=host_of(c.final_url),
        sha256=c.sha256,
        md5=c.md5,
        pdq=c.pdq,
        bank=c.bank,
        entry_id=c.entry_id,
        category=c.category,
        detected_at=c.seen_at,
        sighting_ids=(c.sighting_id,),
        reappearance_of=previous.id if previous is not None else None,
        reappearance_where=(
            _where(previous, (c.media_url, c.archive_member), provider) if previous else None
        ),
    )


def drafted_events(
    notice: Notice,
    provider: Provider,
    at: datetime,
    previous: Callable[[int], tuple[Location, Provider] | None],
    *,
    repeat: bool,
) -> list[Event]:
    """``NoticeDrafted``, and ``ReappearanceDetected`` for each reappearance location.
    ``previous`` finds a removed location (and its provider) by id; ``repeat``: the notice
    names material already notified to this provider."""
    pid, country = str(provider.id), provider.country
    found: list[Event] = [
        NoticeDrafted(
            at=at,
            notice_ref=notice.reference,
            provider=provider.name,
            provider_id=pid,
            country=country,
            sighting_ids=tuple(
                str(loc.sighting_id) for loc in notice.locations if loc.sighting_id is not None
            ),
            reappearance=notice.reappearance,
            repeat_at_provider=repeat,
            **location_facts(notice.locations),
        )
    ]
    for loc in notice.locations:
        if loc.reappearance_of is None:
            continue
        before = previous(loc.reappearance_of)
        found.append(
            ReappearanceDetected(
                at=at,
                sighting_id=str(loc.sighting_id) if loc.sighting_id is not None else "",
                location_id=str(loc.id),
                notice_ref=notice.reference,
                previous_location_id=str(loc.reappearance_of),
                provider=provider.name,
                provider_id=pid,
                country=country,
                where=loc.reappearance_where or "other",
                previous_provider_id=str(before[1].id) if before else "",
                previous_provider=before[1].name if before else "",
                previous_removed_at=before[0].status.removed_at if before else None,
            )
        )
    return found


def reappearance_draft(previous: Location, provider: Provider, at: datetime) -> NoticeDraft:
    """The notice for a removed location a watch re-check found online again."""
    new = NewLocation(
        media_url=previous.media_url,
        archive_member=previous.archive_member,
        page_url=previous.page_url,
        host=previous.host,
        sha256=previous.sha256,
        md5=previous.md5,
        pdq=previous.pdq,
        bank=previous.bank,
        entry_id=previous.entry_id,
        category=previous.category,
        detected_at=at,
        detection="recheck",
        reappearance_of=previous.id,
        reappearance_where="same_url",
    )
    return NoticeDraft(
        provider_id=provider.id,
        language=provider.language.value,
        locations=(new,),
        at=at,
        reappearance=True,
        # The removed location was notified to this same provider: a repeat by definition.
        events=lambda notice: drafted_events(
            notice, provider, at, lambda _id: (previous, provider), repeat=True
        ),
    )


@dataclass(frozen=True)
class UnattributedHost:
    """A host of confirmed sightings that no registry entry covers (an analyst adds one)."""

    host: str
    server_ip: str | None
    sightings: int
    first_seen_at: datetime
    last_seen_at: datetime
    rdap_provider: str | None
    asn: int | None
    network: str | None
    country: str
    abuse_email: str | None


class Drafter:
    """Step 2 of a send pass (module docstring)."""

    def __init__(self, store: NoticeStore, providers: ProviderStore) -> None:
        self.store = store
        self.providers = providers

    def draft(self, now: datetime) -> list[Notice]:
        registry = self.providers.list_providers()
        by_id = {p.id: p for p in registry}
        groups: dict[int, list[Candidate]] = defaultdict(list)
        for c in self.store.candidates():
            provider = by_id.get(c.provider_id or 0) or registry_match(
                registry, host_of(c.final_url), c.server_ip
            )
            if provider is not None:  # unattributed sightings wait for the registry
                groups[provider.id].append(c)
        if not groups:
            return []
        everything = [c for group in groups.values() for c in group]
        earlier = self.store.similar_locations(
            media_urls=[c.media_url for c in everything],
            sha256s=[c.sha256 for c in everything],
            entry_ids=[c.entry_id for c in everything if c.entry_id is not None],
        )
        by_location = {loc.id: loc for loc in earlier}

        def previous(location_id: int) -> tuple[Location, Provider] | None:
            loc = by_location.get(location_id)
            if loc is None or loc.provider_id not in by_id:
                return None
            return loc, by_id[loc.provider_id]

        made = []
        for provider_id, group in groups.items():
            notice = self._draft_one(by_id[provider_id], group, earlier, now, previous)
            if notice is not None:
                made.append(notice)
        return made

    def _draft_one(
        self,
        provider: Provider,
        group: list[Candidate],
        earlier: list[Location],
        now: datetime,
        previous: Callable[[int], tuple[Location, Provider] | None],
    ) -> Notice | None:
        fresh: dict[tuple[str, str], NewLocation] = {}
        for c in group:
            place = (c.media_url, c.archive_member)
            known = placement(c, provider.id, earlier)
            if known is not None:
                self.store.link_sighting(c.sighting_id, known.id, now, seen_at=c.seen_at)
            elif place in fresh:
                grouped = fresh[place]
                fresh[place] = replace(grouped, sighting_ids=(*grouped.sighting_ids, c.sighting_id))
            else:
                fresh[place] = new_location(c, provider, earlier)
        if not fresh:
            return None
        return self.store.create_notice(
            NoticeDraft(
                provider_id=provider.id,
                language=provider.language.value,
                locations=tuple(fresh.values()),
                at=now,
                reappearance=any(n.reappearance_of is not None for n in fresh.values()),
                events=lambda notice: drafted_events(
                    notice,
                    provider,
                    now,
                    previous,
                    repeat=repeat_at_provider(notice.locations, provider.id, earlier, before=now),
                ),
            )
        )

    def unattributed(self) -> list[UnattributedHost]:
        """Hosts of confirmed sightings that no registry entry covers, for an analyst."""
        registry = self.providers.list_providers()
        known = {p.id for p in registry}
        hosts: dict[tuple[str, str | None], UnattributedHost] = {}
        for c in self.store.candidates():
            host = host_of(c.final_url)
            if c.provider_id in known or registry_match(registry, host, c.server_ip):
                continue
            seen = hosts.get((host, c.server_ip))
            hosts[(host, c.server_ip)] = UnattributedHost(
                host=host,
                server_ip=c.server_ip,
                sightings=(seen.sightings if seen else 0) + 1,
                first_seen_at=seen.first_seen_at if seen else c.seen_at,
                last_seen_at=c.seen_at,
                rdap_provider=seen.rdap_provider if seen else c.attributed_provider,
                asn=seen.asn if seen else c.asn,
                network=seen.network if seen else c.network,
                country=seen.country if seen else c.country,
                abuse_email=seen.abuse_email if seen else c.abuse_email,
            )
        return sorted(hosts.values(), key=lambda h: (h.host, str(h.server_ip)))
