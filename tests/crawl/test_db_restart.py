"""Kill ``keepdown crawl`` (SIGKILL, a real subprocess) mid-crawl, start it again: the crawl
carries on from the database frontier at once (the new worker knows the old one is dead and
takes its 300 s leases back without waiting), nothing finished is fetched again, a URL that was
leased but never requested was not charged an attempt, no sighting is recorded twice, and in
the end exactly the planted stand-ins are found. SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from keepdown.app import open_crawl_services
from keepdown.cli import cli
from keepdown.crawl.frontier import UrlKind, UrlState
from keepdown.storage.crawl_store import list_sightings

from .test_db_crawl import KNOWN_IN, crawl_db  # noqa: F401  (fixture)

ENV = {
    "KEEPDOWN_CRAWL_ALLOWED_NETWORKS": "127.0.0.1/32",
    "KEEPDOWN_CRAWL_MAX_DEPTH": "12",
    "KEEPDOWN_CRAWL_LEASE_SECONDS": "300",
    "KEEPDOWN_CRAWL_CONCURRENCY": "8",
    "KEEPDOWN_CRAWL_PER_HOST_CONCURRENCY": "1",
    "KEEPDOWN_CRAWL_PER_HOST_DELAY_SECONDS": "0",
    "KEEPDOWN_CRAWL_TIMEOUT_SECONDS": "1",
    "KEEPDOWN_CRAWL_MAX_FETCH_SECONDS": "5",
    "KEEPDOWN_CRAWL_MAX_RETRIES": "1",
    "KEEPDOWN_CRAWL_RETRY_BACKOFF_SECONDS": "0.01",
    "KEEPDOWN_CRAWL_MAX_ATTEMPTS": "3",
}


def _worker(database_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPDOWN_")} | ENV
    args = ["--database-url", database_url, "--data-dir", str(data_dir), "crawl", "--once"]
    return subprocess.Popen(
        [sys.executable, "-m", "keepdown", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _pages(site) -> list[str]:
    return [path for _, path in list(site.requests) if path.endswith(".html")]


def test_kill_the_worker_mid_crawl_then_restart(crawl_db, site, database_url, tmp_path):  # noqa: F811
    settings, entries = crawl_db
    settings = settings.replace(crawl_lease_seconds=300.0, crawl_max_attempts=3)
    site.reset_log()
    seed = site.url("/index.html")  # 127.0.0.1: the subprocess resolves nothing
    reported = CliRunner(env=ENV).invoke(cli, ["--database-url", database_url, "report", seed])
    assert reported.exit_code == 0, reported.output

    first = _worker(database_url, tmp_path)
    deadline = time.monotonic() + 60
    while len(_pages(site)) < 60:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the worker fetched too little"
        time.sleep(0.02)
    first.kill()  # SIGKILL: no cleanup, leases left behind
    first.wait(10)
    killed_at = len(site.requests)

    services = open_crawl_services(settings)
    try:
        frontier = services.crawls.frontier(1)
        at_kill = frontier.items()
        done = {(i.kind, i.url, i.via): i for i in at_kill if i.state is UrlState.DONE}
        pending = [i for i in at_kill if i.state is not UrlState.DONE]
        assert len([k for k in done if k[0] is UrlKind.PAGE]) >= 20
        assert pending, "the kill should leave work behind"
        leased = [i for i in at_kill if i.state is UrlState.IN_PROGRESS]
        assert {i.lease_owner.split("/")[3] for i in leased} == {str(first.pid)}
        unrequested = [i for i in leased if i.attempts == 0]
        assert unrequested, "URLs waiting for the host's one slot were leased, not requested"
        assert services.crawls.get(1).state == "running"

        second = _worker(database_url, tmp_path)  # at once: the leases have 300 s to run
        _out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err.decode()

        after = [path for _, path in site.requests[killed_at:]]
        done_pages = {url.split("/", 3)[-1] for kind, url, _ in done if kind is UrlKind.PAGE}
        assert not {"/" + p for p in done_pages} & set(after), "a finished page was refetched"
        for (kind, url, via), item in done.items():
            now = frontier.get(url, kind=kind, via=via)
            assert (now.state, now.attempts) == (UrlState.DONE, item.attempts)
        assert frontier.count(states=[UrlState.PENDING, UrlState.IN_PROGRESS]) == 0
        assert services.crawls.get(1).state == "done", "the restart waited for the leases"
        for item in unrequested:  # one request in all: the lease of the dead worker cost none
            now = frontier.get(item.url, kind=item.kind, via=item.via)
            assert now.state in (UrlState.DONE, UrlState.FAILED), now
            assert now.attempts <= 1, now  # 0: a media replayed from the run's cache

        rows = list_sightings(services.storage.engine)
        places = [(r["page_url"], r["media_url"], r["archive_member"]) for r in rows]
        assert len(places) == len(set(places)), "a sighting was recorded twice"
        found = {
            (r["page_url"], r["media_url"], r["archive_member"], entries[r["entry_id"]])
            for r in rows
            if r["state"] != "unmatched"
        }
        expected = {(site.url(p.page), site.url(p.media), p.member, p.known) for p in site.planted}
        assert found == expected
        assert {r["bank"] for r in rows if r["state"] == "confirmed"} <= {KNOWN_IN[0]}
    finally:
        services.close()
