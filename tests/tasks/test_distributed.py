"""The issue's test: the API (``keepdown serve --workers 0``) and two ``keepdown worker``
processes on real Redis and PostgreSQL crawl the loopback test site; one worker is killed
(SIGKILL) in the middle; every planted stand-in is found exactly once and every notice is
e-mailed exactly once (a real SMTP server).

Redis: its own database (9) and a queue name of this run's own, removed at the end.
PostgreSQL: a schema of this test's own (``postgres_url``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from keepdown.app import open_crawl_services, open_notice_services, open_services
from keepdown.auth import Role
from keepdown.clock import SystemClock
from keepdown.settings import load_settings
from tests.notices.conftest import free_port

from .conftest import REDIS_URL, WORKER_SETTINGS, check_notices, check_sightings, env_of, prepare

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_db(queue_name):
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc}): run scripts/services.sh")
    yield client
    for key in client.scan_iter(f"*{queue_name}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def fleet_settings(tmp_path, postgres_url, smtp, queue_name, redis_db):
    values = {
        **WORKER_SETTINGS,
        "crawl_lease_seconds": 4.0,
        "data_dir": str(tmp_path / "data"),
        "database_url": postgres_url,
        "smtp_port": smtp.port,
        "task_queue_url": REDIS_URL,
        "task_queue_name": queue_name,
        "crawl_politeness_backend": "redis",
        "redis_url": REDIS_URL,
        "worker_concurrency": 2,
        "api_port": free_port(),
    }
    return load_settings(environ={}, overrides=values)


def _start(settings, *args: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPDOWN_")}
    env |= env_of(settings)
    env |= {
        "KEEPDOWN_TASK_QUEUE_URL": str(settings.task_queue_url),
        "KEEPDOWN_TASK_QUEUE_NAME": str(settings.task_queue_name),
        "KEEPDOWN_CRAWL_POLITENESS_BACKEND": "redis",
        "KEEPDOWN_REDIS_URL": REDIS_URL,
        "KEEPDOWN_CRAWL_LEASE_SECONDS": str(settings.crawl_lease_seconds),
        "KEEPDOWN_API_PORT": str(settings.api_port),
    }
    out = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "keepdown", *args], cwd=REPO, env=env, stdout=out, stderr=out
    )


def _wait_for_api(base: str, api: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert api.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("the API did not start")


def _settled(settings, smtp) -> bool:
    crawls = open_crawl_services(settings)
    notices = open_notice_services(settings)
    try:
        if crawls.crawls.get(1).state != "done" or notices.notices.candidates():
            return False
        made = notices.notices.list_notices(limit=10_000)
        return bool(made) and len(smtp.messages) >= len(made)
    finally:
        crawls.close()
        notices.close()


def test_two_workers_one_killed_find_everything_once(fleet_settings, site, smtp, tmp_path):
    settings = fleet_settings
    entries, seed = prepare(settings, site)
    services = open_services(settings, SystemClock())
    token = services.auth.issue_key("hotline", Role.ANALYST, label="test").token
    services.storage.close()
    site.reset_log()

    api = _start(settings, "serve", "--workers", "0", log=tmp_path / "api.log")
    workers: list[subprocess.Popen[bytes]] = []
    try:
        base = f"http://127.0.0.1:{settings.api_port}"
        _wait_for_api(base, api, tmp_path / "api.log")
        answer = httpx.post(
            f"{base}/api/v1/reports",
            json={"url": seed, "reporter_type": "hotline"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text

        for name in ("a", "b"):
            workers.append(_start(settings, "worker", log=tmp_path / f"worker-{name}.log"))
        deadline = time.monotonic() + 120
        while sum(1 for _, p in list(site.requests) if p.endswith(".html")) < 60:
            for w, name in zip(workers, "ab", strict=True):
                assert w.poll() is None, (tmp_path / f"worker-{name}.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the workers fetched too little"
            time.sleep(0.05)
        workers[0].kill()  # SIGKILL: its tasks and leases are left behind
        workers[0].wait(10)
        killed_at = sum(1 for _, p in list(site.requests) if p.endswith(".html"))

        deadline = time.monotonic() + 360
        while not _settled(settings, smtp):
            assert workers[1].poll() is None, (tmp_path / "worker-b.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the crawl and its notices did not finish"
            time.sleep(1)
        time.sleep(3)  # one more notice pass: nothing must be sent again
    finally:
        for process in [*workers, api]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*workers, api]:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()

    pages = sum(1 for _, p in site.requests if p.endswith(".html"))
    assert pages > killed_at, "the surviving worker did not carry on"
    check_sightings(settings, site, entries)
    check_notices(settings, smtp)
