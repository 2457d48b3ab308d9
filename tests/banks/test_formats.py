"""Import/export formats: round trips, one line error per bad line, detection, streaming."""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepdown.banks.classification import Category, Classification, Maturity
from keepdown.banks.formats import (
    EXPORT_FORMATS,
    FORMATS,
    detect_format,
    read_entries,
    read_file,
    read_header,
    write_entries,
)
from keepdown.banks.records import EntryRecord, LineError
from keepdown.errors import ImportFormatError, InvalidHash, InvalidInput, NotFound, UsageError
from keepdown.hashing.types import SignalType

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PRE = Classification(Category.CSAM, Maturity.PREPUBESCENT)


def read(text: str, fmt: str, **kwargs) -> list[EntryRecord | LineError]:
    return list(read_entries(io.StringIO(text, newline=""), fmt, **kwargs))


def write(records, fmt: str, **kwargs) -> str:
    out = io.StringIO(newline="")
    assert write_entries(records, out, fmt, **kwargs) == len(
        [r for r in records if not r.removed or fmt in ("jsonl", "csv")]
    )
    return out.getvalue()


# --- round trips --------------------------------------------------------------------------

_HEX_LEN = {SignalType.PDQ: 64, SignalType.MD5: 32, SignalType.SHA1: 40, SignalType.SHA256: 64}
# Field text as a UTF-8 file can hold it; blank text means "not given", so it is never generated.
_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).filter(
    str.strip
)
_opt_text = st.none() | _text


@st.composite
def entry_records(draw) -> EntryRecord:
    kind = draw(st.sampled_from(list(_HEX_LEN)))
    value = draw(
        st.text("0123456789abcdefABCDEF", min_size=_HEX_LEN[kind], max_size=_HEX_LEN[kind])
    )
    classification = draw(
        st.none() | st.builds(Classification, st.sampled_from(Category), st.sampled_from(Maturity))
    )
    offset = draw(st.integers(-12 * 60, 14 * 60))
    moment = draw(
        st.none()
        | st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1)).map(
            lambda d: d.replace(tzinfo=timezone(timedelta(minutes=offset)))
        )
    )
    return EntryRecord(
        signal_type=kind,
        value=value,
        source_label=draw(_opt_text),
        classification=classification,
        source_id=draw(_opt_text),
        notes=draw(_opt_text),
        added_at=moment,
        removed=draw(st.booleans()),
        removal_reason=draw(_opt_text),
    )


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@settings(max_examples=60, deadline=None)
@given(records=st.lists(entry_records(), max_size=8))
def test_full_formats_round_trip_every_field(fmt, records):
    assert read(write(records, fmt), fmt) == records


@st.composite
def live_and_removed_values(draw) -> tuple[SignalType, list[EntryRecord]]:
    kind = draw(st.sampled_from(list(_HEX_LEN)))
    hex_value = st.text("0123456789abcdef", min_size=_HEX_LEN[kind], max_size=_HEX_LEN[kind])
    pairs = draw(st.lists(st.tuples(hex_value, st.booleans()), max_size=8))
    return kind, [EntryRecord(kind, value, removed=removed) for value, removed in pairs]


@pytest.mark.parametrize("fmt", ["plain", "pytx", "hma"])
@settings(max_examples=40, deadline=None)
@given(case=live_and_removed_values())
def test_value_only_formats_round_trip_live_values(fmt, case):
    # plain/pytx/hma carry (type and) value only; tombstones are not written. SHA-1 has no
    # pytx name, so pytx and hma skip it (tested below).
    kind, records = case
    live = [r for r in records if not r.removed]
    if fmt != "plain" and kind is SignalType.SHA1:
        live = []
    out = io.StringIO()
    assert write_entries(records, out, fmt) == len(live)
    assert read(out.getvalue(), fmt, signal_type=kind) == live


def test_pytx_and_hma_keep_the_64_hex_types_apart():
    records = [EntryRecord("pdq", PDQ), EntryRecord("sha256", SHA256), EntryRecord("md5", MD5)]
    for fmt in ("pytx", "hma"):
        assert read(write(records, fmt), fmt) == records


