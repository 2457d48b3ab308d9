"""Concurrent writers make one chain: threads of one process, and two worker processes, on
PostgreSQL (a sequence hands out ids in no commit order: the trigger's lock orders them) and
SQLite (one writer at a time)."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from keepdown.events import TaskRan
from keepdown.evidence import verify_chain
from keepdown.storage import open_storage_url
from keepdown.storage.event_chain import SqlEventChain
from keepdown.storage.notice_rows import emit

REPO = Path(__file__).resolve().parents[2]


def _one_chain(url: str, expected: int) -> None:
    with open_storage_url(url) as storage:
        result = verify_chain(SqlEventChain(storage.engine))
        with storage.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(text("SELECT id FROM events ORDER BY id"))]
    assert result.ok, result.broken
    assert result.walked.checked == expected
    assert ids == list(range(1, expected + 1))  # one order, no gap, no fork


def test_threads_write_one_chain(database_url: str) -> None:
    threads, per_thread = 6, 40
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    with open_storage_url(database_url) as storage:

        def write(name: str) -> None:
            start.wait()
            try:
                for i in range(per_thread):
                    event = TaskRan(at=datetime.now(UTC), task=name, outcome="ok", seconds=i)
                    if i % 4 == 3:
                        with storage.engine.begin() as conn:
                            emit(conn, [event, event])
                    else:
                        storage.events.emit(event)
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    assert errors == []
    _one_chain(database_url, threads * (per_thread + per_thread // 4))


def test_two_worker_processes_write_one_chain(database_url: str) -> None:
    open_storage_url(database_url).close()  # migrated before the writers start
    count, threads = 60, 3
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.evidence.writer_child",
                database_url,
                name,
                str(count),
                str(threads),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("worker-a", "worker-b")
    ]
    outputs = [child.communicate(timeout=300) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, (out, err[-2000:])
        assert out.strip() == "done"
    per_thread = count + 2 * (count // 10)  # every tenth write is a batch of three
    _one_chain(database_url, 2 * threads * per_thread)
