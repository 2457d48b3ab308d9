"""A checkpoint plus the delta since gives exactly what a fresh build from the database gives.

Every test compares a BankIndex started from a checkpoint with one built from SQL at the same
moment: the set of entries each answers for, and their answers to queries near stored values.
"""

from __future__ import annotations

import random
import shutil
import threading

import pytest
from sqlalchemy import update

from keepdown.banks.model import BankSettingsChange, ImportFile
from keepdown.banks.records import EntryRecord
from keepdown.clock import FrozenClock
from keepdown.hashing.types import Md5, PdqHash, SignalType
from keepdown.index.checkpoint import CheckpointDir
from keepdown.matching.live import BankIndex
from keepdown.storage import bulk_import, open_storage_url
from keepdown.storage.index_feed import IndexFeed
from keepdown.storage.tables_banks import banks as banks_table

from .helpers import NOW, answers, pdq_values, put, queries_near, visible


def _index(storage, folder=None, **options) -> BankIndex:
    index = BankIndex(
        IndexFeed(storage.engine, batch=1000),
        storage.banks.list_banks,
        checkpoints=CheckpointDir(folder) if folder else None,
        checkpoint_after=0,
        background=False,
        clock=FrozenClock(NOW),
        **options,
    )
    index.refresh()
    return index


def _same(storage, index: BankIndex, values: list[str], rng: random.Random) -> None:
    fresh = _index(storage)
    assert visible(index.snapshot) == visible(fresh.snapshot)
    queries = queries_near(values, rng)
    assert answers(index, queries) == answers(fresh, queries)
    assert index.status()["entries"] == fresh.status()["entries"]


def _banks(storage) -> None:
    from keepdown.banks.service import BankService

    service = BankService(storage.banks, storage.events, FrozenClock(NOW))
    service.create_bank("wide", owner="t", thresholds={"pdq": 31})
    service.create_bank("tight", owner="t", thresholds={"pdq": 10})
    service.create_bank("other", owner="t")


def test_checkpoint_plus_delta_equals_a_fresh_build(storage, tmp_path) -> None:
    rng = random.Random(5)
    _banks(storage)
    wide, tight = pdq_values(6000, rng), pdq_values(300, rng)  # wide has MIH tables (> 4096)
    put(storage, "wide", wide)
    put(storage, "tight", tight)
    put(storage, "other", [f"{i:032x}" for i in range(50)], signal=SignalType.MD5)
    put(storage, "wide", wide[:30], removed=True)  # tombstones known to the checkpoint
    storage.banks.remove_entry(
        storage.banks.get_bank("tight"), "pdq", tight[0], "false-positive", NOW
    )
    first = _index(storage, tmp_path / "idx")
    name = first.checkpoint()
    assert name is not None

    # After the checkpoint: every kind of change.
    later = pdq_values(400, rng)
    put(storage, "wide", later)  # new entries
    put(storage, "tight", [later[0]])  # the same hash in a second bank
    for value in wide[100:140] + later[:5]:  # removals of old and of new entries
        storage.banks.remove_entry(storage.banks.get_bank("wide"), "pdq", value, "other", NOW)
    put(storage, "wide", wide[140:160], removed=True)  # a peer's tombstones
    put(storage, "wide", wide[:10], restore=True)  # restores of pre-checkpoint tombstones
    put(storage, "other", [f"{i:032x}" for i in range(50, 60)], signal=SignalType.MD5)
    storage.banks.change_settings("other", BankSettingsChange(enabled=False), NOW)
    with storage.engine.begin() as conn:  # a threshold change (as an admin tool would make it)
        conn.execute(
            update(banks_table).where(banks_table.c.name == "tight").values(thresholds={"pdq": 4})
        )

    loaded = _index(storage, tmp_path / "idx")
    assert loaded.loaded_from == name
    _same(storage, loaded, wide + tight + later, rng)
    assert loaded.match_hashes([Md5.from_hex(f"{1:032x}")]) == [[]]  # "other" is disabled

    # The loaded index keeps following the database like any other.
    more = pdq_values(50, rng)
    put(storage, "tight", more)
    storage.banks.remove_entry(storage.banks.get_bank("wide"), "pdq", wide[200], "other", NOW)
    put(storage, "wide", wide[10:20], restore=True)
    assert loaded.refresh() is True
    _same(storage, loaded, wide + tight + later + more, rng)
    assert loaded.refresh() is False


