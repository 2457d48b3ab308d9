"""The periodic passes as tasks: a failed notice pass is recorded and the next dispatch runs
it again; finance alerts go out from the workers' dispatch, once per subscription and
indicator.

Everything is benign: the crawled site is the loopback test site of stand-in pictures, and the
payment indicators are the specifications' published example addresses on made-up pages.
"""

from __future__ import annotations

import time

import pytest

from keepdown.app.workers import open_queue
from keepdown.finance.alerts import Subscription
from keepdown.finance.extract import Extractor
from keepdown.finance.observer import FinanceObserver
from keepdown.storage.indicator_store import SqlIndicatorStore
from keepdown.tasks.registry import ALERTS, NOTICES
from tests.finance.conftest import T0, add_crawl, add_sighting
from tests.finance.vectors import BASE58_VALID

from .conftest import WORKER_SETTINGS, check_notices, prepare, report

BTC = next(iter(BASE58_VALID))
EVERY = 0.2  # notice_worker_seconds here: how often dispatch queues each pass


@pytest.fixture
def workers(settings, smtp):
    overrides = {**WORKER_SETTINGS, "notice_worker_seconds": EVERY}
    return settings.replace(**overrides, smtp_port=smtp.port, task_queue_url="memory://")


def _run_waiting(queue) -> list[str]:
    """Run every queued task, oldest first, as a consumer would; their names."""
    ran = []
    while (task := queue.huey.dequeue()) is not None:
        queue.huey.execute(task)
        ran.append(task.name)
    return ran


def _run_only(queue, name: str) -> int:
    """Run the queued tasks called ``name`` (the others are dropped); how many ran."""
    ran = 0
    while (task := queue.huey.dequeue()) is not None:
        if task.name == name:
            queue.huey.execute(task)
            ran += 1
    return ran


def _dispatch_when_due(queue) -> dict[str, int]:
    time.sleep(EVERY * 1.5)
    return queue.dispatch()


def test_a_failed_notice_pass_is_recorded_and_the_next_dispatch_runs_it(
    workers, site, smtp, caplog
):
    prepare(workers, site)
    report(workers, site.url("/index.html"))
    queue = open_queue(workers, jobs=True)
    try:
        jobs = queue.jobs
        while jobs.crawl_slice(1):
            pass
        service = jobs.notice.service
        real = service.send_due

        async def broken():
            raise RuntimeError("the database went away")

        service.send_due = broken
        assert queue.dispatch()["notices"] == 1
        assert NOTICES in _run_waiting(queue)  # the pass fails
        assert "Unhandled exception in task" in caplog.text
        assert smtp.messages == []
        failed = [e for e in jobs.crawl.storage.events.read("task_ran") if e.outcome == "failed"]
        assert [(e.task, e.detail) for e in failed] == [
            (NOTICES, "RuntimeError: the database went away")
        ]

        service.send_due = real
        assert _dispatch_when_due(queue)["notices"] == 1  # the failed pass is queued again
        assert NOTICES in _run_waiting(queue)
        check_notices(workers, smtp)  # every notice sent, exactly once
    finally:
        queue.close()


def _indicator_on_confirmed_page(storage) -> None:
    """A made-up page with a payment address, and two confirmed sightings on it."""
    crawl = add_crawl(storage.engine)

    class Page:  # what the crawler hands its page observers
        crawl_id, page_url, final_url = str(crawl), "http://pay.test/1", "http://pay.test/1"
        fetched_at, status, server_ip, text = T0, 200, "127.0.0.1", f"pay to {BTC}"

    FinanceObserver(SqlIndicatorStore(storage.engine), Extractor())(Page())
    for n in (1, 2):
        add_sighting(storage.engine, crawl, "http://pay.test/1", n, "confirmed", T0)


def test_finance_alerts_are_sent_by_the_workers_once_per_subscription(workers, smtp):
    queue = open_queue(workers, jobs=True)
    try:
        jobs = queue.jobs
        _indicator_on_confirmed_page(jobs.crawl.storage)
        subscribe = jobs.accountability.subscribe
        subscribe(Subscription("bank-a", "email", "fiu@bank-a.test", threshold=2))
        subscribe(Subscription("bank-b", "email", "fiu@bank-b.test", threshold=3))

        assert queue.dispatch()["finance_alerts"] == 1
        assert ALERTS in _run_waiting(queue)
        assert smtp.recipients == [["fiu@bank-a.test"]]  # bank-b's threshold is not reached
        assert BTC in smtp.messages[0].get_content()

        for _ in range(2):  # later passes: nothing new, nothing sent again
            assert _dispatch_when_due(queue)["finance_alerts"] == 1
            assert ALERTS in _run_waiting(queue)
        assert len(smtp.messages) == 1

        subscribe(Subscription("bank-c", "email", "fiu@bank-c.test", threshold=1))
        assert _dispatch_when_due(queue)["finance_alerts"] == 1
        _run_waiting(queue)
        assert smtp.recipients == [["fiu@bank-a.test"], ["fiu@bank-c.test"]]
        sent = jobs.accountability.alerts.alerts()
        assert sorted((a.subscription_id, a.state) for a in sent) == [(1, "sent"), (3, "sent")]
    finally:
        queue.close()


