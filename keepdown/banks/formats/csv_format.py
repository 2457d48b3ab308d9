"""Bank entries as CSV: a header row, then one entry a row (docs/formats.md).

The header names the columns, in any order; ``value`` is required, and ``signal_type`` unless
the import is given a signal type. ``classification`` holds the source's own label (the name
``source_label`` is accepted too). keepdown writes two more columns, ``category`` and
``maturity``, so its own mapping survives a round trip; other extra columns are ignored.
Rows that cannot be parsed become line errors numbered by the row's first physical line.
Text cells a spreadsheet would run as a formula are written with a ``'`` before them, taken
off again on import (:mod:`keepdown.spreadsheet`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import TextIO

from keepdown.banks.formats.fields import LabelDefault, build_record, format_bool, format_time
from keepdown.banks.records import EntryRecord, LineError
from keepdown.hashing.types import SignalType
from keepdown.spreadsheet import plain_cell, rows_writer

__all__ = ["COLUMNS", "WRITTEN_COLUMNS", "read", "write"]

COLUMNS = (
    "signal_type",
    "value",
    "classification",
    "source_id",
    "notes",
    "added_at",
    "removed",
    "removal_reason",
)
WRITTEN_COLUMNS = (*COLUMNS, "category", "maturity")
# Column name -> the record field it fills (as build_record names them).
_ALIASES = {"classification": "source_label", "source_label": "source_label"}


def _header(row: list[str], signal_type: SignalType | None) -> list[str] | str:
    names = [name.strip().lower().lstrip("\ufeff") for name in row]
    if "value" not in names:
        return f"the header row has no 'value' column (got {', '.join(names) or 'nothing'})"
    if "signal_type" not in names and signal_type is None:
        return "the header row has no 'signal_type' column and no signal type was given"
    return [_ALIASES.get(name, name) for name in names]


def read(
    stream: TextIO, *, signal_type: SignalType | None, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    reader = csv.reader(stream, strict=True)
    names: list[str] | None = None
    done = 0  # physical lines consumed before the current row
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield LineError(done + 1, f"malformed CSV: {exc}")
            done = reader.line_num
            continue
        start, done = done + 1, reader.line_num
        if not row or not any(cell.strip() for cell in row):
            continue
        if names is None:
            header = _header(row, signal_type)
            if isinstance(header, str):
                # Without a usable header no row can be read: one error, then stop.
                yield LineError(start, header)
                return
            names = header
            continue
        if len(row) != len(names):
            yield LineError(start, f"row has {len(row)} fields, the header has {len(names)}")
            continue
        fields: dict[str, object] = dict(zip(names, map(plain_cell, row), strict=True))
        yield build_record(start, fields, signal_type=signal_type, default=default)


def write(records: Iterable[EntryRecord], stream: TextIO) -> int:
    writer = rows_writer(stream)  # RFC 4180 (CRLF); formulas made text
    writer.writerow(WRITTEN_COLUMNS)
    count = 0
    for record in records:
        cls = record.classification
        writer.writerow(
            (
                record.signal_type.value,
                record.value,
                record.source_label or "",
                record.source_id or "",
                record.notes or "",
                format_time(record.added_at),
                format_bool(record.removed),
                record.removal_reason or "",
                cls.category.value if cls else "",
                cls.maturity.value if cls else "",
            )
        )
        count += 1
    return count
