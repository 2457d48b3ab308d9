"""The embedded default, no server at all: ``keepdown serve``'s in-process workers on the
SQLite queue in the data dir crawl a reported site and send its notices; and each task is
safe to run twice.
"""

from __future__ import annotations

import time

import pytest

from keepdown.app import Runtime, open_crawl_services
from keepdown.app.workers import EmbeddedWorkers, open_queue
from keepdown.tasks import TASK_NAMES

from .conftest import WORKER_SETTINGS, check_notices, check_sightings, prepare, report


@pytest.fixture
def embedded(settings, smtp):
    return settings.replace(**WORKER_SETTINGS, smtp_port=smtp.port, serve_workers=1)


def _crawl_state(settings) -> str:
    services = open_crawl_services(settings)
    try:
        return services.crawls.get(1).state
    finally:
        services.close()


def test_in_process_workers_crawl_and_send_notices(embedded, site, smtp):
    entries, seed = prepare(embedded, site)
    site.reset_log()
    report(embedded, seed)
    assert (embedded.data_path / "keepdown.sqlite3").exists()

    runtime = Runtime(embedded)
    workers = EmbeddedWorkers(runtime)
    workers.start()
    try:
        deadline = time.monotonic() + 240
        while _crawl_state(embedded) != "done" or not smtp.messages:
            assert time.monotonic() < deadline, "the crawl did not finish"
            time.sleep(0.5)
        time.sleep(4)  # notice passes after the last slice
    finally:
        workers.stop()
        runtime.close()

    assert (embedded.data_path / "tasks.sqlite3").exists()  # the embedded queue
    check_sightings(embedded, site, entries)
    check_notices(embedded, smtp)
    ordinary = [path for _, path in site.requests if path.startswith("/p/")]
    assert len(ordinary) == len(set(ordinary)), "a page was fetched twice"  # (retries aside)


def test_tasks_run_twice_change_nothing(embedded, site, smtp):
    entries, seed = prepare(embedded, site)
    report(embedded, seed)
    queue = open_queue(embedded.replace(task_queue_url="memory://"), jobs=True)
    try:
        jobs = queue.jobs
        assert jobs.runnable_crawls(10) == [1]
        while jobs.crawl_slice(1):  # slice after slice, as the workers would
            pass
        assert jobs.runnable_crawls(10) == []
        jobs.notice_pass()
        sent = len(smtp.messages)
        assert sent >= 1
        site.reset_log()

        assert jobs.crawl_slice(1) is False  # the crawl is done: a repeated task does nothing
        jobs.notice_pass()  # everything is sent: nothing is sent again
        jobs.recheck_pass()  # nothing is due yet
        assert site.requests == [] or all(p.endswith(".jpg") is False for _, p in site.requests)
        assert len(smtp.messages) == sent
        check_sightings(embedded, site, entries)
        check_notices(embedded, smtp)
    finally:
        queue.close()


def test_dispatch_queues_due_work_once(embedded, site):
    prepare(embedded, site)
    report(embedded, site.url("/index.html"))
    queue = open_queue(embedded.replace(task_queue_url="memory://"), jobs=True)
    try:
        first = queue.dispatch()
        again = queue.dispatch()
        waiting = [name for name, _ in queue.pending()]
        assert first == {
            "crawl": 2,
            "notices": 1,
            "rechecks": 1,
            "finance_alerts": 1,
            "checkpoint": 1,
            "filings": 1,
            "federation": 1,
            "exchanges": 1,
        }
        assert again == {
            "crawl": 0,
            "notices": 0,
            "rechecks": 0,
            "finance_alerts": 0,
            "checkpoint": 0,
            "filings": 0,
            "federation": 0,
            "exchanges": 0,
        }
        assert sorted(waiting) == sorted(
            [
                "keepdown.crawl",
                "keepdown.crawl",  # worker_crawl_parallelism 2
                "keepdown.notices",
                "keepdown.rechecks",
                "keepdown.finance_alerts",
                "keepdown.evidence_checkpoint",
                "keepdown.filings",
                "keepdown.federation",
                "keepdown.exchanges",
            ]
        )
        assert set(waiting) <= set(TASK_NAMES)
        assert all(args == (1,) for name, args in queue.pending() if name == "keepdown.crawl")
    finally:
        queue.close()


def test_serve_workers_zero_runs_only_the_api(embedded):
    from keepdown.app.server import build_app

    app, services = build_app(embedded.replace(serve_workers=0))
    try:
        assert not (embedded.data_path / "tasks.sqlite3").exists()
    finally:
        services.storage.close()
    assert app is not None


def test_a_bank_import_task_run_twice_adds_once(embedded, tmp_path):
    import hashlib

    from keepdown.app import open_services
    from keepdown.clock import SystemClock

    services = open_services(embedded, SystemClock())
    services.auth.ensure_organisation(services.settings.operator_organisation)
    services.banks.create_bank("imported", owner=services.settings.operator_organisation)
    listing = tmp_path / "md5.txt"
    listing.write_text("".join(hashlib.md5(str(i).encode()).hexdigest() + "\n" for i in range(50)))
    queue = open_queue(embedded.replace(task_queue_url="memory://"), jobs=True)
    try:
        for _ in range(2):  # queued twice (a retry, a double click): the same result
            queue.import_bank("imported", str(listing), {"signal_type": "md5"})
        ran = 0
        while (task := queue.huey.dequeue()) is not None:
            queue.huey.execute(task)
            ran += 1
        assert ran == 2
        assert services.banks.show_bank("imported").active == 50
        assert services.storage.events.count("task_ran") == 2
    finally:
        queue.close()
        services.storage.close()
