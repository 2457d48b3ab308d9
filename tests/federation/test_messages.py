"""Referrals and status callbacks: signed, checked, never accepted twice
(keepdown.federation.messages)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keepdown.clock import utc
from keepdown.evidence.keys import SigningKey
from keepdown.federation.messages import (
    Referral,
    ReferralItem,
    StatusUpdate,
    accept,
    message_digest,
    referral_body,
    seal_message,
    status_body,
)
from keepdown.federation.wire import Refused

NOW = utc(2026, 3, 1)
ITEM = ReferralItem(
    url="http://img.example.net/a.jpg",
    page_url="http://img.example.net/",
    pdq="f" * 64,
    md5="0" * 32,
    sha256="a" * 64,
    classification="csam",
    first_seen_at=NOW.isoformat(),
)


class Seen:
    def __init__(self) -> None:
        self.held: dict[tuple[str, str, int], str] = {}

    def seen(self, sender: str, stream: str, seq: int) -> str | None:
        return self.held.get((sender, stream, seq))

    def remember(self, message: Referral | StatusUpdate, stream: str) -> None:
        self.held[(message.sender, stream, message.seq)] = message.digest


def _referral(key: SigningKey, seq: int = 1, **changes: object) -> dict:
    body = referral_body(
        sender="hotline-a",
        recipient="hotline-b",
        seq=seq,
        sent_at=NOW,
        reference="KD-R-1",
        items=[ITEM],
        attribution={"provider": "host-b", "country": "BE"},
    )
    body.update(changes)
    return seal_message(body, key)


def _accept(envelope: dict, key: SigningKey, seen: Seen, **kw: object):
    return accept(
        json.dumps(envelope),
        sender_key=key.public,
        sender=str(kw.get("sender", "hotline-a")),
        recipient=str(kw.get("recipient", "hotline-b")),
        seen=seen,  # type: ignore[arg-type]
        now=NOW + timedelta(seconds=5),
    )


def test_a_referral_is_accepted_once(key_a: SigningKey) -> None:
    seen = Seen()
    envelope = _referral(key_a)
    got = _accept(envelope, key_a, seen)
    assert isinstance(got, Referral)
    assert got.items == (ITEM,)
    assert got.attribution == {"provider": "host-b", "country": "BE"}
    seen.remember(got, "referral")
    with pytest.raises(Refused) as refused:
        _accept(envelope, key_a, seen)
    assert refused.value.reason == "replayed"
    assert "the same message again" in refused.value.message


def test_another_message_under_a_used_seq_is_replayed(key_a: SigningKey) -> None:
    seen = Seen()
    seen.remember(_accept(_referral(key_a), key_a, seen), "referral")
    with pytest.raises(Refused) as refused:
        _accept(_referral(key_a, reference="KD-R-2"), key_a, seen)
    assert refused.value.reason == "replayed"
    assert "another message" in refused.value.message


def test_a_tampered_referral_is_refused(key_a: SigningKey) -> None:
    envelope = _referral(key_a)
    body = json.loads(envelope["body"])
    body["items"][0]["url"] = "http://elsewhere.example/"
    envelope["body"] = json.dumps(body)
    with pytest.raises(Refused) as refused:
        _accept(envelope, key_a, Seen())
    assert refused.value.reason == "tampered"


def test_a_referral_from_another_key_or_to_another_peer_is_refused(
    key_a: SigningKey, key_b: SigningKey
) -> None:
    with pytest.raises(Refused) as refused:
        _accept(_referral(key_b), key_a, Seen())
    assert refused.value.reason == "unknown_key"
    with pytest.raises(Refused) as refused:
        _accept(_referral(key_a), key_a, Seen(), recipient="hotline-c")
    assert refused.value.reason == "misdirected"


def test_a_stale_referral_is_refused(key_a: SigningKey) -> None:
    envelope = _referral(key_a, sent_at=(NOW - timedelta(days=30)).isoformat())
    with pytest.raises(Refused) as refused:
        _accept(envelope, key_a, Seen())
    assert refused.value.reason == "stale"


def test_a_referral_carries_no_media_field(key_a: SigningKey) -> None:
    with pytest.raises(Refused) as refused:
        _accept(_referral(key_a, items=[{**ITEM.to_wire(), "bytes": "aGVsbG8="}]), key_a, Seen())
    assert refused.value.reason == "malformed"
    with pytest.raises(ValueError, match="http"):
        referral_body(
            sender="a",
            recipient="b",
            seq=1,
            sent_at=NOW,
            reference="R",
            items=[ReferralItem(url="data:image/png;base64,AAAA")],
            attribution={},
        )


def test_status_callbacks_carry_a_known_status_and_a_reason_to_decline(key_b: SigningKey) -> None:
    body = status_body(
        sender="hotline-b",
        recipient="hotline-a",
        seq=1,
        sent_at=NOW,
        reference="KD-R-1",
        status="removed",
        at=NOW,
    )
    got = accept(
        seal_message(body, key_b),
        sender_key=key_b.public,
        sender="hotline-b",
        recipient="hotline-a",
        seen=Seen(),  # type: ignore[arg-type]
        now=NOW,
    )
    assert isinstance(got, StatusUpdate)
    assert got.status == "removed"
    assert got.digest == message_digest(body)
    with pytest.raises(ValueError, match="says why"):
        status_body(
            sender="b", recipient="a", seq=2, sent_at=NOW, reference="R", status="declined", at=NOW
        )
    with pytest.raises(ValueError, match="not one of"):
        status_body(
            sender="b", recipient="a", seq=2, sent_at=NOW, reference="R", status="gone", at=NOW
        )


@settings(max_examples=60, deadline=None)
@given(field_name=st.sampled_from(["sender", "recipient", "seq", "reference", "sent_at", "items"]))
def test_changing_any_signed_field_is_refused(field_name: str, tmp_path_factory) -> None:
    key = SigningKey.load(tmp_path_factory.mktemp("k") / "a.pem", create=True)
    envelope = _referral(key)
    body = json.loads(envelope["body"])
    body[field_name] = {"seq": 2, "items": []}.get(field_name, "changed")
    envelope["body"] = json.dumps(body, sort_keys=True, separators=(",", ":"))
    with pytest.raises(Refused) as refused:
        _accept(envelope, key, Seen())
    assert refused.value.reason == "tampered"
