"""Feed ingestion: a million entries from a loopback exchange into a bank, matchable at once.

One run, on one database (a fresh SQLite file unless ``--database-url``):

1. a fake exchange in its own process serves N generated records (StopNCII: one PDQ hash
   each; NCMEC: an MD5 and a PDQ each, so N/2 records);
2. **full ingest**: one feed run fetches every page and lands it, while a match index in this
   process refreshes every second, as an API replica does; timed from the first request to the
   last page committed;
3. **matchable after the last page**: from that commit until the index answers a query for
   the last record's hash (deltas applied, no rebuild);
4. **incremental page**: 1,000 new entries are added on the exchange; timed from the start of
   the feed run to the index answering one of them;
5. in the same run, for comparison: keepdown's bulk import of the same N hashes from a file
   (the floor of landing N entries in this database), and python-threatexchange's client
   fetching and parsing the same pages (the peer; no storage at all).

    python benchmarks/feed_ingest.py --entries 1000000
    python benchmarks/feed_ingest.py --entries 1000000 --kind ncmec
    python benchmarks/feed_ingest.py --entries 200000 --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from keepdown.banks.service import BankService
from keepdown.clock import SystemClock
from keepdown.events import EventLog
from keepdown.exchanges.clients import build_client
from keepdown.exchanges.fakes.serve import generated
from keepdown.exchanges.model import FeedKind, FeedSpec
from keepdown.exchanges.sync import FeedSync, SyncLimits
from keepdown.hashing.types import PdqHash
from keepdown.matching.live import BankIndex
from keepdown.storage import open_storage_url
from keepdown.storage.feed_store import SqlFeedStore
from keepdown.storage.index_feed import IndexFeed

ENV = {
    "SUB": "sub-key",
    "FETCH": "fetch-key",
    "USER": "esp-user",
    "PASS": "esp-secret",
}
SECRETS = {
    "stopncii": {"subscription_key": "SUB", "fetch_key": "FETCH"},
    "ncmec": {"username": "USER", "password": "PASS"},
}


def start_fake(kind: str, records: int) -> tuple[subprocess.Popen[str], str]:
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "keepdown.exchanges.fakes.serve",
            "--kind",
            kind,
            "--records",
            str(records),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    assert line.startswith("URL "), line
    return child, line[4:]


def last_value(kind: str, records: int, seed: int = 1) -> Any:
    last = generated(kind, records, seed)[-1]
    return PdqHash.from_hex(last.value if kind == "stopncii" else last.fingerprints["pdq"])


def refresher(index: BankIndex, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        index.refresh()


def until_matched(index: BankIndex, value: Any, limit: float = 120.0) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        index.refresh()
        if index.match_hashes([value])[0]:
            return time.perf_counter() - started
        time.sleep(0.01)
    raise AssertionError("never matched")


def ingest(url: str, kind: str, fake_url: str, records: int, page_size: int) -> dict[str, float]:
    storage = open_storage_url(url)
    clock = SystemClock()
    BankService(storage.banks, storage.events, clock).create_bank(kind, owner="bench", label="csam")
    store = SqlFeedStore(storage.engine, storage.banks)
    options: dict[str, Any] = (
        {"page_size": page_size} if kind == "stopncii" else {"window_records": 10**9}
    )
    spec = FeedSpec(kind, FeedKind(kind), fake_url, options, SECRETS[kind])
    feed = store.create_feed(spec, clock.now())
    sync = FeedSync(
        store,
        storage.events,
        clock,
        lambda f: build_client(f, clock, environ=ENV),
        limits=SyncLimits(max_seconds=None, batch_records=20_000, flush_seconds=5.0),
    )
    index = BankIndex(IndexFeed(storage.engine), storage.banks.list_banks)
    index.refresh()
    stop = threading.Event()
    thread = threading.Thread(target=refresher, args=(index, stop), daemon=True)
    thread.start()
    started, cpu = time.perf_counter(), time.process_time()
    report = sync.run(feed)
    ingest_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu
    stop.set()
    thread.join()
    assert report.caught_up, report
    assert not report.error, report
    matchable_s = until_matched(index, last_value(kind, records))
    entries = sum(index.status()["entries"].values())
    # An incremental page of 1,000 entries.
    count = 1000 if kind == "stopncii" else 500
    httpx.post(f"{fake_url}/_fake/add", params={"count": count, "seed": 99})
    newest = generated(kind, count, 99, at=0)[-1]
    value = PdqHash.from_hex(newest.value if kind == "stopncii" else newest.fingerprints["pdq"])
    time.sleep(1.1 if kind == "stopncii" else 6.0)  # NCMEC's windows end 5 s before now
    started = time.perf_counter()
    incremental = sync.run(feed)
    sync_s = time.perf_counter() - started
    page_s = sync_s + until_matched(index, value)
    assert incremental.result.added == 1000, incremental
    index.close()
    storage.close()
    return {
        "ingest": ingest_s,
        "cpu": cpu_s,
        "matchable": matchable_s,
        "entries": float(entries),
        "page": page_s,
        "page_sync": sync_s,
    }


def bulk_import(url: str, kind: str, records: int, folder: Path) -> float:
    path = folder / "hashes.txt"
    with path.open("w") as out:
        for r in generated(kind, records, 1):
            if kind == "stopncii":
                out.write(r.value + "\n")
            else:
                out.write(r.fingerprints["pdq"] + "\n")
    storage = open_storage_url(url)
    service = BankService(storage.banks, EventLog())
    service.create_bank("bulk", owner="bench")
    started = time.perf_counter()
    service.import_file("bulk", path, fmt="plain", signal_type="pdq")
    took = time.perf_counter() - started
    storage.close()
    return took * (1 if kind == "stopncii" else 2)  # NCMEC: twice the hashes per record


def pytx_fetch(kind: str, fake_url: str) -> float | None:
    try:
        if kind == "stopncii":
            from threatexchange.exchanges.clients.stopncii.api import StopNCIIAPI
        else:
            from threatexchange.exchanges.clients.ncmec.hash_api import (
                NCMECEnvironment,
                NCMECHashAPI,
            )
    except ImportError:
        return None
    started = time.perf_counter()
    if kind == "stopncii":
        api = StopNCIIAPI("sub-key", "fetch-key", base_url_override=fake_url)
        n = sum(len(page.hashRecords) for page in api.fetch_hashes_iter())
    else:
        api = NCMECHashAPI("esp-user", "esp-secret", NCMECEnvironment.test_Industry)
        api._base_url = fake_url  # the fake stands in for the test environment
        n = sum(len(p.updates) for p in api.get_entries_iter(end_timestamp=int(time.time()) - 5))
    assert n > 0
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--kind", choices=["stopncii", "ncmec"], default="stopncii")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--page-size", type=int, default=10_000, help="StopNCII records per page")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    records = args.entries if args.kind == "stopncii" else args.entries // 2
    print(f"load average at start: {os.getloadavg()}  (2 cores shared with other work)")
    fake, fake_url = start_fake(args.kind, records)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/feed.sqlite3"
            got = ingest(url, args.kind, fake_url, records, args.page_size)
            ref_url = args.database_url or f"sqlite:///{tmp}/bulk.sqlite3"
            bulk = (
                None if args.no_reference else bulk_import(ref_url, args.kind, records, Path(tmp))
            )
            peer = None if args.no_reference else pytx_fetch(args.kind, fake_url)
    finally:
        fake.terminate()
        fake.wait()
    n = got["entries"]
    print(f"\n{args.kind} feed, {n:,.0f} entries ({records:,} records), {url.split(':')[0]}")
    rate = n / got["ingest"]
    print(f"  full ingest:                 {got['ingest']:7.1f} s  ({rate:,.0f} entries/s)")
    print(f"    of which this process's CPU: {got['cpu']:5.1f} s (fetch, parse, write, index)")
    print(f"  matchable after last page:   {got['matchable']:7.2f} s")
    page, run = got["page"], got["page_sync"]
    print(f"  page of 1,000: to matchable  {page:7.2f} s  (of which the feed run {run:.2f} s)")
    if bulk is not None:
        print(
            f"  reference, bulk import of the same hashes from a file: {bulk:7.1f} s"
            f"  (feed / bulk {got['ingest'] / bulk:.2f}x)"
        )
    if peer is not None:
        print(f"  peer, python-threatexchange fetch + parse only:       {peer:7.1f} s")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
