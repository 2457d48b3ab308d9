"""Bulk bank import speed: lines per second on SQLite and PostgreSQL, measured in one run.

For N generated MD5 lines (a plain hash list) it times, on each database:

1. parsing alone (reading the file into records: the floor any import pays),
2. a fresh import (every line new; one transaction, batches of 10,000 via executemany),
3. the same import again (every line already present: lookups only, nothing written).

    python benchmarks/bank_import.py --lines 1000000
    python benchmarks/bank_import.py --lines 200000 --no-postgres

PostgreSQL is KEEPDOWN_TEST_POSTGRES_URL (default postgres@127.0.0.1:5432/test); the benchmark
works in a schema of its own and drops it afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy

from keepdown.banks import formats
from keepdown.banks.service import BankService
from keepdown.events import EventLog
from keepdown.storage import open_storage_url

PG = os.environ.get(
    "KEEPDOWN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def write_list(path: Path, lines: int) -> None:
    with path.open("w") as out:
        for i in range(lines):
            out.write(hashlib.md5(f"benchmark-{i}".encode()).hexdigest() + "\n")


def timed_import(url: str, path: Path, lines: int) -> tuple[float, float]:
    with open_storage_url(url) as storage:
        service = BankService(storage.banks, EventLog())
        service.create_bank("bench", owner="bench")
        times = []
        for _ in range(2):
            start = time.perf_counter()
            service.import_file("bench", path, fmt="plain", signal_type="md5")
            times.append(time.perf_counter() - start)
        assert service.show_bank("bench").active == lines
    return times[0], times[1]


def pg_schema() -> tuple[str, sqlalchemy.Engine, str]:
    admin = sqlalchemy.create_engine(PG, isolation_level="AUTOCOMMIT")
    name = f"kd_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    url = sqlalchemy.engine.make_url(PG).update_query_dict({"options": f"-csearch_path={name}"})
    return url.render_as_string(hide_password=False), admin, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "list.txt"
        write_list(path, args.lines)
        start = time.perf_counter()
        parsed = sum(1 for _ in formats.read_file(path, "plain", signal_type="md5"))
        parse_s = time.perf_counter() - start
        assert parsed == args.lines
        rows = [("parse only", parse_s, None)]
        rows.append(("sqlite", *timed_import(f"sqlite:///{tmp}/bench.sqlite3", path, args.lines)))
        if not args.no_postgres:
            url, admin, schema = pg_schema()
            try:
                rows.append(("postgresql", *timed_import(url, path, args.lines)))
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                admin.dispose()
    print(f"{args.lines:,} MD5 lines (plain format)")
    print(f"{'':<12} {'fresh import':>22} {'re-import (all present)':>26}")
    for name, fresh, again in rows:
        rate = f"{fresh:6.1f} s {args.lines / fresh:>9,.0f}/s"
        second = f"{again:6.1f} s {args.lines / again:>9,.0f}/s" if again else ""
        print(f"{name:<12} {rate:>22} {second:>26}")


if __name__ == "__main__":
    main()
