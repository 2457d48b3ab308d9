"""Shared banks between hotlines: a million entries from one keepdown to another, and how
soon an entry added on the publisher is matchable on the peer with a 1-second poll.

One run, two keepdowns on loopback, each with its own SQLite database (``--database-url``
puts the subscriber on PostgreSQL):

1. **publisher** (its own process): a bank of N MD5 entries (bulk import of a generated
   file, timed: the reference), published to the peer; ``keepdown serve``'s app on a free
   port;
2. **full sync**: the subscriber adds the bank as a ``keepdown`` feed and runs it once: every
   page fetched, its signature and checkpoint verified, applied with its checkpoint in one
   transaction; timed from the first request to the last page committed, then until the
   subscriber's match index answers the last entry;
3. **propagation**: R times, one entry is added on the publisher; the subscriber polls every
   second (a feed run, then an index refresh); timed from the addition to the entry matching
   on the subscriber.

    python benchmarks/federation_sync.py --entries 1000000
    python benchmarks/federation_sync.py --entries 100000 --rounds 5
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from keepdown.app import Runtime
from keepdown.banks.records import EntryRecord
from keepdown.exchanges.sync import SyncLimits
from keepdown.hashing.types import SignalType, parse_hash
from keepdown.settings import load_settings

ENV = "BENCH_PEER_KEY"


def _settings(folder: Path, name: str, database_url: str = "", **more: Any) -> Any:
    values: dict[str, Any] = {
        "data_dir": str(folder / name),
        "operator_organisation": name,
        "federation_name": name,
        "federation_page_entries": 20_000,
        **more,
    }
    if database_url:
        values["database_url"] = database_url
    return load_settings(environ={}, overrides=values)


def md5_of(i: int) -> str:
    return f"{i:032x}"


# --- the publisher (a child process) -----------------------------------------------------


def publisher(folder: Path, entries: int, peer_public: str) -> None:
    import threading

    import uvicorn

    from keepdown.app import build_app
    from keepdown.auth import Role
    from keepdown.federation.peers import PeerSpec

    settings = _settings(folder, "publisher")
    path = folder / "hashes.txt"
    with path.open("w") as out:
        for i in range(entries):
            out.write(md5_of(i) + "\n")
    with Runtime.open(settings) as seed:
        seed.auth.ensure_organisation("publisher")
        seed.auth.ensure_organisation("subscriber")
        started = time.perf_counter()
        seed.banks.create_bank("shared", owner="publisher", label="csam", trust="auto")
        seed.banks.import_file("shared", path, fmt="plain", signal_type="md5")
        imported = time.perf_counter() - started
        token = seed.auth.issue_key("subscriber", Role.PEER).token
        seed.federation.add_peer(
            PeerSpec("subscriber", ["BE"], "http://127.0.0.1:9", base64.b64decode(peer_public))
        )
        seed.federation.publish("shared", "subscriber", by="benchmark")
        public = base64.b64encode(seed.federation.key().public).decode()
    app, _ = build_app(settings, refresh_in_background=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    ready = {"url": f"http://127.0.0.1:{port}", "token": token, "key": public, "import": imported}
    (folder / "ready.json").write_text(json.dumps(ready))
    thread.join()


# --- the subscriber (this process) -------------------------------------------------------


def until_matched(sub: Runtime, value: str, limit: float = 600.0) -> float:
    started = time.perf_counter()
    query = [parse_hash("md5", value)]
    while not sub.matcher.match_hashes(query, door="lookup")[0]:
        if time.perf_counter() - started > limit:
            raise SystemExit(f"{value} never became matchable")
        sub.matcher.refresh()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--database-url", default="", help="the subscriber's database")
    parser.add_argument(
        "--serve", nargs=3, metavar=("FOLDER", "ENTRIES", "KEY"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        publisher(Path(args.serve[0]), int(args.serve[1]), args.serve[2])
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sub = Runtime(_settings(folder, "subscriber", args.database_url))
        sub.auth.ensure_organisation("subscriber")
        peer_public = base64.b64encode(sub.federation.key().public).decode()
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(folder), str(args.entries), peer_public]
        )
        try:
            ready = folder / "ready.json"
            while not ready.exists():
                if child.poll() is not None:
                    raise SystemExit("the publisher stopped")
                time.sleep(0.2)
            info = json.loads(ready.read_text())
            os.environ[ENV] = info["token"]
            _run(sub, folder, info, args)
        finally:
            child.terminate()
            child.wait(timeout=30)
            sub.close()


def _run(sub: Runtime, folder: Path, info: dict[str, Any], args: argparse.Namespace) -> None:
    sub.matcher.refresh()  # the index is loaded before the clock starts (an API replica)
    sub.federation.subscribe(
        "from-publisher",
        info["url"],
        publisher="publisher",
        bank="shared",
        public_key=info["key"],
        api_key_env=ENV,
        owner="subscriber",
        trust="auto",
    )
    limits = SyncLimits(max_seconds=None)
    started = time.perf_counter()
    cpu = time.process_time()
    report = sub.federation.pull("from-publisher", limits=limits)
    synced = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if report.error:
        raise SystemExit(report.error)
    matchable = until_matched(sub, md5_of(args.entries - 1))
    print(f"federation sync of {args.entries:,} MD5 entries, pages of 20,000 (loopback HTTP)")
    print(f"  full sync (fetch, verify, apply): {synced:7.1f} s  ({report.pages} pages)")
    print(f"    of which the subscriber's CPU:   {cpu:7.1f} s")
    print(f"  then matchable on the subscriber: {matchable:7.2f} s")
    print(f"  reference, the publisher's bulk import of the same hashes: {info['import']:7.1f} s")
    publisher_db = _settings(folder, "publisher")
    latencies = []
    with Runtime.open(publisher_db) as pub:
        for n in range(args.rounds):
            value = md5_of(10**9 + n)
            added = time.perf_counter()
            pub.banks.add_entry("shared", EntryRecord(SignalType.MD5, value))
            query = [parse_hash("md5", value)]
            while True:
                sub.federation.pull("from-publisher", limits=limits)
                sub.matcher.refresh()
                if sub.matcher.match_hashes(query, door="lookup")[0]:
                    break
                time.sleep(args.poll)
            latencies.append(time.perf_counter() - added)
            time.sleep(args.poll * (n % 3) / 3)  # additions at different points of a poll
    print(
        f"  propagation, {args.poll:.0f} s poll, {args.rounds} additions: "
        f"max {max(latencies):.2f} s, median {sorted(latencies)[len(latencies) // 2]:.2f} s"
    )


if __name__ == "__main__":
    main()
