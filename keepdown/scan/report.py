"""The scan report: a JSONL journal written as items finish, and a CSV made from it.

The JSONL file is the scan's memory. Each finished item is appended as one line and flushed
(and fsync'ed at most once a second), so a scan killed at any moment keeps every row it had
written; a line cut short by the kill is dropped when the report is opened again. A second run
on the same report reads the keys already there and skips those items, so after any number of
interruptions the report holds each item exactly once.

The CSV (same columns, :data:`~keepdown.scan.items.CSV_FIELDS`) is rewritten from the journal
when a run ends, so it is always whole.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from keepdown import files
from keepdown.errors import InvalidInput
from keepdown.scan.items import CSV_FIELDS
from keepdown.spreadsheet import dict_writer

__all__ = ["Report", "csv_path_for"]


def csv_path_for(path: Path) -> Path:
    return path.with_suffix(".csv")


class Report:
    """An open report (module docstring). ``fresh`` starts over; otherwise it resumes."""

    def __init__(self, path: Path, *, fresh: bool = False) -> None:
        self.path = path
        files.private_dir(self.path.parent)
        self.done: set[str] = set()
        self.matched = self.errors = 0
        if fresh or not path.exists():
            files.open_private(path, "wb").close()
        else:
            self._read_back()
        self._out = files.open_private(path, "ab")
        self._synced = time.monotonic()

    def _read_back(self) -> None:
        good = 0
        with self.path.open("rb") as stream:
            for line in stream:
                if not line.endswith(b"\n"):
                    break  # cut short by a kill: dropped below
                try:
                    row = json.loads(line)
                except ValueError:
                    break
                if not isinstance(row, dict) or "path" not in row:
                    raise InvalidInput(f"{self.path} is not a keepdown scan report")
                self._count(row)
                good += len(line)
        if good != self.path.stat().st_size:
            with self.path.open("r+b") as stream:
                stream.truncate(good)

    def _count(self, row: dict[str, Any]) -> None:
        self.done.add(str(row["path"]))
        self.matched += bool(row.get("match"))
        self.errors += row.get("error") is not None

    @property
    def items(self) -> int:
        return len(self.done)

    def write(self, rows: Iterable[dict[str, Any]]) -> int:
        """Append rows for items not yet in the report; how many were written."""
        lines = []
        for row in rows:
            if row["path"] in self.done:
                continue
            self._count(row)
            lines.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        if lines:
            self._out.write("".join(lines).encode("utf-8"))
            self._out.flush()
            if time.monotonic() - self._synced >= 1.0:
                os.fsync(self._out.fileno())
                self._synced = time.monotonic()
        return len(lines)

    def close(self) -> Path:
        """Sync the journal and (re)write the CSV from it; the CSV's path."""
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()
        target = csv_path_for(self.path)
        temporary = target.with_suffix(".csv.tmp")
        with (
            self.path.open("rb") as rows,
            files.open_private(temporary, "w", newline="", encoding="utf-8") as out,
        ):
            writer = dict_writer(out, CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            for line in rows:
                writer.writerow(json.loads(line))
        temporary.replace(target)
        return target
