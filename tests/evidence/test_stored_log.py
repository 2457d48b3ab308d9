"""The stored log on SQLite and PostgreSQL: the database chains every insert, and any change
made to the table directly in SQL (edit, delete, reorder) is found at its position.

Every event goes in through keepdown's stores (``SqlEventStore.emit`` and the notice stores'
in-transaction ``emit``); the tampering goes straight to SQL, past the append-only guard.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError

from keepdown.clock import utc
from keepdown.errors import VerificationFailed
from keepdown.events import TaskRan
from keepdown.evidence import (
    GENESIS,
    MemoryChain,
    SigningKey,
    record_checkpoint,
    verify_chain,
)
from keepdown.storage import Storage
from keepdown.storage.checkpoint_store import SqlCheckpointStore
from keepdown.storage.event_chain import SqlEventChain
from keepdown.storage.notice_rows import emit as emit_in_transaction
from tests.evidence.conftest import tamper, varied_events

N = 12


def _log(storage: Storage) -> SqlEventChain:
    events = varied_events(N)
    for event in events[:6]:
        storage.events.emit(event)
    with storage.engine.begin() as conn:  # as the notice stores write: state and events at once
        emit_in_transaction(conn, events[6:])
    return SqlEventChain(storage.engine, batch=5)


def _text(storage: Storage, column: str) -> str:
    return f"{column}::text" if storage.engine.dialect.name == "postgresql" else column


def test_the_database_chains_what_the_stores_write_exactly_as_the_definition(storage) -> None:
    chain = _log(storage)
    reference = MemoryChain()
    for event in varied_events(N):
        reference.emit(event)
    assert chain.head() == reference.head()  # the trigger's hashes are the documented ones
    assert [r[:4] for r in chain.rows()] == [r[:4] for r in reference.rows()]
    info = chain.info()
    assert (info.version, info.genesis, info.live_from, info.backfilled) == (1, GENESIS, 1, 0)
    assert list(storage.events.read()) == varied_events(N)  # and they read back as they were


def test_an_unchanged_log_verifies_and_again_later(storage) -> None:
    chain = _log(storage)
    first = verify_chain(chain)
    assert first.ok
    assert first.walked.checked == N
    assert first.walked.last == N
    storage.events.emit(TaskRan(at=utc(2026, 8, 1), task="t", outcome="ok", seconds=1.0))
    again = verify_chain(chain)
    assert again.ok
    assert again.walked.checked == N + 1


@pytest.mark.parametrize("position", [1, 7, N])
def test_an_edited_payload_is_found_at_its_position(storage, position: int) -> None:
    chain = _log(storage)
    payload = _text(storage, "payload")
    edited = f"replace({payload}, '\"at\"', '\"at \"')"
    if storage.engine.dialect.name == "postgresql":
        edited += "::json"
    tamper(storage.engine, [f"UPDATE events SET payload = {edited} WHERE id = {position}"])
    found = verify_chain(chain)
    assert (found.broken.position, found.broken.reason) == (position, "changed")
    assert found.walked.checked == position - 1


def test_an_edited_time_or_kind_is_found_at_its_position(storage) -> None:
    chain = _log(storage)
    tamper(storage.engine, ["UPDATE events SET kind = 'task_ran' WHERE id = 4"])
    assert verify_chain(chain).broken.position == 4
    tamper(storage.engine, ["UPDATE events SET kind = 'removal_confirmed' WHERE id = 4"])
    assert verify_chain(chain).ok  # put back as it was: whole again
    earlier = "'2026-06-01 00:00:00.000000'"
    if storage.engine.dialect.name == "postgresql":
        earlier = "'2026-06-01 00:00:00+00'"
    tamper(storage.engine, [f"UPDATE events SET at = {earlier} WHERE id = 9"])
    assert verify_chain(chain).broken.position == 9


@pytest.mark.parametrize("position", [1, 5, N - 1])
def test_a_deleted_event_is_missing_at_its_position(storage, position: int) -> None:
    chain = _log(storage)
    tamper(storage.engine, [f"DELETE FROM events WHERE id = {position}"])
    found = verify_chain(chain)
    assert (found.broken.position, found.broken.reason) == (position, "missing")


def test_reordered_events_are_found_at_the_first_moved_position(storage) -> None:
    chain = _log(storage)
    tamper(
        storage.engine,
        [
            "UPDATE events SET id = -4 WHERE id = 4",
            "UPDATE events SET id = 4 WHERE id = 8",
            "UPDATE events SET id = 8 WHERE id = -4",
        ],
    )
    found = verify_chain(chain)
    assert (found.broken.position, found.broken.reason) == (4, "changed")


def test_events_cut_from_the_end_are_found_by_a_checkpoint(storage, key: SigningKey) -> None:
    chain = _log(storage)
    checkpoints = SqlCheckpointStore(storage.engine)
    signed = record_checkpoint(chain, checkpoints, key, now=utc(2026, 7, 2), operator="hotline")
    assert signed is not None
    assert signed.checkpoint.position == N
    tamper(storage.engine, [f"DELETE FROM events WHERE id > {N - 3}"])
    assert verify_chain(chain).ok  # a shorter chain is a valid chain: only a checkpoint knows
    found = verify_chain(chain, recorded=checkpoints.list())
    assert (found.broken.position, found.broken.reason) == (N - 2, "truncated")
    assert verify_chain(chain, start=signed).broken.reason == "anchor"


def test_a_rewritten_tail_is_found_by_an_earlier_checkpoint(storage, key: SigningKey) -> None:
    """Someone edits event 5 and recomputes every later hash: the chain holds again, but the
    checkpoint a third party kept names position 10 with the old hash."""
    chain = _log(storage)
    checkpoints = SqlCheckpointStore(storage.engine)
    kept = record_checkpoint(chain, checkpoints, key, now=utc(2026, 7, 2))
    rewritten = MemoryChain()
    for position, kind, at, payload, _ in chain.rows():
        if position == 5:
            payload = payload.replace('"ok"', '"failed"')
        rewritten.append(kind, at, payload)
    statements = []
    for position, _, _, payload, hashed in rewritten.rows():
        literal = payload.replace("'", "''")
        value = (
            f"x'{hashed.hex()}'"
            if storage.engine.dialect.name == "sqlite"
            else f"'\\x{hashed.hex()}'::bytea"
        )
        statements.append(
            f"UPDATE events SET payload = '{literal}', chain_hash = {value} WHERE id = {position}"
        )
    tamper(storage.engine, statements)
    assert verify_chain(chain).walked.ok  # the walk alone cannot tell
    assert verify_chain(chain, start=kept).broken.reason == "anchor"
    found = verify_chain(chain, recorded=checkpoints.list())
    assert (found.broken.position, found.broken.reason) == (N, "anchor")
    storage.events.emit(TaskRan(at=utc(2026, 8, 1), task="t", outcome="ok", seconds=1.0))
    with pytest.raises(VerificationFailed, match="last checkpoint"):
        record_checkpoint(chain, checkpoints, key, now=utc(2026, 8, 2))


def test_checkpoints_are_recorded_once_per_head(storage, key: SigningKey) -> None:
    chain = _log(storage)
    checkpoints = SqlCheckpointStore(storage.engine)
    first = record_checkpoint(chain, checkpoints, key, now=utc(2026, 7, 2), operator="h")
    assert record_checkpoint(chain, checkpoints, key, now=utc(2026, 7, 3)) is None
    assert checkpoints.add(first) is False  # a second worker recording the same head
    storage.events.emit(TaskRan(at=utc(2026, 8, 1), task="t", outcome="ok", seconds=1.0))
    second = record_checkpoint(chain, checkpoints, key, now=utc(2026, 8, 2), operator="h")
    assert [c.checkpoint.position for c in checkpoints.list()] == [N, N + 1]
    assert checkpoints.latest() == second
    stored = checkpoints.list()[0]
    stored.verify(key.public)
    assert stored == first


def test_a_broken_chain_is_never_signed(storage, key: SigningKey) -> None:
    chain = _log(storage)
    tamper(storage.engine, ["DELETE FROM events WHERE id = 3"])
    with pytest.raises(VerificationFailed, match="position 3 is missing"):
        record_checkpoint(chain, SqlCheckpointStore(storage.engine), key, now=utc(2026, 7, 2))


def test_updates_and_deletes_are_refused_by_the_guard(storage) -> None:
    _log(storage)
    for statement in ("UPDATE events SET kind = 'x' WHERE id = 2", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"), storage.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert verify_chain(SqlEventChain(storage.engine)).walked.checked == N


def test_a_connection_without_the_chain_function_cannot_insert(tmp_path) -> None:
    from keepdown.storage import open_storage_url

    path = tmp_path / "k.sqlite3"
    with open_storage_url(f"sqlite:///{path}") as storage:
        _log(storage)
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.OperationalError, match="keepdown_chain_link"):
        raw.execute(
            "INSERT INTO events (kind, at, payload) "
            "VALUES ('x', '2026-07-01 00:00:00.000000', '{}')"
        )
    raw.close()


def test_a_walk_on_two_processes_finds_the_same_first_break(storage, monkeypatch) -> None:
    """``verify events --jobs 2``: each process checks its range from the stored row before
    it; together they check every link once, and the earliest break wins."""
    from keepdown.storage import parallel_walk

    monkeypatch.setattr(parallel_walk, "MIN_PER_JOB", 2)
    chain = _log(storage)
    whole = verify_chain(chain, jobs=2)
    assert whole.ok
    assert whole.walked.checked == N
    assert whole.walked.head == chain.head().hash
    tamper(storage.engine, ["DELETE FROM events WHERE id = 9"])  # in the second range
    found = verify_chain(chain, jobs=2)
    assert (found.broken.position, found.broken.reason) == (9, "missing")
    assert found.walked.checked == 8
