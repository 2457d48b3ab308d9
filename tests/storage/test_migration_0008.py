"""Migration 0008: entry values of any length (vPDQ), unique by value_key; tombstones indexed.

The upgrade is tested from a database at 0007 holding entries, a tombstone and a sighting
that points at an entry (SQLite rebuilds the table: the sighting must keep its entry).
"""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import text

from keepdown.banks.records import EntryRecord
from keepdown.banks.service import BankService
from keepdown.events import EventLog
from keepdown.hashing.types import SignalType, VpdqHash
from keepdown.storage import make_engine, open_storage_url, upgrade
from keepdown.storage.migrate import _config, head_revision, read_revision
from keepdown.storage.tables_banks import entry_key

PDQ = "f" * 64
MD5 = "0123456789abcdef0123456789abcdef"
NOW = "2026-01-01 00:00:00"


def _vpdq(frames: int, seed: int = 0) -> str:
    """A vPDQ signal in python-threatexchange's form: far over 128 characters."""
    items = [f"{(seed * 7919 + i) % 16:x}" * 64 + f",100,{i:.3f}" for i in range(frames)]
    return json.dumps(items)


def _at_0007(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
        conn.commit()
    engine.dispose()


def _seed_0007(url: str, long_value: str | None) -> None:
    engine = make_engine(url)
    rows = [("pdq", PDQ, None), ("md5", MD5, NOW)] + (
        [("vpdq", long_value, None)] * bool(long_value)
    )
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO organisations (id, name, created_at) VALUES (1, 'o', :t)"), {"t": NOW}
        )
        conn.execute(
            text(
                "INSERT INTO banks (id, name, owner_id, thresholds, created_at, updated_at) "
                "VALUES (1, 'b', 1, '{}', :t, :t)"
            ),
            {"t": NOW},
        )
        for i, (signal, value, removed) in enumerate(rows, start=1):
            conn.execute(
                text(
                    "INSERT INTO bank_entries (id, bank_id, signal_type, value, added_at, "
                    "removed_at) VALUES (:i, 1, :s, :v, :t, :r)"
                ),
                {"i": i, "s": signal, "v": value, "t": NOW, "r": removed},
            )
        conn.execute(
            text(
                "INSERT INTO sightings (sighting_key, page_url, media_url, final_url, sha256, md5, "
                "sha1, size, http_status, seen_at, entry_id, state) VALUES ('k', 'p', 'm', 'f', "
                "'s', 'm', 's', 1, 200, :t, 1, 'confirmed')"
            ),
            {"t": NOW},
        )
    engine.dispose()


def test_upgrade_from_0007_keeps_entries_tombstones_and_sightings(database_url: str) -> None:
    sqlite = database_url.startswith("sqlite")
    long_value = _vpdq(5) if sqlite else None  # only SQLite could hold one before 0008
    _at_0007(database_url)
    _seed_0007(database_url, long_value)
    engine = make_engine(database_url)
    # Up to the newest revision (later migrations build on 0008 and run in the same upgrade).
    assert upgrade(engine) == ("0007", head_revision())
    assert read_revision(engine) == head_revision()
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, value, value_key, removed_at IS NOT NULL FROM bank_entries ORDER BY id"
            )
        ).all()
        sighting = conn.execute(text("SELECT entry_id FROM sightings")).scalar_one()
        foreign_keys = conn.exec_driver_sql("PRAGMA foreign_keys").scalar() if sqlite else 1
    engine.dispose()
    expected = [(1, PDQ, PDQ, False), (2, MD5, MD5, True)]
    if long_value:
        expected.append((3, long_value, entry_key(long_value), False))
    assert [tuple(r) for r in rows] == expected
    assert sighting == 1  # the rebuild did not run the sightings' ON DELETE SET NULL
    assert foreign_keys == 1  # switched back on for the pooled connection


def test_a_long_vpdq_value_is_stored_unique_and_found(database_url: str) -> None:
    long_value = _vpdq(400)  # 400 frames: ~29,000 characters
    assert len(long_value) > 20_000
    assert entry_key(long_value).startswith("sha256:")
    with open_storage_url(database_url) as storage:
        service = BankService(storage.banks, EventLog())
        service.create_bank("videos", owner="o")
        first = service.add_entry("videos", EntryRecord(SignalType.VPDQ, long_value))
        again = service.add_entry("videos", EntryRecord(SignalType.VPDQ, long_value))
        other = service.add_entry("videos", EntryRecord(SignalType.VPDQ, _vpdq(400, seed=1)))
        bank = storage.banks.get_bank("videos")
        stored = [e.value for e in storage.banks.page_entries(bank.id)]
        entry = storage.banks.get_entry(bank.id, "vpdq", stored[0])
    assert (first.added, again.added, again.already_present, other.added) == (1, 0, 1, 1)
    assert len(stored) == 2
    assert len(entry.value) > 20_000
    assert VpdqHash.from_hex(entry.value) == VpdqHash.from_hex(long_value)


def test_tombstones_are_read_through_their_index_on_sqlite(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    upgrade(engine)
    with engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM bank_entries WHERE removed_at IS NOT NULL"
        ).all()
    engine.dispose()
    assert any("ix_bank_entries_removed_at" in str(row) for row in plan), plan


@pytest.mark.parametrize("value", ["a" * 128, "a" * 129])
def test_entry_key_keeps_short_values_and_digests_long_ones(value: str) -> None:
    key = entry_key(value)
    assert len(key) <= 128
    assert (key == value) == (len(value) <= 128)