def test_sha1_is_not_written_to_pytx_or_hma_and_the_count_says_so():
    records = [EntryRecord("sha1", SHA1), EntryRecord("pdq", PDQ)]
    for fmt in ("pytx", "hma"):
        out = io.StringIO()
        assert write_entries(records, out, fmt) == 1
        assert SHA1 not in out.getvalue()


def test_jsonl_header_is_written_read_back_and_not_an_entry(tmp_path):
    path = tmp_path / "bank.jsonl"
    bank = {"name": "c3p-shield", "default_label": "csam", "trust": "trusted"}
    with path.open("w", encoding="utf-8") as handle:
        write_entries([EntryRecord("pdq", PDQ)], handle, "jsonl", bank=bank)
    assert read_header(path) == bank
    assert list(read_file(path)) == [EntryRecord("pdq", PDQ)]
    assert json.loads(path.read_text().splitlines()[0])["keepdown_bank_export"] == 1


def test_read_header_is_none_without_a_header(tmp_path):
    path = tmp_path / "bank.jsonl"
    path.write_text(json.dumps({"signal_type": "md5", "value": MD5}) + "\n")
    assert read_header(path) is None


# --- validation: one LineError per bad line, never a stop ------------------------------------


def test_jsonl_bad_lines_become_line_errors_and_good_lines_still_read():
    lines = [
        json.dumps({"signal_type": "md5", "value": MD5}),
        "{not json",
        "[1, 2]",
        json.dumps({"signal_type": "blake3", "value": MD5}),
        json.dumps({"signal_type": "md5", "value": "xyz"}),
        json.dumps({"signal_type": "md5", "value": MD5, "source_label": "mystery"}),
        json.dumps({"signal_type": "md5", "value": MD5, "added_at": "yesterday"}),
        json.dumps({"signal_type": "md5", "value": MD5, "category": "csam", "maturity": "old"}),
        json.dumps({"signal_type": "md5", "value": MD5, "removed": "perhaps"}),
        "",
        json.dumps({"signal_type": "sha1", "value": SHA1.upper(), "source_label": "A1"}),
    ]
    got = read("\n".join(lines) + "\n", "jsonl")
    errors = {e.line: e.message for e in got if isinstance(e, LineError)}
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8, 9]
    assert "not valid JSON" in errors[2]
    assert "expected a JSON object" in errors[3]
    assert "unknown signal_type 'blake3'" in errors[4]
    assert "hex" in errors[5]
    assert "'mystery' is not known" in errors[6]
    assert "ISO 8601" in errors[7]
    assert "bad classification" in errors[8]
    assert "not true or false" in errors[9]
    records = [r for r in got if isinstance(r, EntryRecord)]
    assert records == [
        EntryRecord("md5", MD5),
        EntryRecord("sha1", SHA1, source_label="A1", classification=PRE),
    ]


def test_unknown_label_is_kept_verbatim_when_the_default_covers_it():
    text = json.dumps({"signal_type": "md5", "value": MD5, "source_label": "Klasse 7"}) + "\n"
    (record,) = read(text, "jsonl", default_label="A2")
    assert record == EntryRecord("md5", MD5, source_label="Klasse 7", classification=PRE)


def test_entry_without_label_takes_the_default_label_and_its_class():
    (record,) = read(f"{MD5}\n", "plain", default_label="Category B")
    assert record.source_label == "Category B"
    assert record.classification == Classification(Category.CSAM, Maturity.UNKNOWN)


def test_explicit_category_wins_over_the_label_mapping():
    obj = {"signal_type": "md5", "value": MD5, "source_label": "A1", "category": "other"}
    (record,) = read(json.dumps(obj) + "\n", "jsonl")
    assert record.source_label == "A1"
    assert record.classification == Classification(Category.OTHER, Maturity.UNKNOWN)