def test_an_import_in_flight_at_a_refresh_is_picked_up_when_it_commits(
    storage, tmp_path, monkeypatch
) -> None:
    """PostgreSQL may commit ids below ones already seen (a long import, then a short one)."""
    monkeypatch.setattr(bulk_import, "BATCH_SIZE", 100)
    rng = random.Random(9)
    _banks(storage)
    put(storage, "wide", pdq_values(20, rng))
    index = _index(storage, tmp_path / "idx")
    slow_values, gate, written = pdq_values(300, rng), threading.Event(), threading.Event()

    def slow_records():
        for i, value in enumerate(slow_values):
            if i == 250:  # two batches (200 ids) are written, uncommitted
                written.set()
                assert gate.wait(30)
            yield EntryRecord(SignalType.PDQ, value)

    slow = threading.Thread(
        target=lambda: storage.banks.import_entries(
            storage.banks.get_bank("wide"),
            slow_records(),
            ImportFile("slow", "0" * 64),
            NOW,
        )
    )
    slow.start()
    assert written.wait(30)
    quick = pdq_values(5, rng)
    if storage.engine.dialect.name == "postgresql":  # SQLite would wait for the writer
        put(storage, "tight", quick)  # commits ids above the slow import's
    index.refresh()
    index.checkpoint()  # a checkpoint taken with the import in flight
    gate.set()
    slow.join(30)
    reloaded = _index(storage, tmp_path / "idx")
    assert index.refresh() is True
    everything = slow_values + quick
    _same(storage, index, everything, rng)
    _same(storage, reloaded, everything, rng)
    assert {("wide", 0)} <= {(v.bank, v.distance) for v in _hits(index, slow_values[0])}


def _hits(index, value):
    return index.match_hashes([PdqHash.from_hex(value)])[0]


# --- refusals: never a wrong answer, always a clear log line and a rebuild --------------------


