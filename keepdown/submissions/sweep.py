"""Sweeps: the platform's stored content searched for the copies a removal request names.

A platform that uses keepdown tells it where its content is stored (``removal_sweep_sources``:
folders, archives, ``s3://`` prefixes, as ``keepdown scan`` reads them). Each source has a
**journal**: the scan report of that source (:mod:`keepdown.scan`), kept between sweeps, so a
sweep hashes only what was stored since the last one. One pass (:meth:`Sweeper.sweep_all`):

1. bring every source's journal up to date (the scan path: resumable, on every core) and list
   what each source holds now;
2. for each open request, look for what it names: its hashes (the submitted picture's and
   the held upload's), and, for a person's request, the hashes of the content it named, read
   from the journal. Identical copies match on MD5 or SHA-256; near copies on PDQ within
   ``pdq_threshold`` (against every rotation and mirror the person sent);
3. add the copies found (:meth:`~keepdown.submissions.removal.RemovalService.add_found`);
   record as removed (``by`` "sweep", at the sweep's time) a copy that is no longer stored,
   and reopen one said to be removed that is still there;
4. record the sweep on each request (a request closes once swept and every copy is gone) and
   emit :class:`~keepdown.events.RemovalSweepFinished`.

The journal keeps a file's hashes by its key: a file replaced in place under the same key keeps
its old hashes until the journal is started again (``fresh``). Nothing here ever writes the
platform's content anywhere: items are hashed in memory by the scanner and dropped.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from keepdown.clock import Clock
from keepdown.events import EventSink, RemovalSweepFinished
from keepdown.submissions.model import HashKey
from keepdown.submissions.removal import RemovalService
from keepdown.submissions.requests import FoundBy, NewItem, RemovalItem, RemovalRequest

__all__ = ["ContentJournal", "SweepResult", "Sweeper", "Targets"]

#: Brings the journal at the path up to date with the source (the scanner, without matching).
Refresh = Callable[[str, Path], None]
#: The keys a source holds now.
Lister = Callable[[str], Iterable[str]]

_EXACT = ("md5", "sha1", "sha256")


@dataclass(frozen=True)
class Found:
    """One journal row that matched, and how."""

    source: str
    key: str
    sha256: str | None
    pdq: str | None
    signal_type: str
    match_type: str
    distance: int


class Targets:
    """What one request looks for: exact values by signal type, PDQ hashes as bit arrays."""

    def __init__(self, keys: Iterable[HashKey], *, threshold: int, quality_floor: int) -> None:
        self.exact: dict[str, set[str]] = {s: set() for s in _EXACT}
        pdq: list[str] = []
        for signal, value in keys:
            if signal in self.exact:
                self.exact[signal].add(value)
            elif signal == "pdq":
                pdq.append(value)
        self.pdq = _words(pdq)
        self.threshold = threshold
        self.quality_floor = quality_floor

    def __bool__(self) -> bool:
        return bool(len(self.pdq) or any(self.exact.values()))

    def match(self, row: dict[str, Any]) -> tuple[str, str, int] | None:
        """(signal type, match type, distance) of a journal row, or None."""
        for signal in _EXACT:
            if row.get(signal) and row[signal] in self.exact[signal]:
                return signal, "exact", 0
        return None

    def nearest(self, words: np.ndarray) -> np.ndarray:
        """For each row of ``words`` (N x 4 uint64), the distance to the nearest target."""
        if not len(self.pdq) or not len(words):
            return np.full(len(words), 257, dtype=np.int64)
        out = np.empty(len(words), dtype=np.int64)
        for start in range(0, len(words), 4096):
            chunk = words[start : start + 4096]
            xor = chunk[:, None, :] ^ self.pdq[None, :, :]
            out[start : start + 4096] = np.bitwise_count(xor).sum(axis=2).min(axis=1)
        return out


def _words(hexes: list[str]) -> np.ndarray:
    """64-digit hex hashes as N x 4 uint64 (any fixed layout works for Hamming distance)."""
    if not hexes:
        return np.zeros((0, 4), dtype=np.uint64)
    raw = np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), dtype=">u8")
    return raw.astype(np.uint64).reshape(len(hexes), 4)


@dataclass
class ContentJournal:
    """One source's journal (module docstring), read incrementally: rows are only ever
    appended, so each read picks up from where the last one stopped."""

    spec: str
    folder: Path
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    _offset: int = 0

    @property
    def path(self) -> Path:
        digest = hashlib.sha256(self.spec.encode()).hexdigest()[:16]
        return self.folder / f"sweep-{digest}.jsonl"

    def read(self) -> dict[str, dict[str, Any]]:
        """Every row by key (the newest row of a key wins)."""
        if not self.path.exists():
            return self.rows
        with self.path.open("rb") as stream:
            stream.seek(self._offset)
            for line in stream:
                if not line.endswith(b"\n"):
                    break  # being written: read next time
                self._offset += len(line)
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and "path" in row:
                    self.rows[str(row["path"])] = row
        return self.rows


@dataclass(frozen=True)
class SweepResult:
    request_id: int
    items_seen: int
    found: list[RemovalItem]
    removed: list[int]  #: copies recorded removed by this sweep
    seen_again: list[int]


class Sweeper:
    """Sweeps of the platform's stored content (module docstring)."""

    def __init__(
        self,
        removals: RemovalService,
        events: EventSink,
        clock: Clock,
        *,
        sources: tuple[str, ...],
        folder: Path,
        refresh: Refresh,
        lister: Lister,
        threshold: int = 31,
        quality_floor: int = 50,
    ) -> None:
        self.removals = removals
        self.events = events
        self.clock = clock
        self.sources = sources
        self.refresh = refresh
        self.lister = lister
        self.threshold = threshold
        self.quality_floor = quality_floor
        self.journals = {spec: ContentJournal(spec, folder) for spec in sources}

    def sweep_all(self) -> list[SweepResult]:
        """One pass over every open request (steps 1-4)."""
        if not self.sources:
            return []
        started = time.monotonic()
        present = self._refresh()
        results = [
            self._sweep(request, present, started) for request in self.removals.open_requests()
        ]
        return results

    def sweep(self, request_id: int) -> SweepResult | None:
        """One pass for one request (when it opens: its first sweep straight away)."""
        if not self.sources:
            return None
        started = time.monotonic()
        return self._sweep(self.removals.get(request_id), self._refresh(), started)

    def _refresh(self) -> dict[str, set[str]]:
        present = {}
        for spec, journal in self.journals.items():
            self.refresh(spec, journal.path)
            journal.read()
            present[spec] = set(self.lister(spec))
        return present

    def _sweep(
        self, request: RemovalRequest, present: dict[str, set[str]], started: float
    ) -> SweepResult:
        targets = self._targets(request)
        found = [f for f in self._matches(targets, present) if f]
        known = {i.content_ref for i in request.items}
        new = [_item(f) for f in found if f.key not in known]
        added = self.removals.add_found(request.id, new) if new else []
        removed, again = self._verify(request, present, {f.key for f in found})
        swept = self.removals.record_sweep(request.id)
        seen = sum(len(keys) for keys in present.values())
        self.events.emit(
            RemovalSweepFinished(
                at=self.clock.now(),
                request_id=str(swept.id),
                sources=len(self.sources),
                items_seen=seen,
                found=len(added),
                seconds=round(time.monotonic() - started, 3),
            )
        )
        return SweepResult(request.id, seen, added, removed, again)

    def _targets(self, request: RemovalRequest) -> Targets:
        """The request's hashes, and those of the content it names (from the journals)."""
        keys = set(self.removals.store.hashes(request.id))
        named: set[HashKey] = set()
        for item in request.items:
            for journal in self.journals.values():
                row = journal.rows.get(item.content_ref)
                if row is not None:
                    named |= {(s, row[s]) for s in ("md5", "sha256", "pdq") if row.get(s)}
        if named - keys:
            self.removals.store.add_hashes(request.id, named - keys)
        return Targets(keys | named, threshold=self.threshold, quality_floor=self.quality_floor)

    def _matches(self, targets: Targets, present: dict[str, set[str]]) -> Iterator[Found]:
        if not targets:
            return
        for spec, journal in self.journals.items():
            rows = [r for key, r in journal.rows.items() if key in present[spec]]
            near = [
                r for r in rows if r.get("pdq") and (r.get("quality") or 0) >= self.quality_floor
            ]
            distances = targets.nearest(_words([r["pdq"] for r in near]))
            nearest = {r["path"]: int(d) for r, d in zip(near, distances, strict=True)}
            for row in rows:
                exact = targets.match(row)
                if exact is not None:
                    yield _found(spec, row, *exact)
                elif nearest.get(row["path"], 257) <= targets.threshold:
                    yield _found(spec, row, "pdq", "near", nearest[row["path"]])

    def _verify(
        self, request: RemovalRequest, present: dict[str, set[str]], matching: set[str]
    ) -> tuple[list[int], list[int]]:
        """Step 3's checks of the copies already on the request."""
        removed, again = [], []
        ever = {key for journal in self.journals.values() for key in journal.rows}
        stored_now = set().union(*present.values()) if present else set()
        for item in request.items:
            if item.content_ref not in ever or item.dismissed_at is not None:
                continue  # not in the swept storage (or not the same picture): nothing to check
            still = item.content_ref in stored_now and item.content_ref in matching
            if item.removed_at is None and not still:
                self.removals.mark_removed(request.id, item.id, by="sweep")
                removed.append(item.id)
            elif item.removed_at is not None and still:
                self.removals.seen_again(request.id, item.id)
                again.append(item.id)
        return removed, again


def _found(spec: str, row: dict[str, Any], signal: str, match_type: str, distance: int) -> Found:
    return Found(
        source=spec,
        key=str(row["path"]),
        sha256=row.get("sha256"),
        pdq=row.get("pdq"),
        signal_type=signal,
        match_type=match_type,
        distance=distance,
    )


def _item(found: Found) -> NewItem:
    return NewItem(
        content_ref=found.key,
        how=FoundBy.SWEEP,
        source=found.source,
        sha256=found.sha256,
        pdq=found.pdq,
        signal_type=found.signal_type,
        match_type=found.match_type,
        distance=found.distance,
    )
