"""Notice senders: e-mail over SMTP (aiosmtplib) and JSON webhooks signed with HMAC-SHA256.

A :class:`Sender` delivers one outbox row and either returns (delivered) or raises
:class:`~keepdown.errors.DeliveryError` saying whether the failure is ``permanent`` (no point
retrying: a 5xx SMTP reply, a 4xx webhook answer) and whether it is ``uncertain`` (the
message may have been delivered anyway).

**SMTP** speaks the protocol step by step so that the one ambiguous moment is known: an error
before the ``DATA`` command finished means nothing was accepted (safe to retry); a lost
connection or timeout *during* ``DATA``, before the server's final reply, may or may not have
delivered the mail, and plain SMTP offers no way to ask. That failure is ``uncertain``, and
the outbox leaves it for an operator instead of sending twice. The Message-ID is fixed when
the intent is recorded, and the notice reference is in the subject.

**Webhooks** POST the notice's JSON document with ``X-Keepdown-Signature: t=<unix time>,
v1=<hex HMAC-SHA256 of "<t>.<body>" with the provider's secret>`` and ``Idempotency-Key`` (the
same for every attempt of one delivery), so a receiver can verify the sender and drop a
repeat. 5xx, 429 and network errors are retried with exponential backoff; other 4xx are
permanent. Requests go through the crawler's SSRF-guarded transport. The provider's secret is
stored sealed; the sender opens it (:class:`~keepdown.notices.sealing.SecretBox`) only to sign.

:class:`RecordingSender` is the in-memory twin (it keeps what it was given).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol

import aiosmtplib
import httpx

from keepdown.clock import Clock
from keepdown.crawl.ssrf import AddressGuard
from keepdown.crawl.transport import GuardedTransport, Resolver
from keepdown.errors import ConfigurationError, DeliveryError, KeepdownError
from keepdown.notices.model import Delivery
from keepdown.notices.providers import Provider
from keepdown.notices.sealing import SecretBox
from keepdown.settings import Settings

__all__ = [
    "Handover",
    "RecordingSender",
    "Sender",
    "SmtpSender",
    "WebhookSender",
    "sign_webhook",
    "verify_webhook",
]

Sleep = Callable[[float], Awaitable[Any]]


Handover = Callable[[], None]


def _nothing() -> None:
    return None


class Sender(Protocol):
    """Delivers one outbox row. ``handover`` is called (and must return) right before the
    message leaves for good (SMTP ``DATA``, the webhook POST): the outbox records it, so a
    crash before it is known to have sent nothing."""

    async def send(
        self, delivery: Delivery, provider: Provider, handover: Handover = _nothing
    ) -> None: ...


def sign_webhook(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Keepdown-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_webhook(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does: recompute the HMAC and compare in constant time."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        expected = sign_webhook(secret, int(parts["t"]), body)
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(expected, header)


def _email(delivery: Delivery, settings: Settings, clock: Clock) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.notice_from_address
    message["To"] = ", ".join(delivery.recipients)
    if settings.notice_reply_to:
        message["Reply-To"] = settings.notice_reply_to
    message["Subject"] = delivery.subject
    message["Message-ID"] = delivery.message_key
    message["Date"] = format_datetime(clock.now())
    message["X-Keepdown-Reference"] = delivery.reference
    message.set_content(delivery.body, charset="utf-8")
    return message


def _trust_store(ca_file: str) -> ssl.SSLContext | None:
    """A TLS context trusting the certificates of ``ca_file`` (None: the system's store).

    Built when the sender is, so a wrong path stops the start, not the first notice."""
    if not ca_file:
        return None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(
            f"smtp_ca_file {ca_file!r} is not a readable PEM file of certificates: {exc}",
            setting="smtp_ca_file",
        ) from exc


class SmtpSender:
    """Sends notice e-mails through the configured SMTP server (module docstring)."""

    def __init__(
        self, settings: Settings, clock: Clock, *, tls_context: ssl.SSLContext | None = None
    ) -> None:
        """``tls_context`` replaces the system's trust store for the server's certificate;
        without one, ``smtp_ca_file`` (an internal relay with its own CA) does."""
        mode = settings.smtp_tls.lower()
        if mode not in ("starttls", "tls", "none"):
            raise ConfigurationError("smtp_tls must be 'starttls', 'tls' or 'none'")
        self.settings = settings
        self.clock = clock
        self.mode = mode
        self.tls_context = tls_context or _trust_store(str(settings.smtp_ca_file or ""))

    def _client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=int(s.smtp_port),
            use_tls=self.mode == "tls",
            start_tls=self.mode == "starttls",
            tls_context=self.tls_context,
            timeout=float(s.smtp_timeout_seconds),
        )

    async def send(
        self, delivery: Delivery, provider: Provider, handover: Handover = _nothing
    ) -> None:
        if not delivery.recipients:
            raise DeliveryError("no recipient for this notice", permanent=True)
        message = _email(delivery, self.settings, self.clock)
        client = self._client()
        try:
            await self._converse(client, message, delivery, handover)
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except aiosmtplib.SMTPException:
                    client.close()

    async def _converse(
        self,
        client: aiosmtplib.SMTP,
        message: EmailMessage,
        delivery: Delivery,
        handover: Handover,
    ) -> None:
        try:
            await client.connect()
            if self.settings.smtp_username:
                password = self.settings.secret("smtp_password_env") or ""
                await client.login(self.settings.smtp_username, password)
            await client.mail(self.settings.notice_from_address)
            for rcpt in delivery.recipients:
                await client.rcpt(rcpt)
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP refused the notice: {exc.code} {exc.message}",
                permanent=exc.code >= 500,
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP failed before sending: {exc}") from exc
        handover()
        try:
            await client.data(message.as_bytes())
        except aiosmtplib.SMTPResponseException as exc:
            # The server answered: it did not take the message.
            raise DeliveryError(
                f"SMTP refused the notice: {exc.code} {exc.message}",
                permanent=exc.code >= 500,
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"SMTP connection lost while sending; the notice may have been delivered: {exc}",
                uncertain=True,
            ) from exc


class WebhookSender:
    """POSTs signed JSON notices to providers' webhooks (module docstring)."""

    RETRY = frozenset({429, 500, 502, 503, 504})

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        box: SecretBox,
        *,
        resolver: Resolver | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.box = box
        self.sleep = sleep
        self.resolver = resolver

    def _secret(self, provider: Provider) -> str:
        if provider.webhook_secret_sealed:
            return self.box.open(provider.webhook_secret_sealed)
        if provider.webhook_secret:  # a provider not stored yet (tests, a dry run)
            return provider.webhook_secret
        raise DeliveryError("the provider has no webhook secret", permanent=True)

    def _client(self) -> httpx.AsyncClient:
        guard = AddressGuard(self.settings.crawl_allowed_networks)
        return httpx.AsyncClient(
            transport=GuardedTransport(guard, resolver=self.resolver, http2=False),
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(self.settings.webhook_timeout_seconds),
            headers={"User-Agent": self.settings.crawl_user_agent},
        )

    async def send(
        self, delivery: Delivery, provider: Provider, handover: Handover = _nothing
    ) -> None:
        if not provider.webhook_url:
            raise DeliveryError("the provider has no webhook URL", permanent=True)
        try:
            secret = self._secret(provider)
        except ConfigurationError as exc:
            raise DeliveryError(exc.message, permanent=True) from exc
        body = delivery.body.encode("utf-8")
        handover()  # a repeat is harmless: every attempt carries the same Idempotency-Key
        retries = self.settings.webhook_retries
        async with self._client() as client:
            for attempt in range(retries + 1):
                failed = await self._post(client, provider, delivery, body, secret)
                if failed is None:
                    return
                if failed.details.get("permanent") or attempt == retries:
                    raise failed
                await self.sleep(self.settings.webhook_backoff_seconds * 2**attempt)

    async def _post(
        self,
        client: httpx.AsyncClient,
        provider: Provider,
        delivery: Delivery,
        body: bytes,
        secret: str,
    ) -> DeliveryError | None:
        """None when delivered; the error to raise after the last attempt otherwise."""
        stamp = int(self.clock.now().timestamp())
        assert provider.webhook_url
        headers = {
            "Content-Type": "application/json",
            "X-Keepdown-Signature": sign_webhook(secret, stamp, body),
            "X-Keepdown-Reference": delivery.reference,
            "Idempotency-Key": delivery.message_key,
        }
        try:
            response = await client.post(provider.webhook_url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return DeliveryError(f"webhook request failed: {exc.__class__.__name__}")
        except KeepdownError as exc:  # the SSRF guard, or a name that does not resolve
            return DeliveryError(f"webhook not reachable: {exc.message}", permanent=True)
        if 200 <= response.status_code < 300:
            return None
        if response.status_code in self.RETRY:
            return DeliveryError(f"webhook answered HTTP {response.status_code}")
        return DeliveryError(f"webhook answered HTTP {response.status_code}", permanent=True)


@dataclass
class RecordingSender:
    """The in-memory twin: records deliveries; ``fail_with`` makes the next sends fail."""

    sent: list[tuple[Delivery, Provider]] = field(default_factory=list)
    fail_with: list[DeliveryError] = field(default_factory=list)

    async def send(
        self, delivery: Delivery, provider: Provider, handover: Handover = _nothing
    ) -> None:
        if self.fail_with:
            raise self.fail_with.pop(0)
        handover()
        self.sent.append((delivery, provider))
