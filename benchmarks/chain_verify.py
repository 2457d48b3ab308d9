"""Verifying the event chain: ``keepdown verify events`` over N stored events, timed.

Builds (or reuses, ``--keep``) a database of ``--events`` events written through the chain
trigger (a mix of crawl, notice and re-check events with realistic payloads, 200-400 bytes),
then, in the same run:

- **read**: the same rows read through the same cursor without hashing (the floor: what the
  database and the driver cost);
- **verify**: :func:`keepdown.evidence.verify_chain` over :class:`SqlEventChain`, the code
  ``keepdown verify events`` runs, on one process and on ``--jobs`` processes.

The issue's target: 10,000,000 events verified in at most 60 s.

``--migrate N`` times the upgrade of a database holding N events written before the chain
(at the revision before it): the one-time cost of chaining an existing log.

    python benchmarks/chain_verify.py --events 10000000 --keep /tmp/chain-10m.sqlite3
    python benchmarks/chain_verify.py --events 1000000 --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from keepdown.events import LocationRechecked, MediaSeen, NoticeSent, PageFetched  # noqa: E402
from keepdown.evidence import verify_chain  # noqa: E402
from keepdown.evidence.encoding import event_payload  # noqa: E402
from keepdown.storage import make_engine, upgrade  # noqa: E402
from keepdown.storage.event_chain import SqlEventChain  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _event(i: int):
    at = T0 + timedelta(milliseconds=37 * i)
    match i % 4:
        case 0:
            url = f"http://site-{i % 97}.test/section/{i % 1013}/page-{i}.html"
            return PageFetched(
                at=at,
                crawl_id=str(i // 5000),
                url=url,
                final_url=url,
                status=200,
                size=20_000 + i % 9000,
                server_ip="127.0.0.1",
                links=i % 40,
                media=i % 12,
            )
        case 1:
            return MediaSeen(
                at=at,
                crawl_id=str(i // 5000),
                page_url=f"http://site-{i % 97}.test/p{i}.html",
                media_url=f"http://cdn-{i % 31}.test/img/{i:012d}.jpg",
                sha256=f"{i:064x}",
                pdq=f"{i * 7919:064x}"[-64:],
                size=50_000 + i % 20_000,
                content_type="image/jpeg",
            )
        case 2:
            return NoticeSent(
                at=at,
                notice_ref=f"KDN-2026-{i:06d}",
                provider=f"provider-{i % 53}",
                provider_id=str(i % 53),
                country="NL",
                locations=(str(i), str(i + 1)),
                sighting_ids=(str(i),),
                location_detected_at=(at.isoformat(), at.isoformat()),
            )
        case _:
            return LocationRechecked(
                at=at,
                location_id=str(i),
                provider=f"provider-{i % 53}",
                provider_id=str(i % 53),
                notice_ref=f"KDN-2026-{i:06d}",
                result="present",
                status=200,
            )


def _sqlite_at(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")


def build(url: str, count: int) -> None:
    """Write ``count`` events through the chain trigger, in large transactions."""
    engine = make_engine(url)
    postgres = engine.dialect.name == "postgresql"
    have = _count(engine)
    if have < count:
        upgrade(engine)
        have = _count(engine)
    if have >= count:
        print(f"reusing {have:,} events", flush=True)
        engine.dispose()
        return
    started = time.perf_counter()
    batch = 50_000
    for first in range(have, count, batch):
        rows = []
        for i in range(first, min(first + batch, count)):
            event = _event(i)
            at = event.at if postgres else _sqlite_at(event.at)
            rows.append((event.kind, at, event_payload(event)))
        with engine.begin() as conn:
            raw = conn.connection.driver_connection
            cursor = raw.cursor()
            mark = "%s" if postgres else "?"
            cursor.executemany(
                f"INSERT INTO events (kind, at, payload) VALUES ({mark}, {mark}, {mark})", rows
            )
            cursor.close()
        done = first + len(rows)
        if done % 1_000_000 < batch:
            rate = (done - have) / (time.perf_counter() - started)
            print(f"  {done:,} events written ({rate:,.0f}/s)", flush=True)
    engine.dispose()


def _count(engine) -> int:
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT max(id) FROM events").scalar_one() or 0)
    except Exception:  # no events table yet
        return 0


def read_only(chain: SqlEventChain) -> tuple[int, float]:
    started = time.perf_counter()
    n = 0
    for _ in chain.rows():
        n += 1
    return n, time.perf_counter() - started


def verify(chain: SqlEventChain, jobs: int) -> tuple[int, float, bool]:
    started = time.perf_counter()
    result = verify_chain(chain, jobs=jobs)
    return result.walked.checked, time.perf_counter() - started, result.ok


def migrate(url: str, count: int) -> None:
    """Time the upgrade that chains ``count`` events written before the chain existed."""
    import re

    from alembic import command

    from keepdown.storage.migrate import MIGRATIONS_DIR, _config

    (script,) = (MIGRATIONS_DIR / "versions").glob("*_event_chain.py")
    before = re.search(r'^down_revision = "(\d+)"', script.read_text(), re.M).group(1)
    engine = make_engine(url)
    with engine.connect() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, before)  # the revision before the chain
        conn.commit()
    postgres = engine.dialect.name == "postgresql"
    batch, mark = 50_000, "%s" if postgres else "?"
    for first in range(0, count, batch):
        rows = []
        for i in range(first, min(first + batch, count)):
            event = _event(i)
            at = event.at if postgres else _sqlite_at(event.at)
            rows.append((event.kind, at, json.dumps(event.to_dict())))  # as written before
        cast = "::jsonb" if postgres else ""
        with engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()
            cursor.executemany(
                f"INSERT INTO events (kind, at, payload) VALUES ({mark}, {mark}, {mark}{cast})",
                rows,
            )
            cursor.close()
    print(f"{count:,} events at revision {before}; load average {os.getloadavg()}", flush=True)
    started = time.perf_counter()
    upgrade(engine)
    seconds = time.perf_counter() - started
    print(
        f"upgrade (chains every event): {seconds:.1f} s, "
        f"{count / seconds:,.0f} events/s; load average {os.getloadavg()}",
        flush=True,
    )
    result = verify_chain(SqlEventChain(engine))
    print(f"then verified: {result.walked.checked:,} events, ok={result.ok}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--keep", default="", help="SQLite file to build once and reuse")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--migrate", type=int, default=0, help="Time the upgrade of N events.")
    args = parser.parse_args()
    if args.migrate:
        if args.database_url:
            migrate(args.database_url, args.migrate)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                migrate(f"sqlite:///{tmp}/before.sqlite3", args.migrate)
        return
    tmp = None
    url = args.database_url
    if not url:
        path = Path(args.keep) if args.keep else Path(tempfile.mkdtemp()) / "chain.sqlite3"
        tmp = None if args.keep else path
        url = f"sqlite:///{path}"
    build(url, args.events)
    engine = make_engine(url)
    chain = SqlEventChain(engine)
    print(f"load average before: {os.getloadavg()}", flush=True)
    for run in range(1, args.runs + 1):
        n, read_s = read_only(chain)
        print(f"run {run}: read {n:,} rows {read_s:.1f} s ({n / read_s:,.0f}/s)", flush=True)
        for jobs in args.jobs:
            checked, verify_s, ok = verify(chain, jobs)
            print(
                f"run {run}: verify --jobs {jobs}: {checked:,} events {verify_s:.1f} s "
                f"({checked / verify_s:,.0f}/s, ok={ok}); load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()}")
    engine.dispose()
    if tmp is not None:
        tmp.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
