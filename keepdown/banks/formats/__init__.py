"""Bank import and export formats, behind three calls (docs/formats.md).

- :func:`read_entries` streams a text stream of one format into :class:`EntryRecord` objects
  and :class:`LineError` objects (one per bad line, 1-based line numbers, never an exception for
  a bad line), holding one line at a time so a million-line file needs no more memory than one.
- :func:`write_entries` writes records in one format and returns how many it wrote (formats
  that cannot carry tombstones or a signal type skip those records; the count tells).
- :func:`detect_format` names a file's format from its suffix and a peek at its first line.

:func:`read_file` and :func:`read_header` are the same for a path, with the details a path
gives (the encoding, the HMA file name's signal type, the JSON Lines header).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from keepdown.banks.formats import csv_format, hashes, hma, jsonl, plain, pytx
from keepdown.banks.formats.fields import LabelDefault, resolve_default
from keepdown.banks.records import EntryRecord, LineError
from keepdown.errors import ImportFormatError, NotFound, UsageError
from keepdown.hashing.types import SignalType

__all__ = [
    "CARRY_TOMBSTONES",
    "EXPORT_FORMATS",
    "FORMATS",
    "READ_ONLY",
    "detect_format",
    "read_entries",
    "read_file",
    "read_header",
    "write_entries",
]

FORMATS = ("jsonl", "csv", "plain", "pytx", "hma", "hashes")
#: Formats that can only be read (``hashes``: what ``keepdown hash`` prints).
READ_ONLY = frozenset({"hashes"})
EXPORT_FORMATS = tuple(f for f in FORMATS if f not in READ_ONLY)
#: Formats that can say "this hash was removed"; the others skip tombstones on export, so a
#: peer reading them never learns of a removal (exports warn, see BankService.export).
CARRY_TOMBSTONES = frozenset({"jsonl", "csv"})

_Reader = Callable[..., Iterator[EntryRecord | LineError]]
_READERS: dict[str, _Reader] = {
    "jsonl": jsonl.read,
    "csv": csv_format.read,
    "plain": plain.read,
    "pytx": pytx.read,
    "hma": hma.read,
    "hashes": hashes.read,
}
_WRITERS: dict[str, Callable[[Iterable[EntryRecord], TextIO], int]] = {
    "csv": csv_format.write,
    "plain": plain.write,
    "pytx": pytx.write,
    "hma": hma.write,
}
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".te": "hma"}
_PEEK_LINES = 20


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown bank format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return fmt


def _signal_type_arg(signal_type: SignalType | str | None) -> SignalType | None:
    if signal_type is None:
        return None
    try:
        return SignalType(str(signal_type).strip().lower())
    except ValueError:
        known = ", ".join(t.value for t in SignalType)
        raise UsageError(f"unknown signal type {signal_type!r}; expected one of {known}") from None


def read_entries(
    stream: TextIO,
    fmt: str,
    *,
    signal_type: SignalType | str | None = None,
    default_label: str | None = None,
) -> Iterator[EntryRecord | LineError]:
    """Stream ``stream`` (format ``fmt``) as records and line errors, in file order.

    ``signal_type`` is used for lines that do not name one; ``default_label`` classifies entries
    without a label and entries whose label is unknown. A bad ``fmt``, ``signal_type`` or
    ``default_label`` raises at once (before any line is read); a bad line never raises.
    """
    reader = _READERS[_check_format(fmt)]
    kind = _signal_type_arg(signal_type)
    default: LabelDefault | None = resolve_default(default_label)
    return reader(stream, signal_type=kind, default=default)


def write_entries(
    records: Iterable[EntryRecord],
    stream: TextIO,
    fmt: str,
    *,
    bank: Mapping[str, Any] | None = None,
) -> int:
    """Write ``records`` to ``stream`` in ``fmt``; return how many were written.

    ``bank`` (JSON Lines only) is written as the first-line header's ``bank`` object; the other
    formats have nowhere to put it and ignore it.
    """
    if _check_format(fmt) == "jsonl":
        return jsonl.write(records, stream, bank=bank)
    if fmt in READ_ONLY:
        raise UsageError(f"{fmt!r} can be imported, not exported; use jsonl or csv")
    return _WRITERS[fmt](records, stream)


def _peek(path: Path) -> list[str]:
    lines: list[str] = []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        for line in handle:
            text = line.strip()
            if text and not text.startswith("#"):
                lines.append(text)
            if len(lines) >= _PEEK_LINES:
                break
    return lines


def _format_of_line(line: str) -> str | None:
    if hashes.looks_like(line):
        return "hashes"  # `keepdown hash [-f jsonl|csv] ... > file`
    if line.startswith("{"):
        try:
            obj = json.loads(line)
        except ValueError:
            return "jsonl"  # a broken JSON line: report it as keepdown's own format would
        keepdown_keys = {jsonl.HEADER_KEY, "value", "signal_type"}
        return "jsonl" if isinstance(obj, dict) and keepdown_keys & set(obj) else "hma"
    header = [cell.strip().lower() for cell in line.split(",")]
    if header[:2] == ["signal_type", "signal_str"]:
        return "pytx"
    tokens = line.split()
    if any(token.lower() in pytx.ALL_NAMES for token in tokens[:2]) and len(tokens) >= 2:
        return "pytx"  # "<type> <hash> ...", or "<rotation> <type> <hash>"
    if "value" in header:
        return "csv"
    if len(tokens) == 1 and "," not in line:
        return "plain"
    return None


def detect_format(path: Path) -> str:
    """The format of the file at ``path``, from its suffix and a peek at its first lines."""
    if not path.is_file():
        raise NotFound(f"no file at {path}", path=str(path))
    by_content = next(filter(None, map(_format_of_line, _peek(path))), None)
    by_suffix = _SUFFIXES.get(path.suffix.lower())
    if by_suffix == "csv" and by_content == "pytx":
        return "pytx"  # `threatexchange dataset -P --csv > x.csv`
    if by_content == "hashes":
        return "hashes"  # whatever it is called
    if by_suffix is not None:
        return by_suffix
    if by_content is None:
        raise ImportFormatError(
            f"cannot tell the format of {path}; name it (one of {', '.join(FORMATS)})",
            path=str(path),
        )
    return by_content


def read_file(
    path: Path,
    fmt: str | None = None,
    *,
    signal_type: SignalType | str | None = None,
    default_label: str | None = None,
) -> Iterator[EntryRecord | LineError]:
    """:func:`read_entries` on a file (UTF-8; undecodable bytes become U+FFFD).

    The format is detected when not given; for an HMA ``.te`` file the signal type is read
    from its name when not given.
    """
    fmt = _check_format(fmt) if fmt is not None else detect_format(path)
    if not path.is_file():
        raise NotFound(f"no file at {path}", path=str(path))
    if fmt == "hma" and signal_type is None:
        signal_type = hma.signal_type_for_path(path)
    kind = _signal_type_arg(signal_type)
    # Check the arguments now, so a bad one raises here and not at the first line read.
    default = resolve_default(default_label)
    return _read_path(path, _READERS[fmt], kind, default)


def _read_path(
    path: Path, reader: _Reader, kind: SignalType | None, default: LabelDefault | None
) -> Iterator[EntryRecord | LineError]:
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        yield from reader(handle, signal_type=kind, default=default)


def read_header(path: Path) -> dict[str, Any] | None:
    """The ``bank`` object of a keepdown JSON Lines export's header line, if it has one."""
    if not path.is_file():
        raise NotFound(f"no file at {path}", path=str(path))
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        header = jsonl.parse_header(handle.readline())
    if header is None:
        return None
    bank = header.get("bank", {})
    return bank if isinstance(bank, dict) else None