@pytest.fixture
def saved(tmp_path):
    """A SQLite database with banks and a checkpoint of them."""
    storage = open_storage_url(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    _banks(storage)
    rng = random.Random(3)
    values = pdq_values(5000, rng)
    put(storage, "wide", values)
    put(storage, "other", [f"{i:064x}" for i in range(20)], signal=SignalType.SHA256)
    index = _index(storage, tmp_path / "idx")
    name = index.checkpoint()
    yield storage, tmp_path / "idx" / str(name), values
    storage.close()


def _refused(storage, folder, caplog, words: str, values) -> BankIndex:
    caplog.set_level("WARNING", logger="keepdown.matching.live")
    index = _index(storage, folder)
    assert index.loaded_from == "database"
    assert any("refused" in r.message and words in r.message for r in caplog.records), [
        r.message for r in caplog.records
    ]
    _same(storage, index, values, random.Random(1))
    return index


@pytest.mark.parametrize("name", ["pdq.main.tables.npy", "pdq.main.entry_ids.npy"])
def test_a_corrupt_file_is_refused_then_replaced(saved, caplog, name) -> None:
    storage, folder, values = saved
    path = folder / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    index = _refused(storage, folder.parent, caplog, "checksum", values)
    # The refused checkpoint was replaced by a good one at once.
    assert index.checkpoint_name not in (None, folder.name)
    assert _index(storage, folder.parent).loaded_from == index.checkpoint_name


def test_a_truncated_file_is_refused(saved, caplog) -> None:
    storage, folder, values = saved
    path = folder / "pdq.main.words.npy"
    path.write_bytes(path.read_bytes()[:1000])
    _refused(storage, folder.parent, caplog, "truncated", values)


def test_a_missing_file_is_refused(saved, caplog) -> None:
    storage, folder, values = saved
    (folder / "sha256.main.values.npy").unlink()
    _refused(storage, folder.parent, caplog, "damaged", values)


def test_another_databases_checkpoint_is_refused(saved, tmp_path, caplog) -> None:
    _, folder, _ = saved
    other = open_storage_url(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    _banks(other)  # the same bank names, created at the same (frozen) time
    put(other, "wide", pdq_values(6000, random.Random(4)))
    try:
        caplog.set_level("WARNING", logger="keepdown.matching.live")
        index = _index(other, folder.parent)
        assert index.loaded_from == "database"
        assert any("another database" in r.message for r in caplog.records)
    finally:
        other.close()


def test_a_copy_that_diverged_is_refused(saved, tmp_path, caplog) -> None:
    """A copy of the database file (same banks, same times) that then took other entries."""
    storage, folder, _ = saved
    storage.engine.dispose()
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(tmp_path / "a.sqlite3", copy)
    other = open_storage_url(f"sqlite:///{copy}")
    try:
        with other.engine.begin() as conn:  # rewrite entries in place: same ids, other values
            conn.exec_driver_sql(
                "UPDATE bank_entries SET value = substr(value, 2) || '0' WHERE signal_type = 'pdq'"
            )
        caplog.set_level("WARNING", logger="keepdown.matching.live")
        assert _index(other, folder.parent).loaded_from == "database"
        assert any("not in the database" in r.message for r in caplog.records)
    finally:
        other.close()


def test_a_database_behind_the_checkpoint_is_refused(saved, tmp_path, caplog) -> None:
    storage, folder, values = saved
    with storage.engine.begin() as conn:  # as if restored from a backup taken earlier
        conn.exec_driver_sql("DELETE FROM bank_entries WHERE id > 4000")
    kept = values[:4000]
    _refused(storage, folder.parent, caplog, "behind", kept)


def test_a_checkpoint_of_another_schema_revision_is_refused(saved, caplog) -> None:
    import json

    storage, folder, values = saved
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["meta"]["identity"]["revision"] = "0001_initial"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _refused(storage, folder.parent, caplog, "revision", values)


def test_a_checkpoint_of_another_format_is_refused(saved, caplog) -> None:
    import json

    storage, folder, values = saved
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format"] = "keepdown-index-1"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _refused(storage, folder.parent, caplog, "another version", values)


class _CountingFeed(IndexFeed):
    """The real feed, counting full tombstone scans."""

    scans = 0

    def view(self):  # type: ignore[override]
        feed = self

        class Counting:
            def __init__(self, inner):
                self.inner = inner

            def __getattr__(self, name):
                return getattr(self.inner, name)

            def tombstones(self):
                feed.scans += 1
                return self.inner.tombstones()

        class Context:
            def __enter__(self):
                self.cm = IndexFeed.view(feed)
                return Counting(self.cm.__enter__())

            def __exit__(self, *exc):
                return self.cm.__exit__(*exc)

        return Context()


def test_single_removals_need_no_scan_and_a_lookalike_file_cannot_fool_it(storage) -> None:
    rng = random.Random(21)
    _banks(storage)
    values = pdq_values(200, rng)
    put(storage, "wide", values)
    feed = _CountingFeed(storage.engine)
    index = BankIndex(feed, storage.banks.list_banks, background=False)
    index.refresh()
    wide = storage.banks.get_bank("wide")
    for value in values[:3]:
        storage.banks.remove_entry(wide, "pdq", value, "false-positive", NOW)
    assert index.refresh() is True
    assert feed.scans == 0  # the journal named each removed entry
    _same(storage, index, values, rng)

    # A file named like a journal row, claiming an active entry, removing another one.
    claimed = storage.banks.get_entry(wide.id, "pdq", values[10])
    record = EntryRecord(SignalType.PDQ, values[11], removed=True)
    storage.banks.import_entries(
        wide, [record], ImportFile(f"(removed entry {claimed.id})", "0" * 64), NOW
    )
    assert index.refresh() is True
    assert feed.scans == 1  # the claim did not hold: every tombstone was read
    _same(storage, index, values, rng)
    assert [v.distance for v in _hits(index, values[10])] == [0]
    assert all(v.distance for v in _hits(index, values[11]))
