"""Running tasks: Huey's consumer, in the foreground (``keepdown worker``) or inside another
process (``keepdown serve`` on the embedded default).

Huey's consumer runs ``workers`` threads that take tasks from the queue, and a scheduler
thread that queues scheduled retries and the periodic tasks. Two keepdown changes, both
through Huey's documented extension points (``scheduler_class``, the periodic validator):

- the periodic tick is ``worker_periodic_seconds`` rather than Huey's fixed minute, so due
  work is found within seconds when an operator wants that (and tests do);
- :class:`EmbeddedConsumer` installs no signal handlers, so it can run on threads of a
  process that has its own (uvicorn), and stops when that process's lifespan ends.

Killing a consumer (SIGKILL) loses at most the tasks it was running: Redis and SQLite hand a
task to one consumer when it is taken, not when it is done, so those tasks are gone from the
queue; what they were doing is still in the database, and the next dispatch queues it again
(a crawl's leases expire, an interrupted delivery is recovered).
"""

from __future__ import annotations

import logging
from typing import Any

from huey.consumer import Consumer, Scheduler

from keepdown.tasks.registry import TaskQueue

__all__ = ["EmbeddedConsumer", "KeepdownScheduler", "consumer_for"]

log = logging.getLogger("keepdown.tasks")


class KeepdownScheduler(Scheduler):
    """Huey's scheduler with the periodic tick from ``worker_periodic_seconds``."""

    periodic_task_seconds: float = 30.0


class EmbeddedConsumer(Consumer):
    """A consumer on threads of a process that owns its signals (module docstring)."""

    def _set_signal_handlers(self) -> None:
        pass

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop taking tasks; wait up to ``timeout`` for the running ones."""
        self.shutdown_timeout = timeout
        self.stop(graceful=True)
        self.huey.notify_interrupted_tasks()


def consumer_for(
    queue: TaskQueue,
    *,
    workers: int,
    periodic: bool = True,
    kind: str = "thread",
    embedded: bool = False,
) -> Any:
    """A Huey consumer for ``queue`` (not started). ``kind``: ``thread`` or ``process``."""
    seconds = max(1.0, queue.settings.worker_periodic_seconds)
    scheduler = type("Scheduler", (KeepdownScheduler,), {"periodic_task_seconds": seconds})
    base = EmbeddedConsumer if embedded else Consumer
    cls = type("KeepdownConsumer", (base,), {"scheduler_class": scheduler})
    return cls(
        queue.huey,
        workers=max(1, int(workers)),
        periodic=periodic,
        worker_type=kind,
        initial_delay=0.05,
        max_delay=1.0,
        scheduler_interval=1,
        check_worker_health=True,
    )
