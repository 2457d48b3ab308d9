"""The ThreatExchange client against the fake Graph API: threat_updates, tokens, staleness."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from keepdown.clock import FrozenClock
from keepdown.errors import ExchangeError, InvalidInput
from keepdown.exchanges.checkpoint import Checkpoint
from keepdown.exchanges.clients.threatexchange import ThreatExchangeClient
from keepdown.exchanges.fakes import FakeThreatExchange, TeIndicator
from keepdown.exchanges.records import ExchangeRecord
from keepdown.exchanges.secrets import Secret
from keepdown.hashing.types import SignalType
from tests.exchanges.conftest import EPOCH, md5_hex, pdq_hex

TOKEN = {"access_token": Secret("1234567890|fake-app-secret")}


def client(fake: FakeThreatExchange, clock: FrozenClock, **options: object) -> ThreatExchangeClient:
    made = ThreatExchangeClient(fake.url, {"privacy_group": fake.group, **options}, TOKEN, clock)
    made.http.sleep = lambda _seconds: None
    return made


def indicators(n: int, seed: int = 1, start: int = 0) -> list[TeIndicator]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.choice(["HASH_PDQ", "HASH_MD5", "HASH_SHA256"])
        value = {"HASH_PDQ": pdq_hex(rng), "HASH_MD5": md5_hex(rng), "HASH_SHA256": pdq_hex(rng)}[
            kind
        ]
        descriptor = {
            "id": str(7000 + start + i),
            "owner": {"id": "55"},
            "tags": ["csam"],
            "status": "MALICIOUS",
        }
        out.append(
            TeIndicator(
                str(100 + start + i), kind, value, EPOCH + start + i, descriptors=[descriptor]
            )
        )
    return out


def fetch_all(
    c: ThreatExchangeClient, checkpoint: Checkpoint | None = None
) -> tuple[list, Checkpoint]:
    records, last = [], checkpoint or Checkpoint()
    for page in c.pages(last):
        records.extend(page.records)
        last = page.checkpoint
    return records, last


def test_updates_types_tags_and_deletions(
    threatexchange: FakeThreatExchange, clock: FrozenClock
) -> None:
    threatexchange.put(indicators(12))
    threatexchange.put([TeIndicator("999", "HASH_PDQ", "ab" * 32, EPOCH + 50, should_delete=True)])
    threatexchange.put(
        [
            TeIndicator(
                "998",
                "URI",
                "http://x.example/",
                EPOCH + 51,
                descriptors=[{"id": "1", "owner": {"id": "5"}}],
            )
        ]
    )
    records, last = fetch_all(
        client(
            threatexchange, clock, page_size=5, types=["HASH_PDQ", "HASH_MD5", "HASH_SHA256", "URI"]
        )
    )
    by_key = {r.key: r for r in records if isinstance(r, ExchangeRecord)}
    assert len(by_key) == 14
    assert by_key["999"].deleted
    assert by_key["999"].signals == ()
    assert by_key["998"].signals == ()
    assert by_key["998"].fingerprints == {"URI": "http://x.example/"}
    first = by_key["100"]
    assert first.label == "csam"
    assert first.extra["descriptors"] == ["7000"]
    assert first.signals[0][0] in (SignalType.PDQ, SignalType.MD5, SignalType.SHA256)
    assert last.run is None
    assert last.since == int(clock.now().timestamp()) - 5


def test_no_stored_cursor_holds_the_token(
    threatexchange: FakeThreatExchange, clock: FrozenClock
) -> None:
    threatexchange.put(indicators(12))
    pages = list(client(threatexchange, clock, page_size=5).pages(Checkpoint()))
    cursors = [p.checkpoint.run.cursor for p in pages if p.checkpoint.run is not None]
    assert cursors
    assert all("access_token" not in c and "fake-app-secret" not in c for c in cursors)
    assert "fake-app-secret" not in json.dumps([p.checkpoint.to_json() for p in pages])
    # ... and resuming one still works: the token is added back to the request.
    rest, _ = fetch_all(client(threatexchange, clock, page_size=5), pages[0].checkpoint)
    assert len(rest) == 7


def test_an_expired_cursor_restarts_the_run(
    threatexchange: FakeThreatExchange, clock: FrozenClock
) -> None:
    threatexchange.put(indicators(12))
    first = next(iter(client(threatexchange, clock, page_size=5).pages(Checkpoint())))
    threatexchange.expire_cursors()
    rest, _ = fetch_all(client(threatexchange, clock, page_size=5), first.checkpoint)
    assert {r.key for r in rest} == {str(100 + i) for i in range(12)}


def test_a_checkpoint_older_than_the_deletion_horizon_fetches_everything_again(
    threatexchange: FakeThreatExchange, clock: FrozenClock
) -> None:
    threatexchange.put(indicators(6))
    _, done = fetch_all(client(threatexchange, clock))
    assert done.generation == 0
    assert not done.full
    clock.advance(timedelta(days=90))
    pages = list(client(threatexchange, clock).pages(done))
    assert pages[0].checkpoint.generation == 1  # a full fetch of a new generation
    assert pages[-1].ends_full_fetch
    assert not pages[-1].checkpoint.full
    assert len([r for p in pages for r in p.records]) == 6


def test_errors(threatexchange: FakeThreatExchange, clock: FrozenClock) -> None:
    with pytest.raises(InvalidInput, match="privacy_group"):
        ThreatExchangeClient(threatexchange.url, {}, TOKEN, clock)
    bad = ThreatExchangeClient(
        threatexchange.url,
        {"privacy_group": threatexchange.group},
        {"access_token": Secret("1|x")},
        clock,
    )
    with pytest.raises(ExchangeError) as caught:
        fetch_all(bad)
    assert caught.value.details["permanent"]
    assert "1|x" not in caught.value.message


def test_reactions_and_descriptors(threatexchange: FakeThreatExchange, clock: FrozenClock) -> None:
    c = client(threatexchange, clock)
    c.react("7000", "DISAGREE_WITH_TAGS")
    c.react("7000", "DISAGREE_WITH_TAGS")
    assert threatexchange.reactions == {"7000": {"DISAGREE_WITH_TAGS"}}
    new_id = c.submit_descriptor(SignalType.PDQ, "ab" * 32, ["csam"])
    assert new_id
    assert threatexchange.submitted[0]["type"] == "HASH_PDQ"
    assert threatexchange.submitted[0]["privacy_members"] == threatexchange.group
