"""Hasher-Matcher-Actioner (HMA) bank data, read and written (docs/formats.md).

Read:

1. JSON object lines mapping pytx signal type names to values, e.g. ``{"pdq": "f8f8..."}``:
   the body HMA 2 (OpenMediaMatch) takes at ``POST /c/bank/<bank>/signal`` and the
   ``signals`` object its ``/c/bank/<bank>/content`` answers with. One line may hold several
   signals of one piece of content; each becomes an entry.
2. ``.te`` CSV rows as pytx's ``HMASerialization`` writes them for HMA 1 datasets
   (``indicator,indicator_id,first_descriptor_id,added_on,labels``) and as its
   ``CliIndicatorSerialization`` writes them (the same without ``indicator_id``). The signal
   type is in the file name (``simple.HASH_PDQ.te``): :func:`signal_type_for_path` reads it.

Write: form 1, one JSON object a line, each ready to POST to HMA 2. Tombstones and SHA-1
entries (pytx has no SHA-1 signal type) are not written.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from keepdown.banks.formats.fields import LabelDefault, build_record
from keepdown.banks.formats.pytx import TO_PYTX, from_pytx_name
from keepdown.banks.records import EntryRecord, LineError
from keepdown.errors import InvalidInput
from keepdown.hashing.types import SignalType

__all__ = ["INDICATOR_TYPES", "read", "signal_type_for_path", "write"]

#: ThreatExchange indicator types (``.te`` file names) -> keepdown signal types.
INDICATOR_TYPES: dict[str, SignalType] = {
    "HASH_PDQ": SignalType.PDQ,
    "HASH_MD5": SignalType.MD5,
    "HASH_VIDEO_MD5": SignalType.MD5,
    "HASH_SHA256": SignalType.SHA256,
    "HASH_VIDEO_SHA256": SignalType.SHA256,
    "HASH_SHA1": SignalType.SHA1,
}
_TE_NAME = re.compile(r"\.([A-Za-z0-9_]+)\.te$")


def signal_type_for_path(path: Path) -> SignalType | None:
    """The signal type a ``.te`` file's name gives (``simple.HASH_PDQ.te`` -> pdq), if any."""
    found = _TE_NAME.search(path.name)
    return INDICATOR_TYPES.get(found.group(1).upper()) if found else None


def _json_line(
    number: int, line: str, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        yield LineError(number, f"not valid JSON: {exc.msg} at column {exc.colno}")
        return
    if not isinstance(obj, dict) or not obj:
        yield LineError(number, "expected a JSON object of signal type name -> hash")
        return
    for name, value in obj.items():
        try:
            kind = from_pytx_name(str(name))
        except InvalidInput as exc:
            yield LineError(number, exc.message)
            continue
        fields = {"signal_type": kind.value, "value": value}
        yield build_record(number, fields, signal_type=None, default=default)


def _te_row(
    number: int, row: list[str], signal_type: SignalType | None, default: LabelDefault | None
) -> EntryRecord | LineError:
    if len(row) == 5:
        value, indicator_id, _descriptor, added_on, labels = row
    elif len(row) == 4:
        (value, _descriptor, added_on, labels), indicator_id = row, None
    else:
        return LineError(number, f".te row has {len(row)} fields; HMA writes 5 (pytx CLI 4)")
    if signal_type is None:
        return LineError(number, "the signal type of a .te row comes from its file name; give it")
    fields: dict[str, object] = {
        "signal_type": signal_type.value,
        "value": value,
        "source_id": indicator_id,
        "added_at": added_on,
        "notes": f"threatexchange labels: {labels}" if labels.strip() else None,
    }
    return build_record(number, fields, signal_type=None, default=default)


def read(
    stream: TextIO, *, signal_type: SignalType | None, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    for number, line in enumerate(stream, start=1):
        text = line.strip()
        if not text:
            continue
        if text.startswith("{"):
            yield from _json_line(number, text, default)
            continue
        try:
            row = next(csv.reader([text], strict=True))
        except csv.Error as exc:
            yield LineError(number, f"malformed CSV: {exc}")
            continue
        yield _te_row(number, row, signal_type, default)


def write(records: Iterable[EntryRecord], stream: TextIO) -> int:
    count = 0
    for record in records:
        name = TO_PYTX.get(record.signal_type)
        if record.removed or name is None:
            continue
        stream.write(json.dumps({name: record.value}) + "\n")
        count += 1
    return count
