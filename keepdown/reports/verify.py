"""Checking a report against a fresh computation, figure by figure (``keepdown report verify``).

1. :func:`read_report` finds the format of a report file (JSON, long-form CSV, data file,
   regulator CSV, HTML) and its provenance (keepdown.reports.provenance).
2. The caller recomputes the same report from the log (the same period, operator,
   generation time and provenance; the events up to the stated chain head) and renders it in
   the same view and format.
3. :func:`compare` reads both as figures (a JSON path, a CSV row and column, an HTML table
   cell) and lists every figure whose value differs, or that only one of them has.

Nothing here reads the log or checks a signature: the app layer does both.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from keepdown.errors import InvalidInput
from keepdown.reports.exports import PROVENANCE_COMMENT
from keepdown.reports.provenance import Provenance

__all__ = [
    "KINDS",
    "Comparison",
    "Difference",
    "ReportFile",
    "compare",
    "figures_of",
    "kind_of",
    "read_report",
]

_PRE = re.compile(r'<pre id="keepdown-provenance">(.*?)</pre>', re.S)
_LONG_HEADER = ["section", "subject", "figure", "value"]
_REGULATOR_HEADER = ["regime", "field", "label", "value", "unit", "status", "note"]


@dataclass(frozen=True)
class ReportFile:
    """A report as read: its kind (``json``, ``csv``, ``data-csv``, ``html``, and for the
    regulator view ``regulator-json``, ``regulator-csv``) and its provenance."""

    kind: str
    provenance: Provenance
    text: str


@dataclass(frozen=True)
class Difference:
    figure: str
    stated: Any
    recomputed: Any

    def line(self) -> str:
        return f"{self.figure}: the report says {self.stated!r}, the log gives {self.recomputed!r}"


#: The kind of each view and format's file (what :func:`figures_of` reads it as); a view a
#: caller adds (keepdown.reports.reproduce.View) is ``<view>-<format>``.
KINDS = {
    ("public", "html"): "html",
    ("public", "json"): "json",
    ("public", "csv"): "csv",
    ("public", "data-csv"): "data-csv",
    ("regulator", "json"): "regulator-json",
    ("regulator", "csv"): "regulator-csv",
}


def kind_of(provenance: Provenance) -> str:
    return KINDS.get((provenance.view, provenance.format), f"{provenance.view}-{provenance.format}")


def read_report(text: str) -> ReportFile:
    """The kind and provenance of a report's text; InvalidInput when it is none of keepdown's
    reports, or carries no provenance (made before reports stated one)."""
    provenance = _provenance(text)
    return ReportFile(kind_of(provenance), provenance, text)


def _provenance(text: str) -> Provenance:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        data = _json(text)
        if "provenance" not in data:
            raise InvalidInput("this JSON report states no provenance: it cannot be recomputed")
        return Provenance.from_dict(data["provenance"])
    if stripped.lower().startswith("<!doctype html") or stripped.lower().startswith("<html"):
        found = _PRE.search(text)
        if found is None:
            raise InvalidInput("this HTML report states no provenance")
        return Provenance.from_json(html.unescape(found.group(1)))
    if text.startswith(PROVENANCE_COMMENT):  # the data file, plain text reports
        return Provenance.from_json(text.split("\n", 1)[0][len(PROVENANCE_COMMENT) :])
    rows = list(csv.reader(io.StringIO(text)))
    if rows and rows[0] == _LONG_HEADER:
        return _csv_provenance(rows, section=0, name=2, value=3)
    if rows and rows[0] == _REGULATOR_HEADER:
        return _csv_provenance(rows, section=0, name=1, value=3)
    raise InvalidInput("not a keepdown transparency report (JSON, CSV, data file or HTML)")


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"the report is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput("a JSON report is an object")
    return data


def _csv_provenance(rows: list[list[str]], *, section: int, name: int, value: int) -> Provenance:
    for row in rows[1:]:
        if len(row) > value and row[section] == "provenance" and row[name] == "json":
            return Provenance.from_json(row[value])
    raise InvalidInput("this CSV report states no provenance")


def figures_of(kind: str, text: str) -> dict[str, Any]:
    """Every figure of a report by a name that says where it is; provenance left out."""
    if kind == "json" or kind.endswith("-json"):
        data = _json(text)
        data.pop("provenance", None)
        return dict(_flatten("", data))
    if kind == "html":
        return _html_cells(_PRE.sub("", text))
    if kind.endswith("-text"):  # a plain text report: line by line, its provenance line apart
        numbered = text.split("\n")
        first = 2 if text.startswith(PROVENANCE_COMMENT) else 1
        return {f"line {n}": line for n, line in enumerate(numbered[first - 1 :], start=first)}
    body = text.split("\n", 1)[1] if kind == "data-csv" else text
    rows = list(csv.reader(io.StringIO(body)))
    if not rows:
        return {}
    header, found = rows[0], {}
    for number, row in enumerate(rows[1:], start=2):
        if row and row[0] == "provenance":
            continue
        if kind == "data-csv":
            key = f"row {row[0] if row else number}"
        elif kind == "regulator-csv":
            key = f"{row[0]}.{row[1]}" if len(row) > 1 else f"line {number}"
        else:
            key = " / ".join(row[:3])
        for column, value in zip(header, row, strict=False):
            name = f"{key}: {column}"
            found[name if name not in found else f"{name} (line {number})"] = value
    return found


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for key, inner in value.items():
            out += _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
        return out
    if isinstance(value, list):
        out = []
        for i, inner in enumerate(value):
            out += _flatten(f"{prefix}[{i}]", inner)
        return out or [(prefix, [])]
    return [(prefix, value)]


class _Cells(HTMLParser):
    """Table cells of an HTML report by table caption (or number), row and column header."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}
        self.table = 0
        self.caption = ""
        self.header: list[str] = []
        self.row: list[str] = []
        self.rows = 0
        self.text: list[str] | None = None
        self.in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.table, self.caption, self.header, self.rows = self.table + 1, "", [], 0
        elif tag == "caption":
            self.in_caption, self.text = True, []
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.text = []

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self.text is not None:
            self.caption, self.in_caption, self.text = "".join(self.text).strip(), False, None
        elif tag in ("td", "th") and self.text is not None:
            self.row.append(" ".join("".join(self.text).split()))
            self.text = None
        elif tag == "tr":
            self._row()

    def _row(self) -> None:
        if not self.header:
            self.header = self.row
            return
        self.rows += 1
        table = self.caption or f"table {self.table}"
        for i, value in enumerate(self.row):
            column = (
                self.header[i] if i < len(self.header) and self.header[i] else f"column {i + 1}"
            )
            self.found[f"{table}, row {self.rows}, {column}"] = value


def _html_cells(text: str) -> dict[str, Any]:
    parser = _Cells()
    parser.feed(text)
    return parser.found


@dataclass
class Comparison:
    compared: int = 0
    differences: list[Difference] = field(default_factory=list)


def compare(kind: str, stated: str, recomputed: str) -> Comparison:
    """The figures of two renderings of one report, compared one by one."""
    a, b = figures_of(kind, stated), figures_of(kind, recomputed)
    result = Comparison()
    for name in list(a) + [n for n in b if n not in a]:
        result.compared += 1
        left, right = a.get(name, _ABSENT), b.get(name, _ABSENT)
        if left != right:
            result.differences.append(Difference(name, left, right))
    return result


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT = _Absent()
