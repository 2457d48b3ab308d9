"""What chaining costs the event-write path, under a crawl and under notice passes.

Two workloads write events the way keepdown does, each against three set-ups in the same
run, in turn:

- **before**: the write path as it was before the chain (issue 23): a SQLAlchemy Core insert
  per event, the payload a dict encoded by SQLAlchemy's ``json.dumps``, ``to_dict`` through
  ``dataclasses.asdict``, no chain trigger;
- **chained**: the write path now: :func:`keepdown.storage.event_store.insert_events`
  (canonical JSON, a fixed statement straight to the driver), every insert chained by the
  database's trigger;
- **unchained**: the write path now with the chain trigger dropped: what the chain alone
  costs is chained minus unchained.

Workloads (events written through keepdown's own stores):

- **crawl**: the crawler over the generated loopback site of ``benchmarks/crawl_loopback.py``
  (``tests/crawl/site.py``), its events (``PageFetched``, ``MediaSeen``) into
  :class:`SqlEventStore`, one transaction each, as a crawl slice writes them;
- **notices**: sightings at a loopback host, then notice passes (draft, deliver to a loopback
  SMTP server) and re-check passes (the host answers 404: removals confirmed), through the
  notice services; their events are written inside the notice stores' transactions;
- **concurrent** (``--threads N``): N threads writing events at once through
  :class:`SqlEventStore`, as a fleet's workers do; events per second over all of them. On
  PostgreSQL this is where the chain's one order costs: writers queue on its lock, one
  commit at a time.

Measured: the time spent in the event-write calls (``SqlEventStore.emit`` and the notice
stores' in-transaction ``emit``), per event, and the workload's wall time; the overhead is
the chained median over the before median.

    python benchmarks/event_write.py --pages 300 --sightings 200 --runs 3
    python benchmarks/event_write.py --database-url postgresql+psycopg://...  # a fresh schema each
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from dataclasses import asdict  # noqa: E402
from datetime import datetime  # noqa: E402

from sqlalchemy import JSON, Column, MetaData, String, Table, insert  # noqa: E402

import keepdown.storage.event_store as event_store  # noqa: E402
import keepdown.storage.notice_rows as notice_rows  # noqa: E402
import keepdown.storage.notice_store as notice_store  # noqa: E402
import keepdown.storage.outbox_store as outbox_store  # noqa: E402
from keepdown.settings import load_settings  # noqa: E402
from keepdown.storage import make_engine, upgrade  # noqa: E402
from keepdown.storage.schema import BigId, UtcDateTime  # noqa: E402


class Meter:
    """Time spent in the event-write calls, and how many events they wrote: CPU time of the
    writing thread (what the write path costs; waiting for the GIL behind the crawl's hashing
    threads is not its cost) and wall time."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.wall = 0.0
        self.events = 0

    @contextmanager
    def installed(self):
        store_emit = event_store.SqlEventStore.emit
        in_tx = {m: m.emit for m in (notice_store, outbox_store)}

        def timed_store(store, event):
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return store_emit(store, event)
            finally:
                self.seconds += time.thread_time() - cpu
                self.wall += time.perf_counter() - wall
                self.events += 1

        def timed_in_tx(original):
            def emit(conn, batch):
                cpu, wall = time.thread_time(), time.perf_counter()
                try:
                    return original(conn, batch)
                finally:
                    self.seconds += time.thread_time() - cpu
                    self.wall += time.perf_counter() - wall
                    self.events += len(batch)

            return emit

        event_store.SqlEventStore.emit = timed_store
        for module, original in in_tx.items():
            module.emit = timed_in_tx(original)
        try:
            yield self
        finally:
            event_store.SqlEventStore.emit = store_emit
            for module, original in in_tx.items():
                module.emit = original


def _old_to_dict(event: Any) -> dict[str, Any]:
    """``Event.to_dict`` as it was: dataclasses.asdict, then times and tuples."""
    data = asdict(event)
    data["kind"] = event.kind
    for name, value in data.items():
        if isinstance(value, datetime):
            data[name] = value.isoformat()
        elif isinstance(value, tuple):
            data[name] = list(value)
    return data


_OLD_EVENTS = Table(  # the events table as the code before the chain saw it
    "events",
    MetaData(),
    Column("id", BigId, primary_key=True),
    Column("kind", String(64)),
    Column("at", UtcDateTime),
    Column("payload", JSON),
)


def _old_insert(conn: Any, batch: Any) -> None:
    for event in batch:
        conn.execute(
            insert(_OLD_EVENTS),
            {"kind": event.kind, "at": event.at, "payload": _old_to_dict(event)},
        )


@contextmanager
def variant(name: str):
    """``before``: the writers as they were (module docstring); otherwise today's."""
    original = event_store.insert_events
    if name == "before":
        event_store.insert_events = _old_insert
        for module in (notice_store, outbox_store):
            module.emit = _old_insert
    try:
        yield
    finally:
        event_store.insert_events = original
        for module in (notice_store, outbox_store):
            module.emit = notice_rows.emit


