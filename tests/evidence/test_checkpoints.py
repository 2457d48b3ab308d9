"""Signed checkpoints: the statement, the signature, its published form, the key file."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading

import pytest

from keepdown.banks.signing import verify_file
from keepdown.clock import utc
from keepdown.errors import InvalidInput, NotFound, SignatureError
from keepdown.evidence import (
    Checkpoint,
    MemoryChain,
    MemoryCheckpoints,
    SigningKey,
    parse_checkpoint,
    record_checkpoint,
    sign_checkpoint,
    verify_chain,
)
from keepdown.evidence.checkpoints import CONTEXT
from tests.evidence.conftest import varied_events


def _signed(key: SigningKey, position: int = 7):
    return sign_checkpoint(Checkpoint(position, b"\x11" * 32, utc(2026, 7, 1), "hotline"), key)


def test_a_published_checkpoint_verifies_and_reads_back(key: SigningKey) -> None:
    signed = _signed(key)
    published = json.loads(signed.to_json())
    assert published["checkpoint"] == {
        "type": "keepdown event log checkpoint",
        "version": 1,
        "operator": "hotline",
        "position": 7,
        "head": "11" * 32,
        "genesis": "749e2960735829ac5113939d463105c9dc158dd73ab8aeba870c8eff029fca22",
        "at": "2026-07-01T00:00:00.000000Z",
    }
    assert published["key_sha256"] == key.fingerprint
    again = parse_checkpoint(json.dumps(published))
    assert again == signed
    again.verify(key.public)


def test_the_signature_covers_every_field(key: SigningKey) -> None:
    published = _signed(key).to_dict()
    for field, value in (
        ("position", 8),
        ("head", "22" * 32),
        ("operator", "x"),
        ("at", "2026-07-02T00:00:00.000000Z"),
    ):
        changed = json.loads(json.dumps(published))
        changed["checkpoint"][field] = value
        with pytest.raises(SignatureError, match="does not match"):
            parse_checkpoint(changed).verify()


def test_another_key_is_not_trusted(tmp_path, key: SigningKey) -> None:
    other = SigningKey.load(tmp_path / "other.pem", create=True)
    signed = _signed(other)
    signed.verify()  # valid under its own key...
    with pytest.raises(SignatureError, match="not by this deployment's key"):
        signed.verify(key.public)  # ...but not ours


def test_a_checkpoint_signature_is_no_export_signature(tmp_path, key: SigningKey) -> None:
    """The contexts differ: a checkpoint's signature does not verify as a file's."""
    signed = _signed(key)
    message = tmp_path / "m"
    message.write_bytes(signed.checkpoint.message())
    (tmp_path / "m.sig").write_text(base64.b64encode(signed.signature).decode())
    (tmp_path / "k.pub").write_text(key.public_pem())
    with pytest.raises(SignatureError):
        verify_file(message, tmp_path / "k.pub")
    assert CONTEXT.endswith(b"\x00")


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"checkpoint": {"type": "x", "version": 1}}',
        '{"checkpoint": {"type": "keepdown event log checkpoint", "version": 1, "position": -1}}',
    ],
)
def test_malformed_checkpoints_are_clear_errors(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_checkpoint(text)


def test_the_key_is_made_once_private_and_public_beside_it(tmp_path) -> None:
    path = tmp_path / "keys" / "evidence.pem"
    with pytest.raises(NotFound):
        SigningKey.load(path)
    made: list[SigningKey] = []
    threads = [
        threading.Thread(target=lambda: made.append(SigningKey.load(path, create=True)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({k.public for k in made}) == 1  # four at once: one key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.with_suffix(".pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert made[0].public_pem() == path.with_suffix(".pub").read_text()
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".keygen")] == []


def test_recorded_checkpoints_in_memory_follow_the_head(key: SigningKey) -> None:
    chain, stored = MemoryChain(), MemoryCheckpoints()
    assert record_checkpoint(chain, stored, key, now=utc(2026, 7, 1)) is None  # empty log
    for event in varied_events(5):
        chain.emit(event)
    first = record_checkpoint(chain, stored, key, now=utc(2026, 7, 2))
    assert first.checkpoint.anchor == chain.head()
    assert verify_chain(chain, start=first, recorded=stored.list(), trusted=key.public).ok
