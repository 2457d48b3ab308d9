"""CSV cells that a spreadsheet shows as text, never runs as a formula.

Exports (bank files, financial indicators, transparency and regulator figures, scan reports,
``keepdown hash``/``match`` output) carry text that came from outside: a bank's notes, a
wallet or e-mail found on a page, a provider's name, a file name in a scanned bucket. A
spreadsheet that opens the CSV treats a cell starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return as a formula (``=cmd|' /C calc'!A0``, ``=HYPERLINK(...)`` leaking data),
so :func:`safe_cell` puts a ``'`` before such a text: spreadsheets show the text as it is
and keep the quote out of the cell's value (OWASP's "CSV injection" advice).

The escape can be undone exactly (:func:`plain_cell`), so a bank file keeps every note
through an export and an import: a text that itself starts with ``'`` followed by one of
those characters or another ``'`` gets one more ``'``; any other text is written as it is.
Numbers are never changed (a negative count is a number, not a formula).

Write exports with :func:`rows_writer` or :func:`dict_writer`: every text cell goes through
:func:`safe_cell`, and rows end with CRLF as RFC 4180 says. With a bare ``\n`` line end,
Python's csv module leaves a carriage return inside a cell unquoted, and a reader then starts
a new row there (a page's text could forge rows of an export); with CRLF it quotes it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TextIO

__all__ = [
    "FORMULA_STARTS",
    "LINE_END",
    "dict_writer",
    "plain_cell",
    "rows_writer",
    "safe_cell",
    "safe_mapping",
    "safe_row",
]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = frozenset("=+-@\t\r")
_QUOTE = "'"
#: RFC 4180's line end; it also makes the csv module quote a carriage return in a cell.
LINE_END = "\r\n"


def _needs_quote(text: str) -> bool:
    if not text:
        return False
    if text[0] in FORMULA_STARTS:
        return True
    return text[0] == _QUOTE and len(text) > 1 and (text[1] in FORMULA_STARTS or text[1] == _QUOTE)


def safe_cell(value: Any) -> Any:
    """``value`` with a ``'`` before a text a spreadsheet would run; other values as given."""
    if isinstance(value, str) and _needs_quote(value):
        return _QUOTE + value
    return value


def plain_cell(text: str) -> str:
    """The text :func:`safe_cell` was given (one leading ``'`` taken off where it added one)."""
    if text.startswith(_QUOTE) and _needs_quote(text[1:]):
        return text[1:]
    return text


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]


def safe_mapping(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: safe_cell(v) for k, v in row.items()}


class _Rows:
    """A csv writer of sequences whose text cells are made safe."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, lineterminator=LINE_END)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow(safe_row(row))


class _Dicts:
    """A csv writer of mappings whose text cells are made safe."""

    def __init__(
        self, stream: TextIO, fieldnames: Sequence[str], extrasaction: Literal["raise", "ignore"]
    ) -> None:
        self._writer = csv.DictWriter(
            stream, fieldnames=fieldnames, extrasaction=extrasaction, lineterminator=LINE_END
        )

    def writeheader(self) -> None:
        self._writer.writeheader()

    def writerow(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow(safe_mapping(row))


def rows_writer(stream: TextIO) -> _Rows:
    """A writer of rows (``writerow(sequence)``) for an export (module docstring)."""
    return _Rows(stream)


def dict_writer(
    stream: TextIO, fieldnames: Sequence[str], *, extrasaction: Literal["raise", "ignore"] = "raise"
) -> _Dicts:
    """A writer of mappings (``writeheader()``, ``writerow(mapping)``) for an export."""
    return _Dicts(stream, fieldnames, extrasaction)
