"""``keepdown hash`` output as a bank import: hash known files, import the result as it is.

Hashing known files into a bank is the first thing a hotline does::

    keepdown hash -f csv known/ > known.csv
    keepdown bank import NAME known.csv

Each of the three shapes ``keepdown hash`` prints is read (the first line tells which):

- CSV (``-f csv``): a header with ``path`` and ``sha256``, one row per picture, dihedral
  variant or later frame (``variant``);
- JSON Lines (``-f jsonl``): one object per input, with ``path`` and the hashes;
- text (the default): ``<pdq or -> <quality or -> <sha256> <path>[#variant]``.

Every input gives an entry per hash it has: MD5, SHA-1, SHA-256 (as each format carries them)
and PDQ. Left out: the rotations and mirrors of ``--dihedral`` (the matcher tries every
rotation itself), PDQ hashes under quality :data:`MIN_PDQ_QUALITY` (a picture with too little
detail matches too much), and the path (a bank is shared with peers; a local path is not
theirs to read). Later frames of an animation (``#frameN``) are entries of their own. An
input ``keepdown hash`` could not read at all is a line error. With ``signal_type`` given,
only hashes of that type are imported.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from keepdown.banks.formats.fields import LabelDefault
from keepdown.banks.records import EntryRecord, LineError
from keepdown.errors import InvalidInput
from keepdown.hashing.types import SignalType

__all__ = ["MIN_PDQ_QUALITY", "looks_like", "read"]

MIN_PDQ_QUALITY = 50
_TEXT = re.compile(r"^([0-9a-f]{64}|-) (\d{1,3}|-) ([0-9a-f]{64}) (.+)$")
_EXACT = (SignalType.MD5, SignalType.SHA1, SignalType.SHA256)


def looks_like(line: str) -> bool:
    """Whether a file's first line is ``keepdown hash`` output (any of its three shapes)."""
    text = line.strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            return False
        return isinstance(obj, dict) and "path" in obj and "value" not in obj
    header = [cell.strip().lower() for cell in text.split(",")]
    if "path" in header and "sha256" in header and "value" not in header:
        return True
    return _TEXT.match(text) is not None


def _entries(
    line: int, hashes: Mapping[str, Any], wanted: SignalType | None, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    label = default.label if default else None
    classification = default.classification if default else None
    pdq = hashes.get("pdq") or None
    quality = hashes.get("quality")
    if pdq and (quality in (None, "") or int(quality) < MIN_PDQ_QUALITY):
        pdq = None
    for kind in (*_EXACT, SignalType.PDQ):
        value = pdq if kind is SignalType.PDQ else hashes.get(kind.value) or None
        if value is None or (wanted is not None and kind is not wanted):
            continue
        try:
            yield EntryRecord(
                kind, str(value).strip(), source_label=label, classification=classification
            )
        except InvalidInput as exc:
            yield LineError(line, exc.message)


def _from_csv(
    rows: Iterator[str], wanted: SignalType | None, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    reader = csv.DictReader(rows)
    for row in reader:
        line = reader.line_num
        variant = (row.get("variant") or "").strip()
        if variant and not variant.startswith("frame"):
            continue  # a rotation or mirror
        if variant:  # a later frame: its PDQ only (the file's exact hashes came with frame 0)
            row = {"pdq": row.get("pdq"), "quality": row.get("quality")}
        yield from _entries(line, row, wanted, default)


def _from_jsonl(
    lines: Iterator[tuple[int, str]], wanted: SignalType | None, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    for number, text in lines:
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield LineError(number, f"not JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield LineError(number, "not a JSON object")
            continue
        if obj.get("error"):
            error = obj["error"]
            message = error.get("message") if isinstance(error, dict) else error
            yield LineError(number, f"keepdown hash could not read {obj.get('path')}: {message}")
            continue
        yield from _entries(number, obj, wanted, default)
        for frame in (obj.get("frames") or [])[1:]:  # the first frame is the picture's PDQ
            if isinstance(frame, dict):
                later = {"pdq": frame.get("pdq"), "quality": frame.get("quality")}
                yield from _entries(number, later, wanted, default)


def _from_text(
    lines: Iterator[tuple[int, str]], wanted: SignalType | None, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    for number, text in lines:
        found = _TEXT.match(text)
        if found is None:
            yield LineError(number, "not a line of keepdown hash output")
            continue
        pdq, quality, sha256, path = found.groups()
        variant = path.rpartition("#")[2] if "#" in path else ""
        if variant and not variant.startswith("frame"):
            continue
        found_hashes = {"pdq": pdq, "quality": quality, "sha256": None if variant else sha256}
        yield from _entries(
            number, {k: v for k, v in found_hashes.items() if v != "-"}, wanted, default
        )


def read(
    stream: TextIO, *, signal_type: SignalType | None, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    lines = (
        (number, line.strip())
        for number, line in enumerate(stream, start=1)
        if line.strip() and not line.startswith("#")
    )
    first = next(lines, None)
    if first is None:
        return
    if first[1].startswith("{"):
        yield from _from_jsonl(_chain(first, lines), signal_type, default)
    elif _TEXT.match(first[1]):
        yield from _from_text(_chain(first, lines), signal_type, default)
    else:
        rows = (line for _, line in _chain(first, lines))
        yield from _from_csv(rows, signal_type, default)


def _chain(first: tuple[int, str], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield first
    yield from rest
