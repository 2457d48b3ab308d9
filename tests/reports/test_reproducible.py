"""Reproducible, signed transparency reports (issue 23), on SQLite and PostgreSQL.

The hand-made history of scenario.py goes through the event store; reports are made from a
pinned range of the chained log, signed, and verified by recomputing them figure by figure.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from keepdown import __version__
from keepdown.clock import utc
from keepdown.events import RemovalConfirmed, TaskRan
from keepdown.evidence import SigningKey, record_checkpoint
from keepdown.reports.exports import PROVENANCE_COMMENT
from keepdown.reports.reproduce import Reproducer
from keepdown.reports.signing import report_signature
from keepdown.reports.verify import read_report
from keepdown.storage import Storage
from keepdown.storage.checkpoint_store import SqlCheckpointStore
from keepdown.storage.event_chain import SqlEventChain
from keepdown.storage.figures_store import report_events, report_range
from tests.evidence.conftest import tamper
from tests.reports.scenario import A, history

NOW = utc(2026, 10, 5, 9)
VIEWS = [
    ("public", "json"),
    ("public", "csv"),
    ("public", "data-csv"),
    ("public", "html"),
    ("regulator", "json"),
    ("regulator", "csv"),
]


@pytest.fixture
def key(tmp_path) -> SigningKey:
    return SigningKey.load(tmp_path / "evidence.pem", create=True)


def reproducer(storage: Storage, key: SigningKey) -> Reproducer:
    engine = storage.engine
    return Reproducer(
        events=lambda end, upto: report_events(engine, until=end, upto=upto),
        event_range=lambda end, upto: report_range(engine, until=end, upto=upto),
        chain=SqlEventChain(engine),
        checkpoints=SqlCheckpointStore(engine),
        key=lambda: key,
        version=__version__,
    )


@pytest.fixture
def logged(storage: Storage, key: SigningKey) -> Reproducer:
    for event in history():
        storage.events.emit(event)
    made = reproducer(storage, key)
    record_checkpoint(made.chain, made.checkpoints, key, now=NOW - timedelta(hours=1))
    return made


@pytest.mark.parametrize(("view", "fmt"), VIEWS)
def test_every_view_states_its_provenance_and_verifies(logged: Reproducer, view, fmt) -> None:
    made = logged.make("2026-Q3", operator="Hotline", now=NOW, view=view, fmt=fmt)
    p = read_report(made.text).provenance
    assert p == made.provenance
    assert (p.view, p.format, p.period, p.operator) == (view, fmt, "2026-Q3", "Hotline")
    assert p.head_position == logged.chain.head().position
    assert p.head_hash == logged.chain.head().hash.hex()
    assert p.events.count > 0
    assert p.events.last <= p.head_position
    assert p.keepdown_version == __version__
    assert p.checkpoint["checkpoint"]["position"] == p.head_position
    assert len(p.definitions_sha256) == 64
    check = logged.verify(made.text.encode(), made.signature)
    assert check.ok, check.to_dict()
    assert (check.signature, check.identical) == ("valid", True)
    assert check.compared > 10
    assert check.chain.startswith("holds")


def test_the_data_file_and_csv_keep_their_shape(logged: Reproducer) -> None:
    data = logged.make("2026-Q3", operator="H", now=NOW, view="public", fmt="data-csv").text
    first, rest = data.split("\n", 1)
    assert first.startswith(PROVENANCE_COMMENT)
    rows = list(csv.DictReader(io.StringIO(rest)))
    assert rows
    assert rows[0]["row"] == "1"
    long_form = logged.make("2026-Q3", operator="H", now=NOW, view="public", fmt="csv").text
    provenance = [r for r in csv.DictReader(io.StringIO(long_form)) if r["section"] == "provenance"]
    assert [r["figure"] for r in provenance][-1] == "json"


def test_a_report_made_again_later_reads_the_same_events(logged: Reproducer, storage) -> None:
    """Events recorded after the report (one of them dated inside the period) change a new
    report, not the old one: it still recomputes to the same figures."""
    old = logged.make("2026-Q3", operator="H", now=NOW, view="public", fmt="json")
    storage.events.emit(
        RemovalConfirmed(
            at=utc(2026, 9, 20),  # inside Q3, recorded after the report
            location_id="L7",
            notice_ref="N6",
            provider="Cloud C",
            first_notice_at=utc(2026, 9, 1),
        )
    )
    new = logged.make("2026-Q3", operator="H", now=NOW, view="public", fmt="json")
    assert json.loads(new.text)["totals"] != json.loads(old.text)["totals"]
    check = logged.verify(old.text.encode(), old.signature)
    assert check.ok
    assert check.identical


def test_a_report_altered_after_signing_fails(logged: Reproducer) -> None:
    made = logged.make("2026-Q3", operator="H", now=NOW, view="public", fmt="json")
    data = json.loads(made.text)
    data["league_table"][0]["median_hours"] = 1.0  # a better figure for the first provider
    altered = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
    check = logged.verify(altered, made.signature)
    assert not check.ok
    assert check.signature == "invalid"
    assert [d.figure for d in check.differences] == ["league_table[0].median_hours"]


def test_a_false_figure_signed_by_the_operator_is_found_figure_by_figure(
    logged: Reproducer, key: SigningKey
) -> None:
    made = logged.make("2026-Q3", operator="H", now=NOW, view="public", fmt="csv")
    rows = list(csv.reader(io.StringIO(made.text)))
    for row in rows:
        if row[:3] == ["league_table", A, "removed"]:
            row[3] = str(int(row[3]) + 5)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    forged = out.getvalue().encode()
    check = logged.verify(forged, report_signature(forged, key))
    assert check.signature == "valid"  # the operator signed it...
    assert [d.figure for d in check.differences] == [f"league_table / {A} / removed: value"]
    assert not check.ok  # ...but the log says otherwise


def test_an_html_report_changed_in_one_cell_is_found_there(logged: Reproducer, key) -> None:
    made = logged.make("2026-Q3", operator="H", now=NOW, view="public", fmt="html")
    changed = made.text.replace("<td>Hosting A</td>", "<td>Hosting Z</td>", 1).encode()
    check = logged.verify(changed, report_signature(changed, key))
    (difference,) = check.differences
    assert (difference.stated, difference.recomputed) == ("Hosting Z", "Hosting A")
    assert "row 1, provider" in difference.figure


def test_a_tampered_log_no_longer_reproduces_the_report(logged: Reproducer, storage) -> None:
    made = logged.make("2026-Q3", operator="H", now=NOW, view="public", fmt="json")
    payload = "payload::text" if storage.engine.dialect.name == "postgresql" else "payload"
    edited = f"replace({payload}, '\"Hosting A\"', '\"Hosting Z\"')"
    if storage.engine.dialect.name == "postgresql":
        edited += "::json"
    tamper(storage.engine, [f"UPDATE events SET payload = {edited} WHERE id = 2"])
    check = logged.verify(made.text.encode(), made.signature)
    assert check.signature == "valid"
    assert check.chain == "broken at 2"
    assert check.differences  # the figures read from the edited log differ
    assert not check.ok


def test_no_signature_or_another_key_is_a_problem(logged: Reproducer, tmp_path) -> None:
    made = logged.make("2026-Q3", operator="H", now=NOW, view="regulator", fmt="json")
    assert logged.verify(made.text.encode(), None).signature == "missing"
    other = SigningKey.load(tmp_path / "other.pem", create=True)
    check = logged.verify(made.text.encode(), made.signature, public_key=other.public)
    assert check.signature == "invalid"
    assert check.differences == []


def test_a_file_that_is_no_report_is_a_clear_error(logged: Reproducer) -> None:
    from keepdown.errors import InvalidInput

    for text in (b"hello", b"{}", b"\xff\xfe", b"section,subject,figure,value\n"):
        with pytest.raises(InvalidInput):
            logged.verify(text, None)
    storage_head = logged.chain.head().position
    assert storage_head > 0


def test_a_report_of_a_log_with_no_events_verifies(storage, key) -> None:
    storage.events.emit(TaskRan(at=utc(2026, 1, 1), task="t", outcome="ok", seconds=1.0))
    made = reproducer(storage, key)
    report = made.make("2026-Q3", operator="", now=NOW, view="public", fmt="json")
    assert report.provenance.events.count == 0
    assert made.verify(report.text.encode(), report.signature).ok


@pytest.mark.parametrize("fmt", ["json", "csv", "text"])
def test_the_trusted_flaggers_report_is_signed_and_verifies_too(storage, key, fmt) -> None:
    """The trusted flagger's report (keepdown.filings.flagger) is one more published view."""
    from keepdown.app.evidence import flagger_view
    from keepdown.reports.reproduce import VIEWS

    for event in history():
        storage.events.emit(event)
    made = reproducer(storage, key)
    made.views = {**VIEWS, "flagger": flagger_view()}
    report = made.make("2026-Q3", operator="Hotline", now=NOW, view="flagger", fmt=fmt)
    assert read_report(report.text).provenance.view == "flagger"
    check = made.verify(report.text.encode(), report.signature)
    assert check.ok, check.to_dict()
    assert check.identical
    if fmt == "text":
        changed = report.text.replace("Hosting A", "Hosting Z", 1).encode()
        found = made.verify(changed, report_signature(changed, key))
        assert [d.figure for d in found.differences]  # the changed line, by its number
        assert all(d.figure.startswith("line ") for d in found.differences)
