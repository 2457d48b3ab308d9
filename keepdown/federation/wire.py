"""Signed envelopes: how every federation record crosses the wire, and why one is refused.

An envelope is JSON ``{"v": 1, "key": FINGERPRINT, "signature": BASE64, "body": TEXT}``:

1. ``body`` is the record itself as canonical JSON **text** (keys sorted, no spaces, UTF-8),
   carried as a string so the receiver verifies exactly the bytes that were signed (nothing
   is re-encoded before checking);
2. ``signature`` is Ed25519 over ``CONTEXT + body`` with the sender's signing key (the key
   that signs bank exports and evidence: :mod:`keepdown.banks.signing`,
   :class:`keepdown.evidence.keys.SigningKey`); each kind of record has its own context, so a
   signed page is never valid as a referral and neither as anything else keepdown signs;
3. ``key`` is the SHA-256 fingerprint of the sender's public key: a receiver that knows the
   peer under another key refuses the envelope before checking anything else.

:class:`Refused` is the one error for a record that is not accepted; ``reason`` says which
check failed (:data:`REASONS`) so the operator reads "replayed", not "invalid input".
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, Protocol

from keepdown.banks.signing import raw_fingerprint, verify_bytes
from keepdown.errors import SignatureError

__all__ = [
    "MESSAGE_CONTEXT",
    "PAGE_CONTEXT",
    "REASONS",
    "Refused",
    "Signer",
    "canonical",
    "open_envelope",
    "seal",
]

PAGE_CONTEXT = b"keepdown-federation-page-v1\x00"
MESSAGE_CONTEXT = b"keepdown-federation-message-v1\x00"
ENVELOPE_VERSION = 1

#: Why a record is refused.
REASONS = (
    "malformed",  # not an envelope, or a body without the fields its type needs
    "unknown_key",  # signed with a key this instance does not hold for the sender
    "tampered",  # the signature does not match the body
    "misdirected",  # for another recipient, another bank or another publisher
    "replayed",  # a page or message already seen (an old nonce, a sequence number reused)
    "out_of_order",  # a page that does not follow the checkpoint it was asked from
    "stale",  # signed too long ago (outside the accepted window)
)


class Refused(SignatureError):
    """A federation record was not accepted; ``details['reason']`` is one of :data:`REASONS`."""

    code = "federation_refused"

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {message}", reason=reason, **details)
        self.reason = reason


class Signer(Protocol):
    """What signs (``keepdown.evidence.keys.SigningKey`` is one)."""

    @property
    def public(self) -> bytes: ...

    def sign(self, message: bytes, *, context: bytes) -> bytes: ...


def canonical(body: Mapping[str, Any]) -> str:
    """The canonical JSON text of ``body`` (sorted keys, no spaces)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def seal(body: Mapping[str, Any], signer: Signer, *, context: bytes) -> dict[str, Any]:
    """The envelope of ``body`` signed by ``signer`` (module docstring)."""
    text = canonical(body)
    signature = signer.sign(text.encode("utf-8"), context=context)
    return {
        "v": ENVELOPE_VERSION,
        "key": raw_fingerprint(signer.public),
        "signature": base64.b64encode(signature).decode("ascii"),
        "body": text,
    }


def open_envelope(
    envelope: Mapping[str, Any] | bytes | str, public_key: bytes, *, context: bytes
) -> dict[str, Any]:
    """The body of a verified envelope; :class:`Refused` (malformed, unknown_key, tampered)."""
    data = _parse(envelope)
    if data.get("v") != ENVELOPE_VERSION:
        raise Refused("malformed", f"envelope version {data.get('v')!r} is not 1")
    text, key, signature = data.get("body"), data.get("key"), data.get("signature")
    if not isinstance(text, str) or not isinstance(key, str) or not isinstance(signature, str):
        raise Refused("malformed", "an envelope has a body, a key and a signature, all text")
    if key != raw_fingerprint(public_key):
        raise Refused("unknown_key", f"signed with key {key[:16]}..., not the peer's")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("tampered", "the signature is not base64") from None
    try:
        verify_bytes(text.encode("utf-8"), raw, public_key, context=context)
    except SignatureError as exc:
        raise Refused("tampered", exc.message) from None
    body = json.loads(text)
    if not isinstance(body, dict):
        raise Refused("malformed", "the body is not an object")
    return body


def _parse(envelope: Mapping[str, Any] | bytes | str) -> Mapping[str, Any]:
    if isinstance(envelope, Mapping):
        return envelope
    try:
        data = json.loads(envelope)
    except (ValueError, UnicodeDecodeError):
        raise Refused("malformed", "the envelope is not JSON") from None
    if not isinstance(data, dict):
        raise Refused("malformed", "the envelope is not a JSON object")
    return data
