"""The fakes speak what python-threatexchange (pytx) reads and writes, and keepdown's clients
read what pytx reads.

pytx is the field's own client library (Meta's, used by HMA); its clients run here, unchanged,
against keepdown's loopback fakes: if a fake drifted from the documented shapes, pytx would
stop understanding it, and keepdown's clients are checked to see the same records pytx sees.
"""

from __future__ import annotations

import random
import time

import pytest

from keepdown.clock import FrozenClock
from keepdown.exchanges.checkpoint import Checkpoint
from keepdown.exchanges.clients.ncmec import NcmecClient
from keepdown.exchanges.clients.stopncii import StopNciiClient
from keepdown.exchanges.clients.threatexchange import ThreatExchangeClient
from keepdown.exchanges.fakes import (
    FakeNcmec,
    FakeStopNcii,
    FakeThreatExchange,
    NcmecEntry,
    StopNciiHash,
    TeIndicator,
)
from keepdown.exchanges.records import ExchangeRecord
from keepdown.exchanges.secrets import Secret
from tests.exchanges.conftest import EPOCH, md5_hex, pdq_hex

pytest.importorskip("threatexchange", reason="python-threatexchange is not installed")

from threatexchange.exchanges.clients.fb_threatexchange.api import (
    ThreatExchangeAPI,
)
from threatexchange.exchanges.clients.ncmec import hash_api
from threatexchange.exchanges.clients.stopncii.api import (
    StopNCIIAPI,
    StopNCIICSPFeedbackValue,
    StopNCIIEndpoint,
    StopNCIISignalType,
)


def ours(client: object) -> dict[str, ExchangeRecord]:
    out = {}
    for page in client.pages(Checkpoint()):  # type: ignore[attr-defined]
        for r in page.records:
            assert isinstance(r, ExchangeRecord)
            out[r.key] = r
    return out


def test_ncmec(ncmec: FakeNcmec, clock: FrozenClock) -> None:
    rng = random.Random(1)
    ncmec.put(
        NcmecEntry(
            42 + i % 2, f"e{i}", EPOCH + i, fingerprints={"md5": md5_hex(rng), "pdq": pdq_hex(rng)}
        )
        for i in range(25)
    )
    ncmec.put([NcmecEntry(42, "gone", EPOCH + 3, deleted=True)])
    api = hash_api.NCMECHashAPI("esp-user", "esp-secret", hash_api.NCMECEnvironment.test_Industry)
    api._base_url = ncmec.url  # pytx's environments are fixed URLs: point one at the fake
    assert api.status().esp_id == 7
    theirs = {
        f"{u.member_id}-{u.id}": u
        for page in api.get_entries_iter(start_timestamp=0, end_timestamp=int(time.time()))
        for u in page.updates
    }
    mine = ours(
        NcmecClient(
            ncmec.url, {}, {"username": Secret("esp-user"), "password": Secret("esp-secret")}, clock
        )
    )
    assert set(theirs) == set(mine)
    assert len(mine) == 26
    for key, update in theirs.items():
        assert update.deleted == mine[key].deleted
        assert update.fingerprints == dict(mine[key].fingerprints)
    # pytx's vote goes into the fake exactly as keepdown's does. (The reason is given: pytx
    # reads the reasons document under a wrapper element its own test data lacks; keepdown's
    # client reads either form.)
    api.submit_feedback(
        42,
        "e0",
        hash_api.FingerprintType.pdq,
        hash_api.FeedbackType.downvote,
        "a1b2c3d4-0000-4000-8000-000000000001",
    )
    assert ncmec.votes[(7, 42, "e0", "PDQ")][0] == "down"


def test_stopncii(stopncii: FakeStopNcii, clock: FrozenClock) -> None:
    rng = random.Random(2)
    stopncii.put(StopNciiHash(pdq_hex(rng), EPOCH + i) for i in range(30))
    stopncii.put([StopNciiHash(md5_hex(rng), EPOCH + 2, "VideoMD5", "Withdrawn")])
    api = StopNCIIAPI(
        "sub-key",
        "fetch-key",
        {StopNCIIEndpoint.SubmitFeedback: "feedback-key"},
        base_url_override=stopncii.url,
    )
    theirs = {
        f"{r.signalType.value}:{r.hashValue.lower()}": r
        for page in api.fetch_hashes_iter()
        for r in page.hashRecords
    }
    keys = {
        name: Secret(value)
        for name, value in (("subscription_key", "sub-key"), ("fetch_key", "fetch-key"))
    }
    mine = ours(StopNciiClient(stopncii.url, {"page_size": 7}, keys, clock))
    assert set(theirs) == set(mine)
    assert len(mine) == 31
    for key, record in theirs.items():
        assert mine[key].status == record.hashStatus.value
    api.submit_feedback(StopNCIISignalType.ImagePDQ, "ab" * 32, StopNCIICSPFeedbackValue.Blocked)
    assert stopncii.feedback[("keepdown-test", "ab" * 32)] == "Blocked"


def test_threatexchange(threatexchange: FakeThreatExchange, clock: FrozenClock) -> None:
    rng = random.Random(3)
    threatexchange.put(
        TeIndicator(
            str(100 + i),
            "HASH_PDQ",
            pdq_hex(rng),
            EPOCH + i,
            descriptors=[{"id": str(900 + i), "owner": {"id": "1"}}],
        )
        for i in range(12)
    )
    api = ThreatExchangeAPI(threatexchange.token, endpoint_override=threatexchange.url)
    cursor = api.get_threat_updates(int(threatexchange.group), page_size=5, types=["HASH_PDQ"])
    theirs = {str(item["id"]): item for page in cursor for item in page}
    mine = ours(
        ThreatExchangeClient(
            threatexchange.url,
            {"privacy_group": "303", "page_size": 5},
            {"access_token": Secret(threatexchange.token)},
            clock,
        )
    )
    assert set(theirs) == set(mine)
    assert len(mine) == 12
    for key, item in theirs.items():
        assert mine[key].fingerprints == {"HASH_PDQ": item["indicator"]}
