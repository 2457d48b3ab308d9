"""Signed, expiring response links: a provider answers a notice without an account.

A link carries a token signed with itsdangerous (HMAC-SHA256 over a URL-safe payload, with
a timestamp): the notice reference and the provider id. Whoever holds the link may, for that
notice only, read it, acknowledge it, report a location removed, or dispute a location.
Nothing else: the token admits to the ``/api/v1/notice-response`` endpoints and no other.

The signing key comes from the environment variable named by ``notice_link_secret_env``, or
else from ``<data_dir>/notice-links.key`` (created once, mode 0600). Expiry is checked against
the keepdown :class:`~keepdown.clock.Clock`, so tests can age a link with a frozen clock.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from keepdown import files
from keepdown.clock import Clock
from keepdown.errors import AuthError, ConfigurationError
from keepdown.settings import Settings

__all__ = ["LinkClaims", "LinkSigner", "check_public_base_url", "link_secret"]

SALT = "keepdown.notice-response.v1"


@dataclass(frozen=True)
class LinkClaims:
    """What a valid token says: which notice, for which provider, issued when."""

    reference: str
    provider_id: int
    issued_at: datetime


def link_secret(settings: Settings) -> str:
    """The signing key (environment variable, or the key file in the data dir)."""
    from_env = settings.secret("notice_link_secret_env")
    if from_env:
        return from_env
    path = Path(settings.data_path) / "notice-links.key"
    if not path.exists():
        files.private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip()


class LinkSigner:
    """Makes and checks response tokens (see the module docstring)."""

    def __init__(self, secret: str, clock: Clock, *, valid_for: timedelta, base_url: str):
        if not secret:
            raise ValueError("a link signing key must not be empty")
        self.clock = clock
        self.valid_for = valid_for
        self.base_url = base_url.rstrip("/")

        class _ClockSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock.now().timestamp())

        self._serializer = URLSafeTimedSerializer(
            secret,
            salt=SALT,
            signer=_ClockSigner,
            signer_kwargs={"digest_method": hashlib.sha256},
        )

    def token(self, reference: str, provider_id: int) -> str:
        return str(self._serializer.dumps({"r": reference, "p": provider_id}))

    def url(self, reference: str, provider_id: int) -> str:
        return f"{self.base_url}/api/v1/notice-response?token={self.token(reference, provider_id)}"

    def expires_at(self) -> datetime:
        return self.clock.now() + self.valid_for

    def check(self, token: str) -> LinkClaims:
        """The claims of a valid token; :class:`AuthError` (401) if bad or expired."""
        try:
            data, signed_at = self._serializer.loads(
                token, max_age=int(self.valid_for.total_seconds()), return_timestamp=True
            )
        except SignatureExpired as exc:
            raise AuthError("this response link has expired; ask for a new one") from exc
        except BadSignature as exc:
            raise AuthError("this response link is not valid") from exc
        return _claims(data, signed_at)


def _claims(data: Any, signed_at: datetime) -> LinkClaims:
    if not (
        isinstance(data, dict)
        and isinstance(data.get("r"), str)
        and type(data.get("p")) is int  # not True, which is an int to isinstance
    ):
        raise AuthError("this response link is not valid")
    return LinkClaims(reference=data["r"], provider_id=data["p"], issued_at=signed_at)


def check_public_base_url(settings: Settings) -> None:
    """:class:`ConfigurationError` unless ``notice_public_base_url`` is an http(s) address
    providers can reach (not loopback, not ``localhost``), or ``notice_links_on_loopback``
    says loopback links are meant (the demo, tests)."""
    url = settings.notice_public_base_url.strip()
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme in ("http", "https") and host and not _loopback(host):
        return
    if host and _loopback(host) and settings.notice_links_on_loopback:
        return
    raise ConfigurationError(
        "notices are not sent while notice_public_base_url is "
        + (f"{url!r}" if url else "unset")
        + ": set it (KEEPDOWN_NOTICE_PUBLIC_BASE_URL) to the address providers reach this "
        "keepdown's API at, e.g. https://keepdown.example.org; the notices are drafted and "
        "wait in the outbox",
        setting="notice_public_base_url",
    )


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
