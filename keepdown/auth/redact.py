"""Credentials never written down: redaction of audit records, error messages and log lines.

keepdown never puts a credential in a message on purpose (an unsupported ``Authorization``
header is refused without quoting it); this module is the net under that rule, applied
where text leaves the process or is kept: every audit record (:class:`RedactedAuditLog`,
which :class:`~keepdown.auth.service.AuthService` wraps its log in), every API and page
error body, and every log record (:class:`RedactingFilter`, installed by the composition
root). What it takes out:

- anything shaped like a keepdown API key (``kd_<16 hex>_<secret>``): the key id stays (it
  is public and tells which key), the secret becomes ``[redacted]``;
- the credentials after ``Bearer``, ``Basic`` or ``Token`` (an ``Authorization`` value);
- the password in a URL (``scheme://user:password@host``);
- the values of fields whose name says they hold a secret (a word of the name is
  ``password``, ``secret``, ``token``, ``totp``, ``pin``, ``authorization``, ``cookie``...,
  or two words are ``api key``, ``private key``, ``secret key``): every value that could
  carry one (text, a number such as a PIN or a one-time code, a list, a mapping), but not a
  flag (``True``/``False``) nor an absent value, which carry no secret: ``secret_made: True``
  says a secret was made and stays readable.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from keepdown.auth.model import AuditRecord
from keepdown.auth.store import AuditLog

__all__ = [
    "REDACTED",
    "RedactedAuditLog",
    "RedactingFilter",
    "redact",
    "redact_details",
    "secret_field",
]

REDACTED = "[redacted]"

_KEY = re.compile(r"(kd_[0-9a-fA-F]{16})_[A-Za-z0-9_\-=+/.~]+")
_LOOSE_KEY = re.compile(r"kd_[A-Za-z0-9_\-=+/.~]{20,}")
# The credentials after a scheme name: a run that looks like a token (a digit, token
# punctuation or a lower-case letter followed by a capital), so "Basic authentication" stays.
_SCHEME = re.compile(
    r"(?i)\b(bearer|basic|token|digest)(\s+)"
    r"(?-i:(?=[A-Za-z0-9_\-=+/.~:]*(?:[0-9_=+/\-]|[a-z][A-Z])))[A-Za-z0-9_\-=+/.~:]{4,}"
)
_URL_PASSWORD = re.compile(r"(?i)([a-z][a-z0-9+.\-]*://[^\s/:@]*):[^\s/@]+@")
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "pass",
        "secret",
        "secrets",
        "token",
        "totp",
        "otp",
        "pin",
        "apikey",
        "authorization",
        "authorisation",
        "cookie",
        "credential",
        "credentials",
    }
)
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("secret", "key")})
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def redact(text: str) -> str:
    """``text`` with every credential it holds replaced (module docstring)."""
    if not text:
        return text
    text = _SCHEME.sub(rf"\1\2{REDACTED}", text)
    text = _KEY.sub(rf"\1_{REDACTED}", text)
    text = _LOOSE_KEY.sub(f"kd_{REDACTED}", text)
    return _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)


def secret_field(name: str) -> bool:
    """True when a field called ``name`` holds a secret by its name (``password``,
    ``smtp_password``, ``totpSecret``, ``api_key``; not ``key_id`` nor ``pinned``)."""
    words = [w.lower() for w in _WORD.findall(name)]
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def _carries_secret(value: Any) -> bool:
    """Whether a value could hold a secret: not a flag, not absent, not empty text."""
    return not (value is None or isinstance(value, bool) or value == "")


def redact_details(value: Any) -> Any:
    """A JSON-like value with secrets taken out: secret-named fields' values replaced (unless
    the value is a flag or absent, :func:`_carries_secret`), every text redacted
    (:func:`redact`), nested mappings and lists walked."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if secret_field(str(k)) and _carries_secret(v) else redact_details(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_details(v) for v in value]
    return value


class RedactedAuditLog:
    """An :class:`~keepdown.auth.store.AuditLog` that redacts before it stores."""

    def __init__(self, inner: AuditLog) -> None:
        self.inner = inner

    def record(self, entry: AuditRecord) -> int:
        return self.inner.record(
            replace(
                entry,
                actor=redact(entry.actor),
                target=redact(entry.target),
                details=redact_details(dict(entry.details)),
            )
        )

    def settle(self, record_id: int, outcome: str, details: dict[str, Any]) -> None:
        self.inner.settle(record_id, outcome, redact_details(details))

    def __getattr__(self, name: str) -> Any:  # list_records and whatever else the log offers
        return getattr(self.inner, name)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts each record's message (and drops its arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is left for logging to report
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text = str(exc)
            if redact(text) != text:
                record.exc_text = None
                record.msg = f"{cleaned} ({type(exc).__name__}: {redact(text)})"
                record.exc_info = None
        return True
