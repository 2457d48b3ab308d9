"""Review decisions become each exchange's feedback exactly once, also across a worker kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from keepdown.events import FeedbackSent, ReviewDecided
from keepdown.exchanges.fakes import (
    FakeNcmec,
    FakeStopNcii,
    FakeThreatExchange,
    NcmecEntry,
    StopNciiHash,
    TeIndicator,
)
from keepdown.exchanges.feedback import FeedbackPlanner
from keepdown.exchanges.outbox import OutboxKind, OutboxState
from keepdown.exchanges.sender import OutboxSender
from keepdown.storage.exchange_outbox import SqlExchangeOutbox
from keepdown.storage.publication_store import SqlDecisionSource
from tests.exchanges.conftest import ENV, EPOCH, Feeds

REPO = Path(__file__).resolve().parents[2]
PDQ = "c4647159c324c9859b810e766ec9d28663ca828dd5f4b3b2e4b06ce60741c7a8"
MD5 = "7ce42c8218072e8c35bf992dc9e9c616"


def planner(feeds: Feeds) -> FeedbackPlanner:
    engine = feeds.storage.engine
    return FeedbackPlanner(feeds.store, SqlExchangeOutbox(engine), SqlDecisionSource(engine))


def sender(feeds: Feeds, **options: Any) -> OutboxSender:
    return OutboxSender(
        SqlExchangeOutbox(feeds.storage.engine),
        feeds.store.get_feed_by_id,
        feeds.storage.events,
        feeds.clock,
        feeds.client,
        **options,
    )


def decide(feeds: Feeds, bank: str, value: str, decision: str, sighting: str = "1") -> None:
    """What the review queue records when an analyst decides (keepdown.review.queue)."""
    entry = feeds.storage.banks.get_entry(feeds.storage.banks.get_bank(bank).id, "pdq", value)
    feeds.storage.events.emit(
        ReviewDecided(
            at=feeds.clock.now(),
            sighting_id=sighting,
            decision=decision,
            bank=bank,
            analyst="ana",
            entry_id=entry.id,
            distance=3,
            match_type="near",
        )
    )


@pytest.fixture
def ncmec_feed(feeds: Feeds, ncmec: FakeNcmec):
    ncmec.put([NcmecEntry(42, "img1", EPOCH + 5, fingerprints={"md5": MD5, "pdq": PDQ})])
    feed = feeds.add("ncmec", "ncmec", ncmec.url)
    feed = feeds.store.update_feed("ncmec", {"feedback": True}, feeds.clock.now())
    assert feeds.sync().run(feed).caught_up
    return feed


def test_one_not_a_match_is_one_negative_vote(feeds: Feeds, ncmec: FakeNcmec, ncmec_feed) -> None:
    decide(feeds, "ncmec", PDQ, "not_a_match")
    decide(feeds, "ncmec", PDQ, "escalate", sighting="2")  # no verdict: nothing to send
    assert planner(feeds).plan(feeds.clock.now()) == 1
    assert planner(feeds).plan(feeds.clock.now()) == 0  # planned once
    report = sender(feeds).send_due()
    assert len(report.sent) == 1
    assert ncmec.votes == {(7, 42, "img1", "PDQ"): ("down", "a1b2c3d4-0000-4000-8000-000000000001")}
    assert sender(feeds).send_due().sent == []  # sent once
    assert ncmec.feedback_requests == 1
    (event,) = [e for e in feeds.storage.events.read("feedback_sent")]
    assert isinstance(event, FeedbackSent)
    assert event.verdict == "negative"
    assert event.outcome == "sent"


def test_the_latest_verdict_wins_and_a_repeat_sends_nothing(
    feeds: Feeds, ncmec: FakeNcmec, ncmec_feed
) -> None:
    decide(feeds, "ncmec", PDQ, "not_a_match")
    planner(feeds).plan(feeds.clock.now())
    sender(feeds).send_due()
    decide(feeds, "ncmec", PDQ, "not_a_match", sighting="2")  # the same verdict again
    assert planner(feeds).plan(feeds.clock.now()) == 0
    decide(feeds, "ncmec", PDQ, "confirm", sighting="3")  # an analyst changes their mind
    assert planner(feeds).plan(feeds.clock.now()) == 1
    sender(feeds).send_due()
    assert ncmec.votes == {(7, 42, "img1", "PDQ"): ("up", "")}
    assert ncmec.feedback_requests == 2


def test_feeds_without_feedback_send_nothing(feeds: Feeds, ncmec: FakeNcmec, ncmec_feed) -> None:
    feeds.store.update_feed("ncmec", {"feedback": False}, feeds.clock.now())
    decide(feeds, "ncmec", PDQ, "not_a_match")
    assert planner(feeds).plan(feeds.clock.now()) == 0
    assert ncmec.votes == {}


def test_transient_failures_retry_and_refusals_fail_visibly(
    feeds: Feeds, ncmec: FakeNcmec, ncmec_feed
) -> None:
    decide(feeds, "ncmec", PDQ, "not_a_match")
    planner(feeds).plan(feeds.clock.now())
    ncmec.password = "changed"  # the exchange now refuses our credentials
    report = sender(feeds).send_due()
    assert report.failed
    assert not report.sent
    (item,) = SqlExchangeOutbox(feeds.storage.engine).items(kind=OutboxKind.FEEDBACK)
    assert item.state is OutboxState.FAILED
    assert "401" in item.last_error
    ncmec.password = "esp-secret"
    SqlExchangeOutbox(feeds.storage.engine).resolve(item.id, feeds.clock.now(), delivered=False)
    assert sender(feeds).send_due().sent == [item.id]
    assert ncmec.votes[(7, 42, "img1", "PDQ")][0] == "down"


def test_stopncii_and_threatexchange_feedback(
    feeds: Feeds, stopncii: FakeStopNcii, threatexchange: FakeThreatExchange
) -> None:
    stopncii.put([StopNciiHash(PDQ.upper(), EPOCH + 5)])
    threatexchange.put(
        [
            TeIndicator(
                "501",
                "HASH_PDQ",
                PDQ,
                EPOCH + 5,
                descriptors=[{"id": "9001", "owner": {"id": "3"}, "tags": ["csam"]}],
            )
        ]
    )
    for name, kind, fake, options in (
        ("sncii", "stopncii", stopncii, {}),
        ("te", "threatexchange", threatexchange, {"privacy_group": "303"}),
    ):
        feed = feeds.add(name, kind, fake.url, **options)
        feed = feeds.store.update_feed(name, {"feedback": True}, feeds.clock.now())
        assert feeds.sync().run(feed).caught_up
    decide(feeds, "sncii", PDQ, "confirm")
    decide(feeds, "te", PDQ, "not_a_match")
    assert planner(feeds).plan(feeds.clock.now()) == 2
    assert len(sender(feeds).send_due().sent) == 2
    assert stopncii.feedback == {("keepdown-test", PDQ.upper()): "Blocked"}
    assert threatexchange.reactions == {"9001": {"DISAGREE_WITH_TAGS"}}


# --- across a worker kill ------------------------------------------------------------------------


def run_child(feeds: Feeds, step: str) -> subprocess.CompletedProcess[str]:
    args = {
        "database_url": feeds.storage.engine.url.render_as_string(hide_password=False),
        "env": ENV,
        "step": step,
        "now": feeds.clock.now().isoformat(),
    }
    return subprocess.run(
        [sys.executable, "-m", "tests.exchanges.feedback_child", json.dumps(args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("step", ["after_claim", "after_the_exchange_recorded_it"])
def test_exactly_one_negative_vote_across_a_worker_kill(
    feeds: Feeds, ncmec: FakeNcmec, ncmec_feed, step: str
) -> None:
    decide(feeds, "ncmec", PDQ, "not_a_match")
    planner(feeds).plan(feeds.clock.now())
    if step == "after_the_exchange_recorded_it":
        ncmec.on_request = lambda _n, request: (
            os.kill(int(request.headers["X-Worker"]), signal.SIGKILL)
            if request.method == "PUT"
            else None
        )
    killed = run_child(feeds, step)
    assert killed.returncode in (-signal.SIGKILL, 137), killed.stderr[-2000:]
    ncmec.on_request = None
    (item,) = SqlExchangeOutbox(feeds.storage.engine).items(kind=OutboxKind.FEEDBACK)
    assert item.state is OutboxState.SENDING  # the dead worker's claim
    assert sender(feeds).send_due().sent == []  # its lease has not expired yet
    feeds.clock.advance(timedelta(minutes=3))
    report = sender(feeds).send_due()
    assert report.recovered == [item.id]
    assert report.sent == [item.id]
    assert ncmec.votes == {(7, 42, "img1", "PDQ"): ("down", "a1b2c3d4-0000-4000-8000-000000000001")}
    assert ncmec.feedback_requests == (1 if step == "after_claim" else 2)
    time.sleep(0)
