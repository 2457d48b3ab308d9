"""Shared banks end to end: hotline A publishes a bank to hotline B over loopback HTTP; B
reads it as a feed, verifies every page and matches its entries; a peer asking for a bank not
published to it, a tampered page and a replayed page are refused and audited."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from keepdown.app import Runtime, build_app
from keepdown.auth import Role
from keepdown.banks.records import EntryRecord
from keepdown.exchanges.model import FeedStatus
from keepdown.federation.peers import PeerSpec
from keepdown.hashing.types import SignalType, parse_hash
from keepdown.settings import load_settings
from tests.federation.loopback import proxy, served

ENV = "HOTLINE_A_KEY"


def _md5(i: int) -> str:
    return f"{i:032x}"


@dataclass
class Pair:
    a: Runtime
    b: Runtime
    url: str  # A's API
    token: str  # the peer key A issued B

    def environ(self) -> dict[str, str]:
        return {ENV: self.token}

    def subscribe(self, url: str | None = None, name: str = "from-a", bank: str = "shared") -> None:
        self.b.federation.subscribe(
            name,
            url or self.url,
            publisher="hotline-a",
            bank=bank,
            public_key=base64.b64encode(self.a.federation.key().public).decode(),
            api_key_env=ENV,
            owner="hotline-b",
            trust="auto",
        )

    def b_entries(self, name: str = "from-a") -> dict[str, bool]:
        bank = self.b.storage.banks.get_bank(name)
        return {
            e.value: e.removed_at is None
            for e in self.b.storage.banks.iter_entries(bank.id, include_removed=True)
        }


def _settings(tmp: Path, name: str, **more: object):
    return load_settings(
        environ={},
        overrides={
            "data_dir": str(tmp / name / "data"),
            "operator_organisation": name,
            "federation_name": name,
            "auth_cache_seconds": 0,
            "federation_page_entries": 100,
            **more,
        },
    )


@pytest.fixture
def pair(tmp_path: Path, database_url: str) -> Iterator[Pair]:
    """A (on ``database_url``: SQLite and PostgreSQL) served on loopback; B on SQLite."""
    app, a = build_app(
        _settings(tmp_path, "hotline-a", database_url=database_url), refresh_in_background=False
    )
    b = Runtime(_settings(tmp_path, "hotline-b"))
    try:
        a.auth.ensure_organisation("hotline-a")
        a.auth.ensure_organisation("hotline-b")
        b.auth.ensure_organisation("hotline-b")
        a.banks.create_bank("shared", owner="hotline-a", label="csam", trust="auto")
        a.banks.create_bank("private", owner="hotline-a", label="csam")
        for i in range(250):
            a.banks.add_entry("shared", EntryRecord(SignalType.MD5, _md5(i)))
        a.banks.add_entry("private", EntryRecord(SignalType.MD5, _md5(9999)))
        token = a.auth.issue_key("hotline-b", Role.PEER, expires_in=timedelta(days=1)).token
        a.federation.add_peer(
            PeerSpec("hotline-b", ["BE"], "http://127.0.0.1:9", b.federation.key().public)
        )
        a.federation.publish("shared", "hotline-b", by="test")
        with served(app) as url:
            yield Pair(a, b, url, token)
    finally:
        b.close()
        a.close()


def test_a_published_bank_syncs_verified_and_matchable(pair: Pair) -> None:
    pair.subscribe()
    report = pair.b.federation.pull("from-a", environ=pair.environ())
    assert report.error == ""
    assert report.caught_up
    assert report.pages >= 3  # 250 entries, 100 a page
    assert pair.b_entries() == {_md5(i): True for i in range(250)}
    found = pair.b.matcher.match_hashes([parse_hash("md5", _md5(42))], door="lookup")
    assert [m.bank for m in found[0]] == ["from-a"]
    # a removal and an addition on A reach B on the next pull, and nothing else moves
    pair.a.banks.remove_entry("shared", "md5", _md5(7), reason="false-positive")
    pair.a.banks.add_entry("shared", EntryRecord(SignalType.MD5, _md5(5000)))
    again = pair.b.federation.pull("from-a", environ=pair.environ())
    assert again.error == ""
    entries = pair.b_entries()
    assert entries[_md5(7)] is False
    assert entries[_md5(5000)] is True
    assert sum(entries.values()) == 250


def test_a_bank_not_published_to_the_peer_is_refused_and_audited(pair: Pair) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {pair.token}"}
    listed = httpx.get(f"{pair.url}/api/v1/federation/banks", headers=headers).json()
    assert listed["banks"] == ["shared"]
    for bank in ("private", "no-such-bank"):
        answer = httpx.get(
            f"{pair.url}/api/v1/federation/banks/{bank}/pages",
            params={"nonce": "n"},
            headers=headers,
        )
        assert answer.status_code == 403
    refused = [
        r
        for r in pair.a.auth.audit_log.list_records(action="federation.page")
        if r.outcome == "refused"
    ]
    assert sorted(r.target for r in refused) == ["no-such-bank", "private"]
    assert all(r.organisation == "hotline-b" for r in refused)


def _flip_a_hash(body: bytes, n: int) -> bytes:
    envelope = json.loads(body)
    inner = json.loads(envelope["body"])
    inner["changes"][0][2] = _md5(123456)
    envelope["body"] = json.dumps(inner, sort_keys=True, separators=(",", ":"))
    return json.dumps(envelope).encode()


def test_a_tampered_page_is_refused_applied_nowhere_and_audited(pair: Pair) -> None:
    with proxy(pair.url, _flip_a_hash) as middle:
        pair.subscribe(middle)
        report = pair.b.federation.pull("from-a", environ=pair.environ())
    assert "tampered" in report.error
    assert report.status is FeedStatus.FAILED
    assert pair.b_entries() == {}
    audited = pair.b.auth.audit_log.list_records(action="federation.page.refused")
    assert len(audited) == 1
    assert "tampered" in audited[0].details["error"]


def test_a_replayed_page_is_refused(pair: Pair) -> None:
    first: list[bytes] = []

    def replay(body: bytes, n: int) -> bytes:
        if not first:
            first.append(body)
        return first[0]  # every answer is the first one, recorded

    with proxy(pair.url, replay) as middle:
        pair.subscribe(middle)
        report = pair.b.federation.pull("from-a", environ=pair.environ())
    assert "replayed" in report.error
    # at most the genuine first page was applied (pages buffered with it were dropped)
    assert set(pair.b_entries()) <= {_md5(i) for i in range(100)}
