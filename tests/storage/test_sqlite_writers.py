"""SQLite write transactions start with BEGIN IMMEDIATE: concurrent read-then-write in two
threads of one process both succeed (a deferred BEGIN lost with "database is locked"), and
readers never wait for a writer."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from keepdown.storage import make_engine, upgrade
from keepdown.storage.tables_access import organisations

ROUNDS = 60


def _read_then_write(engine, name: str, errors: list[BaseException], start: threading.Barrier):
    start.wait()
    for i in range(ROUNDS):
        try:
            with engine.begin() as conn:
                seen = conn.execute(select(func.count()).select_from(organisations)).scalar_one()
                time.sleep(0.001)  # the other thread commits meanwhile
                conn.execute(
                    insert(organisations),
                    {"name": f"{name}-{i}-{seen}", "created_at": datetime.now(UTC)},
                )
        except BaseException as exc:
            errors.append(exc)


def test_two_threads_reading_then_writing_both_commit(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    upgrade(engine)
    errors: list[BaseException] = []
    start = threading.Barrier(2)
    threads = [
        threading.Thread(target=_read_then_write, args=(engine, n, errors, start)) for n in "ab"
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(organisations)).scalar_one()
    engine.dispose()
    assert errors == []
    assert count == 2 * ROUNDS
    # each transaction saw every earlier commit: the counts read are all distinct
    with make_engine(f"sqlite:///{tmp_path / 'k.sqlite3'}").connect() as conn:
        names = conn.execute(select(organisations.c.name)).scalars().all()
    assert len({n.rsplit("-", 1)[1] for n in names}) == 2 * ROUNDS


def test_a_reader_does_not_wait_for_an_open_write_transaction(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'k.sqlite3'}")
    upgrade(engine)
    holding = threading.Event()
    release = threading.Event()

    def writer() -> None:
        with engine.begin() as conn:
            conn.execute(insert(organisations), {"name": "w", "created_at": datetime.now(UTC)})
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    assert holding.wait(10)
    began = time.monotonic()
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(organisations)).scalar_one()
    with engine.connect() as conn, conn.begin():  # an explicit read transaction (index feed)
        conn.execute(select(func.count()).select_from(organisations)).scalar_one()
    waited = time.monotonic() - began
    release.set()
    thread.join()
    engine.dispose()
    assert before == 0  # the writer has not committed: the reader sees the last commit
    assert waited < 2.0
