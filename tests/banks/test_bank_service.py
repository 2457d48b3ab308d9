"""BankService flows over the SQL store (SQLite here; the store itself is tested on both)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from keepdown.banks import signing
from keepdown.banks.classification import Category, Maturity
from keepdown.banks.records import EntryRecord
from keepdown.banks.service import BankService, parse_thresholds
from keepdown.clock import FrozenClock, utc
from keepdown.errors import ImportFormatError, InvalidInput, NotFound, SignatureError, UsageError
from keepdown.events import BankEntryAdded, BankEntryRemoved, BankImported
from keepdown.hashing.types import PdqHash, SignalType
from keepdown.storage import open_storage_url


@pytest.fixture
def storage(tmp_path: Path):
    opened = open_storage_url(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    yield opened
    opened.close()


@pytest.fixture
def service(storage) -> BankService:
    return BankService(storage.banks, storage.events, FrozenClock(utc(2026, 2, 1)))


def hashes_file(path: Path, values: list[str]) -> Path:
    path.write_text("".join(v + "\n" for v in values), encoding="utf-8")
    return path


MD5S = [f"{i:032x}" for i in range(1, 6)]


def test_create_maps_the_label_and_keeps_it_verbatim(service: BankService) -> None:
    bank = service.create_bank(
        "arachnid",
        owner="c3p",
        label="A1",
        trust="auto",
        thresholds={"pdq": 20},
        source="Project Arachnid",
        terms="share",
    )
    assert bank.classification.category is Category.CSAM
    assert bank.classification.maturity is Maturity.PREPUBESCENT
    assert (bank.default_label, bank.trusted, bank.threshold("pdq")) == ("A1", True, 20)
    assert (bank.source, bank.source_terms, bank.owner) == ("Project Arachnid", "share", "c3p")


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("bad name!", {}, "bank name"),
        ("ok", {"trust": "sometimes"}, "trust"),
        ("ok", {"label": "not-a-label"}, "classification label"),
    ],
)
def test_create_refuses_bad_input(service, name, kwargs, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        service.create_bank(name, owner="o", **kwargs)
    assert service.list_banks() == []


def test_parse_thresholds() -> None:
    assert parse_thresholds(["pdq=31", "MD5=0"]) == {"pdq": 31, "md5": 0}
    for bad in ("pdq", "pdq=x", "nope=3", "pdq=999"):
        with pytest.raises(InvalidInput):
            parse_thresholds([bad])


def test_import_show_and_one_event_per_import(service, storage, tmp_path) -> None:
    service.create_bank("local", owner="o", label="csam")
    path = hashes_file(tmp_path / "list.txt", MD5S)
    result = service.import_file("local", path, signal_type="md5")
    assert (result.added, result.already_present) == (5, 0)
    assert service.import_file("local", path, signal_type="md5").already_present == 5
    details = service.show_bank("local")
    assert (details.active, details.removed) == (5, 0)
    assert [run.added for run in details.imports] == [0, 5]
    assert details.imports[0].file_name == "list.txt"
    imported = list(storage.events.read("bank_imported"))
    assert [(e.added, e.already_present) for e in imported] == [(5, 0), (0, 5)]
    assert storage.events.count("bank_entry_added") == 0  # bulk imports are not per entry


def test_malformed_lines_are_reported_by_line_number(service, tmp_path) -> None:
    service.create_bank("local", owner="o")
    path = hashes_file(tmp_path / "list.txt", [*MD5S[:2], "xyz", MD5S[2], "12"])
    with pytest.raises(ImportFormatError) as caught:
        service.import_file("local", path, signal_type="md5")
    assert [e.split(":")[0] for e in caught.value.details["errors"]] == ["line 3", "line 5"]
    assert service.show_bank("local").active == 0
    skipped = service.import_file("local", path, signal_type="md5", skip_invalid=True)
    assert (skipped.added, skipped.invalid) == (3, 2)


def test_signed_export_round_trip_and_tampering(service, tmp_path) -> None:
    service.create_bank("src", owner="o", label="csam")
    service.import_file("src", hashes_file(tmp_path / "in.txt", MD5S), signal_type="md5")
    service.remove_entry("src", "md5", MD5S[0], "source-withdrew")
    private, public = tmp_path / "key.pem", tmp_path / "key.pub"
    signing.generate_keypair(private, public)
    out = tmp_path / "src.jsonl"
    written, signature = service.export_file("src", out, sign_key=private)
    assert (written, signature) == (5, tmp_path / "src.jsonl.sig")

    service.create_bank("peer", owner="p")
    result = service.import_file("peer", out, verify_key=public)
    assert (result.added, result.removed) == (4, 1)  # the peer learns of the removal too
    assert service.show_bank("peer").removed == 1

    out.write_text(out.read_text().replace(MD5S[1], MD5S[1][:-1] + "f"))
    service.create_bank("victim", owner="v")
    with pytest.raises(SignatureError):
        service.import_file("victim", out, verify_key=public)
    assert service.show_bank("victim").imports == []  # refused before anything was read


def test_export_without_tombstones(service, tmp_path) -> None:
    service.create_bank("src", owner="o")
    service.import_file("src", hashes_file(tmp_path / "in.txt", MD5S), signal_type="md5")
    service.remove_entry("src", "md5", MD5S[0].upper(), "false-positive")
    buf = io.StringIO()
    assert service.export("src", buf, "jsonl", include_removed=False) == 4
    lines = [json.loads(line) for line in buf.getvalue().splitlines()[1:]]
    assert MD5S[0] not in {line["value"] for line in lines}
    with pytest.raises(UsageError):
        service.export_file("src", tmp_path / "out.bin")


def test_remove_entry_events_and_reasons(service, storage, tmp_path) -> None:
    service.create_bank("local", owner="o")
    service.import_file("local", hashes_file(tmp_path / "in.txt", MD5S), signal_type="md5")
    with pytest.raises(InvalidInput, match="removal reason"):
        service.remove_entry("local", "md5", MD5S[0], "bored")
    tomb = service.remove_entry("local", "md5", MD5S[0], "false-positive")
    assert tomb.removed_at == utc(2026, 2, 1)
    (event,) = storage.events.read("bank_entry_removed")
    assert isinstance(event, BankEntryRemoved)
    assert (event.value, event.reason) == (MD5S[0], "false-positive")


def test_add_entry_emits_one_added_event(service, storage) -> None:
    service.create_bank("local", owner="o")
    record = EntryRecord(signal_type=SignalType.PDQ, value=PdqHash.EXAMPLES[0])
    assert service.add_entry("local", record).added == 1
    assert service.add_entry("local", record).already_present == 1
    events = list(storage.events.read())
    assert [type(e) for e in events] == [BankEntryAdded]
    assert not any(isinstance(e, BankImported) for e in events)


def test_unknown_bank_and_missing_file(service, tmp_path) -> None:
    with pytest.raises(NotFound):
        service.show_bank("nope")
    service.create_bank("local", owner="o")
    with pytest.raises(NotFound):
        service.import_file("local", tmp_path / "missing.txt")


def test_disable(service) -> None:
    service.create_bank("local", owner="o")
    assert service.set_enabled("local", False).enabled is False
    assert service.show_bank("local").bank.enabled is False


def test_exports_that_cannot_carry_tombstones_warn_with_the_count(
    service, tmp_path, caplog
) -> None:
    service.create_bank("src", owner="o")
    service.import_file("src", hashes_file(tmp_path / "in.txt", MD5S), signal_type="md5")
    for value in MD5S[:2]:
        service.remove_entry("src", "md5", value, "false-positive")
    caplog.set_level("WARNING", logger="keepdown.banks")
    for fmt in ("jsonl", "csv"):
        assert service.tombstones_dropped("src", fmt) is None
        service.export("src", io.StringIO(), fmt)
    assert not caplog.records
    for fmt in ("plain", "pytx", "hma"):
        warning = service.tombstones_dropped("src", fmt)
        assert warning is not None
        assert warning.startswith(f"2 removed entries of bank src are not in this {fmt} export")
        assert service.export("src", io.StringIO(), fmt) == 3
    assert [r.getMessage() for r in caplog.records] == [
        service.tombstones_dropped("src", f) for f in ("plain", "pytx", "hma")
    ]
    service.export("src", io.StringIO(), "plain", include_removed=False)  # asked: no warning
    assert len(caplog.records) == 3


def test_paths_may_be_given_as_strings(service, tmp_path) -> None:
    service.create_bank("src", owner="o")
    path = str(hashes_file(tmp_path / "in.txt", MD5S))
    assert service.import_file("src", path, signal_type="md5").added == 5
    written, signature = service.export_file("src", str(tmp_path / "out.jsonl"))
    assert (written, signature) == (5, None)
