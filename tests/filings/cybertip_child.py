"""A CyberTipline sender killed with SIGKILL at one point of a report's way through NCMEC.

Run by tests/filings/test_cybertip_kills.py as ``python -m tests.filings.cybertip_child ARGS``
(ARGS: a JSON object with database_url, stub_url, preserved_dir, point). Points, for each
step S of submit, upload, fileinfo and finish:

- ``before_S``: S is claimed (in flight in the database); nothing sent yet;
- ``after_S``: NCMEC accepted S; keepdown has not recorded it;
- ``recorded_S``: S and its event are recorded; the next step is not claimed yet.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from keepdown.clock import FrozenClock
from keepdown.filings.cybertip_outbox import CyberTipOutbox
from keepdown.filings.preserved import FolderOfPreserved
from keepdown.storage import open_storage_url
from keepdown.storage.filing_store import SqlCyberTips, SqlProfiles
from tests.filings.conftest import T0, service_factory

METHOD = {"submit": "submit", "upload": "upload", "fileinfo": "file_info", "finish": "finish"}


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KillingService:
    """The real client, with a kill before or after one of its calls."""

    def __init__(self, inner: Any, point: str) -> None:
        self.inner = inner
        self.when, _, self.step = point.partition("_")

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.inner, name)
        if name != METHOD.get(self.step):
            return real

        def call(*args: Any) -> Any:
            if self.when == "before":
                die()
            answer = real(*args)
            if self.when == "after":
                die()
            return answer

        return call


class KillingStore(SqlCyberTips):
    """Dies right after a step's result is recorded (``recorded_S``)."""

    step = ""

    def apply(self, report_id, decide, *, in_flight=None):  # type: ignore[no-untyped-def]
        done = super().apply(report_id, decide, in_flight=in_flight)
        if done is not None and in_flight is not None and in_flight.value == self.step:
            die()
        return done


def main(args: dict[str, Any]) -> None:
    storage = open_storage_url(args["database_url"], migrate=False)
    point = args["point"]
    store = KillingStore(storage.engine)
    if point.startswith("recorded_"):
        store.step = point.removeprefix("recorded_")
    factory = service_factory(SqlProfiles(storage.engine), args["stub_url"], dict(os.environ))
    outbox = CyberTipOutbox(
        store,
        lambda org, env: KillingService(factory(org, env), point),
        FolderOfPreserved(Path(args["preserved_dir"])),
        FrozenClock(T0),
    )
    outbox.run()
    sys.exit(0)  # not killed: the point was never reached


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
