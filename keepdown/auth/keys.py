"""API key tokens: how they are made, read from a request and checked.

A token is ``kd_<key id>_<secret>``: ``kd_`` marks it as a keepdown key (so secret scanners can
spot a leaked one), the key id is 16 hex characters (public, used to find the stored key) and
the secret is 256 random bits in URL-safe base64. Only the SHA-256 of the whole token is
stored; a high-entropy random token needs no slow password hash, and comparing digests with
:func:`hmac.compare_digest` keeps the check constant-time.

HTTP Basic (as C3P's Shield clients send) is accepted two ways: username = key id and
password = secret, or the whole token as the password (username ignored).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from keepdown.errors import AuthError

__all__ = [
    "PREFIX",
    "KeyToken",
    "digest",
    "from_basic",
    "from_header",
    "new_token",
    "parse_token",
    "verify",
]

PREFIX = "kd_"
_ID_LEN = 16
_HEX = frozenset("0123456789abcdef")


class KeyToken(str):
    """A token string that has the right shape; ``key_id`` is its public part."""

    @property
    def key_id(self) -> str:
        return self[len(PREFIX) : len(PREFIX) + _ID_LEN]


def new_token() -> KeyToken:
    """A fresh random token."""
    return KeyToken(f"{PREFIX}{secrets.token_hex(_ID_LEN // 2)}_{secrets.token_urlsafe(32)}")


def parse_token(text: str) -> KeyToken:
    """``text`` as a token, or AuthError if it does not have a token's shape."""
    key_id = text[len(PREFIX) : len(PREFIX) + _ID_LEN]
    shaped = (
        text.startswith(PREFIX)
        and len(key_id) == _ID_LEN
        and set(key_id) <= _HEX
        and text[len(PREFIX) + _ID_LEN : len(PREFIX) + _ID_LEN + 1] == "_"
        and len(text) > len(PREFIX) + _ID_LEN + 1
        and len(text) < 200
    )
    if not shaped:
        raise AuthError("the API key is malformed")
    return KeyToken(text)


def digest(token: str) -> str:
    """Hex SHA-256 of a token: what is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def verify(token: str, stored_digest: str) -> bool:
    """Constant-time comparison of a presented token with a stored digest."""
    return hmac.compare_digest(digest(token), stored_digest)


def from_header(authorization: str | None) -> KeyToken:
    """The token in an ``Authorization`` header (Bearer or Basic); AuthError if none.

    Scheme and credentials may be separated by any run of spaces or tabs. A refusal never
    quotes the header: it may hold a whole key sent without its scheme."""
    if not authorization or not authorization.strip():
        raise AuthError("missing API key: send 'Authorization: Bearer <key>'")
    parts = authorization.split(None, 1)
    scheme, value = parts[0].lower(), parts[1].strip() if len(parts) == 2 else ""
    if scheme == "bearer" and value:
        return parse_token(value)
    if scheme == "basic" and value:
        return from_basic(value)
    if authorization.strip().startswith(PREFIX):
        raise AuthError("the API key was sent without its scheme: send 'Bearer <key>'")
    raise AuthError("unsupported authorization scheme: send 'Bearer <key>' or HTTP Basic")


def from_basic(encoded: str) -> KeyToken:
    """The token in HTTP Basic credentials (see the module docstring for the two forms)."""
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError("malformed Basic credentials") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise AuthError("malformed Basic credentials")
    if password.startswith(PREFIX):
        return parse_token(password)
    return parse_token(f"{PREFIX}{username}_{password}")
