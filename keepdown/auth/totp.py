"""Time-based one-time codes (RFC 6238) as a second factor, with replay protection.

Codes are 6 digits over 30-second steps (what every authenticator app does). A code is
accepted one step early or late (clocks drift); :func:`matching_step` returns the step it
matched so the caller can refuse a step already used (:meth:`UserStore.use_totp_step`): a code
seen over someone's shoulder cannot be used again.
"""

from __future__ import annotations

from datetime import datetime

import pyotp

__all__ = ["STEP_SECONDS", "matching_step", "new_secret", "provisioning_uri"]

STEP_SECONDS = 30


def new_secret() -> str:
    """A fresh 160-bit base32 secret."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step ``code`` is valid for at ``now`` (±1 step), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // STEP_SECONDS
    for offset in (0, -1, 1):
        if pyotp.utils.strings_equal(totp.at(now, counter_offset=offset), code):
            return step + offset
    return None
