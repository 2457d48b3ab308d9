"""The review queue on real storage: claims never overlap, decisions are atomic and counted."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from keepdown.errors import Conflict, Forbidden, InvalidInput
from keepdown.events import MediaRevealed, ReviewDecided
from keepdown.review import Decision, Prefs, Queue
from keepdown.storage.tables_crawl import sightings
from tests.review.conftest import add_sighting


def _state(storage, sighting_id: int) -> str:
    with storage.engine.connect() as conn:
        return conn.execute(
            select(sightings.c.state).where(sightings.c.id == sighting_id)
        ).scalar_one()


def test_two_analysts_never_hold_the_same_item(storage, review, bank_entry) -> None:
    service, _ = review
    ids = [add_sighting(storage.engine, n, entry_id=bank_entry) for n in range(3)]
    add_sighting(storage.engine, 99, state="confirmed", entry_id=bank_entry)  # not for review
    alice, bob = service.next("alice"), service.next("bob")
    assert alice is not None
    assert bob is not None
    assert alice.sighting_id == ids[0]
    assert bob.sighting_id == ids[1]
    # Asking again gives each the item they already hold.
    assert service.next("alice").sighting_id == ids[0]
    carol = service.next("carol")
    assert carol.sighting_id == ids[2]
    assert service.next("dave") is None


def test_concurrent_claims_hand_out_each_item_once(storage, review, bank_entry) -> None:
    service, _ = review
    for n in range(6):
        add_sighting(storage.engine, n, entry_id=bank_entry)
    got: dict[str, int | None] = {}

    def take(name: str) -> None:
        item = service.next(name)
        got[name] = item.sighting_id if item else None

    threads = [threading.Thread(target=take, args=(f"a{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = [v for v in got.values() if v is not None]
    assert len(held) == 6
    assert len(set(held)) == 6


def test_an_expired_claim_goes_to_the_next_analyst(storage, review, clock, bank_entry) -> None:
    service, _ = review
    sid = add_sighting(storage.engine, 1, entry_id=bank_entry)
    assert service.next("alice").sighting_id == sid
    assert service.next("bob") is None
    clock.advance(timedelta(minutes=11))
    assert service.next("bob").sighting_id == sid
    with pytest.raises(Forbidden):
        service.decide("alice", sid, Decision.CONFIRM, category="csam")


def test_confirm_confirms_the_sighting_and_emits_the_decision(storage, review, bank_entry) -> None:
    service, events = review
    sid = add_sighting(storage.engine, 1, entry_id=bank_entry)
    item = service.next("alice")
    assert item.bank_source == "unit-test-hotline"
    assert (item.category, item.distance, item.variant) == ("csam", 12, "mirror_x")
    service.decide("alice", sid, Decision.CONFIRM)  # the entry's category by default
    assert _state(storage, sid) == "confirmed"
    (decided,) = events.of(ReviewDecided)
    assert (decided.decision, decided.category, decided.source) == (
        "confirm",
        "csam",
        "unit-test-hotline",
    )
    assert decided.entry_id == bank_entry
    assert decided.distance == 12
    with pytest.raises(Forbidden):
        service.decide("alice", sid, Decision.CONFIRM, category="csam")  # decided already


def test_bad_decisions_and_categories_are_refused_and_change_nothing(
    storage, review, bank_entry
) -> None:
    service, events = review
    sid = add_sighting(storage.engine, 1, entry_id=bank_entry)
    service.next("alice")
    with pytest.raises(InvalidInput):
        service.decide("alice", sid, "maybe")
    with pytest.raises(InvalidInput):
        service.decide("alice", sid, Decision.CONFIRM, category="nonsense")
    assert _state(storage, sid) == "pending_review"
    assert not events.of(ReviewDecided)


def test_not_a_match_rejects_and_allow_lists(storage, review, bank_entry) -> None:
    service, events = review
    sid = add_sighting(storage.engine, 1, entry_id=bank_entry)
    service.next("alice")
    service.decide("alice", sid, Decision.NOT_A_MATCH, allow_list=True, note="a landscape")
    assert _state(storage, sid) == "rejected"
    (entry,) = service.store.allow_entries()
    assert (entry.entry_id, entry.added_by, entry.reason) == (bank_entry, "alice", "a landscape")
    assert events.of(ReviewDecided)[0].allow_listed is True


def test_escalated_items_go_to_senior_analysts_only(storage, review, bank_entry) -> None:
    service, _ = review
    sid = add_sighting(storage.engine, 1, entry_id=bank_entry)
    service.next("alice")
    service.decide("alice", sid, Decision.ESCALATE, note="unsure of age")
    assert service.next("bob") is None
    senior = service.next("sam", senior=True)
    assert senior.sighting_id == sid
    assert senior.queue is Queue.SENIOR
    assert senior.escalated_by == "alice"
    assert senior.escalation_note == "unsure of age"
    with pytest.raises(Conflict):
        service.decide("sam", sid, Decision.ESCALATE)
    service.decide("sam", sid, Decision.CONFIRM, category="csam")
    assert _state(storage, sid) == "confirmed"
    assert service.store.waiting(service.clock.now()) == {"main": 0, "senior": 0}


def test_a_skipped_item_goes_to_someone_else(storage, review, clock, bank_entry) -> None:
    service, _ = review
    first = add_sighting(storage.engine, 1, entry_id=bank_entry)
    second = add_sighting(storage.engine, 2, entry_id=bank_entry)
    service.next("alice")
    service.decide("alice", first, Decision.SKIP)
    assert service.next("alice").sighting_id == second
    assert service.next("bob").sighting_id == first
    assert service.store.decided_since("alice", clock.now() - timedelta(hours=1)) == 1
    assert service.store.decided_since("alice", clock.now()) == 0


def test_reveal_is_recorded_before_it_is_allowed(storage, review, bank_entry) -> None:
    service, events = review
    sid = add_sighting(storage.engine, 1, entry_id=bank_entry)
    service.next("alice")
    with pytest.raises(RuntimeError):
        service.reveal("alice", sid, lambda item: (_ for _ in ()).throw(RuntimeError("log down")))
    assert service.store.get(sid).revealed_at is None
    recorded = []
    item = service.reveal("alice", sid, recorded.append)
    assert recorded
    assert item.revealed_at is not None
    assert events.of(MediaRevealed)[0].analyst == "alice"
    with pytest.raises(Forbidden):
        service.reveal("bob", sid, recorded.append)


def test_wellbeing_prefs_are_kept_and_checked(storage, review) -> None:
    service, _ = review
    assert service.prefs("alice") == service.config.default_prefs
    service.set_prefs("alice", Prefs(blur=20, grayscale=False, break_after_reviews=10))
    assert service.prefs("alice").blur == 20
    assert not service.prefs("alice").grayscale
    with pytest.raises(InvalidInput):
        service.set_prefs("alice", Prefs(blur=1))
    assert service.prefs("alice").blur == 20


def test_sightings_are_listed_with_filters_and_pages(storage, review, bank_entry) -> None:
    from keepdown.review.model import SightingFilter

    for n in range(5):
        add_sighting(
            storage.engine, n, entry_id=bank_entry, provider="hostco" if n % 2 else "other"
        )
    rows, total = service_store(review).list_sightings(SightingFilter(provider="hostco"), limit=1)
    assert total == 2
    assert len(rows) == 1
    assert rows[0].provider == "hostco"
    rows, total = service_store(review).list_sightings(SightingFilter(state="confirmed"))
    assert (rows, total) == ([], 0)
    assert service_store(review).sighting_facets()["providers"] == ["hostco", "other"]


def service_store(review):
    return review[0].store
