"""A worker process writing events: ``python -m tests.evidence.writer_child URL NAME N THREADS``.

The parent starts two of these at once against one database. Each of ``THREADS`` threads
writes ``N`` times: through ``SqlEventStore.emit`` (a transaction per event), and every tenth
time a batch of three events in one transaction, as the notice stores write. Prints ``done``
when every thread finished.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime

from keepdown.events import TaskRan
from keepdown.storage import open_storage_url
from keepdown.storage.notice_rows import emit


def _write(storage, name: str, count: int, errors: list[BaseException]) -> None:
    try:
        for i in range(count):
            event = TaskRan(at=datetime.now(UTC), task=name, outcome="ok", seconds=i / 8)
            if i % 10 == 9:
                with storage.engine.begin() as conn:
                    emit(conn, [event, event, event])
            else:
                storage.events.emit(event)
    except BaseException as exc:  # reported by the parent through the exit code
        errors.append(exc)


def main(url: str, name: str, count: int, threads: int) -> int:
    errors: list[BaseException] = []
    with open_storage_url(url, migrate=False) as storage:
        workers = [
            threading.Thread(target=_write, args=(storage, f"{name}-{t}", count, errors))
            for t in range(threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    if errors:
        print(f"failed: {errors[0]!r}", flush=True)
        return 1
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