_SCHEMAS: list[str] = []


def drop_schemas(base_url: str) -> None:
    """The PostgreSQL schemas this run made, dropped, each in a transaction of its own (all in
    one ran out of PostgreSQL's lock table: max_locks_per_transaction)."""
    if not base_url or not _SCHEMAS:
        return
    from sqlalchemy import create_engine

    admin = create_engine(base_url)
    for schema in _SCHEMAS:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.dispose()


def fresh_database(base_url: str, tmp: str, n: int, name: str) -> str:
    if base_url:
        from sqlalchemy import create_engine

        schema = f"kd_bench_{os.getpid()}_{n}".replace("-", "m")
        _SCHEMAS.append(schema)
        admin = create_engine(base_url)
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        admin.dispose()
        url = f"{base_url}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp}/{name}-{n}.sqlite3"
    engine = make_engine(url)
    upgrade(engine)
    if name in ("before", "unchained"):
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("DROP TRIGGER events_chain ON events")
            else:
                conn.exec_driver_sql("DROP TRIGGER events_chain")
    engine.dispose()
    return url


# --- the crawl -----------------------------------------------------------------------------


def crawl(url: str, tmp: str, site: Any) -> None:
    from crawl.conftest import CRAWL_OVERRIDES

    from keepdown.crawl import Crawler, CrawlScope, InMemoryFrontier, StaticResolver
    from keepdown.storage import open_storage_url

    settings = load_settings(
        environ={}, overrides={**CRAWL_OVERRIDES, "data_dir": tmp, "database_url": url}
    )
    scope = CrawlScope(
        seeds=(site.url("/index.html", "site.test"),), max_depth=20, exclude=(r"/slow\.html$",)
    )

    class Sink:
        def accept(self, sighting, hashes) -> None:
            pass

    with open_storage_url(url, migrate=False) as storage:
        crawler = Crawler(
            settings,
            scope=scope,
            frontier=InMemoryFrontier(),
            sink=Sink(),
            events=storage.events,
            resolver=StaticResolver({"site.test": ["127.0.0.1"]}),
        )

        async def go():
            try:
                return await crawler.run()
            finally:
                await crawler.aclose()

        asyncio.run(go())


# --- notice passes -------------------------------------------------------------------------


def notices(url: str, tmp: str, count: int, smtp_port: int, site: Any) -> None:
    from notices.conftest import T0, add_sighting, known_image, notice_settings, seed_bank

    from keepdown.app import open_notice_services
    from keepdown.clock import FrozenClock
    from keepdown.crawl.transport import StaticResolver
    from keepdown.notices.providers import Provider

    base = load_settings(environ={}, overrides={"data_dir": tmp, "database_url": url})
    settings = notice_settings(base, smtp_port=smtp_port)
    clock = FrozenClock(T0)
    entries = seed_bank(settings, clock)
    resolver = StaticResolver({"img.hosting.test": ["127.0.0.1"]})
    services = open_notice_services(settings, clock=clock, resolver=resolver)
    try:
        now = clock.now()
        for p in range(4):
            services.providers.add(
                Provider(
                    name=f"Hosting {p}",
                    domains=(f"p{p}.img.hosting.test",) if p else ("img.hosting.test",),
                    abuse_contacts=(f"abuse@hosting-{p}.test",),
                    country="NL",
                ),
                now,
            )
        for i in range(count):
            path = f"/m/{i}.jpg"
            site.put(path, known_image(i % 4))
            add_sighting(
                services.storage.engine,
                services.storage.events,
                media_url=site.url(path, "img.hosting.test"),
                image=known_image(i % 4),
                entries=entries,
                seen_at=T0 - timedelta(hours=1),
            )
        asyncio.run(services.service.send_due())
        for i in range(count):
            if i % 2 == 0:
                site.answer(f"/m/{i}.jpg", 404)
        for hours in (24, 48):
            clock.set(T0 + timedelta(hours=hours))
            asyncio.run(services.tracker.recheck_due())
            asyncio.run(services.service.send_due())
    finally:
        services.close()


