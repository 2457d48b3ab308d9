"""Write-back: a bank published to an exchange, by explicit opt-in, audited per submission."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from keepdown.auth import AuthService
from keepdown.banks.records import EntryRecord
from keepdown.errors import Conflict, InvalidInput, NotFound
from keepdown.exchanges.fakes import FakeNcmec, FakeStopNcii, FakeThreatExchange
from keepdown.exchanges.outbox import OutboxKind, OutboxState
from keepdown.exchanges.sender import OutboxSender
from keepdown.exchanges.writeback import WriteBackPlanner
from keepdown.hashing.types import SignalType
from keepdown.storage.auth_store import SqlAuthStore
from keepdown.storage.exchange_outbox import SqlExchangeOutbox
from keepdown.storage.publication_store import SqlPublicationStore
from tests.exchanges.conftest import Feeds, pdq_hex


def own_bank(feeds: Feeds, n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    feeds.banks.create_bank("ours", owner="operator", label="csam", trust="auto")
    values = [pdq_hex(rng) for _ in range(n)]
    for value in values:
        feeds.banks.add_entry("ours", EntryRecord(SignalType.PDQ, value))
    feeds.banks.add_entry(
        "ours", EntryRecord(SignalType.SHA1, "ab" * 20)
    )  # StopNCII takes no SHA-1
    return values


def parts(feeds: Feeds, **options):
    engine = feeds.storage.engine
    outbox = SqlExchangeOutbox(engine)
    store = SqlAuthStore(engine)
    auth = AuthService(store, store, clock=feeds.clock)
    sender = OutboxSender(
        outbox,
        feeds.store.get_feed_by_id,
        feeds.storage.events,
        feeds.clock,
        feeds.client,
        auditor=auth,
    )
    return SqlPublicationStore(engine), outbox, sender, auth


def test_a_published_bank_is_submitted_in_batches_each_audited(
    feeds: Feeds, stopncii: FakeStopNcii
) -> None:
    values = own_bank(feeds, 25)
    feeds.add("sncii", "stopncii", stopncii.url)
    pubs, outbox, sender, auth = parts(feeds)
    pubs.publish("ours", "sncii", "admin-key", ["csam"], feeds.clock.now())
    planner = WriteBackPlanner(pubs, outbox, batch=10)
    assert planner.plan(feeds.clock.now()) == 3
    assert planner.plan(feeds.clock.now()) == 0  # nothing new since
    report = sender.send_due()
    assert len(report.sent) == 3
    assert sorted(r["hashValue"] for r in stopncii.submitted) == sorted(values)
    assert {r["signalType"] for r in stopncii.submitted} == {"ImagePDQ"}
    audit = [r for r in auth.audit_log.list_records(action="exchange.submit")]
    assert len(audit) == 3
    assert {r.outcome for r in audit} == {"ok"}
    assert sum(r.details["count"] for r in audit) == 25
    assert {e.count for e in feeds.storage.events.read("hashes_submitted")} == {10, 5}
    # A new entry goes with the next plan; stopping the publication stops that.
    feeds.banks.add_entry("ours", EntryRecord(SignalType.PDQ, pdq_hex(random.Random(9))))
    assert planner.plan(feeds.clock.now()) == 1
    pubs.stop("ours", "sncii", feeds.clock.now())
    feeds.banks.add_entry("ours", EntryRecord(SignalType.PDQ, pdq_hex(random.Random(10))))
    assert planner.plan(feeds.clock.now()) == 0


def test_what_may_not_be_published(feeds: Feeds, stopncii: FakeStopNcii, ncmec: FakeNcmec) -> None:
    own_bank(feeds, 1)
    feeds.add("sncii", "stopncii", stopncii.url)
    feeds.add("ncmec", "ncmec", ncmec.url)
    pubs, *_ = parts(feeds)
    with pytest.raises(Conflict, match="filled by a feed"):
        pubs.publish("ncmec", "sncii", "admin", [], feeds.clock.now())
    with pytest.raises(InvalidInput, match="accepts no submissions"):
        pubs.publish("ours", "ncmec", "admin", [], feeds.clock.now())
    with pytest.raises(NotFound):
        pubs.publish("ours", "nowhere", "admin", [], feeds.clock.now())


def test_a_refused_submission_is_audited_as_failed(feeds: Feeds, stopncii: FakeStopNcii) -> None:
    own_bank(feeds, 3)
    feeds.add("sncii", "stopncii", stopncii.url)
    pubs, outbox, sender, auth = parts(feeds)
    pubs.publish("ours", "sncii", "admin", [], feeds.clock.now())
    WriteBackPlanner(pubs, outbox).plan(feeds.clock.now())
    stopncii.keys["SubmitHashes"] = "rotated"
    assert sender.send_due().failed
    (record,) = auth.audit_log.list_records(action="exchange.submit")
    assert record.outcome == "failed"
    assert stopncii.submitted == []


def test_an_interrupted_threatexchange_submission_waits_for_an_operator(
    feeds: Feeds, threatexchange: FakeThreatExchange
) -> None:
    own_bank(feeds, 2)
    feeds.add("te", "threatexchange", threatexchange.url, privacy_group="303")
    pubs, outbox, sender, _auth = parts(feeds)
    pubs.publish("ours", "te", "admin", ["csam"], feeds.clock.now())
    WriteBackPlanner(pubs, outbox).plan(feeds.clock.now())
    now = feeds.clock.now()
    claimed = outbox.claim(
        now, "dead-worker", now + timedelta(seconds=60), kinds=[OutboxKind.SUBMISSION]
    )
    assert claimed is not None  # ... and the worker died before recording anything
    feeds.clock.advance(timedelta(minutes=5))
    report = sender.send_due()
    assert report.recovered == [claimed.id]
    assert report.sent == []
    assert outbox.get(claimed.id).state is OutboxState.UNCERTAIN
    outbox.resolve(
        claimed.id, feeds.clock.now(), delivered=False
    )  # the operator checked: not there
    assert sender.send_due().sent == [claimed.id]
    assert sorted(d["type"] for d in threatexchange.submitted) == [
        "HASH_PDQ",
        "HASH_PDQ",
        "HASH_SHA1",
    ]
