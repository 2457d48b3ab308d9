"""Background work on a task queue: the job registry and the queue wiring (Huey).

- :mod:`~keepdown.tasks.backend`: the queue backend from settings (embedded SQLite by
  default, Redis for many machines, memory for tests);
- :mod:`~keepdown.tasks.registry`: :class:`TaskQueue`, every task keepdown runs in the
  background (crawl slices, notice and re-check passes, bank imports, scan batches) and the
  periodic dispatcher that finds due work in the database;
- :mod:`~keepdown.tasks.consumer`: running the tasks (``keepdown worker``, and the in-process
  workers of ``keepdown serve``).

The database stays the source of truth: a task carries ids, and running it again changes
nothing. ``docs/architecture.md`` ("The task queue") and ``docs/operations.md`` tell more.
"""

from __future__ import annotations

from keepdown.tasks.backend import describe_backend, open_huey
from keepdown.tasks.registry import TASK_NAMES, Jobs, TaskQueue

__all__ = ["TASK_NAMES", "Jobs", "TaskQueue", "describe_backend", "open_huey"]
