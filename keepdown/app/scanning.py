"""The scan's parts: scans on the runtime's match chain, locally or as tasks.

- :func:`scan`: what ``keepdown scan`` runs: a :class:`~keepdown.app.runtime.Runtime`, its
  match chain (door ``scan``), a :class:`~keepdown.scan.Scanner`, hashing on the local cores
  or (``distributed``) as ``keepdown.scan_batch`` tasks on the queue;
- :class:`WorkerScanner`: a worker's side of a distributed scan: open the source from its spec
  (once per process), hash and match a batch through the worker's runtime, give the rows back.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

from keepdown.app.runtime import Runtime
from keepdown.matching.chain import MatchChain
from keepdown.scan import HashOptions, Scanner, ScanSummary, hash_batch, open_source, report_row
from keepdown.scan.sources import Item, Source
from keepdown.settings import Settings

__all__ = ["WorkerScanner", "scan"]


class _QueuedBatch:
    """A ``keepdown.scan_batch`` task's result, read without waiting."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def rows(self) -> list[dict[str, Any]] | None:
        from huey.exceptions import TaskException

        try:
            rows: list[dict[str, Any]] = self.result.get(blocking=False)
        except TaskException:
            return None  # the task failed for good: the scan re-queues it after the timeout
        return rows


def scan(
    settings: Settings,
    source: str,
    report: Path,
    *,
    options: HashOptions,
    processes: int | None = None,
    distributed: bool = False,
    fresh: bool = False,
    progress: bool = True,
    batch_timeout: float = 600.0,
) -> ScanSummary:
    """Run one scan (``keepdown scan``); see :mod:`keepdown.scan.runner` for the steps. The
    scan door decides whether the robust query variants are hashed (``robust_doors``)."""
    with Runtime.open(settings) as runtime:
        options = dataclasses.replace(options, robust=runtime.matcher.wants_robust("scan"))
        submit = None
        if distributed:
            from keepdown.app.workers import open_queue

            queue = open_queue(settings)

            def submit(spec: str, keys: list[str], opts: dict[str, Any]) -> _QueuedBatch:
                return _QueuedBatch(queue.scan_batch(spec, keys, opts))

        scanner = Scanner(
            settings,
            functools.partial(runtime.matcher.match_result, door="scan"),
            options=options,
            processes=processes,
            submit=submit,
            batch_timeout=batch_timeout,
            progress=progress,
            events=runtime.storage.events,
        )
        return scanner.run(source, report, fresh=fresh)


class WorkerScanner:
    """A worker's side of ``keepdown scan --distributed`` (module docstring)."""

    def __init__(self, settings: Settings, matcher: MatchChain) -> None:
        self.settings = settings
        self.matcher = matcher
        self._sources: dict[str, Source] = {}

    def batch(self, spec: str, keys: list[str], options: dict[str, Any]) -> list[dict[str, Any]]:
        source = self._sources.get(spec)
        if source is None:
            source = self._sources[spec] = open_source(spec, self.settings)
        items = [Item(key) for key in keys]
        hashed = hash_batch(source, items, self.settings, HashOptions.from_dict(options))
        return [
            report_row(
                h,
                self.matcher.match_result(h.result, door="scan") if h.result is not None else [],
            )
            for h in hashed
        ]
