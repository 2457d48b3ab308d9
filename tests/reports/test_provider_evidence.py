"""A provider's own evidence: its locations, each event behind its row with its place in the
chain, its row as the report counts it, signed; checkable offline (check_evidence)."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest

from keepdown.clock import utc
from keepdown.events import LocationRechecked, ReappearanceDetected
from keepdown.evidence import SigningKey, record_checkpoint
from keepdown.reports.period import parse_period
from keepdown.reports.provider_evidence import (
    EVIDENCE_KINDS,
    EvidenceScope,
    check_evidence,
    provider_evidence,
    sign_evidence,
)
from keepdown.reports.report import build_report
from keepdown.storage.checkpoint_store import SqlCheckpointStore
from keepdown.storage.event_chain import SqlEventChain
from keepdown.storage.evidence_store import stored_events
from keepdown.storage.figures_store import REPORT_KINDS, report_events
from tests.reports.scenario import PLANTED_URLS, A, B, C, history

Q3 = parse_period("2026-Q3")
NOW = utc(2026, 10, 5)


@pytest.fixture
def key(tmp_path) -> SigningKey:
    return SigningKey.load(tmp_path / "evidence.pem", create=True)


@pytest.fixture
def chain(storage, key):
    for event in history():
        storage.events.emit(event)
    for hours, result, status in ((6, "present", 200), (24, "gone", 404)):
        storage.events.emit(
            LocationRechecked(
                at=utc(2026, 6, 30, 12) + timedelta(hours=hours),
                location_id="L1",
                provider=A,
                notice_ref="N1",
                result=result,
                status=status,
            )
        )
    storage.events.emit(
        ReappearanceDetected(
            at=utc(2026, 9, 16),
            sighting_id="s9",
            previous_location_id="L1",
            provider=C,
            previous_provider=A,
            where="other",
        )
    )
    chain = SqlEventChain(storage.engine)
    record_checkpoint(chain, SqlCheckpointStore(storage.engine), key, now=NOW)
    return chain


def evidence_of(chain, key, scope: EvidenceScope) -> dict:
    head = chain.head()
    stored = stored_events(chain, [*EVIDENCE_KINDS, *REPORT_KINDS], head.position)
    latest = SqlCheckpointStore(chain.engine).latest()
    document = provider_evidence(
        stored,
        scope,
        provider={"names": sorted(scope.provider_names)},
        generated_at=NOW,
        operator="Hotline",
        chain={
            "head": {"position": head.position, "hash": head.hash.hex()},
            "checkpoint": latest.to_dict() if latest else None,
        },
    )
    return json.loads(json.dumps(sign_evidence(document, key)))  # as downloaded


def test_a_providers_evidence_holds_its_locations_and_checks(chain, key) -> None:
    doc = evidence_of(chain, key, EvidenceScope(frozenset(), frozenset({A}), period=Q3))
    assert [loc["location_id"] for loc in doc["locations"]] == ["L1", "L2", "L3", "L4"]
    l1 = doc["locations"][0]
    assert l1["first_seen"]["at"] == "2026-06-30T06:00:00+00:00"
    assert l1["media_url"] == PLANTED_URLS[0]  # its own material, as its notice named it
    assert [(c["result"], c["status"]) for c in l1["rechecks"]] == [("present", 200), ("gone", 404)]
    assert l1["removal_confirmed"]["hours_to_removal"] == 24.0
    positions = {e["position"] for e in doc["events"]}
    assert set(l1["events"]) <= positions
    assert check_evidence(doc, trusted=key.public) == []


def test_the_row_is_the_reports_row(chain, key, storage) -> None:
    doc = evidence_of(chain, key, EvidenceScope(frozenset(), frozenset({A}), period=Q3))
    events = report_events(storage.engine, until=Q3.end, upto=chain.head().position)
    report = build_report(events, Q3, generated_at=NOW)
    (row,) = doc["row"]
    (expected,) = [f.to_dict() for f in report.league_table if f.name == A]
    assert json.loads(json.dumps(expected)) == row


def test_nothing_of_another_provider_is_in_it(chain, key) -> None:
    doc = evidence_of(chain, key, EvidenceScope(frozenset(), frozenset({A}), period=Q3))
    text = json.dumps(doc)
    assert B not in text.replace("\\u00e9", "é")
    assert "Cloud C" not in text  # the reappearance at C is given by its leaf only
    (redacted,) = [e for e in doc["events"] if "redacted" in e]
    assert redacted["kind"] == "reappearance_detected"
    assert "payload" not in redacted
    assert check_evidence(doc, trusted=key.public) == []  # its leaf still checks


def test_a_signed_link_gives_its_notice_only(chain, key) -> None:
    doc = evidence_of(chain, key, EvidenceScope(frozenset(), frozenset({A}), notice_ref="N2"))
    assert [loc["location_id"] for loc in doc["locations"]] == ["L2", "L3"]
    assert doc["row"] is None
    assert {e["kind"] for e in doc["events"]} >= {"notice_sent", "removal_confirmed"}


def test_a_changed_event_or_field_is_found(chain, key, tmp_path) -> None:
    doc = evidence_of(chain, key, EvidenceScope(frozenset(), frozenset({A}), period=Q3))
    changed = copy.deepcopy(doc)
    first = next(e for e in changed["events"] if e["kind"] == "removal_confirmed")
    first["payload"] = first["payload"].replace("2026", "2025", 1)
    problems = check_evidence(changed, trusted=key.public)
    assert f"event at position {first['position']} (removal_confirmed)" in problems[0]
    assert "changed after signing" in problems[-1]
    other = SigningKey.load(tmp_path / "other.pem", create=True)
    assert "not the operator's" in check_evidence(doc, trusted=other.public)[0]