def test_bad_arguments_raise_at_once_not_per_line():
    with pytest.raises(InvalidInput, match="is not a label"):
        read_entries(io.StringIO(""), "plain", default_label="nonsense")
    with pytest.raises(UsageError, match="unknown bank format"):
        read_entries(io.StringIO(""), "xml")
    with pytest.raises(UsageError, match="blake3"):
        read_entries(io.StringIO(""), "plain", signal_type="blake3")
    with pytest.raises(UsageError):
        write_entries([], io.StringIO(), "xml")


def test_naive_times_are_utc_and_zones_are_kept():
    lines = [
        json.dumps({"signal_type": "md5", "value": MD5, "added_at": "2024-03-01T10:00:00"}),
        json.dumps({"signal_type": "md5", "value": MD5, "added_at": "2024-03-01T10:00:00Z"}),
        json.dumps({"signal_type": "md5", "value": MD5, "added_at": "2024-03-01T12:00:00+02:00"}),
    ]
    times = [r.added_at for r in read("\n".join(lines), "jsonl")]
    assert times[0].tzinfo is UTC
    assert times[0] == times[1] == times[2]


def test_header_after_line_one_and_future_version_are_reported():
    entry = json.dumps({"signal_type": "md5", "value": MD5})
    text = '{"keepdown_bank_export": 9, "bank": {}}\n' + entry + '\n{"keepdown_bank_export": 1}\n'
    got = read(text, "jsonl")
    assert [type(x) for x in got] == [LineError, EntryRecord, LineError]
    assert "newer" in got[0].message
    assert got[0].line == 1
    assert got[2].line == 3


def test_csv_reads_source_files_with_extra_columns_and_reports_bad_rows():
    text = (
        "value,signal_type,classification,source_id,internal_ref\n"
        f"{MD5},md5,B1,c3p-1,x\n"
        f"{MD5},md5\n"
        f"{SHA1},sha1,,c3p-2,y\n"
        f'"{MD5}",md5,"unterminated,1,2\n'
    )
    got = read(text, "csv")
    assert got[0] == EntryRecord(
        "md5",
        MD5,
        source_label="B1",
        classification=Classification(Category.CSAM, Maturity.POSTPUBESCENT),
        source_id="c3p-1",
    )
    assert got[1] == LineError(3, "row has 2 fields, the header has 5")
    assert got[2] == EntryRecord("sha1", SHA1, source_id="c3p-2")
    assert isinstance(got[3], LineError)
    assert got[3].line == 5
    assert "malformed CSV" in got[3].message


def test_csv_multiline_notes_round_trip_and_line_numbers_follow_physical_lines():
    records = [EntryRecord("md5", MD5, notes="two\nlines"), EntryRecord("sha1", SHA1)]
    text = write(records, "csv") + "md5,nothex\n"
    got = read(text, "csv")
    assert got[:2] == records
    assert got[2].line == 5


def test_csv_without_a_value_column_is_one_error_and_stops():
    assert read("hash,type\nabc,md5\n", "csv") == [
        LineError(1, "the header row has no 'value' column (got hash, type)")
    ]


def test_csv_without_signal_type_column_uses_the_given_type():
    got = read(f"value\n{PDQ}\n", "csv", signal_type="pdq")
    assert got == [EntryRecord("pdq", PDQ)]
    assert isinstance(read(f"value\n{PDQ}\n", "csv")[0], LineError)


def test_plain_list_skips_comments_detects_types_and_needs_a_type_for_64_hex():
    text = f"# list from a partner\n\n{MD5}\n  {SHA1.upper()}  \n{PDQ}\nnot-a-hash\n"
    got = read(text, "plain")
    assert got[0] == EntryRecord("md5", MD5)
    assert got[1] == EntryRecord("sha1", SHA1)
    assert isinstance(got[2], LineError)
    assert got[2].line == 5
    assert "PDQ or SHA-256" in got[2].message
    assert got[3].line == 6
    assert read(f"{PDQ}\n", "plain", signal_type="pdq") == [EntryRecord("pdq", PDQ)]
    assert isinstance(read(f"{MD5}\n", "plain", signal_type="pdq")[0], LineError)


