"""python-threatexchange (pytx) signal files, read and written (docs/formats.md).

What pytx 1.2 writes, and keepdown reads:

1. ``<signal_type> <signal>`` lines: the output of ``threatexchange hash``, of
   ``threatexchange dataset -P -S``, and the file its ``LocalFileSignalExchangeAPI`` reads.
   ``threatexchange hash --photo-preprocess rotations`` puts a rotation name first; it is
   dropped. A line with one value (``dataset -P -S -s pdq``) needs the signal type given.
2. ``threatexchange dataset -P`` lines, which add the collaboration and its opinion after the
   hash; that tail is kept in ``notes``.
3. ``threatexchange dataset -P --csv``: a header ``signal_type,signal_str,collab,category,tags``
   then one row a signal.

pytx's signal type names differ from keepdown's: ``video_md5`` and ``video_sha256`` are MD5 and
SHA-256 of the file's bytes. An opinion of ``NEGATIVE_CLASS`` says a hash is *not* in the class,
so such a row is a line error, never an entry. keepdown writes form 1, which pytx's local-file
exchange (and HMA through it) reads back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import TextIO

from keepdown.banks.classification import map_label
from keepdown.banks.formats.fields import LabelDefault, build_record
from keepdown.banks.records import EntryRecord, LineError
from keepdown.errors import InvalidInput
from keepdown.hashing.types import SignalType

__all__ = ["ALL_NAMES", "CSV_HEADER", "FROM_PYTX", "TO_PYTX", "from_pytx_name", "read", "write"]

#: keepdown signal type -> the pytx SignalType.get_name() keepdown writes.
TO_PYTX: dict[SignalType, str] = {
    SignalType.PDQ: "pdq",
    SignalType.MD5: "video_md5",
    SignalType.SHA256: "video_sha256",
    SignalType.VPDQ: "vpdq",
}
#: pytx names (and keepdown's own names) read back.
FROM_PYTX: dict[str, SignalType] = {
    **{name: kind for kind, name in TO_PYTX.items()},
    **{kind.value: kind for kind in SignalType},
}
#: pytx signal types that are not media hashes; named so the error says why.
_NOT_MEDIA = {"url", "url_md5", "raw_text", "trend_query", "text_tlsh", "pdf_tlsh"}
ALL_NAMES = set(FROM_PYTX) | _NOT_MEDIA
CSV_HEADER = ("signal_type", "signal_str", "collab", "category", "tags")
_NEGATIVE = "NEGATIVE_CLASS"


def from_pytx_name(name: str) -> SignalType:
    """keepdown's signal type for a pytx signal type name, or :class:`InvalidInput`."""
    key = name.strip().lower()
    if key in FROM_PYTX:
        return FROM_PYTX[key]
    if key in _NOT_MEDIA:
        raise InvalidInput(f"pytx signal type {name!r} is not a media hash keepdown stores")
    raise InvalidInput(f"unknown pytx signal type {name!r}")


def _label_from_tags(tags: list[str]) -> str | None:
    """The first tag that is a known classification label, if any."""
    for tag in tags:
        try:
            map_label(tag)
        except InvalidInput:
            continue
        return tag
    return None


def _text_line(
    number: int, line: str, signal_type: SignalType | None, default: LabelDefault | None
) -> EntryRecord | LineError:
    tokens = line.split(maxsplit=2)
    if len(tokens) >= 2 and tokens[0].lower() not in ALL_NAMES and tokens[1].lower() in ALL_NAMES:
        # A rotation name from `hash --photo-preprocess rotations`, then "type hash".
        tokens = line.split(maxsplit=3)[1:]
    if len(tokens) == 1:
        if signal_type is None:
            return LineError(number, "a line with only a hash needs the signal type given")
        kind_name, value, tail = signal_type.value, tokens[0], ""
    else:
        kind_name, value, tail = tokens[0], tokens[1], (tokens[2] if len(tokens) > 2 else "")
    if _NEGATIVE in tail.split():
        return LineError(number, "pytx opinion NEGATIVE_CLASS: the source says this is not a match")
    try:
        kind = from_pytx_name(kind_name)
    except InvalidInput as exc:
        return LineError(number, exc.message)
    fields: dict[str, object] = {
        "signal_type": kind.value,
        "value": value,
        "notes": f"pytx: {tail}" if tail else None,
    }
    return build_record(number, fields, signal_type=None, default=default)


def _csv_rows(
    lines: Iterable[str], default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    reader = csv.DictReader(lines, fieldnames=CSV_HEADER, restkey="_extra")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield LineError(reader.line_num + 1, f"malformed CSV: {exc}")
            continue
        number = reader.line_num + 1  # +1: the header line was read before this reader
        opinion, tags = row.get("category") or "", (row.get("tags") or "").split()
        if opinion == _NEGATIVE:
            yield LineError(number, "pytx opinion NEGATIVE_CLASS: the source says not a match")
            continue
        try:
            kind = from_pytx_name(row.get("signal_type") or "")
        except InvalidInput as exc:
            yield LineError(number, exc.message)
            continue
        note = f"pytx collab: {row.get('collab') or ''}; opinion: {opinion}; tags: {' '.join(tags)}"
        fields = {
            "signal_type": kind.value,
            "value": row.get("signal_str"),
            "source_label": _label_from_tags(tags),
            "notes": note,
        }
        yield build_record(number, fields, signal_type=None, default=default)


def read(
    stream: TextIO, *, signal_type: SignalType | None, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    lines = iter(stream)
    first = next(lines, "")
    if first.strip().lower() == ",".join(CSV_HEADER):
        yield from _csv_rows(lines, default)
        return
    for number, line in enumerate(chain([first], lines), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        yield _text_line(number, line, signal_type, default)


def write(records: Iterable[EntryRecord], stream: TextIO) -> int:
    """``<pytx type> <hex>`` lines; tombstones and SHA-1 (no pytx type) are not written."""
    count = 0
    for record in records:
        name = TO_PYTX.get(record.signal_type)
        if record.removed or name is None:
            continue
        stream.write(f"{name} {record.value}\n")
        count += 1
    return count
