"""Detached signatures over transparency reports, as bank exports are signed.

The scheme is the one of docs/formats.md ("Signatures"), under a context of its own:

1. ``digest = SHA-512(the report's bytes)`` (the file as served or written, UTF-8);
2. ``message = b"keepdown-transparency-report-v1\\x00" + digest``;
3. ``signature = Ed25519-sign(key, message)``, written as base64 on one line (``REPORT.sig``,
   or the ``Keepdown-Signature`` header of the API's answer).

The context keeps a report signature from being valid as a bank export's, a checkpoint's or
anything else's made with the same key. ``openssl`` verifies it the same way as an export.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from keepdown.banks.signing import verify_bytes
from keepdown.errors import SignatureError
from keepdown.evidence.keys import SigningKey

__all__ = ["CONTEXT", "report_signature", "verify_report_signature"]

CONTEXT = b"keepdown-transparency-report-v1\x00"


def report_signature(data: bytes, key: SigningKey) -> str:
    """The detached signature of a report's bytes, base64 on one line (with a newline)."""
    signature = key.sign(hashlib.sha512(data).digest(), context=CONTEXT)
    return base64.b64encode(signature).decode("ascii") + "\n"


def verify_report_signature(data: bytes, signature: str, public_key: bytes) -> None:
    """SignatureError unless ``signature`` (base64) signs ``data`` under ``public_key``."""
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the report's signature is not base64") from None
    try:
        verify_bytes(hashlib.sha512(data).digest(), raw, public_key, context=CONTEXT)
    except SignatureError:
        raise SignatureError(
            "the report does not match its signature: it was changed after it was signed "
            "(one byte is enough), or it was signed with another key"
        ) from None
