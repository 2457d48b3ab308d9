"""``keepdown scan``: hash and match everything in a source, resumably, on every core.

Steps of :meth:`Scanner.run`:

1. open the source and the report; items already in the report are skipped (resumption);
2. items the listing refused (too large, a zip bomb's member) get their row at once;
3. the rest go in batches of ``scan_batch_size`` to the hashers:
   - ``processes`` > 1 (default: one per core): a process pool; each process opens the
     source once and hashes the items of a batch (reading them itself, except for a TAR
     archive, whose bytes the parent reads in order and sends);
   - ``processes`` = 1: in this process;
   - ``submit`` given (``--distributed``): each batch is a task on the queue, hashed *and
     matched* by whichever worker takes it; a batch not answered in ``batch_timeout`` seconds
     (its worker died) is queued again;
4. locally, matching happens here in the parent against the one match index it loaded, so
   the index is never rebuilt per item or per process;
5. every row is appended to the report as its batch finishes; a progress bar shows items,
   rate and ETA;
6. at the end the CSV is written and a :class:`~keepdown.events.ScanFinished` event emitted.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from keepdown.clock import Clock, SystemClock
from keepdown.errors import UsageError
from keepdown.events import EventSink, ScanFinished
from keepdown.scan.items import Hashed, HashOptions, hash_payload, report_row
from keepdown.scan.report import Report
from keepdown.scan.sources import Item, Source, open_source
from keepdown.settings import Settings

__all__ = ["BatchHandle", "ScanSummary", "Scanner", "hash_batch"]


#: Matches one hashed item: the runtime's match chain asked through the door ``scan``.
Match = Callable[[Any], list[Any]]


class BatchHandle(Protocol):
    """A queued batch (``--distributed``): its rows, or None while not answered yet."""

    def rows(self) -> list[dict[str, Any]] | None: ...


Submit = Callable[[str, list[str], dict[str, Any]], BatchHandle]


@dataclass(frozen=True)
class ScanSummary:
    source: str
    report: Path
    csv: Path
    items: int  # in the report, earlier runs included
    hashed: int  # by this run
    matched: int
    errors: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.hashed / self.seconds if self.seconds > 0 else 0.0


def hash_batch(
    source: Source, items: Sequence[Item], settings: Settings, options: HashOptions
) -> list[Hashed]:
    """Load and hash a batch of items (in any process)."""
    limit = options.byte_limit(settings)
    need = [i for i in items if i.data is None]
    loaded = dict(
        zip([i.key for i in need], source.load_many([i.key for i in need], limit), strict=True)
    )
    return [
        hash_payload(i.key, i.data if i.data is not None else loaded[i.key], settings, options)
        for i in items
    ]


# --- the process pool's side --------------------------------------------------------------

_CHILD: dict[str, Any] = {}


def _child_init(spec: str, values: dict[str, Any], options: dict[str, Any]) -> None:
    settings = Settings(values)
    _CHILD.update(
        source=open_source(spec, settings),
        settings=settings,
        options=HashOptions.from_dict(options),
    )


def _child_batch(items: list[Item]) -> list[Hashed]:
    return hash_batch(_CHILD["source"], items, _CHILD["settings"], _CHILD["options"])


class Scanner:
    """One scan (module docstring)."""

    def __init__(
        self,
        settings: Settings,
        match: Match,
        *,
        options: HashOptions,
        processes: int | None = None,
        submit: Submit | None = None,
        batch_timeout: float = 600.0,
        progress: bool = True,
        out: Any = None,
        events: EventSink | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.match = match
        self.options = options
        wanted = settings.scan_processes if processes is None else processes
        self.processes = wanted or (os.cpu_count() or 1)
        self.submit = submit
        self.batch_timeout = batch_timeout
        self.progress = progress
        self.out = out or sys.stderr
        self.events = events
        self.clock = clock or SystemClock()
        self.batch_size = max(1, settings.scan_batch_size)

    def run(self, spec: str, report_path: Path, *, fresh: bool = False) -> ScanSummary:
        started = time.monotonic()
        source = open_source(spec, self.settings)
        report = Report(report_path, fresh=fresh)
        hashed = 0
        try:
            todo, total = self._todo(source, report)
            with self._bar(total) as bar:
                for rows in self._rows(source, todo):
                    written = report.write(rows)
                    hashed += written
                    bar.update(written)
        finally:
            source.close()
            csv_path = report.close()
        summary = ScanSummary(
            spec,
            report_path,
            csv_path,
            report.items,
            hashed,
            report.matched,
            report.errors,
            time.monotonic() - started,
        )
        self._emit(summary)
        return summary

    def _todo(self, source: Source, report: Report) -> tuple[Iterable[Item], int | None]:
        fresh = (item for item in source.items() if item.key not in report.done)
        if not source.random_access:
            return fresh, None  # a TAR's bytes come with its listing: never all in memory
        todo = list(fresh)
        return todo, len(todo)

    def _bar(self, total: int | None) -> Any:
        from tqdm import tqdm

        return tqdm(
            total=total,
            unit="item",
            desc="scan",
            file=self.out,
            disable=not self.progress,
            smoothing=0.1,
            dynamic_ncols=True,
        )

    def _rows(self, source: Source, todo: Iterable[Item]) -> Iterator[list[dict[str, Any]]]:
        batches = _batches(todo, self.batch_size)
        if self.submit is not None:
            if not source.random_access:
                raise UsageError(
                    "a TAR archive is read in order, so its items cannot be shared out: scan "
                    "it without --distributed, or unpack it to a shared folder"
                )
            yield from self._distributed(source.spec, batches)
            return
        for done in self._local(source, batches):
            yield [report_row(h, self._matches(h)) for h in done]

    def _matches(self, item: Hashed) -> list[Any]:
        return list(self.match(item.result)) if item.result is not None else []

    def _local(self, source: Source, batches: Iterator[list[Item]]) -> Iterator[list[Hashed]]:
        ready, waiting = _split_refused(batches)
        if self.processes <= 1:
            for batch in waiting:
                yield ready(batch)
                yield hash_batch(source, _hashable(batch), self.settings, self.options)
            return
        # The first batch is hashed here: it compiles the PDQ kernels in this process, which
        # the forked hashers then inherit (a fresh interpreter would spend seconds compiling
        # them again). Forked, they also see this process's environment (S3 credentials).
        first = next(waiting, None)
        if first is None:
            return
        yield ready(first)
        yield hash_batch(source, _hashable(first), self.settings, self.options)
        context = multiprocessing.get_context("fork")
        with cf.ProcessPoolExecutor(
            self.processes,
            mp_context=context,
            initializer=_child_init,
            initargs=(source.spec, self.settings.as_dict(redact=False), self.options.as_dict()),
        ) as pool:
            running: set[cf.Future[list[Hashed]]] = set()
            for batch in waiting:
                yield ready(batch)
                running.add(pool.submit(_child_batch, _hashable(batch)))
                if len(running) >= 2 * self.processes:
                    done, running = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                    yield from (f.result() for f in done)
            for future in cf.as_completed(running):
                yield future.result()

    def _distributed(
        self, spec: str, batches: Iterator[list[Item]]
    ) -> Iterator[list[dict[str, Any]]]:
        assert self.submit is not None
        options = self.options.as_dict()
        limit = 4 * max(1, self.processes)
        running: list[tuple[list[str], BatchHandle, float, int]] = []
        for batch in batches:
            refused = [
                report_row(Hashed(i.key, i.size, None, i.error), []) for i in batch if i.error
            ]
            if refused:
                yield refused
            keys = [i.key for i in batch if not i.error]
            if keys:
                running.append((keys, self.submit(spec, keys, options), time.monotonic(), 1))
            while len(running) >= limit:
                yield from self._collect(spec, running, options)
        while running:
            yield from self._collect(spec, running, options)

    def _collect(
        self, spec: str, running: list[Any], options: dict[str, Any]
    ) -> Iterator[list[dict[str, Any]]]:
        for entry in list(running):
            keys, handle, since, tries = entry
            rows = handle.rows()
            if rows is not None:
                running.remove(entry)
                yield rows
            elif time.monotonic() - since > self.batch_timeout:
                running.remove(entry)
                if tries >= 3:
                    yield [_lost(k, tries) for k in keys]
                else:  # its worker died with it: queue it again (hashing is pure)
                    assert self.submit is not None  # only distributed scans have handles
                    again = self.submit(spec, keys, options)
                    running.append((keys, again, time.monotonic(), tries + 1))
        time.sleep(0.05)

    def _emit(self, summary: ScanSummary) -> None:
        if self.events is None:
            return
        self.events.emit(
            ScanFinished(
                at=self.clock.now(),
                source=summary.source,
                items=summary.items,
                hashed=summary.hashed,
                matched=summary.matched,
                errors=summary.errors,
                seconds=round(summary.seconds, 3),
            )
        )


def _lost(key: str, tries: int) -> dict[str, Any]:
    return report_row(Hashed(key, None, None, f"lost: no worker answered in {tries} tries"), [])


def _batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _hashable(batch: list[Item]) -> list[Item]:
    return [i for i in batch if i.error is None]


def _split_refused(
    batches: Iterator[list[Item]],
) -> tuple[Callable[[list[Item]], list[Hashed]], Iterator[list[Item]]]:
    """Rows of items the listing refused are made at once; the rest is hashed."""

    def ready(batch: list[Item]) -> list[Hashed]:
        return [Hashed(i.key, i.size, None, i.error) for i in batch if i.error is not None]

    return ready, batches
