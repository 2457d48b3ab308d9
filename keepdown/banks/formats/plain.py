"""A plain list of hashes: one hex value a line (docs/formats.md).

Blank lines and lines starting with ``#`` are skipped. The signal type is the one given to the
import, or else read from the value's length (32 hex = MD5, 40 = SHA-1); a 64-hex value is
PDQ or SHA-256 and needs the type given. The format carries values only: no labels, no times,
no tombstones, so removed entries are not written (a reader would take them as live).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TextIO

from keepdown.banks.formats.fields import LabelDefault
from keepdown.banks.records import EntryRecord, LineError
from keepdown.errors import InvalidInput
from keepdown.hashing.types import SignalType, detect_signal_type

__all__ = ["read", "write"]


def read(
    stream: TextIO, *, signal_type: SignalType | None, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    label = default.label if default else None
    classification = default.classification if default else None
    for number, line in enumerate(stream, start=1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        try:
            kind = signal_type or detect_signal_type(value)
            yield EntryRecord(kind, value, source_label=label, classification=classification)
        except InvalidInput as exc:
            yield LineError(number, exc.message)


def write(records: Iterable[EntryRecord], stream: TextIO) -> int:
    count = 0
    for record in records:
        if record.removed:
            continue
        stream.write(record.value + "\n")
        count += 1
    return count
