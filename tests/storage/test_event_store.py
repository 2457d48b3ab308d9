"""SqlEventStore: a durable EventSink that gives back the typed events it was given."""

from __future__ import annotations

from keepdown.clock import utc
from keepdown.events import BankEntryRemoved, BankImported, EventSink, MatchFound
from keepdown.storage import Storage, open_storage_url


def test_events_round_trip_in_order(storage: Storage) -> None:
    sink: EventSink = storage.events
    emitted = [
        BankImported(at=utc(2026, 1, 1), bank="b", added=3, already_present=1, skipped_invalid=0),
        MatchFound(at=utc(2026, 1, 2), bank="b", entry_id=7, signal_type="pdq", distance=4),
        BankEntryRemoved(
            at=utc(2026, 1, 3), bank="b", signal_type="md5", value="0" * 32, reason="false-positive"
        ),
    ]
    for event in emitted:
        sink.emit(event)
    assert list(storage.events.read()) == emitted
    assert list(storage.events.read("match_found")) == [emitted[1]]
    assert list(storage.events.read(since=utc(2026, 1, 2))) == emitted[1:]
    assert storage.events.count() == 3
    assert storage.events.count("bank_imported") == 1
    assert storage.events.to_log().stats["bank_entry_removed/count"] == 1


def test_events_survive_reopening(database_url: str) -> None:
    event = BankImported(
        at=utc(2026, 1, 1),
        bank="b",
        added=1,
        already_present=0,
        skipped_invalid=0,
        source_file="x.csv",
    )
    with open_storage_url(database_url) as first:
        first.events.emit(event)
    with open_storage_url(database_url) as second:
        assert list(second.events.read()) == [event]


def test_events_with_extra_times_and_tuples_round_trip(storage) -> None:
    from datetime import UTC, datetime, timedelta

    from keepdown.events import NoticeSent, RemovalConfirmed

    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    sent = NoticeSent(at=at, notice_ref="KD-1", provider="p", locations=("1", "2"))
    removed = RemovalConfirmed(
        at=at + timedelta(hours=5),
        location_id="1",
        notice_ref="KD-1",
        provider="p",
        first_notice_at=at,
    )
    storage.events.emit(sent)
    storage.events.emit(removed)
    assert list(storage.events.read()) == [sent, removed]
