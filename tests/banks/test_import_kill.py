"""Kill -9 an import mid-way: nothing lands, nothing is corrupted, a re-run completes it.

Runs ``python -m keepdown bank import`` as a real process against an SQLite file and against
PostgreSQL, waits until it has written several batches inside its transaction (its progress
lines on stderr), kills it with SIGKILL, then checks:

1. the bank holds exactly what it held before (the open transaction was rolled back),
2. the database passes its integrity checks and the import is recorded as still ``running``,
3. re-running the import completes it, with exactly the file's entries, each once,
4. running it once more adds nothing.

A million lines on SQLite, as the issue asks (about a minute on the project's 2-core machine
when it is quiet); 200,000 on PostgreSQL (see ``LINES``).
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from keepdown.banks.service import BankService
from keepdown.storage import open_storage_url

pytestmark = pytest.mark.slow

#: Lines of the killed import. SQLite: the issue's million. PostgreSQL imports at ~19,000
#: lines/s here (docs/performance.md), so a million would take the test past 2.5 minutes
#: (kill, re-run, re-run again); 200,000 lines (20 batches, the same code path) keep it short.
LINES = {"sqlite": 1_000_000, "postgresql": 200_000}
BEFORE = 1_000  # entries the bank holds before the killed import (the file repeats them)
KILL_AT = 0.3  # share of the lines written (in whole batches) inside the transaction at the kill


def values(storage, bank_name: str) -> list[str]:
    """The bank's values, every row (a duplicate would show), read straight from SQL."""
    bank = storage.banks.get_bank(bank_name)
    with storage.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT value FROM bank_entries WHERE bank_id = "
            f"{int(bank.id)} AND removed_at IS NULL ORDER BY value"
        )
        return [r[0] for r in rows]


def start_import(data_dir: Path, url: str, path: Path) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "keepdown",
        "--data-dir",
        str(data_dir),
        "--database-url",
        url,
        "bank",
        "import",
        "target",
        str(path),
        "--signal-type",
        "md5",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPDOWN_")}
    return subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )


def wait_until_importing(process: subprocess.Popen[str], kill_after: int) -> int:
    """Read progress lines until ``kill_after`` lines are in the open transaction."""
    assert process.stderr is not None
    for line in process.stderr:
        if "lines read" in line:
            read = int(line.rsplit(":", 1)[1].split()[0])
            if read >= kill_after:
                return read
    pytest.fail(f"import ended before it could be killed (exit {process.wait()})")


def check_sqlite(path: str) -> None:
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []


def check_postgres(engine) -> None:
    """amcheck: the table's indexes are structurally sound and hold every heap row."""
    with engine.begin() as conn:
        # Once per database, in public: a test schema's copy would vanish with that schema.
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA public")
        schema = conn.exec_driver_sql(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'"
        ).scalar_one()
        indexes = (
            conn.exec_driver_sql(
                "SELECT indexrelid::regclass::text FROM pg_index "
                "WHERE indrelid = 'bank_entries'::regclass"
            )
            .scalars()
            .all()
        )
        assert len(indexes) == 3  # primary key, (bank, signal type, value key), tombstones
        for index in indexes:
            conn.exec_driver_sql(f"SELECT {schema}.bt_index_check('{index}'::regclass, true)")


def test_killed_import_loses_nothing_and_corrupts_nothing(tmp_path: Path, database_url) -> None:
    lines = LINES["sqlite" if database_url.startswith("sqlite") else "postgresql"]
    hashes = [hashlib.md5(f"kill-{i}".encode()).hexdigest() for i in range(lines)]
    big = tmp_path / "big.txt"
    big.write_text("\n".join(hashes) + "\n")
    small = tmp_path / "small.txt"
    small.write_text("\n".join(hashes[:BEFORE]) + "\n")

    with open_storage_url(database_url) as storage:
        service = BankService(storage.banks, storage.events)
        service.create_bank("target", owner="t")
        service.import_file("target", small, signal_type="md5")

    process = start_import(tmp_path / "data", database_url, big)
    try:
        assert wait_until_importing(process, int(lines * KILL_AT)) < lines
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL

    with open_storage_url(database_url) as storage:
        assert values(storage, "target") == sorted(hashes[:BEFORE])
        killed = storage.banks.list_imports(storage.banks.get_bank("target").id)[0]
        assert (killed.file_name, killed.status, killed.finished_at) == ("big.txt", "running", None)
        if database_url.startswith("sqlite"):
            check_sqlite(database_url.removeprefix("sqlite:///"))
        else:
            check_postgres(storage.engine)

        service = BankService(storage.banks, storage.events)
        rerun = service.import_file("target", big, signal_type="md5")
        assert (rerun.added, rerun.already_present) == (lines - BEFORE, BEFORE)
        assert values(storage, "target") == sorted(hashes)  # exactly a clean import's rows
        third = service.import_file("target", big, signal_type="md5")
        assert (third.added, third.already_present) == (0, lines)
        assert len(values(storage, "target")) == lines
