"""``kill -9`` of a worker in the middle of a fetch: the resumed fetch ends with exactly the
bank an uninterrupted one gives (on SQLite and PostgreSQL).

The worker is a child process (``tests/exchanges/sync_child.py``) running the feed's sync
against a fake exchange in this process. The fake kills it with SIGKILL as it receives a
chosen page request (so the kill lands between two pages, with pages applied and others
buffered), or a timer kills it at a random moment (so it may land inside a page's
transaction). A new child then resumes once the dead one's lease has expired.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from keepdown.exchanges.fakes import FakeNcmec, FakeStopNcii, NcmecEntry, StopNciiHash
from tests.exchanges.conftest import ENV, EPOCH, Feeds, md5_hex, pdq_hex

REPO = Path(__file__).resolve().parents[2]


def start_child(feeds: Feeds, feed: str, batch: int) -> subprocess.Popen[str]:
    args = {
        "database_url": feeds.storage.engine.url.render_as_string(hide_password=False),
        "feed": feed,
        "env": ENV,
        "batch_records": batch,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.exchanges.sync_child", json.dumps(args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(child: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def resume_until_caught_up(feeds: Feeds, feed: str, batch: int) -> None:
    for _ in range(10):
        time.sleep(1.1)  # the killed worker's lease (1 s) expires
        result = finish(start_child(feeds, feed, batch))
        if result["caught_up"]:
            return
    raise AssertionError("never caught up")


def ncmec_data(fake: FakeNcmec, n: int) -> None:
    rng = random.Random(n)
    fake.put(
        NcmecEntry(
            42 + i % 3,
            f"e{i}",
            EPOCH + rng.randrange(20),
            deleted=rng.random() < 0.1,
            classification=rng.choice(["A1", "B2", None]),
            fingerprints={"md5": md5_hex(rng), "pdq": pdq_hex(rng)},
        )
        for i in range(n)
    )


@pytest.mark.parametrize("kill_at", [2, 5])
def test_kill_between_pages(feeds: Feeds, kill_at: int) -> None:
    with FakeNcmec(page_size=40) as fake:
        ncmec_data(fake, 300)
        plain = feeds.add("plain", "ncmec", fake.url, window_records=100_000)
        killed = feeds.add("killed", "ncmec", fake.url, window_records=100_000)
        assert finish(start_child(feeds, plain.name, 50))["caught_up"]
        child: dict[str, subprocess.Popen[str]] = {}

        def kill(number: int, _request: Any) -> None:
            if number == fake.data_requests and number == first + kill_at:
                os.kill(child["p"].pid, signal.SIGKILL)
                child["p"].wait()

        first = fake.data_requests
        fake.on_request = kill
        child["p"] = start_child(feeds, killed.name, 50)
        child["p"].communicate(timeout=300)
        assert child["p"].returncode == -signal.SIGKILL
        fake.on_request = None
        assert feeds.entries("killed") != feeds.entries("plain")  # it really stopped mid-way
        resume_until_caught_up(feeds, killed.name, 50)
        assert feeds.entries("killed") == feeds.entries("plain")
        assert feeds.records(killed) == feeds.records(plain)


def test_kill_at_random_moments(feeds: Feeds) -> None:
    with FakeStopNcii() as fake:
        rng = random.Random(5)
        fake.put(
            StopNciiHash(
                pdq_hex(rng), EPOCH + rng.randrange(100), status=rng.choice(["Active", "Withdrawn"])
            )
            for _ in range(3000)
        )
        plain = feeds.add("plain", "stopncii", fake.url, page_size=100)
        killed = feeds.add("killed", "stopncii", fake.url, page_size=100)
        assert finish(start_child(feeds, plain.name, 300))["caught_up"]
        kills = 0
        for delay in (1.5, 2.5, 3.5):
            child = start_child(feeds, killed.name, 300)
            timer = threading.Timer(delay, lambda c=child: c.send_signal(signal.SIGKILL))
            timer.start()
            child.communicate(timeout=300)
            timer.cancel()
            kills += child.returncode == -signal.SIGKILL
            time.sleep(1.1)
        resume_until_caught_up(feeds, killed.name, 300)
        assert kills >= 1  # at least one kill landed mid-fetch
        assert feeds.entries("killed") == feeds.entries("plain")
        assert feeds.records(killed) == feeds.records(plain)