def test_no_alert_pass_is_queued_while_one_is_waiting(workers):
    queue = open_queue(workers, jobs=True)
    try:
        assert queue.dispatch()["finance_alerts"] == 1
        assert _dispatch_when_due(queue)["finance_alerts"] == 0  # one is already waiting
        assert [name for name, _ in queue.pending()].count(ALERTS) == 1
    finally:
        queue.close()


def test_the_workers_sign_a_checkpoint_of_the_event_chain_when_it_moved(workers, site) -> None:
    """``keepdown.evidence_checkpoint`` from the workers' dispatch: a signed checkpoint of the
    head once events were written, none again while the head stays where it is."""
    from keepdown.tasks.registry import CHECKPOINT

    prepare(workers, site)
    every = workers.replace(evidence_checkpoint_minutes=EVERY / 60)
    queue = open_queue(every, jobs=True)
    try:
        evidence = queue.jobs.runtime.evidence
        report(every, site.url("/index.html"))  # writes an event
        assert queue.dispatch()["checkpoint"] == 1
        assert _run_only(queue, CHECKPOINT) == 1
        first = evidence.checkpoints.latest()
        assert first is not None
        assert first.checkpoint.position == evidence.chain.head().position
        first.verify(evidence.key().public)
        assert _dispatch_when_due(queue)["checkpoint"] == 1
        assert _run_only(queue, CHECKPOINT) == 1
        assert evidence.checkpoints.list() == [first]  # the head did not move: nothing new
    finally:
        queue.close()


def test_the_workers_file_statements_of_reasons_and_reports(workers, site, monkeypatch) -> None:
    """``keepdown.filings`` from the workers' dispatch: a platform's blocked uploads reach the
    Transparency Database (the loopback stub) once, however often the pass runs."""
    from datetime import timedelta

    from keepdown.events import UploadChecked
    from keepdown.filings.stubs.dsa import DsaStub
    from keepdown.tasks.registry import FILINGS

    prepare(workers, site)
    monkeypatch.setenv("DSA_SANDBOX", "sandbox-token")
    with DsaStub() as dsa:
        queue = open_queue(workers.replace(filings_dsa_sandbox_url=dsa.url), jobs=True)
        try:
            runtime = queue.jobs.runtime
            for n in range(3):
                runtime.storage.events.emit(
                    UploadChecked(
                        at=T0 + timedelta(minutes=n),
                        key_id="k",
                        organisation="platform",
                        outcome="block",
                        match_type="exact",
                        automated=True,
                    )
                )
            runtime.filings.set_profile(
                "platform", "dsa", {"sandbox_token_env": "DSA_SANDBOX"}, "test"
            )
            assert queue.dispatch()["filings"] == 1
            assert _run_only(queue, FILINGS) == 1
            assert len(dsa.created()) == 3
            assert _dispatch_when_due(queue)["filings"] == 1
            assert _run_only(queue, FILINGS) == 1
            assert len(dsa.created()) == 3
            assert dsa.calls == [("/statements", 3)]  # one batch, once
        finally:
            queue.close()


def test_the_workers_run_due_feeds_and_send_feedback(workers, site, monkeypatch) -> None:
    """``keepdown.exchanges`` from the workers' dispatch: a feed that is due is fetched from
    the loopback NCMEC fake into its bank, and an analyst's "not a match" becomes one negative
    vote, once, however often the pass runs."""
    from keepdown.events import ReviewDecided
    from keepdown.exchanges.fakes import FakeNcmec, NcmecEntry
    from keepdown.tasks.registry import EXCHANGES
    from tests.exchanges.conftest import ENV, EPOCH

    prepare(workers, site)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    md5 = "7ce42c8218072e8c35bf992dc9e9c616"
    with FakeNcmec(page_size=10) as ncmec:
        ncmec.put([NcmecEntry(42, "img1", EPOCH, fingerprints={"md5": md5})])
        every = workers.replace(exchange_worker_seconds=1)
        queue = open_queue(every, jobs=True)
        try:
            runtime = queue.jobs.runtime
            runtime.exchanges.feeds.add(
                "ncmec", "ncmec", owner="hotline", url=ncmec.url, feedback=True,
                options={"lag_seconds": 0},
                secrets={"username": "NCMEC_USER", "password": "NCMEC_PASSWORD"},
            )  # fmt: skip
            assert queue.dispatch()["exchanges"] == 1
            assert _run_only(queue, EXCHANGES) == 1
            bank = runtime.storage.banks.get_bank("ncmec")
            entry = runtime.storage.banks.get_entry(bank.id, "md5", md5)
            assert entry.removed_at is None
            runtime.storage.events.emit(
                ReviewDecided(
                    at=runtime.clock.now(), sighting_id="1", decision="not_a_match",
                    bank="ncmec", analyst="ana", entry_id=entry.id, distance=0,
                    match_type="exact",
                )
            )  # fmt: skip
            time.sleep(1.2)
            assert queue.dispatch()["exchanges"] == 1
            assert _run_only(queue, EXCHANGES) == 1
            time.sleep(1.2)
            assert queue.dispatch()["exchanges"] == 1
            assert _run_only(queue, EXCHANGES) == 1
            assert list(ncmec.votes.values()) == [("down", "a1b2c3d4-0000-4000-8000-000000000002")]
            assert ncmec.feedback_requests == 1
        finally:
            queue.close()
