"""Statements of reasons: read from the decisions in the events, PUIDs stable across runs,
valid against the schema, sent in batches of at most 100 to the loopback stub of the
Transparency Database, and each decision there once whatever the database answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from keepdown.clock import FrozenClock
from keepdown.events import (
    EventLog,
    HoldDecided,
    RemovalItemFound,
    RemovalItemRemoved,
    RemovalRequested,
    StatementsSubmitted,
    UploadChecked,
    UploadHeld,
)
from keepdown.filings.dsa_client import DsaClient
from keepdown.filings.memory import MemoryStatements
from keepdown.filings.profiles import DsaProfile, FilingProfile, MemoryProfiles, credential
from keepdown.filings.sor import decisions, statement
from keepdown.filings.sor_model import StatementState
from keepdown.filings.sor_outbox import StatementsOutbox, StatementsReport
from keepdown.filings.stubs.dsa import DsaStub
from keepdown.filings.validate import statement_problems

from .conftest import T0

TOKENS = {"SANDBOX_TOKEN": "sandbox-token", "PROD_TOKEN": "production-token"}


def blocked(n: int, org: str = "platform", automated: bool = True) -> UploadChecked:
    return UploadChecked(
        at=T0 + timedelta(seconds=n),
        key_id="key-1",
        organisation=org,
        outcome="block",
        match_type="exact",
        automated=automated,
    )


def held_then_removed(bank: str = "self-minors") -> list:
    at = T0 + timedelta(hours=1)
    return [
        UploadHeld(at=at, hold_id="9", organisation="platform", bank=bank, match_type="near"),
        RemovalRequested(
            at=at + timedelta(minutes=5),
            request_id="4",
            organisation="platform",
            origin="self-submission",
            received_at=at,
            due_at=at + timedelta(hours=48),
        ),
        HoldDecided(
            at=at + timedelta(minutes=5),
            hold_id="9",
            decision="confirm",
            analyst="a",
            bank=bank,
            request_id="4",
        ),
        RemovalItemFound(at=at + timedelta(hours=2), request_id="4", item_id="1", how="sweep"),
        RemovalItemRemoved(
            at=at + timedelta(hours=3),
            request_id="4",
            item_id="1",
            by="platform",
            removed_at=at + timedelta(hours=3),
        ),
    ]


def test_decisions_are_read_from_the_events():
    events = [
        blocked(0),
        UploadChecked(at=T0, key_id="k", organisation="platform", outcome="allow", match_type=""),
        UploadChecked(
            at=T0, key_id="k", organisation="platform", outcome="review", match_type="near"
        ),
        *held_then_removed(),
    ]
    found = list(decisions(events))
    assert [d.kind for d in found] == ["upload_blocked", "hold_refused", "copy_removed"]
    upload, hold, copy = found
    assert upload.automated_decision == "AUTOMATED_DECISION_FULLY"
    assert upload.source_type == "SOURCE_VOLUNTARY"
    assert hold.automated_decision == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert copy.source_type == "SOURCE_ARTICLE_16"
    assert copy.automated_detection
    assert all(d.category == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS" for d in found)
    assert len({d.puid for d in found}) == 3


def test_an_adults_programme_is_not_child_sexual_abuse():
    hold = next(d for d in decisions(held_then_removed("self-adults")) if d.kind == "hold_refused")
    assert (hold.category, hold.keyword) == (
        "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",
    )


def test_a_removal_not_from_a_hold_is_left_to_the_platform():
    events = [e for e in held_then_removed() if not isinstance(e, HoldDecided)]
    [copy] = decisions(events)
    assert not copy.determined


def test_puids_are_stable_and_unique_per_event():
    first = [d.puid for d in decisions([blocked(0), blocked(1)])]
    again = [d.puid for d in decisions([blocked(0), blocked(1)])]
    assert first == again
    assert first[0] != first[1]
    assert all(p.startswith("kd-upload-") and len(p) <= 500 for p in first)


def test_every_statement_passes_the_schema_and_carries_no_hash_or_url():
    profile = DsaProfile(decision_ground_reference_url="https://platform.test/terms")
    for d in decisions([blocked(0), *held_then_removed()]):
        body = statement(d, profile)
        assert statement_problems(body) == [], d.kind
        text = repr(body)
        assert "http" not in text.replace("https://platform.test/terms", "")


# --- the outbox against the stub ------------------------------------------------------------


class World:
    def __init__(self, stub: DsaStub, events: EventLog, clock: FrozenClock) -> None:
        self.stub, self.events, self.clock = stub, events, clock
        self.store = MemoryStatements(events)
        self.profiles = MemoryProfiles()
        self.profiles.put(
            FilingProfile(
                "platform",
                dsa=DsaProfile(
                    sandbox_token_env="SANDBOX_TOKEN", production_token_env="PROD_TOKEN"
                ),
            )
        )
        self.outbox = StatementsOutbox(self.store, self.profiles, events, self.service_for, clock)

    def service_for(self, organisation: str, environment: str) -> DsaClient:
        profile = self.profiles.get(organisation)
        assert profile is not None
        assert profile.dsa is not None
        token = credential(profile.dsa.token_name(environment), "DSA token", TOKENS)
        return DsaClient(self.stub.url, token, timeout=10)


@pytest.fixture
def dsa() -> Iterator[DsaStub]:
    with DsaStub({"sandbox-token": "Platform", "production-token": "Platform (prod)"}) as stub:
        yield stub


@pytest.fixture
def world(dsa: DsaStub) -> World:
    return World(dsa, EventLog(), FrozenClock(T0 + timedelta(days=1)))


def test_250_decisions_go_in_three_batches_once(world: World):
    for n in range(250):
        world.events.emit(blocked(n))
    report = world.outbox.run()
    assert (report.planned, report.sent) == (250, 250)
    assert [size for path, size in world.stub.calls] == [100, 100, 50]
    assert len(world.stub.created("Platform")) == 250
    assert world.store.counts()["sent"] == 250
    again = world.outbox.run()  # planning again adds nothing; nothing is sent twice
    assert (again.planned, again.sent) == (0, 0)
    assert len(world.stub.calls) == 3
    submitted = [e for e in world.events.events if isinstance(e, StatementsSubmitted)]
    assert [e.accepted for e in submitted] == [100, 100, 50]


def test_puids_the_database_has_already_are_settled_as_existing(world: World):
    for n in range(5):
        world.events.emit(blocked(n))
    world.outbox.plan(StatementsReport())
    # two statements got through on an earlier attempt whose answer was lost
    sent_before = world.store.select(states=[StatementState.PENDING])[-2:]
    for row in sent_before:
        world.stub.statements.setdefault("Platform", {})[row.puid] = dict(row.body)
    report = world.outbox.run()
    assert (report.sent, report.existing) == (3, 2)
    assert world.store.counts()["existing"] == 2
    assert len(world.stub.created("Platform")) == 5
    assert [size for _, size in world.stub.calls] == [5, 3]  # refused whole, then the rest


def test_a_statement_the_database_refuses_waits_for_the_platform(world: World):
    world.stub.validate = lambda s: ["decision_facts: too short"] if s["puid"].endswith("0") else []
    for n in range(12):
        world.events.emit(blocked(n))
    report = world.outbox.run()
    invalid = world.store.select(states=[StatementState.INVALID])
    assert report.invalid == len(invalid) > 0
    assert report.sent == 12 - len(invalid)
    assert all("too short" in r.last_error for r in invalid)


def test_an_invalid_statement_is_never_sent(world: World):
    world.profiles.put(
        FilingProfile(
            "platform",
            dsa=DsaProfile(sandbox_token_env="SANDBOX_TOKEN", illegal_content_legal_ground=""),
        )
    )
    world.events.emit(blocked(0))
    report = world.outbox.run()
    assert report.invalid_planned == 1
    assert report.sent == 0
    [row] = world.store.select()
    assert row.state is StatementState.INVALID
    assert "illegal_content_legal_ground" in row.last_error
    assert not world.stub.calls


@pytest.mark.parametrize("fault", ["503", "drop"])
def test_a_failing_database_puts_the_batch_back(world: World, fault):
    world.stub.faults["/statements"] = [fault]
    world.events.emit(blocked(0))
    report = world.outbox.run()
    assert report.retrying == 1
    assert report.errors
    assert world.outbox.run().sent == 0  # not before the back-off
    world.clock.advance(timedelta(minutes=2))
    assert world.outbox.run().sent == 1


def test_a_refused_token_is_reported_and_nothing_is_lost(world: World):
    saved = dict(TOKENS)
    TOKENS["SANDBOX_TOKEN"] = "revoked"
    try:
        world.events.emit(blocked(0))
        report = world.outbox.run()
        assert report.errors
        assert "401" in report.errors[0]
        [row] = world.store.select()
        assert row.state is StatementState.PENDING
        assert "revoked" not in row.last_error
    finally:
        TOKENS.clear()
        TOKENS.update(saved)
    world.clock.advance(timedelta(minutes=2))
    assert world.outbox.run().sent == 1


def test_sandbox_and_production_are_filed_apart(world: World):
    world.events.emit(blocked(0))
    world.outbox.run()
    world.profiles.put(
        FilingProfile(
            "platform",
            dsa=DsaProfile(
                environment="production",
                sandbox_token_env="SANDBOX_TOKEN",
                production_token_env="PROD_TOKEN",
            ),
        )
    )
    report = world.outbox.run()
    assert report.sent == 1
    assert len(world.stub.created("Platform")) == len(world.stub.created("Platform (prod)")) == 1


def test_decisions_before_since_are_not_filed(world: World):
    world.profiles.put(
        FilingProfile(
            "platform",
            dsa=DsaProfile(sandbox_token_env="SANDBOX_TOKEN", since="2026-05-05"),
        )
    )
    world.events.emit(blocked(0))  # 2026-05-04
    assert world.outbox.run().planned == 0


def test_a_dead_senders_batch_is_sent_again_and_settled_by_its_puids(world: World):
    for n in range(3):
        world.events.emit(blocked(n))
    world.outbox.plan(StatementsReport())
    rows = world.store.claim("platform", "sandbox", world.clock.now(), 60, "dead", 100)
    # the dead sender's batch reached the database before it died
    world.service_for("platform", "sandbox").submit([r.body for r in rows])
    assert world.outbox.run().sent == 0  # its lease still holds
    world.clock.advance(timedelta(minutes=2))
    report = world.outbox.run()
    assert (report.sent, report.existing) == (0, 3)
    assert len(world.stub.created("Platform")) == 3
