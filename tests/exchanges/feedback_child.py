"""A feedback sender that is killed at one step of sending, for test_feedback.py.

``python -m tests.exchanges.feedback_child ARGS`` (a JSON object: database_url, env, step,
now). Steps:

- ``after_claim``: the row is claimed (``sending``), nothing has gone out: the process dies;
- ``after_the_exchange_recorded_it``: the vote goes out; the fake exchange records it and
  kills this process (SIGKILL, by the pid in the ``X-Worker`` header) before answering.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime

from keepdown.clock import FrozenClock
from keepdown.exchanges import sender as sender_module
from keepdown.exchanges.clients import build_client
from keepdown.exchanges.sender import OutboxSender
from keepdown.storage import open_storage_url
from keepdown.storage.exchange_outbox import SqlExchangeOutbox
from keepdown.storage.feed_store import SqlFeedStore

KILLED = 137


def main(args: dict) -> None:
    storage = open_storage_url(args["database_url"])
    store = SqlFeedStore(storage.engine, storage.banks)
    clock = FrozenClock(datetime.fromisoformat(args["now"]))

    def client(feed):  # type: ignore[no-untyped-def]
        made = build_client(feed, clock, environ=args["env"])
        made.http._client.headers["X-Worker"] = str(os.getpid())
        return made

    if args["step"] == "after_claim":

        def die(*_args: object) -> None:
            os._exit(KILLED)

        sender_module.deliver_feedback = die  # type: ignore[assignment]
    sender = OutboxSender(
        SqlExchangeOutbox(storage.engine), store.get_feed_by_id, storage.events, clock, client
    )
    sender.send_due()
    print("not killed")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
