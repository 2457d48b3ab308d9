"""keepdown's own bank format: JSON Lines, one entry object a line (docs/formats.md).

An optional first line ``{"keepdown_bank_export": 1, "bank": {...}}`` carries the bank's
metadata; it is not an entry. Every other non-blank line is one entry object with the keys of
:data:`FIELDS`. Unknown keys are ignored (a newer writer may add some); a line that is not a
JSON object is a line error, never a stop.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO

from keepdown.banks.formats.fields import LabelDefault, build_record, format_time
from keepdown.banks.records import EntryRecord, LineError
from keepdown.hashing.types import SignalType

__all__ = ["FIELDS", "HEADER_KEY", "VERSION", "entry_to_json", "parse_header", "read", "write"]

HEADER_KEY = "keepdown_bank_export"
VERSION = 1
FIELDS = (
    "signal_type",
    "value",
    "source_label",
    "category",
    "maturity",
    "source_id",
    "notes",
    "added_at",
    "removed",
    "removal_reason",
)


def entry_to_json(record: EntryRecord) -> dict[str, Any]:
    """The JSON object for one entry: every key always present (``null`` when not given)."""
    cls = record.classification
    return {
        "signal_type": record.signal_type.value,
        "value": record.value,
        "source_label": record.source_label,
        "category": cls.category.value if cls else None,
        "maturity": cls.maturity.value if cls else None,
        "source_id": record.source_id,
        "notes": record.notes,
        "added_at": format_time(record.added_at) or None,
        "removed": record.removed,
        "removal_reason": record.removal_reason,
    }


def parse_header(line: str) -> dict[str, Any] | None:
    """The header object if ``line`` is a keepdown export header, else ``None``."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if isinstance(obj, dict) and HEADER_KEY in obj:
        return obj
    return None


def _header_error(line: int, header: dict[str, Any]) -> LineError | None:
    version = header.get(HEADER_KEY)
    if not isinstance(version, int) or isinstance(version, bool):
        return LineError(line, f"{HEADER_KEY} must be an integer version, got {version!r}")
    if version > VERSION:
        return LineError(
            line,
            f"export format version {version} is newer than this keepdown reads ({VERSION});"
            " entries were read as version 1",
        )
    if not isinstance(header.get("bank", {}), dict):
        return LineError(line, "the header's 'bank' must be an object")
    return None


def read(
    stream: TextIO, *, signal_type: SignalType | None, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LineError(number, f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield LineError(number, f"expected a JSON object, got {type(obj).__name__}")
            continue
        if HEADER_KEY in obj:
            if number != 1:
                yield LineError(number, "a keepdown_bank_export header is only allowed on line 1")
            elif (problem := _header_error(number, obj)) is not None:
                yield problem
            continue
        yield build_record(number, obj, signal_type=signal_type, default=default)


def write(
    records: Iterable[EntryRecord], stream: TextIO, *, bank: Mapping[str, Any] | None = None
) -> int:
    if bank is not None:
        header = {HEADER_KEY: VERSION, "bank": dict(bank)}
        stream.write(json.dumps(header, ensure_ascii=False, default=str) + "\n")
    count = 0
    for record in records:
        stream.write(json.dumps(entry_to_json(record), ensure_ascii=False) + "\n")
        count += 1
    return count
