"""Signed checkpoints of the event chain: "at time T, position N had hash H", signed.

A checkpoint is a small statement (:meth:`Checkpoint.statement`)::

    {"type": "keepdown event log checkpoint", "version": 1, "operator": "...",
     "position": 123456, "head": "<hex of hash_123456>", "genesis": "<hex of GENESIS>",
     "at": "2026-07-01T12:00:00.000000Z"}

signed with Ed25519 over ``CONTEXT + canonical_json(statement)`` (:data:`CONTEXT` keeps a
checkpoint signature from meaning anything else; canonical JSON as in
:mod:`keepdown.evidence.encoding`). Its published form (:meth:`SignedCheckpoint.to_dict`)
adds the signature and the raw public key, both base64, and the key's SHA-256.

keepdown records one periodically and publishes them (the API's evidence endpoints, every
transparency report). Whoever keeps one can later ask for ``keepdown verify events --from``
it: if the log was rewritten at or before its position, the position no longer carries its
hash. Checkpoints never reveal an event: only positions and hashes.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keepdown.banks.signing import raw_fingerprint, verify_bytes
from keepdown.errors import InvalidInput, SignatureError
from keepdown.evidence.chain import GENESIS, Anchor
from keepdown.evidence.encoding import at_text, canonical_json, parse_at_text
from keepdown.evidence.keys import SigningKey

__all__ = ["CONTEXT", "Checkpoint", "SignedCheckpoint", "parse_checkpoint", "sign_checkpoint"]

CONTEXT = b"keepdown-event-checkpoint-v1\x00"
TYPE = "keepdown event log checkpoint"
VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """The chain's head at a moment: its position, its hash."""

    position: int
    head: bytes
    at: datetime
    operator: str = ""
    genesis: bytes = GENESIS

    @property
    def anchor(self) -> Anchor:
        return Anchor(self.position, self.head)

    def statement(self) -> dict[str, Any]:
        return {
            "type": TYPE,
            "version": VERSION,
            "operator": self.operator,
            "position": self.position,
            "head": self.head.hex(),
            "genesis": self.genesis.hex(),
            "at": at_text(self.at),
        }

    def message(self) -> bytes:
        """The bytes the signature covers (after the context)."""
        return canonical_json(self.statement()).encode("ascii")


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signature: bytes
    public_key: bytes

    @property
    def key_sha256(self) -> str:
        return raw_fingerprint(self.public_key)

    def verify(self, trusted: bytes | None = None) -> None:
        """Check the signature; with ``trusted`` (a raw public key), also that it signed it."""
        if trusted is not None and trusted != self.public_key:
            raise SignatureError(
                f"the checkpoint at position {self.checkpoint.position} is signed by key "
                f"{self.key_sha256[:16]}..., not by this deployment's key "
                f"{raw_fingerprint(trusted)[:16]}..."
            )
        try:
            verify_bytes(
                self.checkpoint.message(), self.signature, self.public_key, context=CONTEXT
            )
        except SignatureError as exc:
            raise SignatureError(
                f"the checkpoint at position {self.checkpoint.position}: {exc.message}"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint.statement(),
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
            "key_sha256": self.key_sha256,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def sign_checkpoint(checkpoint: Checkpoint, key: SigningKey) -> SignedCheckpoint:
    signature = key.sign(checkpoint.message(), context=CONTEXT)
    return SignedCheckpoint(checkpoint, signature, key.public)


def parse_checkpoint(data: Any) -> SignedCheckpoint:
    """A published checkpoint (:meth:`SignedCheckpoint.to_dict`, as a dict or JSON text).

    The signature is not checked here (:meth:`SignedCheckpoint.verify` does); the fields are.
    """
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise InvalidInput("a checkpoint is JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("checkpoint"), dict):
        raise InvalidInput("not a keepdown checkpoint (no 'checkpoint' object)")
    statement = data["checkpoint"]
    if statement.get("type") != TYPE or statement.get("version") != VERSION:
        raise InvalidInput(f"not a version {VERSION} keepdown event log checkpoint")
    try:
        checkpoint = Checkpoint(
            position=_position(statement["position"]),
            head=_hash(statement["head"]),
            at=parse_at_text(str(statement["at"])),
            operator=str(statement.get("operator", "")),
            genesis=_hash(statement["genesis"]),
        )
        signature = base64.b64decode(str(data["signature"]), validate=True)
        public_key = base64.b64decode(str(data["public_key"]), validate=True)
    except (KeyError, ValueError, binascii.Error) as exc:
        raise InvalidInput(f"a checkpoint field is missing or malformed: {exc}") from exc
    return SignedCheckpoint(checkpoint, signature, public_key)


def _position(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"position {value!r} is not a non-negative integer")
    return value


def _hash(value: Any) -> bytes:
    raw = bytes.fromhex(str(value))
    if len(raw) != 32:
        raise ValueError("a chain hash is 32 bytes (64 hex digits)")
    return raw