def concurrent(url: str, threads: int, per_thread: int) -> tuple[int, float]:
    """Events written by ``threads`` threads at once; (events, seconds)."""
    import threading
    from datetime import UTC
    from datetime import datetime as dt

    from keepdown.events import TaskRan
    from keepdown.storage import open_storage_url

    with open_storage_url(url, migrate=False) as storage:
        start = threading.Barrier(threads + 1)

        def write(name: str) -> None:
            start.wait()
            for i in range(per_thread):
                storage.events.emit(TaskRan(at=dt.now(UTC), task=name, outcome="ok", seconds=i / 7))

        workers = [threading.Thread(target=write, args=(f"w{n}",)) for n in range(threads)]
        for w in workers:
            w.start()
        start.wait()
        began = time.perf_counter()
        for w in workers:
            w.join()
        return threads * per_thread, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--sightings", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default="", help="PostgreSQL server (default SQLite)")
    parser.add_argument("--threads", type=int, default=0, help="Also the concurrent workload.")
    parser.add_argument("--per-thread", type=int, default=300)
    parser.add_argument("--only", choices=["crawl", "notices", "concurrent"], default=None)
    args = parser.parse_args()

    from aiosmtpd.controller import Controller
    from crawl.site import TestSite
    from notices.conftest import Mailbox, _SmtpHandler, free_port, start_site

    site = TestSite(n_pages=args.pages).start()
    box = Mailbox(port=free_port())
    smtp = Controller(_SmtpHandler(box), hostname="127.0.0.1", port=box.port)
    smtp.start()
    host, host_server = start_site("127.0.0.1")
    results: dict[tuple[str, str], list[tuple[float, int, float]]] = {}
    print(f"load average before: {os.getloadavg()}", flush=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            n = 0
            workloads = [w for w in ("crawl", "notices") if args.only in (None, w)]
            if workloads:
                print("warming up (compiles the hashing kernels, fills caches)...", flush=True)
                crawl(fresh_database(args.database_url, tmp, 0, "warm"), tmp, site)
                warm = fresh_database(args.database_url, tmp, -1, "warm")
                notices(warm, f"{tmp}/w", 8, box.port, host)
            for run in range(args.runs):
                for workload in workloads:
                    names = ("before", "chained", "unchained")
                    for name in names if run % 2 == 0 else names[::-1]:
                        n += 1
                        url = fresh_database(args.database_url, tmp, n, name)
                        meter = Meter()
                        started = time.perf_counter()
                        with variant(name), meter.installed():
                            if workload == "crawl":
                                crawl(url, tmp, site)
                            else:
                                notices(url, f"{tmp}/{n}", args.sightings, box.port, host)
                        wall = time.perf_counter() - started
                        per = meter.seconds / max(1, meter.events) * 1e6
                        per_wall = meter.wall / max(1, meter.events) * 1e6
                        results.setdefault((workload, name), []).append(
                            (per, meter.events, wall, per_wall)
                        )
                        print(
                            f"run {run + 1} {workload:8s} {name:8s} {meter.events:6d} events "
                            f"{per:7.1f} us CPU / {per_wall:7.1f} us wall per event write, "
                            f"workload {wall:6.1f} s",
                            flush=True,
                        )
    finally:
        site.stop()
        smtp.stop()
        host_server.shutdown()
    try:
        if args.threads and args.only in (None, "concurrent"):
            with tempfile.TemporaryDirectory() as tmp:
                _concurrent_table(args, tmp)
    finally:
        drop_schemas(args.database_url)
    print(f"load average after: {os.getloadavg()}")
    print(
        "\n| workload | events | us CPU per event write: before | chained | unchained "
        "| chained vs before | the chain alone | workload s: before / chained |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for workload in [w for w in ("crawl", "notices") if (w, "before") in results]:
        med = {
            name: statistics.median(r[0] for r in results[(workload, name)])
            for name in ("before", "chained", "unchained")
        }
        wall = {
            name: statistics.median(r[2] for r in results[(workload, name)])
            for name in ("before", "chained")
        }
        b, c, u = med["before"], med["chained"], med["unchained"]
        print(
            f"| {workload} | {results[(workload, 'chained')][0][1]} | {b:.1f} | {c:.1f} | "
            f"{u:.1f} | {100 * (c - b) / b:+.1f} % | {c - u:+.1f} us ({100 * (c - u) / u:+.1f} %)"
            f" | {wall['before']:.1f} / {wall['chained']:.1f} |"
        )


def _concurrent_table(args: Any, tmp: str) -> None:
    rates: dict[str, list[float]] = {"chained": [], "unchained": []}
    for run in range(args.runs):
        for name in ("chained", "unchained") if run % 2 == 0 else ("unchained", "chained"):
            url = fresh_database(args.database_url, tmp, 1000 + 2 * run + (name == "chained"), name)
            events, seconds = concurrent(url, args.threads, args.per_thread)
            rates[name].append(events / seconds)
            print(
                f"run {run + 1} concurrent {name:9s} {events / seconds:8.0f} events/s", flush=True
            )
    chained = statistics.median(rates["chained"])
    unchained = statistics.median(rates["unchained"])
    print(
        f"\n| {args.threads} writers at once | unchained events/s | chained "
        "| chained vs unchained |"
        f"\n| --- | --- | --- | --- |\n| {'PostgreSQL' if args.database_url else 'SQLite'} | "
        f"{unchained:.0f} | {chained:.0f} | {100 * (chained - unchained) / unchained:+.1f} % |"
    )


if __name__ == "__main__":
    main()