def test_plain_does_not_write_tombstones():
    out = io.StringIO()
    records = [EntryRecord("md5", MD5, removed=True), EntryRecord("sha1", SHA1)]
    assert write_entries(records, out, "plain") == 1
    assert out.getvalue() == SHA1 + "\n"


def test_entry_record_validates_and_normalises():
    record = EntryRecord("MD5", MD5.upper(), added_at=datetime(2024, 1, 1))
    assert record.signal_type is SignalType.MD5
    assert record.value == MD5
    assert record.added_at == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidHash):
        EntryRecord("md5", SHA1)


# --- streaming --------------------------------------------------------------------------------


def _endless_plain():
    for n in itertools.count():
        yield f"{n:032x}\n"


@pytest.mark.parametrize("fmt", ["plain", "jsonl", "pytx", "hma"])
def test_readers_are_lazy_over_an_endless_stream(fmt):
    lines = _endless_plain()
    if fmt == "jsonl":
        lines = (json.dumps({"signal_type": "md5", "value": v.strip()}) + "\n" for v in lines)
    if fmt == "hma":
        lines = (json.dumps({"video_md5": v.strip()}) + "\n" for v in lines)
    got = list(itertools.islice(read_entries(lines, fmt, signal_type="md5"), 1000))
    assert len(got) == 1000
    assert got[-1] == EntryRecord("md5", f"{999:032x}")


def test_csv_reader_is_lazy_too():
    lines = itertools.chain(["signal_type,value\n"], (f"md5,{v}" for v in _endless_plain()))
    got = list(itertools.islice(read_entries(lines, "csv"), 500))
    assert got[-1] == EntryRecord("md5", f"{499:032x}")


# --- detection and files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.jsonl", "", "jsonl"),
        ("a.csv", "signal_type,value\n", "csv"),
        ("a.csv", "signal_type,signal_str,collab,category,tags\n", "pytx"),
        ("simple.HASH_PDQ.te", f"{PDQ},1,2,2020-01-01T00:00:00+0000,\n", "hma"),
        ("a.txt", f"# comment\n{MD5}\n", "plain"),
        ("a.txt", f"pdq {PDQ}\n", "pytx"),
        ("a.txt", f"ROTATE90 pdq {PDQ}\n", "pytx"),
        ("a.txt", f"raw_text hello, world\npdq {PDQ}\n", "pytx"),
        ("a.txt", json.dumps({"pdq": PDQ}) + "\n", "hma"),
        ("a.txt", json.dumps({"signal_type": "pdq", "value": PDQ}) + "\n", "jsonl"),
        ("a.export", '{"keepdown_bank_export": 1}\n', "jsonl"),
        ("a.txt", "signal_type,value,classification\n", "csv"),
    ],
)
def test_detect_format(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    assert detect_format(path) == expected


def test_detect_format_refuses_to_guess_and_reports_missing_files(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("hello there, friend\n")
    with pytest.raises(ImportFormatError, match="cannot tell the format"):
        detect_format(path)
    with pytest.raises(NotFound):
        detect_format(tmp_path / "missing.csv")
    with pytest.raises(NotFound):
        read_file(tmp_path / "missing.csv", "csv")


def test_read_file_survives_undecodable_bytes_and_a_bom(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes(b"\xef\xbb\xbf" + MD5.encode() + b"\n\xff\xfe\n" + SHA1.encode() + b"\n")
    got = list(read_file(path, "plain"))
    assert got[0] == EntryRecord("md5", MD5)
    assert isinstance(got[1], LineError)
    assert got[2] == EntryRecord("sha1", SHA1)


def test_formats_constant_lists_every_format():
    assert FORMATS == ("jsonl", "csv", "plain", "pytx", "hma", "hashes")
    assert EXPORT_FORMATS == ("jsonl", "csv", "plain", "pytx", "hma")
