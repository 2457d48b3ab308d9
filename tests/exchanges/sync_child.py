"""A worker that runs one feed until it is caught up, for the kill tests.

Run by tests/exchanges/test_kill.py as ``python -m tests.exchanges.sync_child ARGS`` where
ARGS is a JSON object: database_url, feed (its name), env (the secrets' environment),
batch_records. The test kills it with SIGKILL at a chosen point of the fetch.
"""

from __future__ import annotations

import json
import sys

from keepdown.clock import SystemClock
from keepdown.exchanges.clients import build_client
from keepdown.exchanges.sync import FeedSync, SyncLimits
from keepdown.storage import open_storage_url
from keepdown.storage.feed_store import SqlFeedStore


def main(args: dict) -> None:
    storage = open_storage_url(args["database_url"])
    store = SqlFeedStore(storage.engine, storage.banks)
    clock = SystemClock()
    limits = SyncLimits(
        lease_seconds=1.0, batch_records=int(args["batch_records"]), flush_seconds=0
    )
    sync = FeedSync(
        store,
        storage.events,
        clock,
        lambda f: build_client(f, clock, environ=args["env"]),
        limits=limits,
    )
    report = sync.run(store.get_feed(args["feed"]))
    print(
        json.dumps(
            {"status": str(report.status), "caught_up": report.caught_up, "error": report.error}
        )
    )
    storage.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
