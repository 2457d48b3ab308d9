"""SqlBankStore on SQLite and PostgreSQL: banks, atomic idempotent imports, tombstones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keepdown.banks.classification import Category, Classification, Maturity
from keepdown.banks.model import BankSettingsChange, BankSpec, ImportFile, RemovalReason, TrustLevel
from keepdown.banks.records import EntryRecord, LineError
from keepdown.clock import utc
from keepdown.errors import Conflict, ImportFormatError, NotFound
from keepdown.hashing.types import SignalType
from keepdown.storage import Storage, bulk_import

NOW = utc(2026, 3, 1)
FILE = ImportFile(name="list.txt", sha256="0" * 64)


def md5(i: int) -> str:
    return f"{i:032x}"


def records(start: int, stop: int, **extra) -> Iterator[EntryRecord]:
    for i in range(start, stop):
        yield EntryRecord(signal_type=SignalType.MD5, value=md5(i), **extra)


def make_bank(storage: Storage, name: str = "local", **extra):
    spec = BankSpec(name=name, owner="hotline", source="tests", **extra)
    return storage.banks.create_bank(spec, NOW)


def active_values(storage: Storage, bank) -> list[str]:
    return [e.value for e in storage.banks.iter_entries(bank.id, include_removed=False)]


def test_create_get_list_banks(storage: Storage) -> None:
    csam = Classification(Category.CSAM, Maturity.PREPUBESCENT)
    bank = make_bank(
        storage,
        "arachnid",
        classification=csam,
        default_label="A1",
        trust=TrustLevel.AUTO,
        thresholds={"pdq": 20},
    )
    make_bank(storage, "another")
    got = storage.banks.get_bank("arachnid")
    assert got == bank
    assert (got.owner, got.classification, got.default_label) == ("hotline", csam, "A1")
    assert (got.trusted, got.enabled) == (True, True)
    assert (got.threshold("pdq"), got.threshold("md5"), got.threshold("vpdq")) == (20, 0, 31)
    assert got.created_at == NOW
    assert [b.name for b in storage.banks.list_banks()] == ["another", "arachnid"]


def test_duplicate_bank_name_is_a_conflict(storage: Storage) -> None:
    make_bank(storage, "dup")
    with pytest.raises(Conflict, match="already exists"):
        make_bank(storage, "dup")


def test_unknown_bank_is_not_found(storage: Storage) -> None:
    with pytest.raises(NotFound):
        storage.banks.get_bank("nope")
    with pytest.raises(NotFound):
        storage.banks.change_settings("nope", BankSettingsChange(enabled=False), NOW)


def test_disable_and_enable(storage: Storage) -> None:
    make_bank(storage)
    assert (
        storage.banks.change_settings(
            "local", BankSettingsChange(enabled=False), utc(2026, 3, 2)
        ).enabled
        is False
    )
    bank = storage.banks.change_settings("local", BankSettingsChange(enabled=True), utc(2026, 3, 3))
    assert (bank.enabled, bank.updated_at) == (True, utc(2026, 3, 3))


def test_a_stored_bank_carries_only_its_own_thresholds(storage: Storage) -> None:
    """The PDQ default is the matcher's policy (tests/matching/test_live.py), never stamped
    on a bank by the store."""
    bank = make_bank(storage)
    assert "pdq" not in bank.thresholds
    assert (bank.threshold("pdq", 24), bank.threshold("md5", 24)) == (24, 0)


def test_import_counts_and_is_idempotent(storage: Storage) -> None:
    bank = make_bank(storage)
    first = storage.banks.import_entries(bank, records(0, 25), FILE, NOW)
    assert (first.lines, first.added, first.already_present) == (25, 25, 0)
    again = storage.banks.import_entries(bank, records(0, 30), FILE, NOW)
    assert (again.added, again.already_present) == (5, 25)
    assert storage.banks.entry_counts(bank.id) == {"md5": {"active": 30, "removed": 0}}
    run = storage.banks.list_imports(bank.id)[0]
    assert (run.status, run.added, run.already_present, run.finished_at) == ("done", 5, 25, NOW)


def test_duplicates_within_a_file_and_across_batches(storage, monkeypatch) -> None:
    monkeypatch.setattr(bulk_import, "BATCH_SIZE", 7)
    bank = make_bank(storage)
    items = [*records(0, 10), *records(3, 5), *records(0, 2)]  # 4 repeats, across batches
    result = storage.banks.import_entries(bank, items, FILE, NOW)
    assert (result.added, result.already_present) == (10, 4)


def test_entries_keep_provenance_and_fall_back_to_bank_defaults(storage: Storage) -> None:
    csam = Classification(Category.CSAM)
    bank = make_bank(storage, classification=csam, default_label="csam")
    labelled = EntryRecord(
        signal_type=SignalType.PDQ,
        value="F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22",
        source_label="B1",
        classification=Classification(Category.CSAM, Maturity.POSTPUBESCENT),
        source_id="src-1",
        notes="from a report",
        added_at=utc(2025, 1, 2),
    )
    storage.banks.import_entries(bank, [labelled, *records(0, 1)], FILE, NOW)
    pdq, plain = storage.banks.iter_entries(bank.id)
    assert pdq.value == labelled.value.lower()
    assert (pdq.source_label, pdq.classification.maturity) == ("B1", Maturity.POSTPUBESCENT)
    assert (pdq.source_id, pdq.notes, pdq.added_at) == ("src-1", "from a report", utc(2025, 1, 2))
    assert (plain.source_label, plain.classification, plain.added_at) == ("csam", csam, NOW)
    assert plain.to_record().removed is False


def test_invalid_lines_refuse_the_whole_import(storage: Storage, monkeypatch) -> None:
    monkeypatch.setattr(bulk_import, "BATCH_SIZE", 10)
    bank = make_bank(storage)
    items = [*records(0, 30), LineError(31, "not hex"), *records(30, 40), LineError(42, "short")]
    with pytest.raises(ImportFormatError) as caught:
        storage.banks.import_entries(bank, items, FILE, NOW)
    assert caught.value.details["errors"] == ["line 31: not hex", "line 42: short"]
    assert active_values(storage, bank) == []  # the 30 rows written before line 31 rolled back
    run = storage.banks.list_imports(bank.id)[0]
    assert (run.status, run.invalid, run.added) == ("failed", 2, 0)


def test_skip_invalid_imports_the_valid_lines(storage: Storage) -> None:
    bank = make_bank(storage)
    items = [*records(0, 3), LineError(4, "not hex")]
    result = storage.banks.import_entries(bank, items, FILE, NOW, skip_invalid=True)
    assert (result.added, result.invalid, result.errors) == (3, 1, ("line 4: not hex",))


def test_an_error_mid_import_leaves_nothing_behind(storage: Storage, monkeypatch) -> None:
    monkeypatch.setattr(bulk_import, "BATCH_SIZE", 10)
    bank = make_bank(storage)

    def exploding() -> Iterator[EntryRecord]:
        yield from records(0, 35)
        raise OSError("disk went away while reading the file")

    with pytest.raises(OSError, match="disk went away"):
        storage.banks.import_entries(bank, exploding(), FILE, NOW)
    assert active_values(storage, bank) == []
    assert storage.banks.list_imports(bank.id)[0].status == "failed"


def test_removal_leaves_a_tombstone_that_reimport_does_not_resurrect(storage: Storage) -> None:
    bank = make_bank(storage)
    storage.banks.import_entries(bank, records(0, 3), FILE, NOW)
    tomb = storage.banks.remove_entry(bank, "md5", md5(1), RemovalReason.FALSE_POSITIVE, NOW)
    assert (tomb.value, tomb.reason, tomb.bank) == (md5(1), RemovalReason.FALSE_POSITIVE, "local")
    with pytest.raises(Conflict, match="already removed"):
        storage.banks.remove_entry(bank, "md5", md5(1), RemovalReason.OTHER, NOW)

    again = storage.banks.import_entries(bank, records(0, 3), FILE, NOW)
    assert (again.added, again.already_present, again.kept_removed) == (0, 2, 1)
    assert again.notes[0].endswith("kept removed (use --restore to bring it back)")
    assert again.notes[0].startswith(f"md5 {md5(1)}: removed on ")
    assert active_values(storage, bank) == [md5(0), md5(2)]
    entry = storage.banks.get_entry(bank.id, "md5", md5(1))
    assert (entry.removed, entry.removal_reason) == (True, "false-positive")
    assert entry.to_record().removed is True

    restored = storage.banks.import_entries(bank, records(0, 3), FILE, NOW, restore=True)
    assert (restored.restored, restored.already_present) == (1, 2)
    assert active_values(storage, bank) == [md5(0), md5(1), md5(2)]


def test_a_tombstone_in_a_file_removes_the_entry(storage: Storage) -> None:
    bank = make_bank(storage)
    storage.banks.import_entries(bank, records(0, 3), FILE, NOW)
    peer = [
        *records(1, 2, removed=True, removal_reason="source-withdrew"),
        *records(5, 6, removed=True),
    ]
    result = storage.banks.import_entries(bank, peer, FILE, NOW)
    assert (result.removed, result.added) == (2, 0)
    assert active_values(storage, bank) == [md5(0), md5(2)]
    assert storage.banks.entry_counts(bank.id) == {"md5": {"active": 2, "removed": 2}}
    assert storage.banks.get_entry(bank.id, "md5", md5(5)).removal_reason == "source-withdrew"
    again = storage.banks.import_entries(bank, peer, FILE, NOW)
    assert (again.removed, again.already_present) == (0, 2)


def test_remove_unknown_entry_is_not_found(storage: Storage) -> None:
    bank = make_bank(storage)
    with pytest.raises(NotFound):
        storage.banks.remove_entry(bank, "md5", md5(9), RemovalReason.OTHER, NOW)


def test_iter_entries_streams_past_one_fetch_batch(storage, monkeypatch) -> None:
    from keepdown.storage import bank_store

    monkeypatch.setattr(bank_store, "STREAM_BATCH", 4)
    bank = make_bank(storage)
    storage.banks.import_entries(bank, records(0, 11), FILE, NOW)
    assert [e.value for e in storage.banks.iter_entries(bank.id)] == [md5(i) for i in range(11)]


def test_entries_are_per_bank(storage: Storage) -> None:
    one, two = make_bank(storage, "one"), make_bank(storage, "two")
    storage.banks.import_entries(one, records(0, 3), FILE, NOW)
    result = storage.banks.import_entries(two, records(0, 3), FILE, NOW)
    assert result.added == 3
    assert storage.banks.entry_counts(two.id)["md5"]["active"] == 3
