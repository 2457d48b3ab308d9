"""The list computed from the notices' locations: serials, deltas, events, domains, appeals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from keepdown.blocklist import AppealState, EntryKind
from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.events import (
    BlocklistAppealDecided,
    BlocklistAppealed,
    BlocklistDomainDecided,
    BlocklistEntryAdded,
    BlocklistEntryRemoved,
)

H = timedelta(hours=1)


def _targets(service) -> set[str]:
    return {e.target for e in service.snapshot().entries}


def test_confirmed_locations_are_listed_until_removal_and_back_on_reappearance(
    service, locations, clock, storage
):
    one = locations.add("http://img.hosting-a.test/a/1.jpg", clock.now())
    locations.add("http://IMG.hosting-a.test/a/./2.jpg#x", clock.now(), state="acknowledged")
    locations.add("http://img.hosting-a.test/a/3.jpg", clock.now(), state="removed")
    locations.add("http://img.hosting-a.test/a/4.jpg", clock.now(), state="withdrawn")
    first = service.refresh()
    assert first.serial == 1
    assert _targets(service) == {
        "http://img.hosting-a.test/a/1.jpg",
        "http://img.hosting-a.test/a/2.jpg",
        "canary.blocklist.test",
        "http://canary.blocklist.test/keepdown-canary",
    }
    # nothing changed: no new serial
    assert service.refresh().serial == 1

    clock.advance(H)
    locations.set_state(one, "removed")
    second = service.refresh()
    assert second.serial == 2
    assert "http://img.hosting-a.test/a/1.jpg" not in _targets(service)
    delta = service.changes_since(1)
    assert [(c.op, c.entry.target, c.why) for c in delta] == [
        ("remove", "http://img.hosting-a.test/a/1.jpg", "removed")
    ]

    clock.advance(H)  # the same URL serves the material again: a new location
    locations.add("http://img.hosting-a.test/a/1.jpg", clock.now())
    assert service.refresh().serial == 3
    assert "http://img.hosting-a.test/a/1.jpg" in _targets(service)

    kinds = [e.kind for e in storage.events.read() if e.kind.startswith("blocklist_entry")]
    assert kinds.count(BlocklistEntryAdded.kind) == 5
    assert kinds.count(BlocklistEntryRemoved.kind) == 1
    with pytest.raises(InvalidInput):
        service.changes_since(4)


def test_duplicates_of_one_url_are_one_entry_kept_until_the_last_goes(service, locations, clock):
    a = locations.add("http://h.test/x.jpg", clock.now())
    clock.advance(H)
    b = locations.add("http://h.test/x.jpg", clock.now())
    entries = [e for e in service.refresh().entries if e.target == "http://h.test/x.jpg"]
    assert len(entries) == 1
    assert entries[0].first_confirmed_at == clock.now() - H
    locations.set_state(a, "removed")
    assert "http://h.test/x.jpg" in {e.target for e in service.refresh().entries}
    locations.set_state(b, "removed")
    assert "http://h.test/x.jpg" not in {e.target for e in service.refresh().entries}


def test_whole_domains_only_by_decision_with_a_reason(service, storage):
    with pytest.raises(InvalidInput):
        service.list_domain("dedicated.test", analyst="ana", reason=" ")
    with pytest.raises(InvalidInput):
        service.list_domain("http://dedicated.test/x", analyst="ana", reason="why")
    service.list_domain("Dedicated.TEST.", analyst="ana", reason="the whole site is material")
    domains = service.snapshot().of_kind(EntryKind.DOMAIN)
    assert {d.target for d in domains} == {"dedicated.test", "canary.blocklist.test"}
    service.lift_domain("dedicated.test", analyst="ana", reason="sold, now clean")
    assert "dedicated.test" not in _targets(service)
    with pytest.raises(NotFound):
        service.lift_domain("dedicated.test", analyst="ana", reason="again")
    decided = [e for e in storage.events.read() if isinstance(e, BlocklistDomainDecided)]
    assert [(e.domain, e.listed, e.by) for e in decided] == [
        ("dedicated.test", True, "ana"),
        ("dedicated.test", False, "ana"),
    ]


def test_an_upheld_appeal_delists_until_a_newer_confirmation(service, locations, clock, storage):
    locations.add("http://shop.test/catalogue/9.jpg", clock.now())
    locations.add("http://other.test/1.jpg", clock.now())
    service.refresh()
    with pytest.raises(NotFound):
        service.appeal("http://unlisted.test/", contact="me@unlisted.test", reason="not me")
    appeal = service.appeal(
        "http://SHOP.test/catalogue/9.jpg", contact="owner@shop.test", reason="a product photo"
    )
    rejected = service.appeal("http://other.test/1.jpg", contact="", reason="mine")
    service.decide_appeal(rejected.id, analyst="ana", upheld=False, note="confirmed again")
    assert "http://other.test/1.jpg" in _targets(service)

    clock.advance(H)
    decided = service.decide_appeal(appeal.id, analyst="ana", upheld=True, note="misattributed")
    assert decided.state is AppealState.UPHELD
    assert "http://shop.test/catalogue/9.jpg" not in _targets(service)
    why = [c.why for c in service.changes_since(service.snapshot().serial - 1)]
    assert why == ["appeal upheld"]
    with pytest.raises(Conflict):
        service.decide_appeal(appeal.id, analyst="ana", upheld=False, note="")

    clock.advance(H)  # found and confirmed again after the decision: listed again
    locations.add("http://shop.test/catalogue/9.jpg", clock.now())
    assert "http://shop.test/catalogue/9.jpg" in {e.target for e in service.refresh().entries}
    kinds = {e.kind for e in storage.events.read()}
    assert {BlocklistAppealed.kind, BlocklistAppealDecided.kind} <= kinds


def test_the_canary_cannot_be_appealed_away(service):
    service.refresh()
    appeal = service.appeal("canary.blocklist.test", contact="", reason="test")
    service.decide_appeal(appeal.id, analyst="ana", upheld=True, note="")
    assert "canary.blocklist.test" in _targets(service)
